//! Reminders before sessions start (extension): `social:sessionStarting` to every
//! participant once per occurrence — at once when a session is created, joined or moved
//! into the lead time, from the scan when the lead time is reached — never to those who
//! declined or switched reminders off, never for a cancelled occurrence, again before a
//! moved one's new start; the lead time (`social:setReminder`, `social:getReminder`); the
//! alarm of calendar files; and exactly once across three server processes, replayed to a
//! client that resumes after missing it.

use bson::doc;
use serde_json::{Value, json};

use crate::helpers::{Client, ServeProcess, create_session, spawn_app, unique};

const MINUTE: i64 = 60_000;

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A session at a prop of its own starting at `start` (milliseconds), lasting an hour.
fn session_at(title: &str, start: i64) -> Value {
    json!({"roomId": "hall", "propId": unique("stage"), "title": title, "startDate": start,
           "duration": 3600})
}

/// The next `social:sessionStarting` push of `client`, past other pushes.
async fn next_reminder(client: &mut Client) -> Value {
    loop {
        let frame = client.next_frame().await;
        if frame["endpoint"] == "social:sessionStarting" {
            assert_eq!(frame["error"]["code"], 0, "{frame}");
            assert!(
                frame["event"]["id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty())
            );
            return frame["data"].clone();
        }
        assert_eq!(frame["endpoint"], "social:sessionUpdated", "{frame}");
    }
}

/// The reminders among the frames `client` received until its own change came back.
async fn reminders_so_far(client: &mut Client) -> Vec<Value> {
    client
        .frames_before_sentinel()
        .await
        .into_iter()
        .filter(|frame| frame["endpoint"] == "social:sessionStarting")
        .map(|frame| frame["data"].clone())
        .collect()
}

#[tokio::test]
async fn participants_are_reminded_at_once_when_a_session_moves_into_the_lead_time() {
    let app = spawn_app().await;
    let [owner, guest, decliner, silent, joiner] =
        ["owner", "guest", "decliner", "silent", "joiner"].map(unique);
    let mut owner_client = app.connect(&owner).await;
    let mut guest_client = app.connect(&guest).await;
    let mut decliner_client = app.connect(&decliner).await;
    let mut silent_client = app.connect(&silent).await;
    let mut joiner_client = app.connect(&joiner).await;
    silent_client
        .ok("social:setReminder", json!({"minutes": null}))
        .await;
    // Half an hour away: nobody is reminded yet (the lead time is ten minutes).
    let session = create_session(
        &mut owner_client,
        session_at("Keynote", now_millis() + 30 * MINUTE),
        json!([{"userId": &guest}, {"userId": &decliner}, {"userId": &silent}]),
    )
    .await;
    let id = session["id"].as_str().unwrap();
    decliner_client
        .ok("social:declineSessionJoin", json!({"sessionId": id}))
        .await;
    joiner_client
        .ok("social:joinSession", json!({"sessionId": id}))
        .await;
    assert!(reminders_so_far(&mut owner_client).await.is_empty());

    // Moved to start in five minutes: the owner, the guest and the joined user hear of it.
    let start = now_millis() + 5 * MINUTE;
    owner_client
        .ok(
            "social:updateSession",
            json!({"session": {"id": id, "startDate": start}}),
        )
        .await;
    for client in [&mut owner_client, &mut guest_client, &mut joiner_client] {
        let reminder = next_reminder(client).await;
        assert_eq!(
            reminder,
            json!({"sessionId": id, "occurrence": named(start), "startDate": start,
                   "title": "Keynote", "roomId": "hall", "propId": session["propId"]})
        );
    }
    // Who declined or switched reminders off hears nothing (theirs would have come with
    // the others').
    assert!(reminders_so_far(&mut decliner_client).await.is_empty());
    assert!(reminders_so_far(&mut silent_client).await.is_empty());
    // Another change of the session reminds nobody again.
    owner_client
        .ok(
            "social:updateSession",
            json!({"session": {"id": id, "title": "Keynote (room 2)"}}),
        )
        .await;
    assert!(reminders_so_far(&mut guest_client).await.is_empty());
    assert!(reminders_so_far(&mut owner_client).await.is_empty());
}

/// `millis` as an occurrence is named: ISO 8601 in UTC.
fn named(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[tokio::test]
async fn the_scan_reminds_when_the_lead_time_is_reached_not_before() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut owner_client = app.connect(&owner).await;
    // Ten minutes and ten seconds away: due in eight seconds (reminders go out up to two
    // seconds early).
    let start = now_millis() + 10 * MINUTE + 10_000;
    let session = create_session(&mut owner_client, session_at("Panel", start), json!([])).await;
    let reminder = next_reminder(&mut owner_client).await;
    assert!(
        now_millis() >= start - 10 * MINUTE - 2_000,
        "reminded early"
    );
    assert_eq!(reminder["sessionId"], session["id"]);
    assert_eq!(reminder["startDate"], start);
}

#[tokio::test]
async fn a_participant_who_comes_back_within_their_lead_time_is_reminded() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let mut guest = app.connect(&unique("guest")).await;
    // Twelve minutes away: not due for anyone yet.
    let session = create_session(
        &mut owner,
        session_at("Talk", now_millis() + 12 * MINUTE),
        json!([]),
    )
    .await;
    let id = json!({"sessionId": session["id"]});
    guest.ok("social:joinSession", id.clone()).await;
    guest.ok("social:declineSessionJoin", id.clone()).await;
    // A longer lead time while away: nothing to remind of.
    guest.ok("social:setReminder", json!({"minutes": 15})).await;
    assert!(reminders_so_far(&mut guest).await.is_empty());
    // Back, within the new lead time: reminded.
    guest.ok("social:joinSession", id).await;
    let reminder = next_reminder(&mut guest).await;
    assert_eq!(reminder["sessionId"], session["id"]);
}

