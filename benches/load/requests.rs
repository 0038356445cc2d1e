//! The `requests` mode of the load tool: each endpoint at 1, 16 and 64 clients, beside the
//! raw driver doing the queries each answer needs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::{Document, doc};
use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole;
use social_events::domain::source::Membership;
use social_events::store::{DEFAULT_DEADLINE, Store};
use social_events::tools::replay::client::Client;

use crate::common::{
    Database, Requester, RoundTrips, Server, ok, published_event, ticks_per_second,
};
use crate::driving::{
    NETWORK, Plan, ROOM, RawPlan, Series, collect, connect_all, drive, drive_raw, session_data,
    setting,
};
use crate::raw_client::{Offer, connect_all_raw};

/// Concurrent clients of each series.
const LEVELS: [usize; 3] = [1, 16, 64];
/// Joinable sessions one host creates (within the quota of active sessions per owner).
const HOSTED: usize = 500;

/// An endpoint's series: its name, a client's request, and the raw driver's work for it.
type EndpointSeries = (&'static str, Plan, RawPlan);

/// `user_id`'s membership of the load network.
fn member(user_id: &str, role: MembershipRole) -> Membership {
    Membership {
        user_id: user_id.to_owned(),
        network_id: NETWORK.to_owned(),
        community_id: None,
        role,
    }
}

pub async fn requests_mode(database: &Database) {
    let calls_per_series = setting("BENCH_CALLS", 300);
    let server = Server::start(&database.uri, "load").await;
    let store = Store::connect(&database.uri, "load", DEFAULT_DEADLINE)
        .await
        .unwrap();
    let raw = store.database().clone();
    store
        .upsert_membership(&member("load-owner", MembershipRole::Admin))
        .await
        .unwrap();
    let mut owner = server.connect("load-owner").await;
    let event_id = published_event(&mut owner, NETWORK, "Load").await;
    let read_id = sessions_to_read(&mut owner, &event_id).await;
    let chosen = std::env::var("BENCH_ENDPOINTS").unwrap_or_default();
    let wanted = |name: &str| chosen.is_empty() || chosen.split(',').any(|chosen| chosen == name);
    let ticks = ticks_per_second();
    let trips = RoundTrips::connect(&database.uri).await;
    let measuring = Measuring {
        server: &server,
        trips: &trips,
        raw: &raw,
        ticks,
    };
    print_header(calls_per_series, ticks, database);
    for clients in LEVELS {
        let calls = (calls_per_series / clients).max(5);
        let users: Vec<String> = (0..clients)
            .map(|index| format!("user-{clients}-{index}"))
            .collect();
        // Joiners of their own: the pushes of a join storm (each join is pushed to everyone
        // who joined before) must not reach the connections of the later series.
        let joiners: Vec<String> = (0..clients)
            .map(|index| format!("joiner-{clients}-{index}"))
            .collect();
        for user in users.iter().chain(&joiners) {
            store
                .upsert_membership(&member(user, MembershipRole::Member))
                .await
                .unwrap();
        }
        let joinable = if wanted("joinSession") {
            joinable_sessions(&server, clients, calls).await
        } else {
            Vec::new()
        };
        let mut connected = connect_all(&server, &users).await;
        let own = own_sessions(&mut connected, clients, &event_id).await;
        let plans: [EndpointSeries; 4] = [
            get_session(&read_id),
            get_prop_sessions(),
            join_session(Arc::new(joinable)),
            update_session(Arc::new(own)),
        ];
        for (name, plan, raw_plan) in plans {
            if !wanted(name) {
                continue;
            }
            // Fresh connections for each series, so that no push of the last one is still
            // queued on them.
            drop(std::mem::take(&mut connected));
            let series_users = if name == "joinSession" {
                &joiners
            } else {
                &users
            };
            connected = connect_all(&server, series_users).await;
            connected = measuring
                .series(name, clients, calls, connected, &plan, &raw_plan)
                .await;
            if name == "getSession" {
                // The same reads by clients that agreed on compression: what compressing
                // each answer (once for its one recipient) costs the server.
                let compressing = connect_all_raw(&server, series_users, Offer::Deflate).await;
                measuring
                    .series(
                        "getSession (deflate)",
                        clients,
                        calls,
                        compressing,
                        &plan,
                        &raw_plan,
                    )
                    .await;
            }
        }
    }
}

/// What a series is measured with: the server, the database's round trips, the raw
/// driver's database and `/proc`'s clock ticks per second.
struct Measuring<'a> {
    server: &'a Server,
    trips: &'a RoundTrips,
    raw: &'a mongodb::Database,
    ticks: f64,
}

