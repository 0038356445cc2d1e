//! A person's data on request (extension): the export of everything the service holds
//! that names one user, and its erasure — complete (a scan of every collection finds the
//! id nowhere), fair to the others (their sessions intact, pushed, seats handed on), and
//! finished after a process is killed part-way.

use futures_util::TryStreamExt;
use serde_json::{Value, json};

use social_events::domain::kinds::MembershipRole as Role;

use crate::helpers::{
    Client, Network, Patience, ServeProcess, TestApp, create_event, create_session,
    published_event, spawn_app_with, unique,
};

const SECRET: &str = "internal-secret-of-the-platform-32-bytes";
const MINUTE: i64 = 60_000;

/// The collections the platform owns: not this service's to export or erase.
const PLATFORM_OWNED: [&str; 2] = ["users", "memberships"];

async fn app() -> TestApp {
    spawn_app_with(|settings| settings.internal_secret = Some(SECRET.into())).await
}

fn session_at(title: &str, starts_in_minutes: i64) -> Value {
    json!({"roomId": "hall", "propId": unique("stage"), "title": title, "duration": 3600,
           "startDate": chrono::Utc::now().timestamp_millis() + starts_in_minutes * MINUTE})
}

/// Ada's data in every collection, and the people around her.
struct World {
    ada: String,
    ada_client: Client,
    bob: String,
    bob_client: Client,
    carol: String,
    carol_client: Client,
    host: Client,
    /// Ada's own event, standalone session, and the sessions she is in.
    own_event: Value,
    own_session: Value,
    bobs_panel: Value,
    seated: Value,
    waiting: Value,
    feed_url: String,
}

async fn world(app: &TestApp) -> World {
    let mut net: Network = crate::helpers::network(app).await;
    // One seat per session of this event: she will hold one seat Carol waits for, and wait
    // for one of Bob's.
    let event = published_event(&mut net, json!({"participantLimit": 1})).await;
    let Network {
        id: net_id,
        admin: mut host,
        member: mut ada_client,
        member_id: ada,
        ..
    } = net;
    let [bob, carol] = ["bob", "carol"].map(unique);
    for user in [&bob, &carol] {
        app.add_membership(user, &net_id, None, Role::Member).await;
    }
    // Ada administers a network of her own, with a draft event there.
    let her_net = unique("net");
    app.add_membership(&ada, &her_net, None, Role::Admin).await;
    let mut bob_client = app.connect(&bob).await;
    let mut carol_client = app.connect(&carol).await;
    let own_event = create_event(&mut ada_client, &format!("network:{her_net}"), "Ada's").await;
    // Her session, starting soon (a reminder is pushed to her), inviting Bob by id (a
    // record of her invitations).
    let own_session = create_session(
        &mut ada_client,
        session_at("Ada's talk", 5),
        json!([{"userId": &bob}]),
    )
    .await;
    // Bob invites her.
    let bobs_panel = create_session(
        &mut bob_client,
        session_at("Bob's panel", 120),
        json!([{"userId": &ada, "role": 1}]),
    )
    .await;
    let in_event = |title: &str| {
        let mut fields = session_at(title, 180);
        fields["eventId"] = event["id"].clone();
        fields
    };
    let seated = create_session(&mut host, in_event("Seated"), json!([])).await;
    let waiting = create_session(&mut host, in_event("Waiting"), json!([])).await;
    let join =
        |session: &Value, waitlist: bool| json!({"sessionId": session["id"], "waitlist": waitlist});
    ada_client
        .ok("social:joinSession", join(&seated, false))
        .await;
    let waits = carol_client
        .ok("social:joinSession", join(&seated, true))
        .await;
    assert_eq!(waits["waitlisted"], true, "{waits}");
    bob_client
        .ok("social:joinSession", join(&waiting, false))
        .await;
    ada_client
        .ok("social:joinSession", join(&waiting, true))
        .await;
    // A session of Bob's she was invited to, deleted: a push naming her.
    let gone = create_session(
        &mut bob_client,
        session_at("Gone", 240),
        json!([{"userId": &ada}]),
    )
    .await;
    bob_client
        .ok("social:deleteSession", json!({"sessionId": gone["id"]}))
        .await;
    // Her feed, her lead time, a prop she watches and its push.
    let feed = ada_client.ok("social:getCalendarFeed", json!({})).await;
    ada_client
        .ok("social:setReminder", json!({"minutes": 30}))
        .await;
    let watched = unique("booth");
    ada_client
        .ok(
            "social:watchProp",
            json!({"roomId": "hall", "propId": &watched}),
        )
        .await;
    let mut at_booth = session_at("At the booth", 300);
    at_booth["propId"] = json!(watched);
    create_session(&mut bob_client, at_booth, json!([])).await;
    loop {
        let frame = ada_client.next_frame().await;
        if frame["endpoint"] == "social:propSessionsUpdated" {
            break;
        }
    }
    World {
        ada,
        ada_client,
        bob,
        bob_client,
        carol,
        carol_client,
        host,
        own_event,
        own_session,
        bobs_panel,
        seated,
        waiting,
        feed_url: feed["url"].as_str().unwrap().to_owned(),
    }
}

