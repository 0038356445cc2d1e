//! Idempotent retries (extension): a request that changes data, sent again by the same
//! user with the same `event.id`, is answered with the first answer and not worked on
//! again — on the same connection, on another one, at the same moment, and through
//! another server process; the same `event.id` with other `data` or another endpoint is a
//! 409; reads are always worked on; an answer is kept though the database stalls as it
//! is recorded.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use social_events::api::retries;
use social_events::domain::ids::{SessionId, UserId};
use social_events::domain::time::Timestamp;
use social_events::store::Store;
use social_events::store::request_answers::{Claimed, RecordedRequest};

use crate::faults::DatabaseProcess;
use crate::helpers::{Client, Patience, ServeProcess, TestApp, session_fields, spawn_app, unique};

/// Sends `endpoint` with `data` under `event_id`; answers the frame that answers it.
async fn send(client: &mut Client, endpoint: &str, data: &Value, event_id: &str) -> Value {
    let frame = json!({ "endpoint": endpoint, "data": data, "event": { "id": event_id } });
    client.send_text(frame.to_string()).await;
    loop {
        let frame = client.next_frame().await;
        if frame["event"]["id"] == event_id {
            return frame;
        }
    }
}

/// How many sessions `owner` has that have not ended.
async fn sessions_of(app: &TestApp, owner: &str) -> u64 {
    app.store
        .count_active_sessions(owner, Timestamp::now())
        .await
        .unwrap()
}

/// `frame` without its `event.date`, which every answer has its own of.
fn undated(mut frame: Value) -> Value {
    frame["event"]
        .as_object_mut()
        .expect("an event stamp")
        .remove("date");
    frame
}

#[tokio::test]
async fn a_repeated_create_is_answered_alike_and_creates_one_session() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut first = app.connect(&owner).await;
    let mut second = app.connect(&owner).await;
    let data = json!({ "session": session_fields("Once", 60) });
    let answer = send(&mut first, "social:createSession", &data, "create-1").await;
    assert_eq!(answer["error"]["code"], 0, "{answer}");
    let again = send(&mut first, "social:createSession", &data, "create-1").await;
    let elsewhere = send(&mut second, "social:createSession", &data, "create-1").await;
    assert_eq!(undated(again), undated(answer.clone()));
    assert_eq!(undated(elsewhere), undated(answer.clone()));
    assert_eq!(sessions_of(&app, &owner).await, 1);

    // Another request under the same id is refused; so is another endpoint.
    let other = json!({ "session": session_fields("Twice?", 60) });
    let refused = send(&mut first, "social:createSession", &other, "create-1").await;
    assert_eq!(refused["error"]["code"], 409, "{refused}");
    let refused = send(
        &mut first,
        "social:deleteSession",
        &json!({ "sessionId": answer["data"]["session"]["id"] }),
        "create-1",
    )
    .await;
    assert_eq!(refused["error"]["code"], 409, "{refused}");

    // The same data with its keys in another order is the same request.
    let mut reordered = serde_json::Map::new();
    let session = data["session"].as_object().unwrap();
    for key in session.keys().rev() {
        reordered.insert(key.clone(), session[key].clone());
    }
    let again = send(
        &mut first,
        "social:createSession",
        &json!({ "session": reordered }),
        "create-1",
    )
    .await;
    assert_eq!(again["error"]["code"], 0, "{again}");
    assert_eq!(again["data"], answer["data"]);
}

#[tokio::test]
async fn simultaneous_copies_of_one_request_do_its_work_once() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut clients: Vec<Client> = join_all((0..5).map(|_| app.connect(&owner))).await;
    let data = json!({ "session": session_fields("At once", 60) });
    let answers: Vec<Value> = join_all(
        clients
            .iter_mut()
            .map(|client| send(client, "social:createSession", &data, "burst-1")),
    )
    .await;
    let first = undated(answers[0].clone());
    assert_eq!(first["error"]["code"], 0, "{first}");
    for answer in answers {
        assert_eq!(undated(answer), first);
    }
    assert_eq!(sessions_of(&app, &owner).await, 1);
}

#[tokio::test]
async fn a_retry_through_another_server_process_gets_the_first_answer() {
    let app = spawn_app().await;
    let other = ServeProcess::start(&app.db_name).await;
    let owner = unique("owner");
    let mut here = app.connect(&owner).await;
    let mut there = other.connect(&owner).await;
    let data = json!({ "session": session_fields("Across", 60) });
    let answer = send(&mut here, "social:createSession", &data, "across-1").await;
    let retried = send(&mut there, "social:createSession", &data, "across-1").await;
    assert_eq!(undated(retried), undated(answer));
    assert_eq!(sessions_of(&app, &owner).await, 1);
}