impl Measuring<'_> {
    /// Runs `calls` requests of `plan` on each of `connected` at once, then the raw
    /// driver's work for them, and prints the series' row; answers the connections.
    async fn series<C: Requester>(
        &self,
        name: &str,
        clients: usize,
        calls: usize,
        connected: Vec<C>,
        plan: &Plan,
        raw_plan: &RawPlan,
    ) -> Vec<C> {
        let (cpu_before, trips_before, started) = (
            self.server.cpu_seconds(self.ticks),
            self.trips.count().await,
            Instant::now(),
        );
        let (connected, latencies) = drive(connected, calls, Arc::clone(plan)).await;
        let elapsed = started.elapsed();
        let (cpu_after, trips_after) = (
            self.server.cpu_seconds(self.ticks),
            self.trips.count().await,
        );
        let requests = latencies.len();
        let service = Series::of(latencies, elapsed);
        let raw_series = drive_raw(self.raw, clients, calls, Arc::clone(raw_plan)).await;
        let cpu_per_request = Duration::from_secs_f64((cpu_after - cpu_before) / requests as f64);
        println!(
            "{name:<20} {clients:>3} {:>9.1} {:>9.2?} {:>9.2?} {:>11.0?} {:>7.2} | {:>9.1} {:>9.2?} {:>6.2} {:>6.2}",
            service.per_second,
            service.p50,
            service.p99,
            cpu_per_request,
            self.trips
                .per_request(trips_before, trips_after, elapsed, requests),
            raw_series.per_second,
            raw_series.p50,
            service.p50.as_secs_f64() / raw_series.p50.as_secs_f64().max(1e-9),
            service.per_second / raw_series.per_second.max(1e-9),
        );
        connected
    }
}

fn print_header(calls_per_series: usize, ticks: f64, database: &Database) {
    println!(
        "requests: {calls_per_series} per series, clients each with their own user and connection, {}",
        database.described
    );
    // `/proc` counts CPU time in clock ticks: one tick per series is this much per request.
    println!(
        "CPU per request is exact to ±{:.0?} (BENCH_CALLS raises the precision)",
        Duration::from_secs_f64(1.0 / ticks / calls_per_series as f64)
    );
    println!(
        "{:<20} {:>3} {:>9} {:>9} {:>9} {:>11} {:>7} | {:>9} {:>9} {:>6} {:>6}",
        "endpoint",
        "c",
        "answers/s",
        "p50",
        "p99",
        "CPU/request",
        "trips",
        "raw/s",
        "raw p50",
        "p50 ×",
        "/s ×"
    );
}

/// A session with ten invitees to read (answered: its id), and a prop with ten sessions.
async fn sessions_to_read(owner: &mut Client, event_id: &str) -> String {
    let invitees: Vec<Value> = (0..10)
        .map(|index| json!({"userId": format!("invitee-{index}")}))
        .collect();
    let read = ok(
        owner,
        "social:createSession",
        json!({"session": session_data("read".into(), Some(event_id), "lectern", 60), "usersToInvite": invitees}),
    )
    .await;
    for index in 0..10 {
        let data = session_data(
            format!("talk {index}"),
            Some(event_id),
            "stage",
            30 + index * 90,
        );
        ok(owner, "social:createSession", json!({"session": data})).await;
    }
    read["session"]["id"].as_str().unwrap().to_owned()
}

/// One joinable session per call, hosts staying within the session quota.
async fn joinable_sessions(server: &Server, clients: usize, calls: usize) -> Vec<String> {
    let mut joinable = Vec::new();
    for hosts in (0..calls).collect::<Vec<_>>().chunks(HOSTED) {
        let mut host = server
            .connect(&format!("host-{clients}-{}", hosts[0]))
            .await;
        for index in hosts {
            let data = session_data(format!("open {clients}-{index}"), None, "booth", 30);
            let created = ok(&mut host, "social:createSession", json!({"session": data})).await;
            joinable.push(created["session"]["id"].as_str().unwrap().to_owned());
        }
    }
    joinable
}

/// One session of each client's own, to update.
async fn own_sessions(connected: &mut [Client], clients: usize, event_id: &str) -> Vec<String> {
    let mut own = Vec::new();
    for (index, client) in connected.iter_mut().enumerate() {
        let data = session_data(format!("own {clients}-{index}"), Some(event_id), "desk", 30);
        let created = ok(client, "social:createSession", json!({"session": data})).await;
        own.push(created["session"]["id"].as_str().unwrap().to_owned());
    }
    own
}

