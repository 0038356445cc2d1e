//! Resumable pushes (extension): push frames carry increasing `event.id`s; a client that
//! reconnects with `?resumeAfter=<the last it saw>` first receives each session it missed
//! pushes of, once, as it is now, in the order of their last pushes — also those
//! published through another server process — then live ones, none twice; an id it was
//! never sent, or one older than the kept log, gets one `social:resync`.

use serde_json::{Value, json};

use social_events::store::push_numbers::PushNumber;

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
    // Each session once, as it is now.
    assert_eq!(ids, [session["id"].clone(), second["id"].clone()]);
    assert_eq!(missed[1]["data"]["session"]["title"], "Retro, longer");
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
async fn a_replay_of_more_sessions_than_one_read_sends_each_once_in_the_order_of_its_last_change() {
    let app = spawn_app().await;
    let (ada, mut olga, _, seen) = invited_and_pushed(&app).await;
    // Ada is away while six sessions she is invited to are created, changed again in
    // the reverse order, and the third of them deleted.
    let mut created = Vec::new();
    for index in 0..6 {
        let fields = session_fields(&format!("Talk {index}"), 60 + index);
        let invited = json!([{ "userId": &ada, "role": 0 }]);
        created.push(create_session(&mut olga, fields, invited).await);
    }
    for (index, session) in created.iter().enumerate().rev() {
        olga.ok(
            "social:updateSession",
            json!({ "session": { "id": session["id"], "title": format!("Talk {index}, moved") } }),
        )
        .await;
    }
    olga.ok(
        "social:deleteSession",
        json!({ "sessionId": created[2]["id"] }),
    )
    .await;

    let mut back = resume(&app.ws_url(), &app.token(&ada), &seen).await;
    let missed = back.frames_before_sentinel().await;
    let shown: Vec<(String, Value)> = missed
        .iter()
        .map(|frame| {
            let data = &frame["data"];
            let id = data["session"].get("id").unwrap_or(&data["sessionId"]);
            (frame["endpoint"].as_str().unwrap().to_owned(), id.clone())
        })
        .collect();
    let updated = |index: usize| {
        (
            "social:sessionUpdated".to_owned(),
            created[index]["id"].clone(),
        )
    };
    let expected = vec![
        updated(5),
        updated(4),
        updated(3),
        updated(1),
        updated(0),
        ("social:sessionDeleted".to_owned(), created[2]["id"].clone()),
    ];
    assert_eq!(shown, expected);
    assert_eq!(missed[0]["data"]["session"]["title"], "Talk 5, moved");
    let sequences: Vec<i64> = missed.iter().map(sequence).collect();
    assert!(
        sequences.windows(2).all(|pair| pair[0] < pair[1]),
        "{sequences:?}"
    );
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
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0]["endpoint"], "social:sessionUpdated");
    assert_eq!(missed[0]["data"]["session"]["title"], "Three");
    assert!(sequence(&missed[0]) > seen.parse::<i64>().unwrap());
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

    // Older than the kept ten minutes: a place in the change history of 11 minutes ago.
    let long_ago = PushNumber::of_insert(bson::Timestamp {
        time: u32::try_from(chrono::Utc::now().timestamp() - 11 * 60).unwrap(),
        increment: 1,
    });
    let mut back = resume(&app.ws_url(), &app.token(&ada), &long_ago.to_string()).await;
    assert_eq!(back.frames_before_sentinel().await, [resync]);
}

#[tokio::test]
async fn a_replay_larger_than_its_bound_is_one_resync() {
    let app = spawn_app().await;
    let (ada, mut olga, _session, seen) = invited_and_pushed(&app).await;
    // Each session renders at about 40 KB: the replay of 60 of them passes 2 MiB.
    let long = "🎤".repeat(10_000);
    for n in 0..60 {
        let mut fields = session_fields(&format!("Long {n}"), 60 + n);
        fields["description"] = json!(long);
        create_session(&mut olga, fields, json!([{ "userId": &ada, "role": 0 }])).await;
    }
    let mut back = resume(&app.ws_url(), &app.token(&ada), &seen).await;
    assert_eq!(
        back.frames_before_sentinel().await,
        [json!({ "endpoint": "social:resync", "data": {} })]
    );
}

#[tokio::test]
async fn pushes_from_two_processes_arrive_in_the_order_of_their_numbers_and_resume_after_the_last()
{
    let app = spawn_app().await;
    let other = ServeProcess::start(&app.db_name).await;
    let ada = unique("ada");
    let mut here = app.connect(&unique("olga")).await;
    let mut there = other.connect(&unique("otto")).await;
    let mut ada_client = app.connect(&ada).await;
    let invite = json!([{ "userId": &ada, "role": 0 }]);
    let mine = create_session(&mut here, session_fields("Here", 60), invite.clone()).await;
    let theirs = create_session(&mut there, session_fields("There", 60), invite).await;
    // Both processes publish changes for Ada at the same time.
    let rename = |session: &Value, title: String| json!({ "session": { "id": session["id"], "title": title } });
    tokio::join!(
        async {
            for n in 0..20 {
                here.ok("social:updateSession", rename(&mine, format!("Here {n}")))
                    .await;
            }
        },
        async {
            for n in 0..20 {
                there
                    .ok(
                        "social:updateSession",
                        rename(&theirs, format!("There {n}")),
                    )
                    .await;
            }
        },
    );
    let seen = ada_client.frames_before_sentinel().await;
    let numbers: Vec<i64> = seen.iter().map(sequence).collect();
    assert!(numbers.len() >= 4, "{seen:?}");
    assert!(
        numbers.windows(2).all(|pair| pair[0] < pair[1]),
        "numbers in the order of arrival: {numbers:?}"
    );
    // Resuming after the last push seen (before the sentinel's) replays nothing seen.
    let last = numbers.last().unwrap().to_string();
    drop(ada_client);
    let mut back = resume(&app.ws_url(), &app.token(&ada), &last).await;
    let replayed = back.frames_before_sentinel().await;
    assert!(
        replayed
            .iter()
            .all(|frame| frame["data"]["session"]["title"] == "sentinel 1"),
        "{replayed:?}"
    );
}