#[tokio::test]
async fn the_lead_time_is_kept_and_bad_values_are_refused() {
    let app = spawn_app().await;
    let user = unique("user");
    let mut client = app.connect(&user).await;
    assert_eq!(
        client.ok("social:getReminder", json!({})).await,
        json!({"minutes": 10})
    );
    assert_eq!(
        client
            .ok("social:setReminder", json!({"minutes": 1440}))
            .await,
        json!({"minutes": 1440})
    );
    assert_eq!(
        client.ok("social:getReminder", json!({})).await,
        json!({"minutes": 1440})
    );
    client
        .ok("social:setReminder", json!({"minutes": null}))
        .await;
    assert_eq!(
        client.ok("social:getReminder", json!({})).await,
        json!({"minutes": null})
    );
    for bad in [
        json!({}),
        json!({"minutes": 1441}),
        json!({"minutes": -1}),
        json!({"minutes": 1.5}),
        json!({"minutes": "10"}),
        json!({"minutes": {"$gt": 0}}),
        json!({"minutes": 70_000}),
    ] {
        let message = client.fails("social:setReminder", bad.clone(), 400).await;
        assert!(message.contains("data.minutes"), "{bad}: {message}");
    }
    // Refusals changed nothing.
    assert_eq!(
        client.ok("social:getReminder", json!({})).await,
        json!({"minutes": null})
    );
    // A lead time that makes a reminder due sends it at once.
    let start = now_millis() + 30 * MINUTE;
    let session = create_session(&mut client, session_at("Workshop", start), json!([])).await;
    assert!(reminders_so_far(&mut client).await.is_empty());
    client
        .ok("social:setReminder", json!({"minutes": 31}))
        .await;
    let reminders = reminders_so_far(&mut client).await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0]["sessionId"], session["id"]);
}

