//! Resumable pushes (extension): push frames carry increasing `event.id`s; a client that
//! reconnects with `?resumeAfter=<the last it saw>` first receives exactly the pushes it
//! missed, in order — also those published through another server process — then live
//! ones; an id it was never sent, or one older than the kept log, gets one
//! `social:resync`.

use bson::doc;
use serde_json::{Value, json};

use crate::helpers::{
    Client, ServeProcess, TestApp, create_session, session_fields, spawn_app, unique,
};

/// `user_id` connected to `ws_url` (a server's WebSocket), resuming after `event_id`.
async fn resume(ws_url: &str, token: &str, event_id: &str) -> Client {
    Client::connect(&format!("{ws_url}?resumeAfter={event_id}"), token).await
}

/// The `event.id` of a push frame, as a number.
fn sequence(frame: &Value) -> i64 {
    frame["event"]["id"].as_str().unwrap().parse().unwrap()
}

/// Ada is invited to a session of Olga's and receives its push; answers Ada's id, Olga's
/// connection, the session and the push's `event.id`.
async fn invited_and_pushed(app: &TestApp) -> (String, Client, Value, String) {
    let ada = unique("ada");
    let mut olga = app.connect(&unique("olga")).await;
    let mut ada_client = app.connect(&ada).await;
    let session = create_session(
        &mut olga,
        session_fields("Standup", 60),
        json!([{ "userId": &ada, "role": 0 }]),
    )
    .await;
    let push = ada_client.next_frame().await;
    assert_eq!(push["endpoint"], "social:sessionUpdated");
    let seen = push["event"]["id"].as_str().unwrap().to_owned();
    (ada, olga, session, seen)
}

#[tokio::test]
async fn a_reconnecting_client_receives_exactly_what_it_missed_in_order_then_live_pushes() {
    let app = spawn_app().await;
    let (ada, mut olga, session, seen) = invited_and_pushed(&app).await;
    // Ada is away while three changes happen.
    olga.ok(
        "social:updateSession",
        json!({ "session": { "id": session["id"], "title": "Standup, moved" } }),
    )
    .await;
    let second = create_session(
        &mut olga,
        session_fields("Retro", 120),
        json!([{ "userId": &ada, "role": 0 }]),
    )
    .await;
    olga.ok(
        "social:updateSession",
        json!({ "session": { "id": second["id"], "title": "Retro, longer" } }),
    )
    .await;

    let mut back = resume(&app.ws_url(), &app.token(&ada), &seen).await;
    let missed = back.frames_before_sentinel().await;
    let ids: Vec<Value> = missed
        .iter()
        .map(|frame| frame["data"]["session"]["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            session["id"].clone(),
            second["id"].clone(),
            second["id"].clone()
        ]
    );
    let sequences: Vec<i64> = missed.iter().map(sequence).collect();
    assert!(
        sequences.windows(2).all(|pair| pair[0] < pair[1]),
        "{sequences:?}"
    );
    assert!(sequences[0] > seen.parse::<i64>().unwrap());
    assert_eq!(missed[0]["data"]["session"]["title"], "Standup, moved");

    // Then live pushes, each once.
    olga.ok(
        "social:updateSession",
        json!({ "session": { "id": session["id"], "title": "Standup, live" } }),
    )
    .await;
    let live = back.frames_before_sentinel().await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["data"]["session"]["title"], "Standup, live");
    assert!(sequence(&live[0]) > *sequences.last().unwrap());
}

#[tokio::test]
async fn pushes_published_through_another_process_are_replayed_too() {
    let app = spawn_app().await;
    let other = ServeProcess::start(&app.db_name).await;
    let ada = unique("ada");
    let olga_id = unique("olga");
    let mut olga = other.connect(&olga_id).await;
    let mut ada_client = app.connect(&ada).await;
    let session = create_session(
        &mut olga,
        session_fields("Elsewhere", 60),
        json!([{ "userId": &ada, "role": 0 }]),
    )
    .await;
    let seen = ada_client.next_frame().await["event"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(ada_client);
    for title in ["One", "Two", "Three"] {
        olga.ok(
            "social:updateSession",
            json!({ "session": { "id": session["id"], "title": title } }),
        )
        .await;
    }
    let mut back = resume(&app.ws_url(), &app.token(&ada), &seen).await;
    let missed = back.frames_before_sentinel().await;
    assert_eq!(missed.len(), 3, "{missed:?}");
    assert!(
        missed
            .iter()
            .all(|frame| frame["endpoint"] == "social:sessionUpdated")
    );
}

#[tokio::test]
async fn an_id_never_sent_or_no_longer_kept_gets_one_resync() {
    let app = spawn_app().await;
    let (ada, _olga, _session, seen) = invited_and_pushed(&app).await;
    let resync = json!({ "endpoint": "social:resync", "data": {} });
    for never_sent in ["999999999999", "not-a-number"] {
        let mut back = resume(&app.ws_url(), &app.token(&ada), never_sent).await;
        assert_eq!(
            back.frames_before_sentinel().await,
            std::slice::from_ref(&resync)
        );
    }
    // Someone else's push is not Ada's to resume from.
    let bob = unique("bob");
    let mut bob_client = resume(&app.ws_url(), &app.token(&bob), &seen).await;
    assert_eq!(
        bob_client.frames_before_sentinel().await,
        std::slice::from_ref(&resync)
    );

    // Older than the kept ten minutes.
    let long_ago = bson::DateTime::from_millis(chrono::Utc::now().timestamp_millis() - 11 * 60_000);
    app.platform()
        .await
        .database()
        .collection::<bson::Document>("pushes")
        .update_many(doc! {}, doc! { "$set": { "at": long_ago } })
        .await
        .unwrap();
    let mut back = resume(&app.ws_url(), &app.token(&ada), &seen).await;
    assert_eq!(back.frames_before_sentinel().await, [resync]);
}
