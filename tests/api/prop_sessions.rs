//! `getPropSessions`: the two nearest visible sessions at a prop, recurring ones counted by
//! their current or next occurrence.

use serde_json::{Value, json};

use crate::helpers::{Client, create_session, spawn_app, unique};

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// Creates a session at `prop` starting `offset` milliseconds from now.
async fn at_prop(client: &mut Client, prop: &str, title: &str, offset: i64, patch: Value) -> Value {
    let mut fields = json!({
        "roomId": "hall", "propId": prop, "title": title, "duration": 3600,
        "startDate": chrono::Utc::now().timestamp_millis() + offset,
    });
    for (key, value) in patch.as_object().unwrap() {
        fields[key] = value.clone();
    }
    create_session(client, fields, json!([])).await
}

fn titles(data: &Value) -> Vec<String> {
    data["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn ongoing_sessions_come_first_then_the_next_occurrences() {
    let app = spawn_app().await;
    let prop = unique("stage");
    let mut owner = app.connect(&unique("owner")).await;
    let mut viewer = app.connect(&unique("viewer")).await;
    at_prop(&mut owner, &prop, "later", 120 * MINUTE, json!({})).await;
    // Started a week ago: its next occurrence, across the week boundary, is in 30 minutes.
    at_prop(
        &mut owner,
        &prop,
        "weekly",
        -7 * DAY + 30 * MINUTE,
        json!({"isRecurring": true}),
    )
    .await;
    at_prop(&mut owner, &prop, "ongoing", -10 * MINUTE, json!({})).await;
    at_prop(
        &mut owner,
        &prop,
        "private",
        10 * MINUTE,
        json!({"sessionType": 1}),
    )
    .await;
    let invalid = at_prop(&mut owner, &prop, "invalid", 5 * MINUTE, json!({})).await;
    at_prop(&mut owner, &prop, "over", -120 * MINUTE, json!({})).await;
    at_prop(
        &mut owner,
        &unique("elsewhere"),
        "other prop",
        MINUTE,
        json!({}),
    )
    .await;
    app.store
        .database()
        .collection::<bson::Document>("sessions")
        .update_one(
            bson::doc! {"_id": invalid["id"].as_str().unwrap()},
            bson::doc! {"$set": {"isValid": false}},
        )
        .await
        .unwrap();

    let request = json!({"roomId": "hall", "propId": prop});
    let data = viewer.ok("social:getPropSessions", request.clone()).await;
    assert_eq!(titles(&data), ["ongoing", "weekly"]);
    let weekly = &data["sessions"][1];
    assert!(
        weekly["startDate"].as_i64().unwrap() < chrono::Utc::now().timestamp_millis() - 6 * DAY,
        "the session is shown as stored, with its first start"
    );

    let data = owner.ok("social:getPropSessions", request).await;
    assert_eq!(
        titles(&data),
        ["ongoing", "private"],
        "the owner sees its Private session"
    );
}

#[tokio::test]
async fn an_ongoing_occurrence_of_a_recurring_session_counts_as_ongoing() {
    let app = spawn_app().await;
    let prop = unique("booth");
    let mut owner = app.connect(&unique("owner")).await;
    at_prop(&mut owner, &prop, "soon", 5 * MINUTE, json!({})).await;
    at_prop(
        &mut owner,
        &prop,
        "fortnightly rerun",
        -14 * DAY - 20 * MINUTE,
        json!({"isRecurring": true}),
    )
    .await;
    at_prop(
        &mut owner,
        &prop,
        "daily",
        -3 * DAY + 45 * MINUTE,
        json!({"isRecurring": true, "recurrence": "FREQ=DAILY"}),
    )
    .await;
    at_prop(
        &mut owner,
        &prop,
        "finished series",
        -3 * DAY + 2 * MINUTE,
        json!({"isRecurring": true, "recurrence": "FREQ=DAILY;COUNT=2"}),
    )
    .await;
    let data = owner
        .ok(
            "social:getPropSessions",
            json!({"roomId": "hall", "propId": prop}),
        )
        .await;
    assert_eq!(titles(&data), ["fortnightly rerun", "soon"]);
}

#[tokio::test]
async fn a_prop_without_sessions_answers_an_empty_list() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let data = client
        .ok(
            "social:getPropSessions",
            json!({"roomId": "hall", "propId": unique("empty")}),
        )
        .await;
    assert_eq!(data, json!({"sessions": []}));
    let message = client
        .fails("social:getPropSessions", json!({"roomId": "hall"}), 400)
        .await;
    assert_eq!(message, "data.propId: is required");
}

#[tokio::test]
async fn a_counted_recurrence_whose_occurrences_are_over_is_not_listed() {
    let app = spawn_app().await;
    let prop = unique("stage");
    let mut owner = app.connect(&unique("owner")).await;
    // Started two days ago to the millisecond: both daily occurrences are over.
    at_prop(
        &mut owner,
        &prop,
        "twice",
        -2 * DAY - 123,
        json!({"isRecurring": true, "recurrence": "FREQ=DAILY;COUNT=2"}),
    )
    .await;
    at_prop(
        &mut owner,
        &prop,
        "thrice",
        -2 * DAY - 123,
        json!({"isRecurring": true, "recurrence": "FREQ=DAILY;COUNT=3"}),
    )
    .await;
    let data = owner
        .ok(
            "social:getPropSessions",
            json!({"roomId": "hall", "propId": prop}),
        )
        .await;
    assert_eq!(
        titles(&data),
        ["thrice"],
        "only the third occurrence of the other is ongoing"
    );
}

#[tokio::test]
async fn a_recurrence_that_never_occurs_or_counts_too_many_is_refused() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let start = chrono::Utc::now().timestamp_millis();
    for (rule, message) in [
        (
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
            "data.session.recurrence: the first occurrence must be within 366 days of startDate",
        ),
        (
            "FREQ=DAILY;COUNT=1001",
            "data.session.recurrence: COUNT must be at most 1000",
        ),
    ] {
        let error = owner
            .fails(
                "social:createSession",
                json!({"session": {
                    "roomId": "hall", "propId": "p", "title": "t", "duration": 60,
                    "startDate": start, "isRecurring": true, "recurrence": rule,
                }}),
                400,
            )
            .await;
        assert_eq!(error, message);
    }
}
