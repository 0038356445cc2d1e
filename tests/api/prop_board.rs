//! The live prop board (extension): `social:watchProp` answers what `getPropSessions`
//! answers and then pushes `social:propSessionsUpdated` whenever that answer changes —
//! after creation, update, deletion, a move, invalidation, an event's publication, the end
//! of a session, and through another server process; `social:unwatchProp` stops it; 16
//! props per connection.

use serde_json::{Value, json};

use social_events::domain::kinds::MembershipRole as Role;

use crate::helpers::{
    Client, Patience, ServeProcess, create_event, create_session, network, published_event,
    spawn_app, spawn_app_with, unique,
};
use crate::joining::members;

const PROP_SESSIONS_UPDATED: &str = "social:propSessionsUpdated";

/// A session at `prop` in room `hall`, starting `offset_seconds` from now, lasting
/// `duration` seconds.
fn at(prop: &str, title: &str, offset_seconds: i64, duration: i64) -> Value {
    json!({
        "roomId": "hall", "propId": prop, "title": title, "duration": duration,
        "startDate": chrono::Utc::now().timestamp_millis() + offset_seconds * 1000,
    })
}

fn prop_request(prop: &str) -> Value {
    json!({ "roomId": "hall", "propId": prop })
}

/// The titles of the sessions of an answer or push.
fn titles(data: &Value) -> Vec<&str> {
    data["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["title"].as_str().unwrap())
        .collect()
}

/// Watches `prop` once every change made so far has reached this process's board (the
/// client's sentinel push comes after them all), so that only later changes can wake the
/// watch; answers the `watchProp` answer.
async fn settled_watch(client: &mut Client, prop: &str) -> Value {
    client.frames_before_sentinel().await;
    client.ok("social:watchProp", prop_request(prop)).await
}

/// The next `social:propSessionsUpdated` push: its prop must be `prop`; answers its titles.
async fn next_board(client: &mut Client, prop: &str) -> Vec<String> {
    let data = client.next_push(PROP_SESSIONS_UPDATED).await;
    assert_eq!(data["roomId"], "hall");
    assert_eq!(data["propId"], prop);
    titles(&data).into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn a_watcher_receives_the_new_list_after_each_kind_of_change() {
    const SECRET: &str = "an-internal-secret-of-at-least-32-bytes";
    let app = spawn_app_with(|settings| settings.internal_secret = Some(SECRET.into())).await;
    let prop = unique("stage");
    let mut owner = app.connect(&unique("owner")).await;
    let mut watcher = app.connect(&unique("watcher")).await;
    let first = watcher.ok("social:watchProp", prop_request(&prop)).await;
    assert_eq!(first, json!({ "sessions": [] }));

    let keynote = create_session(&mut owner, at(&prop, "Keynote", 3600, 3600), json!([])).await;
    assert_eq!(next_board(&mut watcher, &prop).await, ["Keynote"]);

    owner
        .ok(
            "social:updateSession",
            json!({ "session": { "id": keynote["id"], "title": "Opening keynote" } }),
        )
        .await;
    assert_eq!(next_board(&mut watcher, &prop).await, ["Opening keynote"]);

    create_session(&mut owner, at(&prop, "Panel", 1800, 1800), json!([])).await;
    assert_eq!(
        next_board(&mut watcher, &prop).await,
        ["Panel", "Opening keynote"]
    );

    owner
        .ok(
            "social:deleteSession",
            json!({ "sessionId": keynote["id"] }),
        )
        .await;
    assert_eq!(next_board(&mut watcher, &prop).await, ["Panel"]);

    // The platform reports the prop deleted: its sessions are no longer valid.
    let deleted = reqwest::Client::new()
        .post(app.http_url(&format!("/api/v0/internal/rooms/hall/props/{prop}/deleted")))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(next_board(&mut watcher, &prop).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_watcher_is_told_when_a_session_ends_and_the_next_one_moves_up() {
    let app = spawn_app().await;
    let prop = unique("booth");
    let mut owner = app.connect(&unique("owner")).await;
    let mut watcher = app.connect(&unique("watcher")).await;
    // Under way for 50 seconds of its 60.
    create_session(&mut owner, at(&prop, "Ending", -50, 60), json!([])).await;
    create_session(&mut owner, at(&prop, "Later", 3600, 3600), json!([])).await;
    create_session(&mut owner, at(&prop, "Last", 7200, 3600), json!([])).await;
    let first = watcher.ok("social:watchProp", prop_request(&prop)).await;
    assert_eq!(titles(&first), ["Ending", "Later"]);
    // No write happens: the end of "Ending" alone changes the answer.
    assert_eq!(next_board(&mut watcher, &prop).await, ["Later", "Last"]);
}

#[tokio::test]
async fn a_session_moved_away_leaves_the_board_of_its_old_prop() {
    let app = spawn_app().await;
    let (stage, booth) = (unique("stage"), unique("booth"));
    let mut owner = app.connect(&unique("owner")).await;
    let mut watcher = app.connect(&unique("watcher")).await;
    let talk = create_session(&mut owner, at(&stage, "Talk", 600, 600), json!([])).await;
    let first = settled_watch(&mut watcher, &stage).await;
    assert_eq!(titles(&first), ["Talk"]);
    owner
        .ok(
            "social:updateSession",
            json!({ "session": { "id": talk["id"], "propId": &booth } }),
        )
        .await;
    assert_eq!(next_board(&mut watcher, &stage).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_watcher_sees_only_what_it_may_see_and_is_told_when_an_event_is_published() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let prop = unique("stage");
    let outsider_id = unique("outsider");
    let mut outsider = app.connect(&outsider_id).await;
    net.member.ok("social:watchProp", prop_request(&prop)).await;
    outsider.ok("social:watchProp", prop_request(&prop)).await;

    // Neither a Private session the member is not invited to nor a session of a draft
    // event (seen by its organisers only, until published) changes what the member sees.
    create_session(
        &mut net.admin,
        json!({ "roomId": "hall", "propId": &prop, "title": "Private", "sessionType": 1,
                "startDate": chrono::Utc::now().timestamp_millis() + 600_000, "duration": 600 }),
        json!([]),
    )
    .await;
    let event = create_event(&mut net.admin, &net.source, "Launch").await;
    let mut fields = at(&prop, "Launch talk", 1200, 600);
    fields["eventId"] = event["id"].clone();
    create_session(&mut net.admin, fields, json!([])).await;
    // A session everyone sees: its push is the first of both boards, so neither of the
    // two sessions before it was pushed.
    create_session(&mut net.admin, at(&prop, "Marker", 1800, 600), json!([])).await;
    assert_eq!(next_board(&mut net.member, &prop).await, ["Marker"]);
    assert_eq!(next_board(&mut outsider, &prop).await, ["Marker"]);

    // Watched afresh, so that only the publication can wake the watch.
    let now = settled_watch(&mut net.member, &prop).await;
    assert_eq!(titles(&now), ["Marker"]);
    net.admin
        .ok("social:publishEvent", json!({ "eventId": event["id"] }))
        .await;
    assert_eq!(
        next_board(&mut net.member, &prop).await,
        ["Launch talk", "Marker"]
    );
    // The outsider, who is not in the network, does not see the published event either:
    // its next push is of a session of its own.
    create_session(&mut outsider, at(&prop, "Own", 3600, 600), json!([])).await;
    assert_eq!(next_board(&mut outsider, &prop).await, ["Marker", "Own"]);
}

#[tokio::test]
async fn a_watcher_is_told_when_the_event_end_cuts_a_repetition_short() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let prop = unique("stage");
    let now = chrono::Utc::now().timestamp_millis();
    const DAY: i64 = 24 * 3600 * 1000;
    let event = published_event(
        &mut net,
        json!({ "startDate": now - 30 * DAY, "endDate": now + 30 * DAY }),
    )
    .await;
    // Weekly, last a week ago less ten minutes: the next one starts in ten minutes.
    let mut weekly = at(&prop, "Weekly", -7 * 24 * 3600 + 600, 600);
    weekly["isRecurring"] = json!(true);
    weekly["eventId"] = event["id"].clone();
    create_session(&mut net.admin, weekly, json!([])).await;
    let first = settled_watch(&mut net.member, &prop).await;
    assert_eq!(titles(&first), ["Weekly"]);
    // The event now ends before that next occurrence: the repetitions end with it.
    net.admin
        .ok(
            "social:updateEvent",
            json!({ "eventId": event["id"], "event": { "endDate": now + 300_000 } }),
        )
        .await;
    assert_eq!(
        next_board(&mut net.member, &prop).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_watcher_who_gains_a_membership_sees_the_network_s_sessions() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let prop = unique("stage");
    let event = published_event(&mut net, json!({})).await;
    let mut fields = at(&prop, "Members only", 600, 600);
    fields["eventId"] = event["id"].clone();
    create_session(&mut net.admin, fields, json!([])).await;
    let newcomer_id = unique("newcomer");
    let mut newcomer = app.connect(&newcomer_id).await;
    let first = settled_watch(&mut newcomer, &prop).await;
    assert_eq!(first, json!({ "sessions": [] }));
    // The platform adds the membership: no request of this service is involved.
    app.add_membership(&newcomer_id, &net.id, None, Role::Member)
        .await;
    assert_eq!(next_board(&mut newcomer, &prop).await, ["Members only"]);
}

#[tokio::test]
async fn a_watcher_made_admin_sees_the_drafts_of_its_network() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let prop = unique("stage");
    let event = create_event(&mut net.admin, &net.source, "Draft").await;
    let mut fields = at(&prop, "Rehearsal", 600, 600);
    fields["eventId"] = event["id"].clone();
    create_session(&mut net.admin, fields, json!([])).await;
    let first = settled_watch(&mut net.member, &prop).await;
    assert_eq!(first, json!({ "sessions": [] }));
    // The platform changes the member's role: no request of this service is involved.
    app.add_membership(&net.member_id, &net.id, None, Role::Admin)
        .await;
    assert_eq!(next_board(&mut net.member, &prop).await, ["Rehearsal"]);
}

#[tokio::test]
async fn joining_and_waiting_for_a_seat_show_on_the_board() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let prop = unique("table");
    let event = published_event(&mut net, json!({ "participantLimit": 1 })).await;
    let mut fields = at(&prop, "Small table", 600, 600);
    fields["eventId"] = event["id"].clone();
    let session = create_session(&mut net.admin, fields, json!([])).await;
    let mut waiter = members(&app, &net.id, 1).await.remove(0);
    waiter.ok("social:watchProp", prop_request(&prop)).await;

    net.member
        .ok("social:joinSession", json!({ "sessionId": session["id"] }))
        .await;
    let joined = waiter.next_push(PROP_SESSIONS_UPDATED).await;
    assert_eq!(
        joined["sessions"][0]["joinedUsers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(joined["sessions"][0].get("waitlistPosition").is_none());

    let waiting = waiter
        .ok(
            "social:joinSession",
            json!({ "sessionId": session["id"], "waitlist": true }),
        )
        .await;
    assert_eq!(waiting, json!({ "waitlisted": true, "position": 1 }));
    let board = waiter.next_push(PROP_SESSIONS_UPDATED).await;
    assert_eq!(board["sessions"][0]["waitlistPosition"], 1);
}

#[tokio::test]
async fn an_event_published_through_another_process_reaches_the_watcher() {
    let app = spawn_app().await;
    let other = ServeProcess::start(&app.db_name).await;
    let mut net = network(&app).await;
    let prop = unique("stage");
    let mut admin = other.connect(&net.admin_id).await;
    let event = create_event(&mut admin, &net.source, "Launch").await;
    let mut fields = at(&prop, "Launch talk", 1200, 600);
    fields["eventId"] = event["id"].clone();
    create_session(&mut admin, fields, json!([])).await;
    // The member's process reads (and keeps) the draft event for this answer.
    let first = net.member.ok("social:watchProp", prop_request(&prop)).await;
    assert_eq!(first, json!({ "sessions": [] }));
    admin
        .ok("social:publishEvent", json!({ "eventId": event["id"] }))
        .await;
    assert_eq!(next_board(&mut net.member, &prop).await, ["Launch talk"]);
}

#[tokio::test]
async fn unwatching_stops_the_pushes_and_sixteen_props_is_the_limit() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let mut watcher = app.connect(&unique("watcher")).await;
    let props: Vec<String> = (0..16).map(|n| unique(&format!("prop{n}"))).collect();
    for prop in &props {
        watcher.ok("social:watchProp", prop_request(prop)).await;
    }
    // Watching a watched prop again counts once.
    watcher
        .ok("social:watchProp", prop_request(&props[0]))
        .await;
    let refused = watcher
        .fails(
            "social:watchProp",
            prop_request(&unique("seventeenth")),
            409,
        )
        .await;
    assert!(
        refused.starts_with("watch quota exceeded") && refused.contains("16"),
        "{refused}"
    );

    watcher
        .ok("social:unwatchProp", prop_request(&props[0]))
        .await;
    // Unwatching what is not watched does no harm.
    assert_eq!(
        watcher
            .ok("social:unwatchProp", prop_request(&props[0]))
            .await,
        json!({})
    );
    create_session(&mut owner, at(&props[0], "Unseen", 600, 600), json!([])).await;
    assert_eq!(watcher.frames_before_sentinel().await, Vec::<Value>::new());
    // The freed place takes another prop, still watched live.
    let other = unique("other");
    watcher.ok("social:watchProp", prop_request(&other)).await;
    create_session(&mut owner, at(&other, "Seen", 600, 600), json!([])).await;
    assert_eq!(next_board(&mut watcher, &other).await, ["Seen"]);
}

#[tokio::test]
async fn a_change_made_through_another_process_reaches_the_watcher() {
    let app = spawn_app().await;
    let other = ServeProcess::start(&app.db_name).await;
    let prop = unique("stage");
    let mut owner = other.connect(&unique("owner")).await;
    let mut watcher = app.connect(&unique("watcher")).await;
    watcher.ok("social:watchProp", prop_request(&prop)).await;
    create_session(&mut owner, at(&prop, "Elsewhere", 600, 600), json!([])).await;
    assert_eq!(next_board(&mut watcher, &prop).await, ["Elsewhere"]);
}

#[tokio::test]
async fn a_client_resumes_after_a_prop_push_without_a_resync() {
    let app = spawn_app().await;
    let prop = unique("stage");
    let watcher_id = unique("watcher");
    let mut owner = app.connect(&unique("owner")).await;
    let mut watcher = app.connect(&watcher_id).await;
    watcher.ok("social:watchProp", prop_request(&prop)).await;
    // An hour away: no reminder joins the replay.
    let session = create_session(&mut owner, at(&prop, "Talk", 3600, 600), json!([])).await;
    let push = watcher.next_frame().await;
    assert_eq!(push["endpoint"], PROP_SESSIONS_UPDATED);
    let seen = push["event"]["id"].as_str().unwrap().to_owned();
    drop(watcher);
    // Invited while away: that is the one push to replay.
    owner
        .ok(
            "social:inviteUsersToSession",
            json!({ "sessionId": session["id"], "usersToInvite": [{ "userId": &watcher_id, "role": 0 }] }),
        )
        .await;
    let url = format!("{}?resumeAfter={seen}", app.ws_url());
    let mut back = Client::connect(&url, &app.token(&watcher_id)).await;
    let missed = back.frames_before_sentinel().await;
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0]["endpoint"], "social:sessionUpdated");
    assert!(
        missed[0]["event"]["id"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > seen.parse::<i64>().unwrap()
    );
}

#[tokio::test]
async fn prop_requests_are_validated() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("client")).await;
    for endpoint in ["social:watchProp", "social:unwatchProp"] {
        client
            .fails(endpoint, json!({ "roomId": "hall" }), 400)
            .await;
        client
            .fails(
                endpoint,
                json!({ "roomId": "hall", "propId": "x".repeat(300) }),
                400,
            )
            .await;
    }
}

#[tokio::test]
async fn one_user_watches_at_most_64_props_over_all_of_their_connections() {
    let app = spawn_app().await;
    let user = unique("watcher");
    let mut connections = Vec::new();
    for _ in 0..5 {
        connections.push(app.connect(&user).await);
    }
    // 4 connections × 16 props: the user's 64.
    for connection in connections.iter_mut().take(4) {
        for _ in 0..16 {
            connection
                .ok("social:watchProp", prop_request(&unique("prop")))
                .await;
        }
    }
    let fifth = &mut connections[4];
    let refused = fifth
        .fails("social:watchProp", prop_request(&unique("prop")), 409)
        .await;
    assert!(
        refused.starts_with("watch quota exceeded") && refused.contains("per user"),
        "{refused}"
    );
    // Another user is not held back, and a watch given up frees a place.
    let mut other = app.connect(&unique("other")).await;
    other
        .ok("social:watchProp", prop_request(&unique("prop")))
        .await;
    drop(connections.remove(0));
    let fifth = connections.last_mut().unwrap();
    let patience = Patience::new();
    loop {
        let answer = fifth
            .request("social:watchProp", prop_request(&unique("prop")))
            .await;
        if answer["error"]["code"] == 0 {
            break;
        }
        patience.wait("a place freed by a closed connection").await;
    }
}
