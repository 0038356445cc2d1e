//! The load tool: real `serve` processes under load from real WebSocket clients, beside the
//! raw MongoDB driver doing the queries each answer needs, in the same run.
//!
//! `cargo bench --bench load [-- MODE...]`, modes (all by default):
//! - `requests`: `getSession`, `getPropSessions`, `joinSession` and `updateSession` at 1, 16
//!   and 64 clients: answers per second, p50/p99, the server's CPU per request (`/proc`),
//!   database round trips per request (the database server's own request counter,
//!   `serverStatus.network.numRequests`, less its background rate measured before), and
//!   the raw driver's p50 and answers per second for the same work as the baseline ratio.
//! - `fanout`: one session with a 1,000-person audience (the owner and 999 invitees, each
//!   connected; 1 % of the sockets never read), updated every 300 ms: delay from the update
//!   request to each push's arrival (p50/p99/max), pushes missing, server CPU and memory.
//! - `idle`: 10,000 authenticated idle sockets (2,000 first): server memory per socket.
//! - `cross`: two `serve` processes on one database; a client on the second hears of
//!   changes made on the first: its delay beside a bare change-stream watcher's.
//! - `board`: 200 connections watch one prop (`social:watchProp`) while a session there is
//!   updated every 600 ms: delay to each `social:propSessionsUpdated`, and the server CPU
//!   and round trips each watcher costs per change, against one `getPropSessions` (the
//!   look a watcher takes) measured in the same run.
//!
//! The embedded SecantusDB (Python) is used unless `BENCH_MONGODB_URI` names another
//! database server (`?directConnection=true` for a single node; a replica set for `cross`).
//! `BENCH_CALLS` (requests per series, default 300), `BENCH_FANOUT_UPDATES` (20) and
//! `BENCH_IDLE_SOCKETS` (10000) scale the runs; `BENCH_ENDPOINTS` (for example
//! `getSession,updateSession`) limits `requests` to those endpoints.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::{Document, doc};
use common::{Chosen, Database, RoundTrips, Server, ok, published_event, ticks_per_second};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole;
use social_events::domain::source::Membership;
use social_events::store::{DEFAULT_DEADLINE, Store};
use social_events::tools::replay::client::Client;
use tokio_tungstenite::tungstenite::Message;

/// Concurrent clients of each `requests` series.
const LEVELS: [usize; 3] = [1, 16, 64];
const NETWORK: &str = "load-net";
const ROOM: &str = "load-room";
/// Joinable sessions created by one host (below the session quota).
const HOSTED: usize = 500;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// What one series measured.
struct Series {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

impl Series {
    fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> Series {
        latencies.sort();
        let count = latencies.len();
        Series {
            per_second: count as f64 / elapsed.as_secs_f64(),
            p50: latencies[count / 2],
            p99: latencies[(count * 99 / 100).min(count - 1)],
        }
    }
}

/// One request of one client: its endpoint and data.
type Plan = Arc<dyn Fn(usize, usize) -> (&'static str, Value) + Send + Sync>;

/// Runs `calls` requests on each client at once (client `c`'s `n`th is `plan(c, n)`);
/// answers the clients and the latencies.
async fn drive(clients: Vec<Client>, calls: usize, plan: Plan) -> (Vec<Client>, Vec<Duration>) {
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            let plan = Arc::clone(&plan);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(calls);
                for call in 0..calls {
                    let (endpoint, data) = plan(index, call);
                    let started = Instant::now();
                    ok(&mut client, endpoint, data).await;
                    latencies.push(started.elapsed());
                }
                (client, latencies)
            })
        })
        .collect();
    let mut clients = Vec::new();
    let mut latencies = Vec::new();
    for task in tasks {
        let (client, measured) = task.await.unwrap();
        clients.push(client);
        latencies.extend(measured);
    }
    (clients, latencies)
}

/// The raw driver's work for one request.
type RawPlan = Arc<
    dyn Fn(mongodb::Database, usize, usize) -> futures_util::future::BoxFuture<'static, ()>
        + Send
        + Sync,
>;