/// A new user, connected, and the answer to their `createSession` of a session titled
/// `title`.
async fn owner_of_a_session(app: &TestApp, title: &str) -> (String, Client, Value) {
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let created = client
        .ok(
            "social:createSession",
            json!({ "session": session_fields(title, 60) }),
        )
        .await;
    (owner, client, created)
}

#[tokio::test]
async fn reads_and_refusals_are_what_they_say() {
    let app = spawn_app().await;
    let (_, mut client, created) = owner_of_a_session(&app, "Read me").await;
    let id = json!({ "sessionId": created["session"]["id"] });
    // A read is worked on every time, whatever its id.
    let before = send(&mut client, "social:getSession", &id, "read-1").await;
    client
        .ok(
            "social:updateSession",
            json!({ "session": { "id": created["session"]["id"], "title": "Read me again" } }),
        )
        .await;
    let after = send(&mut client, "social:getSession", &id, "read-1").await;
    assert_eq!(before["data"]["session"]["title"], "Read me");
    assert_eq!(after["data"]["session"]["title"], "Read me again");
    // A refusal is answered again, not worked on again: a join refused as full stays
    // refused for its retries after a seat freed.
    let mut slot = session_fields("One slot", 60);
    slot["sessionType"] = json!(2);
    let slot = client
        .ok("social:createSession", json!({ "session": slot }))
        .await;
    let join = json!({ "sessionId": slot["session"]["id"] });
    let mut first = app.connect(&unique("first")).await;
    first.ok("social:joinSession", join.clone()).await;
    let mut late = app.connect(&unique("late")).await;
    let refused = send(&mut late, "social:joinSession", &join, "join-1").await;
    assert_eq!(refused["error"]["code"], 409, "{refused}");
    first.ok("social:declineSessionJoin", join.clone()).await;
    let again = send(&mut late, "social:joinSession", &join, "join-1").await;
    assert_eq!(undated(again), undated(refused));
    let fresh = send(&mut late, "social:joinSession", &join, "join-2").await;
    assert_eq!(fresh["error"]["code"], 0, "{fresh}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_kept_for_its_retries_though_the_database_stalls_as_it_is_recorded() {
    // One call in flight at a time (a pool of 5 less the 4 kept aside), and a frozen
    // database holding that one: keeping the answer finds no turn within its deadline.
    // Before, that lost the record for good, and a retry 30 s later worked on the
    // request again.
    let database = DatabaseProcess::start(&[]).await;
    let uri = format!("{}&maxPoolSize=5", database.uri());
    let store = Store::connect(&uri, &unique("answers"), Duration::from_millis(300))
        .await
        .unwrap();
    let (user, event_id) = (UserId::from(unique("user")), "join-1");
    let claimed_at = Timestamp::now();
    let claim = store
        .claim_request(&user, event_id, "social:joinSession", "hash", claimed_at)
        .await
        .unwrap();
    assert!(matches!(claim, Claimed::Claimed), "{claim:?}");

    database.freeze();
    let holder = tokio::spawn({
        let store = store.clone();
        async move {
            let _ = store
                .claim_request(
                    &UserId::from("holder"),
                    "h",
                    "social:joinSession",
                    "hash",
                    Timestamp::now(),
                )
                .await;
        }
    });
    let patience = Patience::new();
    while store.calls_in_flight() < 1 {
        patience.wait("the holder's call in flight").await;
    }
    let answer = Ok(Some(
        serde_json::value::to_raw_value(&json!({"joined": true})).unwrap(),
    ));
    // Waits a second for the record (its first attempt finds no turn), then goes on.
    retries::record(
        &store,
        &user,
        event_id,
        claimed_at,
        &answer,
        true,
        Duration::from_secs(1),
    )
    .await;
    database.signal("CONT");
    holder.await.unwrap();

    let patience = Patience::new();
    loop {
        let claim = store
            .claim_request(
                &user,
                event_id,
                "social:joinSession",
                "hash",
                Timestamp::now(),
            )
            .await
            .unwrap();
        match claim {
            Claimed::Recorded(RecordedRequest {
                answer: Some(answer),
                ..
            }) => {
                assert_eq!(answer.code, 0);
                assert_eq!(answer.data.as_deref(), Some(r#"{"joined":true}"#));
                break;
            }
            Claimed::Recorded(_) => patience.wait("the kept answer").await,
            other => panic!("the claim is gone: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_request_that_does_not_validate_is_refused_without_a_record_for_its_retries() {
    let app = spawn_app().await;
    let user = unique("invalid");
    let mut client = app.connect(&user).await;
    let invalid = json!({ "session": { "title": "" } });
    for attempt in 0..5 {
        let event_id = format!("invalid-{attempt}");
        let answer = send(&mut client, "social:createSession", &invalid, &event_id).await;
        assert_eq!(answer["error"]["code"], 400, "{answer}");
    }
    let records = app
        .store
        .database()
        .collection::<bson::Document>("requestAnswers")
        .count_documents(bson::doc! { "_id.user": &user })
        .await
        .unwrap();
    assert_eq!(records, 0, "records kept for requests refused as invalid");
}

#[tokio::test]
async fn a_large_answer_keeps_only_what_it_showed_and_a_retry_reads_it_again() {
    let app = spawn_app().await;
    let (owner, mut client, created) = owner_of_a_session(&app, "Crowded").await;
    let id = created["session"]["id"].as_str().unwrap().to_owned();
    for batch in 0..3 {
        let entries: Vec<Value> = (0..100)
            .map(|index| json!({ "userId": format!("{owner}-guest-{batch}-{index}") }))
            .collect();
        client
            .ok(
                "social:inviteUsersToSession",
                json!({ "sessionId": &id, "usersToInvite": entries }),
            )
            .await;
    }
    let update = json!({ "session": { "id": &id, "title": "Crowded, renamed" } });
    let answer = send(&mut client, "social:updateSession", &update, "rename-1").await;
    assert_eq!(answer["error"]["code"], 0, "{answer}");
    assert!(
        answer["data"].to_string().len() > retries::MAX_KEPT_ANSWER_BYTES,
        "the answer is not large enough to test with"
    );
    let record = app
        .store
        .database()
        .collection::<bson::Document>("requestAnswers")
        .find_one(bson::doc! { "_id.user": &owner, "_id.event": "rename-1" })
        .await
        .unwrap()
        .expect("the request's record");
    let bytes = bson::to_vec(&record).unwrap().len();
    assert!(bytes < 1024, "a record of {bytes} bytes: {record}");
    // The retry is not worked again (the version stays) and shows the session as it is.
    let again = send(&mut client, "social:updateSession", &update, "rename-1").await;
    assert_eq!(undated(again.clone()), undated(answer.clone()));
    let read = client
        .ok("social:getSession", json!({ "sessionId": &id }))
        .await;
    assert_eq!(read["session"], answer["data"]["session"]);
}

#[tokio::test]
async fn a_changes_answer_is_kept_with_its_push_and_a_retry_finds_it_there() {
    let app = spawn_app().await;
    let platform = app.platform().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let created = client
        .ok(
            "social:createSession",
            json!({ "session": session_fields("Kept", 60) }),
        )
        .await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    let stored = |platform: Store| {
        let session_id = SessionId::from(session_id.as_str());
        async move { platform.find_session(&session_id).await.unwrap().unwrap() }
    };
    let sequence_before = stored(platform.clone()).await.sequence;
    let data = json!({ "session": { "id": &session_id, "title": "Renamed" } });
    let answer = send(&mut client, "social:updateSession", &data, "update-1").await;
    assert_eq!(answer["data"]["session"]["title"], "Renamed", "{answer}");
    // What is recorded of request `event_id` (claiming it again finds the first claim).
    let recorded = |event_id: &'static str| {
        let (platform, owner) = (platform.clone(), UserId::from(owner.as_str()));
        async move {
            platform
                .claim_request(
                    &owner,
                    event_id,
                    "social:updateSession",
                    "any",
                    Timestamp::now(),
                )
                .await
                .unwrap()
        }
    };
    // No write of its own: what the claim holds has no answer; the push carries it.
    let claim = recorded("update-1").await;
    assert!(
        matches!(
            claim,
            Claimed::Recorded(RecordedRequest { answer: None, .. })
        ),
        "{claim:?}"
    );
    let mut elsewhere = app.connect(&owner).await;
    let again = send(&mut elsewhere, "social:updateSession", &data, "update-1").await;
    assert_eq!(undated(again), undated(answer));
    // Worked on once.
    assert_eq!(stored(platform.clone()).await.sequence, sequence_before + 1);

    // A request that publishes nothing keeps its answer on its own.
    let missing = json!({ "session": { "id": unique("missing"), "title": "X" } });
    let refused = send(&mut client, "social:updateSession", &missing, "update-2").await;
    assert_eq!(refused["error"]["code"], 404, "{refused}");
    match recorded("update-2").await {
        Claimed::Recorded(RecordedRequest {
            answer: Some(kept), ..
        }) => assert_eq!(kept.code, 404),
        other => panic!("no answer kept: {other:?}"),
    }
}