fn internal(app: &TestApp, path: &str) -> String {
    app.http_url(&format!("/api/v0/internal/users/{path}"))
}

async fn export(app: &TestApp, user_id: &str) -> Value {
    let response = reqwest::Client::new()
        .get(internal(app, &format!("{user_id}/export")))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_export_lists_every_record_that_names_the_user() {
    let app = app().await;
    let world = world(&app).await;
    let exported = export(&app, &world.ada).await;
    assert_eq!(exported["userId"], world.ada.as_str());
    assert_eq!(
        ids(&exported["events"], "id"),
        [world.own_event["id"].as_str().unwrap()]
    );
    let sessions = exported["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{exported}");
    assert_eq!(sessions[0]["id"], world.own_session["id"]);
    assert_eq!(
        sessions[0]["invitedUsers"][0]["user"]["id"],
        world.bob.as_str()
    );
    assert_eq!(
        exported["invitations"],
        json!([{"sessionId": world.bobs_panel["id"], "role": 1, "status": 0}])
    );
    assert_eq!(
        ids(&exported["joined"], "sessionId"),
        [world.seated["id"].as_str().unwrap()]
    );
    assert_eq!(exported["declined"], json!([]));
    assert_eq!(
        exported["waitlist"],
        json!([{"sessionId": world.waiting["id"], "position": 1}])
    );
    assert_eq!(exported["calendarFeed"]["exists"], true);
    assert!(exported["calendarFeed"]["created"].is_i64(), "{exported}");
    assert!(
        !exported.to_string().contains(&world.feed_url),
        "the feed's secret"
    );
    assert_eq!(exported["reminder"], json!({"minutes": 30, "chosen": true}));
    for kind in ["pushes", "propPushes", "retryAnswers", "contactLookups"] {
        let summary = &exported[kind];
        assert!(
            summary["count"].as_u64().unwrap() >= 1,
            "{kind}: {exported}"
        );
        assert!(summary["oldest"].as_i64().unwrap() <= summary["newest"].as_i64().unwrap());
    }
    // Nothing of someone with no data; the same answer from the same data.
    let nobody = export(&app, &unique("nobody")).await;
    assert_eq!(nobody["sessions"], json!([]));
    assert_eq!(nobody["pushes"]["count"], 0);
    let mut again = export(&app, &world.ada).await;
    let mut first = exported.clone();
    again["exportedAt"] = Value::Null;
    first["exportedAt"] = Value::Null;
    assert_eq!(again, first);
    // The internal secret, and nothing else, opens it.
    let refused = reqwest::Client::new()
        .get(internal(&app, &format!("{}/export", world.ada)))
        .bearer_auth(app.token(&world.ada))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // Not a user id: 400, on each route.
    let http = reqwest::Client::new();
    let long = "x".repeat(257);
    for path in [
        format!("{long}/export"),
        format!("{long}/erasure"),
        "%0A/export".to_owned(),
    ] {
        let response = http
            .get(internal(&app, &path))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
    }
    let response = http
        .delete(internal(&app, &long))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // A user id with what patterns and JSON treat specially is exported as it is.
    let odd = format!("{}.*\\\"(x)", unique("odd"));
    let exported = export(&app, &odd.replace('"', "%22").replace('\\', "%5C")).await;
    assert_eq!(exported["userId"], odd.as_str());
}

/// Every document of every collection of the service's database that holds `needle`
/// anywhere, as `collection: document`.
async fn documents_naming(app: &TestApp, needle: &str) -> Vec<String> {
    documents_naming_in(&app.platform().await.database(), needle).await
}

/// [`documents_naming`] in `database`.
async fn documents_naming_in(database: &mongodb::Database, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for collection in database.list_collection_names().await.unwrap() {
        if PLATFORM_OWNED.contains(&collection.as_str()) {
            continue;
        }
        let documents: Vec<bson::Document> = database
            .collection::<bson::Document>(&collection)
            .find(bson::doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        for document in documents {
            let text = bson::Bson::Document(document)
                .into_relaxed_extjson()
                .to_string();
            if text.contains(needle) {
                found.push(format!("{collection}: {text}"));
            }
        }
    }
    found
}

/// Waits until the erasure of `user_id` is done; answers its state.
async fn erased(app: &TestApp, user_id: &str) -> Value {
    let patience = Patience::of(std::time::Duration::from_secs(60));
    loop {
        let response = reqwest::Client::new()
            .get(internal(app, &format!("{user_id}/erasure")))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let state: Value = response.json().await.unwrap();
        if state["state"] == "done" {
            return state;
        }
        patience.wait("the erasure's end").await;
    }
}

async fn erase(app: &TestApp, user_id: &str) -> Value {
    let response = reqwest::Client::new()
        .delete(internal(app, user_id))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_erasure_leaves_nothing_naming_the_user_and_the_others_their_sessions() {
    let app = app().await;
    let mut world = world(&app).await;
    let begun = erase(&app, &world.ada).await;
    assert_eq!(begun["jobId"].as_str().unwrap().len(), 64);
    // Her connection is closed with the documented code.
    assert_eq!(world.ada_client.close_code().await, Some(4410));
    let done = erased(&app, &world.ada).await;
    assert_eq!(done["jobId"], begun["jobId"]);
    assert_eq!(done["counts"]["events"], 1);
    assert_eq!(done["counts"]["sessions"], 1);
    assert!(done["finished"].is_i64());

    let naming = documents_naming(&app, &world.ada).await;
    assert!(naming.is_empty(), "{naming:#?}");
    // Bob hears that her session is gone and that his panel no longer lists her.
    let mut deleted = false;
    let mut updated = false;
    while !(deleted && updated) {
        let frame = world.bob_client.next_frame().await;
        match frame["endpoint"].as_str().unwrap() {
            "social:sessionDeleted" => {
                deleted |= frame["data"]["sessionId"] == world.own_session["id"];
            }
            "social:sessionUpdated" if frame["data"]["session"]["id"] == world.bobs_panel["id"] => {
                assert_eq!(frame["data"]["session"]["invitedUsers"], json!([]));
                updated = true;
            }
            _ => {}
        }
    }
    // Carol takes the seat Ada held; Bob keeps his.
    let seated = world
        .carol_client
        .ok(
            "social:getSession",
            json!({"sessionId": world.seated["id"]}),
        )
        .await;
    let joined: Vec<&str> = seated["session"]["joinedUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_str().unwrap())
        .collect();
    assert_eq!(joined, [world.carol.as_str()]);
    let waiting = world
        .host
        .ok(
            "social:getSession",
            json!({"sessionId": world.waiting["id"]}),
        )
        .await;
    assert_eq!(
        waiting["session"]["joinedUsers"][0]["id"],
        world.bob.as_str()
    );
    // Her feed is gone.
    let path = world
        .feed_url
        .strip_prefix("https://social.example.test")
        .unwrap();
    assert_eq!(
        reqwest::get(app.http_url(path)).await.unwrap().status(),
        404
    );
    // Asked again: the same job; created again, she starts from nothing.
    let again = erase(&app, &world.ada).await;
    assert_eq!(again["jobId"], begun["jobId"]);
    erased(&app, &world.ada).await;
    let mut back = app.connect(&world.ada).await;
    assert_eq!(
        back.ok("social:getReminder", json!({})).await,
        json!({"minutes": 10})
    );
    let exported = export(&app, &world.ada).await;
    assert_eq!(exported["sessions"], json!([]));
    assert_eq!(exported["invitations"], json!([]));
}

#[tokio::test]
async fn an_erasure_cut_short_by_kill_9_is_finished_by_the_next_process() {
    let db_name = unique("erasure");
    let environment = |uri: &str| {
        vec![
            ("MONGODB_URI".to_owned(), uri.to_owned()),
            ("SOCIAL_DB".to_owned(), db_name.clone()),
            ("SOCIAL_INTERNAL_SECRET".to_owned(), SECRET.to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ]
    };
    let uri = crate::helpers::shared_database_uri().await;
    let launch = || async {
        let env = environment(&uri);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ServeProcess::launch(&env, std::process::Stdio::inherit()).await
    };
    let mut first = launch().await;
    let ada = unique("ada");
    let mut bob_client = first.connect(&unique("bob")).await;
    let database = mongodb::Client::with_uri_str(&uri)
        .await
        .unwrap()
        .database(&db_name);
    // More sessions of hers than one page of the erasure reads, and some she is invited
    // to: an erasure that takes a while.
    let start = bson::DateTime::from_millis(chrono::Utc::now().timestamp_millis() + 600 * MINUTE);
    let own: Vec<bson::Document> = (0..250)
        .map(|index| {
            bson::doc! {
                "_id": unique(&format!("own-{index}")), "created": start, "updated": start,
                "eventId": "", "ownerId": &ada, "roomId": "r", "propId": "p", "sessionType": 0,
                "title": "Own", "description": "", "startDate": start, "duration": 60_i64,
                "endDate": start, "isRecurring": false, "isValid": true, "activeUntil": start,
                "color": {"r": 1.0, "g": 1.0, "b": 1.0, "a": 1.0},
            }
        })
        .collect();
    database
        .collection::<bson::Document>("sessions")
        .insert_many(own)
        .await
        .unwrap();
    for index in 0..40 {
        create_session(
            &mut bob_client,
            session_at(&format!("Bob's {index}"), 600),
            json!([{"userId": &ada}]),
        )
        .await;
    }
    let response = reqwest::Client::new()
        .delete(format!("http://{}/api/v0/internal/users/{ada}", first.addr))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    first.kill();
    let record = database
        .collection::<bson::Document>("erasures")
        .find_one(bson::doc! {})
        .await
        .unwrap()
        .unwrap();
    // Whether or not the kill cut it short, a process that dies with the job running
    // leaves it to the next one: make sure it is left running, as after a kill mid-way,
    // and that its lease has lapsed (the time a stopped run keeps it from others).
    let mut left = bson::doc! { "$unset": { "leaseUntil": "", "runner": "" } };
    if record.get_str("state") == Ok("done") {
        left.insert("$set", bson::doc! { "state": "running", "userId": &ada });
    }
    database
        .collection::<bson::Document>("erasures")
        .update_one(bson::doc! {}, left)
        .await
        .unwrap();
    let second = launch().await;
    let patience = Patience::of(std::time::Duration::from_secs(90));
    loop {
        let response = reqwest::Client::new()
            .get(format!(
                "http://{}/api/v0/internal/users/{ada}/erasure",
                second.addr
            ))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap();
        let state: Value = response.json().await.unwrap();
        if state["state"] == "done" {
            break;
        }
        patience
            .wait("the erasure finished by the next process")
            .await;
    }
    let naming = documents_naming_in(&database, &ada).await;
    assert!(naming.is_empty(), "{naming:#?}");
    let left = database
        .collection::<bson::Document>("sessions")
        .count_documents(bson::doc! {})
        .await
        .unwrap();
    assert_eq!(left, 40, "Bob's sessions stay");
}
