//! Occurrences of a recurring session cancelled, changed and restored one by one
//! (extension): what the session's renderings show, what its prop's listing shows, who
//! hears of it, and what is refused.

use chrono::{DateTime, SecondsFormat, TimeZone as _, Utc};
use serde_json::json;

use crate::helpers::{Client, create_session, spawn_app, unique};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// `millis` as an occurrence is named: ISO 8601 in UTC.
fn named(millis: i64) -> String {
    let instant: DateTime<Utc> = Utc.timestamp_millis_opt(millis).unwrap();
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The titles `getPropSessions` lists at `prop`.
async fn listed(client: &mut Client, prop: &str) -> Vec<String> {
    let data = client
        .ok(
            "social:getPropSessions",
            json!({"roomId": "hall", "propId": prop}),
        )
        .await;
    data["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_occurrence_is_cancelled_changed_and_restored_without_breaking_the_series() {
    let app = spawn_app().await;
    let prop = unique("stage");
    let owner = unique("owner");
    let guest = unique("guest");
    let mut owner_client = app.connect(&owner).await;
    let mut guest_client = app.connect(&guest).await;
    // Daily for five days from an hour from now (whole seconds), and a talk at the same
    // prop the next day, halfway between the first two occurrences.
    let start = (chrono::Utc::now().timestamp_millis() + HOUR) / 1000 * 1000;
    let series = create_session(
        &mut owner_client,
        json!({"roomId": "hall", "propId": &prop, "title": "Daily", "duration": 3600,
               "startDate": start, "isRecurring": true, "recurrence": "FREQ=DAILY;COUNT=5"}),
        json!([{"userId": &guest}]),
    )
    .await;
    assert_eq!(series["exceptions"], json!([]), "{series}");
    // The guest hears of the invitation first.
    let invited = guest_client.next_push("social:sessionUpdated").await;
    assert_eq!(invited["session"]["exceptions"], json!([]));
    create_session(
        &mut owner_client,
        json!({"roomId": "hall", "propId": &prop, "title": "Talk", "duration": 3600,
               "startDate": start + DAY / 2}),
        json!([]),
    )
    .await;
    assert_eq!(listed(&mut guest_client, &prop).await, ["Daily", "Talk"]);
    let id = series["id"].as_str().unwrap();

    // Cancelled: the talk comes first, the guest hears of it, the session shows it.
    owner_client
        .ok(
            "social:cancelOccurrence",
            json!({"sessionId": id, "occurrence": named(start)}),
        )
        .await;
    let pushed = guest_client.next_push("social:sessionUpdated").await;
    let cancelled = json!([{"occurrence": named(start), "cancelled": true}]);
    assert_eq!(pushed["session"]["exceptions"], cancelled, "{pushed}");
    assert_eq!(listed(&mut guest_client, &prop).await, ["Talk", "Daily"]);
    // Again: nothing changes (an occurrence in milliseconds names it too).
    owner_client
        .ok(
            "social:cancelOccurrence",
            json!({"sessionId": id, "occurrence": start}),
        )
        .await;

    // The second occurrence moved an hour later with a title of its own.
    let second = start + DAY;
    let changes = json!({"startDate": second + HOUR, "title": "Daily (late)"});
    owner_client
        .ok(
            "social:updateOccurrence",
            json!({"sessionId": id, "occurrence": named(second), "changes": changes}),
        )
        .await;
    let read = guest_client
        .ok("social:getSession", json!({"sessionId": id}))
        .await;
    assert_eq!(
        read["session"]["exceptions"],
        json!([
            {"occurrence": named(start), "cancelled": true},
            {"occurrence": named(second), "startDate": second + HOUR, "duration": 3600,
             "title": "Daily (late)"},
        ])
    );
    assert_eq!(
        read["session"]["title"], "Daily",
        "the series keeps its title"
    );
    assert_eq!(
        listed(&mut guest_client, &prop).await,
        ["Talk", "Daily (late)"]
    );

    // Restored: the first occurrence is first again.
    owner_client
        .ok(
            "social:restoreOccurrence",
            json!({"sessionId": id, "occurrence": named(start)}),
        )
        .await;
    assert_eq!(listed(&mut guest_client, &prop).await, ["Daily", "Talk"]);

    // A rule of one occurrence keeps no change of the second.
    let data = owner_client
        .ok(
            "social:updateSession",
            json!({"session": {"id": id, "recurrence": "FREQ=DAILY;COUNT=1"}}),
        )
        .await;
    assert_eq!(data["session"]["exceptions"], json!([]), "{data}");
}

#[tokio::test]
async fn occurrences_that_are_not_the_rules_and_callers_who_may_not_manage_are_refused() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let guest = unique("guest");
    let mut owner_client = app.connect(&owner).await;
    let mut guest_client = app.connect(&guest).await;
    let start = (chrono::Utc::now().timestamp_millis() + HOUR) / 1000 * 1000;
    let series = create_session(
        &mut owner_client,
        json!({"roomId": "hall", "propId": "desk", "title": "Weekly", "duration": 3600,
               "startDate": start, "isRecurring": true}),
        json!([{"userId": &guest}]),
    )
    .await;
    let id = series["id"].as_str().unwrap();
    let between = json!({"sessionId": id, "occurrence": named(start + DAY)});
    let message = owner_client
        .fails("social:cancelOccurrence", between, 400)
        .await;
    assert!(message.contains("data.occurrence"), "{message}");
    let week = start + 7 * DAY;
    let too_late = json!({"sessionId": id, "occurrence": named(week),
                          "changes": {"startDate": week + 8 * DAY}});
    let message = owner_client
        .fails("social:updateOccurrence", too_late, 400)
        .await;
    assert!(message.contains("data.changes.startDate"), "{message}");
    let message = owner_client
        .fails(
            "social:updateOccurrence",
            json!({"sessionId": id, "occurrence": named(week), "changes": {"duration": 0}}),
            400,
        )
        .await;
    assert!(message.contains("data.changes.duration"), "{message}");
    guest_client
        .fails(
            "social:cancelOccurrence",
            json!({"sessionId": id, "occurrence": named(week)}),
            403,
        )
        .await;
    let single = create_session(
        &mut owner_client,
        json!({"roomId": "hall", "propId": "desk", "title": "Once", "duration": 3600,
               "startDate": start}),
        json!([]),
    )
    .await;
    assert!(single.get("exceptions").is_none(), "{single}");
    let message = owner_client
        .fails(
            "social:cancelOccurrence",
            json!({"sessionId": single["id"], "occurrence": named(start)}),
            400,
        )
        .await;
    assert!(message.contains("data.sessionId"), "{message}");
}
