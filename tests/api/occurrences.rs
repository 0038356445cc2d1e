//! Occurrences of a recurring session cancelled, changed and restored one by one
//! (extension): what the session's renderings show, what its prop's listing shows, who
//! hears of it, and what is refused.

use chrono::{DateTime, SecondsFormat, TimeZone as _, Utc};
use icalendar::{Calendar, Component, EventLike};
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
    let message = owner_client
        .fails(
            "social:updateOccurrence",
            json!({"sessionId": id, "occurrence": named(week), "changes": {}}),
            400,
        )
        .await;
    assert!(message.contains("data.changes"), "{message}");
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
    // Wrongly typed or missing fields, and a session the caller may not see.
    for data in [
        json!({"sessionId": id, "occurrence": true}),
        json!({"sessionId": id}),
        json!({"sessionId": id, "occurrence": "next <script>"}),
    ] {
        let message = owner_client
            .fails("social:cancelOccurrence", data, 400)
            .await;
        assert!(message.contains("data.occurrence"), "{message}");
    }
    let private = create_session(
        &mut owner_client,
        json!({"roomId": "hall", "propId": "desk", "title": "Private", "duration": 3600,
               "startDate": start, "isRecurring": true, "sessionType": 1}),
        json!([]),
    )
    .await;
    let mut outsider = app.connect(&unique("outsider")).await;
    outsider
        .fails(
            "social:cancelOccurrence",
            json!({"sessionId": private["id"], "occurrence": named(start)}),
            404,
        )
        .await;
}

/// The occurrences a calendar app reads from `file`: the series' rule less its `EXDATE`s,
/// with each `VEVENT` that has a `RECURRENCE-ID` taking that occurrence's place (start
/// and summary), as expanded by the `icalendar` crate; the first `count` of them.
fn occurrences_in(file: &str, count: usize) -> Vec<(DateTime<Utc>, String)> {
    let calendar: Calendar = file.parse().unwrap();
    let events: Vec<&icalendar::Event> = calendar
        .components
        .iter()
        .filter_map(|component| component.as_event())
        .collect();
    let series = events
        .iter()
        .find(|event| event.get_recurrence_id().is_none())
        .expect("the series");
    let instant = |value: icalendar::DatePerhapsTime| -> DateTime<Utc> {
        match value {
            icalendar::DatePerhapsTime::DateTime(date_time) => date_time
                .try_into_utc()
                .or_else(|| {
                    let icalendar::CalendarDateTime::WithTimezone { date_time, tzid } = date_time
                    else {
                        return None;
                    };
                    let zone: chrono_tz::Tz = tzid.parse().ok()?;
                    Some(
                        zone.from_local_datetime(&date_time)
                            .earliest()?
                            .with_timezone(&Utc),
                    )
                })
                .expect("a date-time"),
            icalendar::DatePerhapsTime::Date(_) => panic!("a date without a time"),
        }
    };
    let title = |event: &icalendar::Event| event.get_summary().unwrap_or_default().to_owned();
    let mut occurrences: Vec<(DateTime<Utc>, String)> = series
        .get_recurrence()
        .unwrap()
        .into_iter()
        .take(count)
        .map(|start| {
            let start = start.with_timezone(&Utc);
            let changed = events.iter().find(|event| {
                event
                    .get_recurrence_id()
                    .is_some_and(|occurrence| instant(occurrence) == start)
            });
            match changed {
                Some(changed) => (instant(changed.get_start().unwrap()), title(changed)),
                None => (start, title(series)),
            }
        })
        .collect();
    occurrences.sort();
    occurrences
}

#[tokio::test]
async fn calendar_files_carry_cancelled_and_changed_occurrences_across_daylight_saving() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    // Mondays at 09:00 in Berlin from 2030-03-18: 08:00 UTC until the clocks go forward
    // on 2030-03-31, 07:00 UTC after.
    let utc = |m: u32, d: u32, h: u32| Utc.with_ymd_and_hms(2030, m, d, h, 0, 0).unwrap();
    let series = create_session(
        &mut client,
        json!({"roomId": "hall", "propId": "lectern", "title": "Weekly", "duration": 3600,
               "startDate": utc(3, 18, 8).timestamp_millis(), "isRecurring": true,
               "timeZone": "Europe/Berlin"}),
        json!([]),
    )
    .await;
    let id = series["id"].as_str().unwrap();
    let name = |instant: DateTime<Utc>| instant.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    client
        .ok(
            "social:cancelOccurrence",
            json!({"sessionId": id, "occurrence": name(utc(3, 25, 8))}),
        )
        .await;
    // The first occurrence in summer time, moved an hour later (10:00 in Berlin).
    client
        .ok(
            "social:updateOccurrence",
            json!({"sessionId": id, "occurrence": name(utc(4, 1, 7)),
                   "changes": {"startDate": name(utc(4, 1, 8)), "title": "Moved"}}),
        )
        .await;
    let file = app.invitation_file(&series, &owner).await;
    assert!(
        file.contains("EXDATE;TZID=Europe/Berlin:20300325T090000\r\n"),
        "{file}"
    );
    assert!(
        file.contains("RECURRENCE-ID;TZID=Europe/Berlin:20300401T090000\r\n"),
        "{file}"
    );
    assert_eq!(file.matches("BEGIN:VEVENT").count(), 2, "{file}");
    let weekly = |instant| (instant, "Weekly".to_owned());
    assert_eq!(
        occurrences_in(&file, 4),
        [
            weekly(utc(3, 18, 8)),
            (utc(4, 1, 8), "Moved".to_owned()),
            weekly(utc(4, 8, 7)),
            weekly(utc(4, 15, 7)),
        ]
    );
    // Restored, the cancelled one is back and the file has no EXDATE.
    client
        .ok(
            "social:restoreOccurrence",
            json!({"sessionId": id, "occurrence": name(utc(3, 25, 8))}),
        )
        .await;
    let file = app.invitation_file(&series, &owner).await;
    assert!(!file.contains("EXDATE"), "{file}");
    assert_eq!(occurrences_in(&file, 2)[1], weekly(utc(3, 25, 8)));
}