async fn drive_raw(
    database: &mongodb::Database,
    clients: usize,
    calls: usize,
    plan: RawPlan,
) -> Series {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|index| {
            let (plan, database) = (Arc::clone(&plan), database.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(calls);
                for call in 0..calls {
                    let timed = Instant::now();
                    plan(database.clone(), index, call).await;
                    latencies.push(timed.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Series::of(latencies, started.elapsed())
}

async fn connect_all(server: &Server, users: &[String]) -> Vec<Client> {
    let mut clients = Vec::with_capacity(users.len());
    for chunk in users.chunks(64) {
        let connected =
            futures_util::future::join_all(chunk.iter().map(|user| server.connect(user))).await;
        clients.extend(connected);
    }
    clients
}

async fn collect(cursor: mongodb::Cursor<Document>) -> Vec<Document> {
    cursor.try_collect().await.unwrap()
}

fn session_data(
    title: String,
    event_id: Option<&str>,
    prop: &str,
    starts_in_minutes: i64,
) -> Value {
    let start = chrono::Utc::now().timestamp_millis() + starts_in_minutes * 60_000;
    let mut session = json!({
        "roomId": ROOM, "propId": prop, "title": title, "startDate": start, "duration": 3600,
    });
    if let Some(event_id) = event_id {
        session["eventId"] = json!(event_id);
    }
    session
}

async fn requests_mode(database: &Database) {
    let calls_per_series = setting("BENCH_CALLS", 300);
    let server = Server::start(&database.uri, "load").await;
    let store = Store::connect(&database.uri, "load", DEFAULT_DEADLINE)
        .await
        .unwrap();
    let raw = store.database().clone();
    let member = |user_id: &str, role| Membership {
        user_id: user_id.to_owned(),
        network_id: NETWORK.to_owned(),
        community_id: None,
        role,
    };
    store
        .upsert_membership(&member("load-owner", MembershipRole::Admin))
        .await
        .unwrap();
    let mut owner = server.connect("load-owner").await;
    let event_id = published_event(&mut owner, NETWORK, "Load").await;
    // A session with ten invitees to read, and a prop with ten sessions.
    let invitees: Vec<Value> = (0..10)
        .map(|index| json!({"userId": format!("invitee-{index}")}))
        .collect();
    let read = ok(
        &mut owner,
        "social:createSession",
        json!({"session": session_data("read".into(), Some(&event_id), "lectern", 60), "usersToInvite": invitees}),
    )
    .await;
    let read_id = read["session"]["id"].as_str().unwrap().to_owned();
    for index in 0..10 {
        let data = session_data(
            format!("talk {index}"),
            Some(&event_id),
            "stage",
            30 + index * 90,
        );
        ok(&mut owner, "social:createSession", json!({"session": data})).await;
    }
    let chosen = std::env::var("BENCH_ENDPOINTS").unwrap_or_default();
    let wanted = |name: &str| chosen.is_empty() || chosen.split(',').any(|chosen| chosen == name);
    let ticks = ticks_per_second();
    let trips = RoundTrips::connect(&database.uri).await;
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
        "{:<16} {:>3} {:>9} {:>9} {:>9} {:>11} {:>7} | {:>9} {:>9} {:>6} {:>6}",
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
        // Joinable sessions (one per call, hosts staying within the session quota) and one
        // session of each client's own to update.
        let mut joinable = Vec::new();
        if wanted("joinSession") {
            for hosts in (0..calls).collect::<Vec<_>>().chunks(HOSTED) {
                let mut host = server
                    .connect(&format!("host-{clients}-{}", hosts[0]))
                    .await;
                for index in hosts {
                    let data = session_data(format!("open {clients}-{index}"), None, "booth", 30);
                    let created =
                        ok(&mut host, "social:createSession", json!({"session": data})).await;
                    joinable.push(created["session"]["id"].as_str().unwrap().to_owned());
                }
            }
        }
        let mut connected = connect_all(&server, &users).await;
        let mut own = Vec::new();
        for (index, client) in connected.iter_mut().enumerate() {
            let data = session_data(
                format!("own {clients}-{index}"),
                Some(&event_id),
                "desk",
                30,
            );
            let created = ok(client, "social:createSession", json!({"session": data})).await;
            own.push(created["session"]["id"].as_str().unwrap().to_owned());
        }
        let (joinable, own) = (Arc::new(joinable), Arc::new(own));
        let read_id = read_id.clone();
        let plans: [(&str, Plan, RawPlan); 4] = [
            (
                "getSession",
                Arc::new(move |_, _| ("social:getSession", json!({"sessionId": read_id}))),
                {
                    let read_id = read["session"]["id"].as_str().unwrap().to_owned();
                    Arc::new(move |db: mongodb::Database, _, _| {
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
                    })
                },
            ),
            (
                "getPropSessions",
                Arc::new(|_, _| {
                    (
                        "social:getPropSessions",
                        json!({"roomId": ROOM, "propId": "stage"}),
                    )
                }),
                Arc::new(|db: mongodb::Database, _, _| {
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
                }),
            ),
            (
                "joinSession",
                {
                    let joinable = Arc::clone(&joinable);
                    Arc::new(move |_, call| {
                        ("social:joinSession", json!({"sessionId": joinable[call]}))
                    })
                },
                {
                    let joinable = Arc::clone(&joinable);
                    Arc::new(move |db: mongodb::Database, client, call| {
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
                    })
                },
            ),
            (
                "updateSession",
                {
                    let own = Arc::clone(&own);
                    Arc::new(move |client, call| {
                        (
                            "social:updateSession",
                            json!({"session": {"id": own[client], "title": format!("take {call}")}}),
                        )
                    })
                },
                {
                    let own = Arc::clone(&own);
                    Arc::new(move |db: mongodb::Database, client, call| {
                        let session_id = own[client].clone();
                        Box::pin(async move {
                            let session = db.collection::<Document>("sessions")
                                .find_one_and_update(doc! {"_id": session_id}, doc! {"$set": {"title": format!("raw {call}")}, "$inc": {"sequence": 1}})
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
                    })
                },
            ),
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
            let (cpu_before, trips_before, started) = (
                server.cpu_seconds(ticks),
                trips.count().await,
                Instant::now(),
            );
            let (clients_back, latencies) =
                drive(std::mem::take(&mut connected), calls, plan).await;
            connected = clients_back;
            let elapsed = started.elapsed();
            let (cpu_after, trips_after) = (server.cpu_seconds(ticks), trips.count().await);
            let requests = latencies.len();
            let service = Series::of(latencies, elapsed);
            let raw_series = drive_raw(&raw, clients, calls, raw_plan).await;
            let cpu_per_request =
                Duration::from_secs_f64((cpu_after - cpu_before) / requests as f64);
            println!(
                "{name:<16} {clients:>3} {:>9.1} {:>9.2?} {:>9.2?} {:>11.0?} {:>7.2} | {:>9.1} {:>9.2?} {:>6.2} {:>6.2}",
                service.per_second,
                service.p50,
                service.p99,
                cpu_per_request,
                trips.per_request(trips_before, trips_after, elapsed, requests),
                raw_series.per_second,
                raw_series.p50,
                service.p50.as_secs_f64() / raw_series.p50.as_secs_f64().max(1e-9),
                service.per_second / raw_series.per_second.max(1e-9),
            );
        }
    }
}

/// A socket that records when each `social:sessionUpdated` push arrives, by the session's
/// title. The frame is searched, not parsed: with a thousand readers in this process,
/// parsing every 200 KB frame would measure the benchmark instead of the server.
fn listen_for_updates(
    client: Client,
    arrivals: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) {
    listen_for_pushes("social:sessionUpdated", client, arrivals);
}

/// A socket that records when each push of `endpoint` arrives, by the first session title
/// in it (see [`listen_for_updates`]).
fn listen_for_pushes(
    endpoint: &'static str,
    mut client: Client,
    arrivals: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) {
    let prefix = format!(r#"{{"endpoint":"{endpoint}""#);
    tokio::spawn(async move {
        while let Ok(Some(message)) = client.next_message().await {
            let Message::Text(text) = message else {
                continue;
            };
            let at = Instant::now();
            if !text.starts_with(&prefix) {
                continue;
            }
            // The session's own title is the first one in the frame.
            let Some(start) = text.find(r#""title":""#).map(|index| index + 9) else {
                continue;
            };
            let Some(length) = text[start..].find('"') else {
                continue;
            };
            if arrivals
                .send((text[start..start + length].to_owned(), at))
                .is_err()
            {
                return;
            }
        }
    });
}

/// Delays between each update's request and each push of it; answers them, how many
/// pushes were missing, and when each update was sent.
async fn update_and_time(
    owner: &mut Client,
    session_id: &str,
    label: &str,
    updates: usize,
    interval: Duration,
    recipients: usize,
    arrivals: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>,
) -> (Vec<Duration>, usize, Vec<Instant>) {
    let mut sent = std::collections::HashMap::new();
    let mut sends = Vec::with_capacity(updates);
    let mut ticker = tokio::time::interval(interval);
    for update in 0..updates {
        ticker.tick().await;
        let title = format!("{label} {update}");
        let now = Instant::now();
        sent.insert(title.clone(), now);
        sends.push(now);
        ok(
            owner,
            "social:updateSession",
            json!({"session": {"id": session_id, "title": title}}),
        )
        .await;
    }
    let expected = updates * recipients;
    let mut delays = Vec::with_capacity(expected);
    let deadline = Instant::now() + Duration::from_secs(30);
    while delays.len() < expected {
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, arrivals.recv()).await {
            Ok(Some((title, at))) => {
                if let Some(sent_at) = sent.get(&title) {
                    delays.push(at.duration_since(*sent_at));
                }
            }
            _ => break,
        }
    }
    let missing = expected - delays.len();
    delays.sort();
    (delays, missing, sends)
}

fn print_delays(name: &str, delays: &[Duration], missing: usize) {
    if delays.is_empty() {
        println!("{name}: no push arrived ({missing} missing)");
        return;
    }
    let at = |share: usize| delays[(delays.len() * share / 100).min(delays.len() - 1)];
    println!(
        "{name}: {} pushes, p50 {:.1?}, p99 {:.1?}, max {:.1?}, {missing} missing",
        delays.len(),
        at(50),
        at(99),
        delays[delays.len() - 1]
    );
}

async fn fanout_mode(database: &Database) {
    const AUDIENCE: usize = 1000;
    let updates = setting("BENCH_FANOUT_UPDATES", 20);
    let server = Server::start(&database.uri, "load_fanout").await;
    let mut owner = server.connect("fan-owner").await;
    let data = session_data("fan-out".into(), None, "stage", 60);
    let created = ok(&mut owner, "social:createSession", json!({"session": data})).await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    let invitees: Vec<String> = (1..AUDIENCE).map(|index| format!("fan-{index}")).collect();
    for batch in invitees.chunks(100) {
        let entries: Vec<Value> = batch.iter().map(|user| json!({"userId": user})).collect();
        ok(
            &mut owner,
            "social:inviteUsersToSession",
            json!({"sessionId": &session_id, "usersToInvite": entries}),
        )
        .await;
    }
    let clients = connect_all(&server, &invitees).await;
    let stalled_count = AUDIENCE / 100;
    let (arrivals_in, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let mut stalled = Vec::new();
    for (index, client) in clients.into_iter().enumerate() {
        if index < stalled_count {
            stalled.push(client); // never read
        } else {
            listen_for_updates(client, arrivals_in.clone());
        }
    }
    drop(arrivals_in);
    let readers = AUDIENCE - 1 - stalled_count;
    let ticks = ticks_per_second();
    let (cpu_before, memory_before) = (server.cpu_seconds(ticks), server.resident_bytes());
    println!(
        "fanout: a session with {AUDIENCE} people in its audience ({readers} reading invitees, {stalled_count} stalled sockets), {updates} updates every 300 ms, {}",
        database.described
    );
    // One update unmeasured: the first rendering reads the thousand profiles.
    update_and_time(
        &mut owner,
        &session_id,
        "warm-up",
        1,
        Duration::from_millis(300),
        readers,
        &mut arrivals,
    )
    .await;
    let (delays, missing, _) = update_and_time(
        &mut owner,
        &session_id,
        "update",
        updates,
        Duration::from_millis(300),
        readers,
        &mut arrivals,
    )
    .await;
    print_delays("update request → push arrival", &delays, missing);
    println!(
        "server CPU {:.1?} per update; memory {:.1} MiB → {:.1} MiB",
        Duration::from_secs_f64((server.cpu_seconds(ticks) - cpu_before) / updates as f64),
        memory_before as f64 / 1_048_576.0,
        server.resident_bytes() as f64 / 1_048_576.0,
    );
    drop(stalled);
}

async fn idle_mode(database: &Database) {
    let sockets = setting("BENCH_IDLE_SOCKETS", 10_000);
    let server = Server::start(&database.uri, "load_idle").await;
    // One socket first, so that what every connection shares is already there.
    let first = server.connect("idle-first").await;
    let baseline = server.resident_bytes();
    println!(
        "idle: authenticated sockets that send nothing, {}",
        database.described
    );
    let mut open = vec![first];
    let mut checkpoints = vec![sockets.min(2_000), sockets];
    checkpoints.dedup();
    for checkpoint in checkpoints {
        let users: Vec<String> = (open.len()..checkpoint)
            .map(|index| format!("idle-{index}"))
            .collect();
        open.extend(connect_all(&server, &users).await);
        let grown = server.resident_bytes().saturating_sub(baseline);
        println!(
            "{checkpoint:>6} sockets: server memory +{:.1} MiB, {:.1} KiB per socket",
            grown as f64 / 1_048_576.0,
            grown as f64 / 1024.0 / (checkpoint - 1).max(1) as f64,
        );
    }
}

async fn cross_mode(database: &Database) {
    let updates = setting("BENCH_FANOUT_UPDATES", 20);
    let writer = Server::start(&database.uri, "load_cross").await;
    let reader = Server::start(&database.uri, "load_cross").await;
    let mut owner = writer.connect("cross-owner").await;
    let data = session_data("cross".into(), None, "stage", 60);
    let created = ok(
        &mut owner,
        "social:createSession",
        json!({"session": data, "usersToInvite": [{"userId": "cross-reader"}]}),
    )
    .await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    let (arrivals_in, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    listen_for_updates(reader.connect("cross-reader").await, arrivals_in.clone());
    // The bare watcher: the same change stream, with nothing behind it.
    let watched = mongodb::Client::with_uri_str(&database.uri).await.unwrap();
    let mut stream = watched
        .database("load_cross")
        .collection::<Document>("pushes")
        .watch()
        .max_await_time(Duration::from_millis(250))
        .await
        .expect("change streams (a replica set)");
    let (watched_in, mut watched_arrivals) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    tokio::spawn(async move {
        while let Ok(Some(_)) = stream.try_next().await {
            if watched_in.send(Instant::now()).is_err() {
                return;
            }
        }
    });
    drop(arrivals_in);
    println!(
        "cross: the change made through one serve process, heard on another, {updates} updates every 300 ms, {}",
        database.described
    );
    let (delays, missing, sends) = update_and_time(
        &mut owner,
        &session_id,
        "update",
        updates,
        Duration::from_millis(300),
        1,
        &mut arrivals,
    )
    .await;
    print_delays("client on the other process", &delays, missing);
    // The watcher saw one insert per update, in order: its delays from the same sends.
    let mut watcher_delays = Vec::new();
    for sent in &sends {
        match tokio::time::timeout(Duration::from_secs(5), watched_arrivals.recv()).await {
            Ok(Some(at)) => watcher_delays.push(at.saturating_duration_since(*sent)),
            _ => break,
        }
    }
    watcher_delays.sort();
    print_delays(
        "bare change-stream watcher",
        &watcher_delays,
        updates.saturating_sub(watcher_delays.len()),
    );
}

/// A `board` series: CPU seconds and database round trips per `work`.
async fn cost_of(
    server: &Server,
    trips: &RoundTrips,
    count: usize,
    work: impl std::future::Future<Output = ()>,
) -> (f64, f64) {
    let ticks = ticks_per_second();
    let (cpu_before, trips_before, started) = (
        server.cpu_seconds(ticks),
        trips.count().await,
        Instant::now(),
    );
    work.await;
    let cpu = (server.cpu_seconds(ticks) - cpu_before) / count as f64;
    let trips_after = trips.count().await;
    (
        cpu,
        trips.per_request(trips_before, trips_after, started.elapsed(), count),
    )
}

async fn board_mode(database: &Database) {
    const WATCHERS: usize = 200;
    const PROP: &str = "board-stage";
    let updates = setting("BENCH_FANOUT_UPDATES", 20);
    let calls = setting("BENCH_CALLS", 300);
    let server = Server::start(&database.uri, "load_board").await;
    let trips = RoundTrips::connect(&database.uri).await;
    let mut owner = server.connect("board-owner").await;
    let data = session_data("board".into(), None, PROP, 60);
    let created = ok(&mut owner, "social:createSession", json!({"session": data})).await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    let prop = json!({"roomId": ROOM, "propId": PROP});
    println!(
        "board: {WATCHERS} connections watching one prop, a session there updated {updates} times every 600 ms, {}",
        database.described
    );
    // The baseline: the look each watcher takes is one getPropSessions.
    let mut looker = server.connect("board-looker").await;
    let (look_cpu, look_trips) = cost_of(&server, &trips, calls, async {
        for _ in 0..calls {
            ok(&mut looker, "social:getPropSessions", prop.clone()).await;
        }
    })
    .await;
    let update = |title: String| json!({"session": {"id": &session_id, "title": title}});
    let (alone_cpu, alone_trips) = cost_of(&server, &trips, updates, async {
        for index in 0..updates {
            ok(
                &mut owner,
                "social:updateSession",
                update(format!("alone {index}")),
            )
            .await;
        }
    })
    .await;
    let users: Vec<String> = (0..WATCHERS)
        .map(|index| format!("board-{index}"))
        .collect();
    let mut watchers = connect_all(&server, &users).await;
    for watcher in &mut watchers {
        ok(watcher, "social:watchProp", prop.clone()).await;
    }
    let (arrivals_in, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    for watcher in watchers {
        listen_for_pushes("social:propSessionsUpdated", watcher, arrivals_in.clone());
    }
    drop(arrivals_in);
    // Past the shortest interval between looks since the watches' first looks (their
    // answers), so that the first update is not held back by it.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut delays = Vec::new();
    let mut missing = 0;
    let (watched_cpu, watched_trips) = cost_of(&server, &trips, updates, async {
        (delays, missing, _) = update_and_time(
            &mut owner,
            &session_id,
            "watched",
            updates,
            // Apart by more than a watch's shortest interval between looks: each update
            // is looked at on its own.
            Duration::from_millis(600),
            WATCHERS,
            &mut arrivals,
        )
        .await;
    })
    .await;
    print_delays("update request → board push arrival", &delays, missing);
    let per_look_cpu = (watched_cpu - alone_cpu).max(0.0) / WATCHERS as f64;
    let per_look_trips = (watched_trips - alone_trips).max(0.0) / WATCHERS as f64;
    println!(
        "getPropSessions (baseline): CPU {:.0?}, {look_trips:.1} round trips per call",
        Duration::from_secs_f64(look_cpu)
    );
    println!(
        "updateSession without watchers: CPU {:.0?}, {alone_trips:.1} round trips; with {WATCHERS}: CPU {:.1?}, {watched_trips:.0} round trips",
        Duration::from_secs_f64(alone_cpu),
        Duration::from_secs_f64(watched_cpu)
    );
    println!(
        "per watcher and change: CPU {:.0?} ({:.2}× a getPropSessions), {per_look_trips:.2} round trips ({:.2}×)",
        Duration::from_secs_f64(per_look_cpu),
        per_look_cpu / look_cpu.max(1e-12),
        per_look_trips / look_trips.max(1e-12)
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let chosen = Chosen::from_args();
    let database = Database::open();
    runtime.block_on(async {
        println!(
            "machine: {} cores",
            std::thread::available_parallelism().map_or(0, |cores| cores.get())
        );
        if chosen.wants("requests") {
            requests_mode(&database).await;
        }
        if chosen.wants("fanout") {
            fanout_mode(&database).await;
        }
        if chosen.wants("idle") {
            idle_mode(&database).await;
        }
        if chosen.wants("cross") {
            cross_mode(&database).await;
        }
        if chosen.wants("board") {
            board_mode(&database).await;
        }
    });
}
