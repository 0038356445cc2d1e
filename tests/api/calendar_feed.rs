//! The calendar feed: `social:getCalendarFeed` and `social:rotateCalendarFeed`, and
//! `GET /api/v0/resource/calendar/{feedToken}.ics` followed through a user's sessions
//! being created, updated, declined, uninvited and deleted: stable UIDs, growing
//! SEQUENCEs, cancellations that appear and expire, 304 while unchanged, 404 after a
//! rotation, and nobody else's sessions. Feeds are parsed with the `ical` crate.

use std::collections::BTreeMap;

use bson::doc;
use serde_json::json;

use crate::helpers::{TestApp, create_session, session_fields, spawn_app, unique};

/// One VEVENT of a feed: its properties by name.
type Entry = BTreeMap<String, String>;

/// A fetched feed: its entries by UID and its entity tag.
struct Fetched {
    method: String,
    entries: BTreeMap<String, Entry>,
    etag: String,
}

/// The URL the service answers, reached at the test server (its public URL is another).
fn local(app: &TestApp, url: &str) -> String {
    let path = url
        .strip_prefix("https://social.example.test")
        .unwrap_or_else(|| panic!("{url} is not under the public URL"));
    app.http_url(path)
}

async fn feed_url(client: &mut crate::helpers::Client) -> String {
    let answer = client.ok("social:getCalendarFeed", json!({})).await;
    answer["url"].as_str().unwrap().to_owned()
}

