//! `getPropSessions`: the two nearest visible sessions at a prop, recurring ones counted by
//! their current or next occurrence.

use chrono::Datelike;
use serde_json::{Value, json};

use social_events::domain::kinds::MembershipRole as Role;

use crate::helpers::{Client, TestApp, create_session, spawn_app, unique};

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

/// What `getPropSessions` answers `client` at `prop` in the hall.
async fn at_hall(client: &mut Client, prop: &str) -> Value {
    client
        .ok(
            "social:getPropSessions",
            json!({"roomId": "hall", "propId": prop}),
        )
        .await
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
    let data = at_hall(&mut owner, &prop).await;
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
    let data = at_hall(&mut owner, &prop).await;
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

/// A new network and its connected admin: `(network id, admin)`.
async fn network_admin(app: &TestApp) -> (String, Client) {
    let network = unique("net");
    let admin_id = unique("admin");
    app.add_membership(&admin_id, &network, None, Role::Admin)
        .await;
    (network, app.connect(&admin_id).await)
}

/// Creates an event in `source` as `client`, published or not; answers its id.
async fn event_in(client: &mut Client, source: &str, published: bool) -> Value {
    let data = client
        .ok(
            "social:createEvent",
            json!({"source": source, "event": {
                "title": "E", "startDate": 0, "endDate": 4_102_444_800_000_i64, "roomId": "hall",
            }}),
        )
        .await;
    let id = data["event"]["id"].clone();
    if published {
        client
            .ok("social:publishEvent", json!({"eventId": id}))
            .await;
    }
    id
}

#[tokio::test]
async fn each_viewer_sees_at_a_prop_exactly_the_sessions_the_visibility_rules_allow() {
    let app = spawn_app().await;
    let network = unique("net");
    let community = "c1";
    let [net_admin, net_member, com_admin, com_member, stranger] = [
        "net-admin",
        "net-member",
        "com-admin",
        "com-member",
        "stranger",
    ]
    .map(unique);
    app.add_membership(&net_admin, &network, None, Role::Admin)
        .await;
    app.add_membership(&net_member, &network, None, Role::Member)
        .await;
    app.add_membership(&com_admin, &network, Some(community), Role::Admin)
        .await;
    app.add_membership(&com_member, &network, Some(community), Role::Member)
        .await;
    let mut admin = app.connect(&net_admin).await;
    let mut community_admin = app.connect(&com_admin).await;
    let network_source = format!("network:{network}");
    let community_source = format!("community:{network}:{community}");
    let published_net = event_in(&mut admin, &network_source, true).await;
    let draft_net = event_in(&mut admin, &network_source, false).await;
    let published_com = event_in(&mut community_admin, &community_source, true).await;

    // (prop, event, session type, creator); each session on a prop of its own.
    let cases = [
        ("net-public", &published_net, 0, "admin"),
        ("net-private", &published_net, 1, "admin"),
        ("net-draft-public", &draft_net, 0, "admin"),
        ("com-public", &published_com, 0, "community-admin"),
        ("com-private", &published_com, 1, "community-admin"),
        ("standalone-public", &Value::Null, 0, "admin"),
        ("standalone-private", &Value::Null, 1, "admin"),
    ];
    let room = unique("room");
    for (prop, event, kind, creator) in &cases {
        let mut fields = json!({
            "roomId": room, "propId": prop, "title": prop, "duration": 3600, "sessionType": kind,
            "startDate": chrono::Utc::now().timestamp_millis() + 60_000,
        });
        if !event.is_null() {
            fields["eventId"] = (*event).clone();
        }
        let client = if *creator == "admin" {
            &mut admin
        } else {
            &mut community_admin
        };
        create_session(client, fields, json!([])).await;
    }
    // Who sees what, by the rules of events and sessions.
    let expected: [(&str, &[&str]); 5] = [
        (
            &net_admin,
            &[
                "net-public",
                "net-private",
                "net-draft-public",
                "com-public",
                "com-private",
                "standalone-public",
                "standalone-private",
            ],
        ),
        (&net_member, &["net-public", "standalone-public"]),
        (
            &com_admin,
            &["com-public", "com-private", "standalone-public"],
        ),
        (&com_member, &["com-public", "standalone-public"]),
        (&stranger, &["standalone-public"]),
    ];
    for (viewer, sees) in expected {
        let mut client = app.connect(viewer).await;
        for (prop, ..) in &cases {
            let data = client
                .ok(
                    "social:getPropSessions",
                    json!({"roomId": room, "propId": prop}),
                )
                .await;
            let seen = !data["sessions"].as_array().unwrap().is_empty();
            assert_eq!(seen, sees.contains(prop), "{viewer} at {prop}");
        }
    }
}

#[tokio::test]
async fn hidden_sessions_at_a_prop_never_push_a_visible_one_out_of_the_answer() {
    let app = spawn_app().await;
    let room = unique("room");
    let attacker = unique("attacker");
    // More hidden recurring sessions than the prop query considers, all started earlier
    // than the visible one: Private, and nobody else is invited.
    let start = bson::DateTime::from_millis(chrono::Utc::now().timestamp_millis() - 86_400_000);
    let hidden: Vec<bson::Document> = (0..250)
        .map(|index| {
            bson::doc! {
                "_id": format!("{attacker}-{index}"), "created": start, "updated": start,
                "eventId": "", "ownerId": &attacker, "roomId": &room, "propId": "stage",
                "sessionType": 1, "title": "hidden", "description": "", "startDate": start,
                "duration": 3600_i64, "endDate": start, "isRecurring": true,
                "color": {"r": 1.0, "g": 1.0, "b": 1.0, "a": 1.0}, "isValid": true,
                "activeUntil": null,
            }
        })
        .collect();
    app.store
        .database()
        .collection::<bson::Document>("sessions")
        .insert_many(hidden)
        .await
        .unwrap();
    let mut owner = app.connect(&unique("owner")).await;
    create_session(
        &mut owner,
        json!({
            "roomId": room, "propId": "stage", "title": "visible", "duration": 3600,
            "startDate": chrono::Utc::now().timestamp_millis() + 60_000, "isRecurring": true,
        }),
        json!([]),
    )
    .await;
    let mut viewer = app.connect(&unique("viewer")).await;
    let data = viewer
        .ok(
            "social:getPropSessions",
            json!({"roomId": room, "propId": "stage"}),
        )
        .await;
    assert_eq!(titles(&data), ["visible"]);
}

#[tokio::test]
async fn single_sessions_whose_event_is_gone_never_push_a_visible_one_out_of_the_answer() {
    let app = spawn_app().await;
    let room = unique("room");
    // Earlier single sessions that the query finds (the viewer joined them) but that the
    // viewer may no longer see: their event is gone.
    let viewer_id = unique("viewer");
    let now = chrono::Utc::now().timestamp_millis();
    let (start, end) = (
        bson::DateTime::from_millis(now + 60_000),
        bson::DateTime::from_millis(now + 3_660_000),
    );
    let orphans: Vec<bson::Document> = (0..5)
        .map(|index| {
            bson::doc! {
                "_id": format!("{room}-orphan-{index}"), "created": start, "updated": start,
                "eventId": unique("gone"), "ownerId": unique("owner"), "roomId": &room,
                "propId": "stage", "sessionType": 0, "title": "orphan", "description": "",
                "startDate": start, "duration": 3600_i64, "endDate": end, "isRecurring": false,
                "color": {"r": 1.0, "g": 1.0, "b": 1.0, "a": 1.0}, "isValid": true,
                "activeUntil": end, "joined": [&viewer_id],
            }
        })
        .collect();
    app.store
        .database()
        .collection::<bson::Document>("sessions")
        .insert_many(orphans)
        .await
        .unwrap();
    let mut owner = app.connect(&unique("owner")).await;
    for (title, offset) in [("later", 120_000), ("latest", 180_000)] {
        create_session(
            &mut owner,
            json!({
                "roomId": room, "propId": "stage", "title": title, "duration": 3600,
                "startDate": now + offset,
            }),
            json!([]),
        )
        .await;
    }
    let mut viewer = app.connect(&viewer_id).await;
    let data = viewer
        .ok(
            "social:getPropSessions",
            json!({"roomId": room, "propId": "stage"}),
        )
        .await;
    assert_eq!(titles(&data), ["later", "latest"]);
}

#[tokio::test]
async fn sessions_written_before_event_scopes_get_theirs_at_start_up() {
    let app = spawn_app().await;
    let (network, mut admin) = network_admin(&app).await;
    let event = event_in(&mut admin, &format!("network:{network}"), true).await;
    let mut fields = json!({
        "roomId": "hall", "propId": "p", "title": "old", "duration": 60,
        "startDate": chrono::Utc::now().timestamp_millis() + 60_000, "eventId": event,
    });
    let session = create_session(&mut admin, fields.take(), json!([])).await;
    let sessions = app
        .store
        .database()
        .collection::<bson::Document>("sessions");
    let id = bson::doc! { "_id": session["id"].as_str().unwrap() };
    sessions
        .update_one(id.clone(), bson::doc! { "$unset": { "eventScope": "" } })
        .await
        .unwrap();
    app.store.backfill_event_scopes().await.unwrap();
    let stored = sessions.find_one(id).await.unwrap().unwrap();
    let scope = stored.get_document("eventScope").unwrap();
    assert_eq!(scope.get_str("networkId").unwrap(), network);
    assert!(scope.get_bool("published").unwrap());
}

#[tokio::test]
async fn a_weekly_session_follows_its_event_when_the_event_is_extended() {
    let app = spawn_app().await;
    let (network, mut admin) = network_admin(&app).await;
    let now = chrono::Utc::now().timestamp_millis();
    let created = admin
        .ok(
            "social:createEvent",
            json!({"source": format!("network:{network}"), "event": {
                "title": "E", "startDate": now - 30 * DAY, "endDate": now - 2 * DAY, "roomId": "hall",
            }}),
        )
        .await;
    let event_id = created["event"]["id"].clone();
    admin
        .ok("social:publishEvent", json!({"eventId": event_id}))
        .await;
    let prop = unique("stage");
    // Weekly from three weeks ago; its event ended two days ago, so it is over.
    at_prop(
        &mut admin,
        &prop,
        "weekly",
        -21 * DAY + 60 * MINUTE,
        json!({"isRecurring": true, "eventId": event_id}),
    )
    .await;
    let request = json!({"roomId": "hall", "propId": prop});
    assert!(titles(&admin.ok("social:getPropSessions", request.clone()).await).is_empty());
    admin
        .ok(
            "social:updateEvent",
            json!({"eventId": event_id, "event": {"endDate": now + 30 * DAY}}),
        )
        .await;
    assert_eq!(
        titles(&admin.ok("social:getPropSessions", request).await),
        ["weekly"],
        "the extended event carries the weekly session on"
    );
}

#[tokio::test]
async fn sessions_created_in_a_draft_are_shown_at_their_prop_once_the_event_is_published() {
    let app = spawn_app().await;
    let (network, mut admin) = network_admin(&app).await;
    let member = unique("member");
    app.add_membership(&member, &network, None, Role::Member)
        .await;
    let event = event_in(&mut admin, &format!("network:{network}"), false).await;
    let prop = unique("stage");
    at_prop(
        &mut admin,
        &prop,
        "early",
        30 * MINUTE,
        json!({"eventId": event}),
    )
    .await;
    let mut viewer = app.connect(&member).await;
    let request = json!({"roomId": "hall", "propId": prop});
    assert!(titles(&viewer.ok("social:getPropSessions", request.clone()).await).is_empty());
    admin
        .ok("social:publishEvent", json!({"eventId": event}))
        .await;
    assert_eq!(
        titles(&viewer.ok("social:getPropSessions", request).await),
        ["early"]
    );
}

#[tokio::test]
async fn no_number_of_recurring_sessions_that_happen_later_push_a_sooner_one_out() {
    let app = spawn_app().await;
    let prop = unique("stage");
    let mut attacker = app.connect(&unique("attacker")).await;
    // 200 yearly sessions that started in 1970, each next taking place in about 100 days.
    let in_100_days = chrono::Utc::now() + chrono::Duration::days(100);
    let start_1970 = in_100_days.with_year(1970).unwrap().timestamp_millis();
    for index in 0..200 {
        create_session(
            &mut attacker,
            json!({
                "roomId": "hall", "propId": &prop, "title": format!("yearly {index}"),
                "duration": 60, "startDate": start_1970,
                "isRecurring": true, "recurrence": "FREQ=YEARLY",
            }),
            json!([]),
        )
        .await;
    }
    let mut owner = app.connect(&unique("owner")).await;
    at_prop(
        &mut owner,
        &prop,
        "keynote",
        DAY,
        json!({"isRecurring": true, "recurrence": "FREQ=WEEKLY"}),
    )
    .await;
    let mut viewer = app.connect(&unique("viewer")).await;
    let listed = titles(&at_hall(&mut viewer, &prop).await);
    assert_eq!(listed[0], "keynote", "{listed:?}");
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn a_rescheduled_recurring_session_takes_its_new_place_at_once() {
    let app = spawn_app().await;
    let prop = unique("stage");
    let mut owner = app.connect(&unique("owner")).await;
    let weekly = json!({"isRecurring": true, "recurrence": "FREQ=WEEKLY"});
    let later = at_prop(&mut owner, &prop, "later", 3 * DAY, weekly.clone()).await;
    at_prop(&mut owner, &prop, "sooner", 2 * DAY, weekly).await;
    assert_eq!(
        titles(&at_hall(&mut owner, &prop).await),
        ["sooner", "later"]
    );
    owner
        .ok(
            "social:updateSession",
            json!({"session": {
                "id": later["id"],
                "startDate": chrono::Utc::now().timestamp_millis() + DAY,
            }}),
        )
        .await;
    assert_eq!(
        titles(&at_hall(&mut owner, &prop).await),
        ["later", "sooner"]
    );
}