#[tokio::test]
async fn a_cancelled_occurrence_gives_none_and_a_moved_one_reminds_before_its_new_start() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    // Daily from twenty minutes from now (whole seconds), and a single session in 25.
    let first = (now_millis() + 20 * MINUTE) / 1000 * 1000;
    let mut daily = session_at("Daily", first);
    daily["isRecurring"] = json!(true);
    daily["recurrence"] = json!("FREQ=DAILY;COUNT=3");
    let series = create_session(&mut client, daily, json!([])).await;
    let id = series["id"].as_str().unwrap();
    let single = create_session(
        &mut client,
        session_at("Single", now_millis() + 25 * MINUTE),
        json!([]),
    )
    .await;
    let occurrence = json!({"sessionId": id, "occurrence": named(first)});
    client
        .ok("social:cancelOccurrence", occurrence.clone())
        .await;
    // Half an hour of lead: the single session is due, the cancelled occurrence is not.
    client
        .ok("social:setReminder", json!({"minutes": 30}))
        .await;
    let reminders = reminders_so_far(&mut client).await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0]["sessionId"], single["id"]);

    // Moved to fifteen minutes from now (with a title): reminded before its new start.
    let moved = first - 5 * MINUTE;
    let mut changes = occurrence.clone();
    changes["changes"] = json!({"startDate": moved, "title": "Daily (early)"});
    client.ok("social:updateOccurrence", changes.clone()).await;
    let reminder = next_reminder(&mut client).await;
    assert_eq!(
        reminder,
        json!({"sessionId": id, "occurrence": named(first), "startDate": moved,
               "title": "Daily (early)", "roomId": "hall", "propId": series["propId"]})
    );
    // Moved again after its reminder: reminded again, of the new start.
    changes["changes"]["startDate"] = json!(moved + MINUTE);
    client.ok("social:updateOccurrence", changes).await;
    let reminder = next_reminder(&mut client).await;
    assert_eq!(reminder["startDate"], moved + MINUTE);
    assert!(reminders_so_far(&mut client).await.is_empty());
}