async fn fetch(app: &TestApp, url: &str) -> Fetched {
    let response = reqwest::get(local(app, url)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    let mut parser = ical::IcalParser::new(text.as_bytes());
    let calendar = parser.next().expect("a calendar").expect("it parses");
    let property = |name: &str| {
        calendar
            .properties
            .iter()
            .find(|property| property.name == name)
            .and_then(|property| property.value.clone())
            .unwrap_or_default()
    };
    let mut entries = BTreeMap::new();
    for event in &calendar.events {
        let entry: Entry = event
            .properties
            .iter()
            .map(|property| {
                (
                    property.name.clone(),
                    property.value.clone().unwrap_or_default(),
                )
            })
            .collect();
        entries.insert(entry["UID"].clone(), entry);
    }
    Fetched {
        method: property("METHOD"),
        entries,
        etag,
    }
}

fn uid(session: &serde_json::Value) -> String {
    format!("session-{}@social-events", session["id"].as_str().unwrap())
}

#[tokio::test]
async fn a_feed_follows_its_users_sessions_and_cancels_what_leaves_it() {
    let app = spawn_app().await;
    let (ada, grace, otto) = (unique("ada"), unique("grace"), unique("otto"));
    let mut ada_client = app.connect(&ada).await;
    let mut grace_client = app.connect(&grace).await;
    let mut otto_client = app.connect(&otto).await;

    // The same URL on every call; an empty feed to begin with.
    let ada_url = feed_url(&mut ada_client).await;
    assert_eq!(feed_url(&mut ada_client).await, ada_url);
    assert!(ada_url.ends_with(".ics"), "{ada_url}");
    let grace_url = feed_url(&mut grace_client).await;
    assert_ne!(grace_url, ada_url);
    let empty = fetch(&app, &ada_url).await;
    assert_eq!(empty.method, "PUBLISH");
    assert!(empty.entries.is_empty());

    // A session Ada owns and Grace is invited to is in both feeds, as in the invitation.
    let first = create_session(
        &mut ada_client,
        session_fields("Design review", 60),
        json!([{ "userId": &grace, "role": 0 }]),
    )
    .await;
    let feed = fetch(&app, &ada_url).await;
    let entry = &feed.entries[&uid(&first)];
    assert_eq!(entry["SUMMARY"], "Design review");
    assert_eq!(entry["SEQUENCE"], "0");
    assert!(!entry.contains_key("STATUS"), "{entry:?}");
    assert!(
        fetch(&app, &grace_url)
            .await
            .entries
            .contains_key(&uid(&first))
    );

    // Unchanged: 304 for the same ETag.
    let unchanged = reqwest::Client::new()
        .get(local(&app, &ada_url))
        .header("if-none-match", &feed.etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"], feed.etag.as_str());

    // An update: the same UID, a higher SEQUENCE, a new ETag.
    ada_client
        .ok(
            "social:updateSession",
            json!({ "session": { "id": first["id"], "title": "Design review again" } }),
        )
        .await;
    let updated = fetch(&app, &ada_url).await;
    assert_ne!(updated.etag, feed.etag);
    let entry = &updated.entries[&uid(&first)];
    assert_eq!(entry["SUMMARY"], "Design review again");
    assert_eq!(entry["SEQUENCE"], "1");
    let invitation = app.invitation_file(&first, &ada).await;
    assert!(
        invitation.contains(&format!("UID:{}\r\n", uid(&first))),
        "{invitation}"
    );
    assert!(invitation.contains("SEQUENCE:1\r\n"), "{invitation}");
    let changed = reqwest::Client::new()
        .get(local(&app, &ada_url))
        .header("if-none-match", &feed.etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);

    // Grace declines: the session is cancelled in her feed, above the last SEQUENCE.
    fetch(&app, &grace_url).await;
    grace_client
        .ok(
            "social:declineSessionJoin",
            json!({ "sessionId": first["id"] }),
        )
        .await;
    let declined = fetch(&app, &grace_url).await;
    let entry = &declined.entries[&uid(&first)];
    assert_eq!(entry["STATUS"], "CANCELLED");
    assert_eq!(entry["SEQUENCE"], "2");
    assert!(
        entry["ORGANIZER"].ends_with(&format!("/users/{ada}")),
        "{entry:?}"
    );

    // Back (she joins after all): listed again, above the cancellation's SEQUENCE.
    grace_client
        .ok("social:joinSession", json!({ "sessionId": first["id"] }))
        .await;
    let back = fetch(&app, &grace_url).await;
    let entry = &back.entries[&uid(&first)];
    assert!(!entry.contains_key("STATUS"), "{entry:?}");
    assert_eq!(entry["SEQUENCE"], "3");

    // Uninvited: cancelled too.
    let second = create_session(
        &mut ada_client,
        session_fields("Pairing", 120),
        json!([{ "userId": &grace, "role": 0 }]),
    )
    .await;
    assert!(!fetch(&app, &grace_url).await.entries[&uid(&second)].contains_key("STATUS"));
    ada_client
        .ok(
            "social:deleteUserSessionInvitations",
            json!({ "sessionId": second["id"], "usersToInvite": [&grace] }),
        )
        .await;
    let uninvited = fetch(&app, &grace_url).await;
    assert_eq!(uninvited.entries[&uid(&second)]["STATUS"], "CANCELLED");

    // Deleted: cancelled in the owner's feed.
    ada_client
        .ok("social:deleteSession", json!({ "sessionId": first["id"] }))
        .await;
    let deleted = fetch(&app, &ada_url).await;
    assert_eq!(deleted.entries[&uid(&first)]["STATUS"], "CANCELLED");
    assert!(!deleted.entries[&uid(&second)].contains_key("STATUS"));

    // Nobody else's sessions: Otto's feed has none of them.
    let otto_url = feed_url(&mut otto_client).await;
    assert!(fetch(&app, &otto_url).await.entries.is_empty());

    // Thirty days after leaving, a cancellation is gone.
    let long_ago =
        bson::DateTime::from_millis(chrono::Utc::now().timestamp_millis() - 31 * 24 * 3600 * 1000);
    app.platform()
        .await
        .database()
        .collection::<bson::Document>("calendarFeedEntries")
        .update_many(
            doc! { "userId": &grace },
            doc! { "$set": { "cancelledAt": long_ago } },
        )
        .await
        .unwrap();
    let expired = fetch(&app, &grace_url).await;
    assert!(expired.entries.is_empty(), "{:?}", expired.entries.keys());
}

#[tokio::test]
async fn a_rotated_feed_url_is_gone_and_unknown_ones_are_404() {
    let app = spawn_app().await;
    let ada = unique("ada");
    let mut client = app.connect(&ada).await;
    let old = feed_url(&mut client).await;
    fetch(&app, &old).await;
    let rotated = client.ok("social:rotateCalendarFeed", json!({})).await;
    let new = rotated["url"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(feed_url(&mut client).await, new);
    fetch(&app, &new).await;
    let gone = reqwest::get(local(&app, &old)).await.unwrap();
    assert_eq!(gone.status(), 404);
    for path in [
        "/api/v0/resource/calendar/0000.ics".to_owned(),
        format!(
            "/api/v0/resource/calendar/{}",
            new.rsplit('/').next().unwrap().trim_end_matches(".ics")
        ),
    ] {
        let unknown = reqwest::get(app.http_url(&path)).await.unwrap();
        assert_eq!(unknown.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn a_session_left_out_for_the_feeds_size_is_not_cancelled() {
    use social_events::domain::ids::new_id;
    use social_events::domain::session::Session;
    use social_events::domain::time::Timestamp;
    use social_events::http::calendar_feed::MAX_FEED_SESSIONS;

    let app = spawn_app().await;
    let busy = unique("busy");
    let mut client = app.connect(&busy).await;
    let url = feed_url(&mut client).await;
    // As many sessions as the feed holds, each a minute later than the one before.
    let first_start = Timestamp::now().plus_seconds(86_400);
    let seeded = |index: i64| {
        let start = first_start.plus_seconds(index * 60);
        let mut session = Session::new(new_id(), &busy, None, start);
        session.room_id = "seed".to_owned();
        session.title = format!("seeded {index}");
        session.start_date = start;
        session.duration = 60;
        session.end_date = start.plus_seconds(60);
        session.active_until = Some(session.end_date);
        session
    };
    let sessions: Vec<Session> = (0..MAX_FEED_SESSIONS).map(seeded).collect();
    app.store.insert_sessions(&sessions).await.unwrap();
    let earliest = format!("session-{}@social-events", sessions[0].id);
    let full = fetch(&app, &url).await;
    assert_eq!(full.entries.len(), MAX_FEED_SESSIONS as usize);
    assert!(full.entries.contains_key(&earliest));

    // One more, later: the earliest drops out of the feed, but it is not cancelled.
    app.store
        .insert_sessions(&[seeded(MAX_FEED_SESSIONS)])
        .await
        .unwrap();
    let moved = fetch(&app, &url).await;
    assert_eq!(moved.entries.len(), MAX_FEED_SESSIONS as usize);
    assert!(!moved.entries.contains_key(&earliest));
    assert!(
        moved
            .entries
            .values()
            .all(|entry| !entry.contains_key("STATUS")),
        "nothing is cancelled"
    );
}

#[tokio::test]
async fn a_rotated_url_is_never_kept_for_retries_and_a_retry_does_not_rotate_again() {
    use futures_util::TryStreamExt;
    let app = spawn_app().await;
    let ada = unique("ada");
    let mut client = app.connect(&ada).await;
    let frame = json!({
        "endpoint": "social:rotateCalendarFeed", "data": {}, "event": { "id": "rotate-1" },
    });
    client.send_text(frame.to_string()).await;
    let first = client.next_frame().await;
    assert_eq!(first["error"]["code"], 0, "{first}");
    let url = first["data"]["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap().trim_end_matches(".ics");
    let kept: Vec<bson::Document> = app
        .store
        .database()
        .collection::<bson::Document>("requestAnswers")
        .find(doc! { "_id.user": &ada })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "the request is recorded for its retries");
    assert!(!format!("{kept:?}").contains(token), "{kept:?}");
    // The retry answers the same URL, and the feed was not rotated again.
    client.send_text(frame.to_string()).await;
    let again = client.next_frame().await;
    assert_eq!(again["data"]["url"], url.as_str(), "{again}");
    assert_eq!(feed_url(&mut client).await, url);
    fetch(&app, &url).await;
}

#[tokio::test]
async fn a_feed_lists_no_attendees_and_cuts_long_descriptions() {
    let app = spawn_app().await;
    let ada = unique("ada");
    let mut client = app.connect(&ada).await;
    let mut fields = session_fields("Long", 60);
    fields["description"] = json!("word ".repeat(400));
    let guests: Vec<serde_json::Value> = (0..50)
        .map(|index| json!({ "userId": format!("{ada}-guest-{index}") }))
        .collect();
    let session = create_session(&mut client, fields, json!(guests)).await;
    let url = feed_url(&mut client).await;
    let text = reqwest::get(local(&app, &url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("ATTENDEE"), "{text}");
    let feed = fetch(&app, &url).await;
    let description = &feed.entries[&uid(&session)]["DESCRIPTION"];
    // 500 characters of the 2000 (a line's edge whitespace aside), then the ellipsis.
    let length = description.chars().count();
    assert!((499..=501).contains(&length), "{length}: {description}");
    assert!(description.ends_with('…'), "{description}");
    // The invitation file keeps them all.
    let invitation = app.invitation_file(&session, &ada).await;
    assert_eq!(invitation.matches("ATTENDEE").count(), 50);
}

#[tokio::test]
async fn a_repeated_get_is_answered_from_the_rendered_file_until_its_fingerprint_changes() {
    let app = spawn_app().await;
    let ada = unique("ada");
    let mut client = app.connect(&ada).await;
    let url = feed_url(&mut client).await;
    let session = create_session(&mut client, session_fields("Standup", 60), json!([])).await;
    let first = fetch(&app, &url).await;
    assert_eq!(first.entries[&uid(&session)]["SUMMARY"], "Standup");

    // A title changed behind the service's back (its version unchanged) is not read again:
    // the file rendered last answers.
    let sessions = app
        .platform()
        .await
        .database()
        .collection::<bson::Document>("sessions");
    sessions
        .update_one(
            doc! { "_id": session["id"].as_str().unwrap() },
            doc! { "$set": { "title": "Changed unseen" } },
        )
        .await
        .unwrap();
    let kept = fetch(&app, &url).await;
    assert_eq!(kept.entries[&uid(&session)]["SUMMARY"], "Standup");
    assert_eq!(kept.etag, first.etag);

    // A change through the service moves the fingerprint: the file is built again.
    client
        .ok(
            "social:updateSession",
            json!({ "session": { "id": session["id"], "title": "Standup later" } }),
        )
        .await;
    let rebuilt = fetch(&app, &url).await;
    assert_eq!(rebuilt.entries[&uid(&session)]["SUMMARY"], "Standup later");
    assert_ne!(rebuilt.etag, first.etag);
}