/// `getSession` of the session with ten invitees; raw: the session, then its people.
fn get_session(read_id: &str) -> EndpointSeries {
    let read = read_id.to_owned();
    let plan: Plan = Arc::new(move |_, _| ("social:getSession", json!({"sessionId": read})));
    let read_id = read_id.to_owned();
    let raw: RawPlan = Arc::new(move |db: mongodb::Database, _, _| {
        let read_id = read_id.clone();
        Box::pin(async move {
            let session = db
                .collection::<Document>("sessions")
                .find_one(doc! {"_id": &read_id})
                .await
                .unwrap()
                .unwrap();
            let mut people = vec![session.get_str("ownerId").unwrap().to_owned()];
            for invitation in session.get_array("invited").unwrap() {
                people.push(
                    invitation
                        .as_document()
                        .unwrap()
                        .get_str("userId")
                        .unwrap()
                        .to_owned(),
                );
            }
            collect(
                db.collection::<Document>("users")
                    .find(doc! {"_id": {"$in": people}})
                    .await
                    .unwrap(),
            )
            .await;
        })
    });
    ("getSession", plan, raw)
}

/// `getPropSessions` of the stage; raw: its next two sessions, then their owners.
fn get_prop_sessions() -> EndpointSeries {
    let plan: Plan = Arc::new(|_, _| {
        (
            "social:getPropSessions",
            json!({"roomId": ROOM, "propId": "stage"}),
        )
    });
    let raw: RawPlan = Arc::new(|db: mongodb::Database, _, _| {
        Box::pin(async move {
            let sessions = collect(
                db.collection::<Document>("sessions")
                    .find(doc! {"roomId": ROOM, "propId": "stage", "isValid": true})
                    .sort(doc! {"startDate": 1})
                    .limit(2)
                    .await
                    .unwrap(),
            )
            .await;
            let owners: Vec<&str> = sessions
                .iter()
                .map(|session| session.get_str("ownerId").unwrap())
                .collect();
            collect(
                db.collection::<Document>("users")
                    .find(doc! {"_id": {"$in": owners}})
                    .await
                    .unwrap(),
            )
            .await;
        })
    });
    ("getPropSessions", plan, raw)
}

/// `joinSession`, each call a session of its own; raw: one conditional push.
fn join_session(joinable: Arc<Vec<String>>) -> EndpointSeries {
    let plan: Plan = {
        let joinable = Arc::clone(&joinable);
        Arc::new(move |_, call| ("social:joinSession", json!({"sessionId": joinable[call]})))
    };
    let raw: RawPlan = Arc::new(move |db: mongodb::Database, client, call| {
        let session_id = joinable[call].clone();
        Box::pin(async move {
            let user = format!("raw-{client}-{call}");
            db.collection::<Document>("sessions")
                .find_one_and_update(
                    doc! {"_id": session_id, "joined": {"$ne": &user}},
                    doc! {"$push": {"joined": &user}},
                )
                .await
                .unwrap();
        })
    });
    ("joinSession", plan, raw)
}

/// `updateSession` of each client's own session; raw: the update, an outbox insert, and
/// the owner's profile.
fn update_session(own: Arc<Vec<String>>) -> EndpointSeries {
    let plan: Plan = {
        let own = Arc::clone(&own);
        Arc::new(move |client, call| {
            (
                "social:updateSession",
                json!({"session": {"id": own[client], "title": format!("take {call}")}}),
            )
        })
    };
    let raw: RawPlan = Arc::new(move |db: mongodb::Database, client, call| {
        let session_id = own[client].clone();
        Box::pin(async move {
            let session = db
                .collection::<Document>("sessions")
                .find_one_and_update(
                    doc! {"_id": session_id},
                    doc! {"$set": {"title": format!("raw {call}")}, "$inc": {"sequence": 1}},
                )
                .await
                .unwrap()
                .unwrap();
            db.collection::<Document>("load_raw_pushes")
                .insert_one(doc! {"sessionId": session.get_str("_id").unwrap()})
                .await
                .unwrap();
            let owner = session.get_str("ownerId").unwrap();
            collect(
                db.collection::<Document>("users")
                    .find(doc! {"_id": {"$in": [owner]}})
                    .await
                    .unwrap(),
            )
            .await;
        })
    });
    ("updateSession", plan, raw)
}