#[tokio::test]
async fn calendar_files_carry_the_recipients_alarm() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let session = create_session(
        &mut client,
        session_at("Talk", now_millis() + 120 * MINUTE),
        json!([]),
    )
    .await;
    let file = app.invitation_file(&session, &owner).await;
    let alarm = alarm_of(&file);
    assert!(alarm.contains("ACTION:DISPLAY"), "{alarm}");
    assert!(alarm.contains("TRIGGER:-PT10M"), "{alarm}");
    assert!(alarm.contains("DESCRIPTION:Talk"), "{alarm}");
    // Parsed as a calendar app would: one alarm in the event.
    let parsed: icalendar::Calendar = file.parse().unwrap();
    assert_eq!(parsed.components.len(), 1);

    client
        .ok("social:setReminder", json!({"minutes": 45}))
        .await;
    let file = app.invitation_file(&session, &owner).await;
    assert!(alarm_of(&file).contains("TRIGGER:-PT45M"), "{file}");
    let feed = client.ok("social:getCalendarFeed", json!({})).await;
    let path = feed["url"]
        .as_str()
        .unwrap()
        .strip_prefix("https://social.example.test")
        .unwrap()
        .to_owned();
    let fetch_feed = || async {
        reqwest::get(app.http_url(&path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let feed_file = fetch_feed().await;
    assert!(
        alarm_of(&feed_file).contains("TRIGGER:-PT45M"),
        "{feed_file}"
    );
    // A new lead time is a new feed (not the file rendered before).
    client
        .ok("social:setReminder", json!({"minutes": 20}))
        .await;
    let feed_file = fetch_feed().await;
    assert!(
        alarm_of(&feed_file).contains("TRIGGER:-PT20M"),
        "{feed_file}"
    );

    client
        .ok("social:setReminder", json!({"minutes": null}))
        .await;
    let file = app.invitation_file(&session, &owner).await;
    assert!(!file.contains("VALARM"), "{file}");
}

/// The text of the first `VALARM` of a calendar file (lines unfolded).
fn alarm_of(file: &str) -> String {
    let unfolded = file.replace("\r\n ", "");
    let begin = unfolded
        .find("BEGIN:VALARM")
        .unwrap_or_else(|| panic!("no VALARM in {unfolded}"));
    let end = unfolded[begin..].find("END:VALARM").unwrap() + begin;
    unfolded[begin..end].to_owned()
}

/// Three processes on one database, each with its own scan: the reminder goes out once to
/// each participant — on every connection they hold, whichever process holds it — and a
/// participant who was away receives it when resuming.
#[tokio::test]
async fn three_processes_remind_exactly_once_and_a_resuming_client_receives_it() {
    let db_name = unique("reminders");
    let (first, second, third) = tokio::join!(
        ServeProcess::start(&db_name),
        ServeProcess::start(&db_name),
        ServeProcess::start(&db_name)
    );
    let [owner, guest, away] = ["owner", "guest", "away"].map(unique);
    let mut owner_client = first.connect(&owner).await;
    let mut guest_on_second = second.connect(&guest).await;
    let mut guest_on_third = third.connect(&guest).await;
    let mut away_client = third.connect(&away).await;
    // Due in four seconds: the scan sends it, on whichever process holds the scan.
    let start = now_millis() + 10 * MINUTE + 4_000;
    let session = create_session(
        &mut owner_client,
        session_at("All hands", start),
        json!([{"userId": &guest}, {"userId": &away}]),
    )
    .await;
    let id = session["id"].as_str().unwrap();
    // The away user saw the invitation, then left before the reminder.
    let invited = away_client.next_frame().await;
    assert_eq!(invited["endpoint"], "social:sessionUpdated");
    let seen = invited["event"]["id"].as_str().unwrap().to_owned();
    drop(away_client);

    for client in [&mut owner_client, &mut guest_on_second, &mut guest_on_third] {
        let reminder = next_reminder(client).await;
        assert_eq!(reminder["sessionId"], id);
        assert_eq!(reminder["startDate"], start);
    }
    // Once: nothing more on any connection, and one push per participant was written.
    for client in [&mut owner_client, &mut guest_on_second, &mut guest_on_third] {
        assert!(reminders_so_far(client).await.is_empty());
    }
    let database = mongodb::Client::with_uri_str(&first.mongodb_uri)
        .await
        .unwrap()
        .database(&db_name);
    let written = database
        .collection::<bson::Document>("pushes")
        .count_documents(doc! { "reminder.starting.sessionId": id })
        .await
        .unwrap();
    assert_eq!(written, 3);

    // Back after missing it, on another process: the reminder comes first, once.
    let url = format!("{}?resumeAfter={seen}", first.ws_url());
    let mut resumed = Client::connect(&url, &first.token(&away)).await;
    let replayed = resumed.next_frame().await;
    assert_eq!(replayed["endpoint"], "social:sessionStarting", "{replayed}");
    assert_eq!(replayed["data"]["sessionId"], id);
    assert!(reminders_so_far(&mut resumed).await.is_empty());

    // Three processes sending one reminder at the same moment: one lead time set on each
    // of three connections at once makes it due on all three; it is written once.
    let keen = unique("keen");
    let mut keen_clients = [
        first.connect(&keen).await,
        second.connect(&keen).await,
        third.connect(&keen).await,
    ];
    let own = create_session(
        &mut keen_clients[0],
        session_at("Office hours", now_millis() + 30 * MINUTE),
        json!([]),
    )
    .await;
    let set = json!({"minutes": 40});
    let [a, b, c] = &mut keen_clients;
    tokio::join!(
        a.ok("social:setReminder", set.clone()),
        b.ok("social:setReminder", set.clone()),
        c.ok("social:setReminder", set.clone()),
    );
    for client in &mut keen_clients {
        let reminder = next_reminder(client).await;
        assert_eq!(reminder["sessionId"], own["id"]);
    }
    for client in &mut keen_clients {
        assert!(reminders_so_far(client).await.is_empty());
    }
    let written = database
        .collection::<bson::Document>("pushes")
        .count_documents(doc! { "reminder.starting.sessionId": &own["id"].as_str() })
        .await
        .unwrap();
    assert_eq!(written, 1);
    drop((second, third));
}
