//! Sessions in their own time zone: the `timeZone` field (IANA names only, `UTC` by
//! default, returned in every rendering), weekly repetition at the same wall-clock time
//! across daylight-saving changes as `getPropSessions` sees it, and calendar files with
//! `TZID` and a `VTIMEZONE` that a calendar library expands to the instants the service
//! uses.

use chrono::{DateTime, Duration, Offset, TimeZone as _, Utc};
use icalendar::{Calendar, EventLike};
use serde_json::json;
use social_events::domain::recurrence::Schedule;
use social_events::domain::zone::TimeZone;

use crate::helpers::{create_session, session_fields, spawn_app, unique};

#[tokio::test]
async fn the_time_zone_is_an_iana_name_returned_in_every_rendering() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let plain = create_session(&mut client, session_fields("Plain", 60), json!([])).await;
    assert_eq!(plain["timeZone"], "UTC");

    let mut fields = session_fields("Berlin", 60);
    fields["timeZone"] = json!("Europe/Berlin");
    let berlin = create_session(&mut client, fields, json!([])).await;
    assert_eq!(berlin["timeZone"], "Europe/Berlin");
    let read = client
        .ok("social:getSession", json!({ "sessionId": berlin["id"] }))
        .await;
    assert_eq!(read["session"]["timeZone"], "Europe/Berlin");

    let moved = client
        .ok(
            "social:updateSession",
            json!({ "session": { "id": berlin["id"], "timeZone": "America/New_York" } }),
        )
        .await;
    assert_eq!(moved["session"]["timeZone"], "America/New_York");

    // The second 02:30 of Berlin's fall-back night cannot start a weekly session there.
    let mut fields = session_fields("Twice", 60);
    fields["timeZone"] = json!("Europe/Berlin");
    fields["isRecurring"] = json!(true);
    fields["startDate"] = json!("2030-10-27T01:30:00Z");
    let message = client
        .fails(
            "social:createSession",
            json!({ "session": fields.clone() }),
            400,
        )
        .await;
    assert!(message.starts_with("data.session.startDate"), "{message}");
    fields["startDate"] = json!("2030-10-27T00:30:00Z");
    create_session(&mut client, fields, json!([])).await;

    for wrong in [json!("Mars/Olympus"), json!("europe/berlin"), json!(60)] {
        let mut fields = session_fields("Nowhere", 60);
        fields["timeZone"] = wrong.clone();
        let message = client
            .fails("social:createSession", json!({ "session": fields }), 400)
            .await;
        assert!(
            message.contains("data.session.timeZone"),
            "{wrong}: {message}"
        );
    }
}

/// The UTC offset of Berlin at `instant`, in seconds.
fn berlin_offset(instant: DateTime<Utc>) -> i32 {
    chrono_tz::Europe::Berlin
        .offset_from_utc_datetime(&instant.naive_utc())
        .fix()
        .local_minus_utc()
}

#[tokio::test]
async fn a_weekly_session_is_under_way_at_its_local_time_in_the_other_season() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let now = Utc::now();
    // The same weekday some weeks ago, in the other daylight-saving season, at the
    // wall-clock time of half an hour ago: by Berlin's clocks it is under way now; by a
    // fixed UTC time it would be an hour off, ended or not yet begun.
    let weeks = (1..=52)
        .find(|weeks| berlin_offset(now - Duration::weeks(*weeks)) != berlin_offset(now))
        .unwrap();
    let local = now.with_timezone(&chrono_tz::Europe::Berlin).naive_local()
        - Duration::minutes(30)
        - Duration::weeks(weeks);
    let start = chrono_tz::Europe::Berlin
        .from_local_datetime(&local)
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    let room = unique("room");
    let mut weekly = session_fields("Weekly stand-up", 0);
    weekly["roomId"] = json!(room);
    weekly["startDate"] = json!(start.timestamp_millis());
    weekly["duration"] = json!(45 * 60);
    weekly["isRecurring"] = json!(true);
    weekly["timeZone"] = json!("Europe/Berlin");
    let weekly = create_session(&mut client, weekly, json!([])).await;
    let mut soon = session_fields("Starts in a minute", 1);
    soon["roomId"] = json!(room);
    create_session(&mut client, soon, json!([])).await;

    let answer = client
        .ok(
            "social:getPropSessions",
            json!({ "roomId": room, "propId": "stage" }),
        )
        .await;
    let titles: Vec<&str> = answer["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Weekly stand-up", "Starts in a minute"],
        "{answer}"
    );
    assert_eq!(answer["sessions"][0]["id"], weekly["id"]);
}

#[tokio::test]
async fn the_calendar_file_carries_the_zone_and_expands_to_the_services_instants() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    // Mondays at 09:00 in Berlin from 2030-01-07: 08:00 UTC in winter, 07:00 in summer.
    let start = Utc.with_ymd_and_hms(2030, 1, 7, 8, 0, 0).unwrap();
    let mut fields = session_fields("Weekly in Berlin", 0);
    fields["startDate"] = json!(start.timestamp_millis());
    fields["isRecurring"] = json!(true);
    fields["timeZone"] = json!("Europe/Berlin");
    let session = create_session(&mut client, fields, json!([])).await;

    let file = app.invitation_file(&session, &owner).await;
    assert!(
        file.contains("DTSTART;TZID=Europe/Berlin:20300107T090000\r\n"),
        "{file}"
    );
    assert!(
        file.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"),
        "{file}"
    );
    assert!(file.contains("RRULE:FREQ=WEEKLY\r\n"), "{file}");
    assert!(
        file.find("BEGIN:VTIMEZONE").unwrap() < file.find("BEGIN:VEVENT").unwrap(),
        "{file}"
    );

    let calendar: Calendar = file.parse().unwrap();
    let event = calendar
        .components
        .iter()
        .find_map(|component| component.as_event())
        .unwrap();
    let expanded: Vec<DateTime<Utc>> = event
        .get_recurrence()
        .unwrap()
        .into_iter()
        .take(60)
        .map(|instant| instant.with_timezone(&Utc))
        .collect();
    let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
    let schedule = Schedule::new(start, 3600, Some(None), None, berlin).unwrap();
    for instant in &expanded {
        assert_eq!(
            schedule.current_or_next(*instant - Duration::minutes(1)),
            Some(*instant),
            "the service disagrees on {instant}"
        );
    }
    let winter = Utc.with_ymd_and_hms(2030, 3, 25, 8, 0, 0).unwrap();
    let summer = Utc.with_ymd_and_hms(2030, 4, 1, 7, 0, 0).unwrap();
    assert!(expanded.contains(&winter) && expanded.contains(&summer));
}
