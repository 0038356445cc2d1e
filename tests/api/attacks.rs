//! The attack catalogue: what one signed-in user (or anyone on the network) can try in
//! order to slow or stop the service, each answered as documented, followed by a check
//! that the same connection (where it stays open) and another user's connection are still
//! served.

use futures_util::TryStreamExt;
use serde_json::{Value, json};
use social_events::token::Claims;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use social_events::http::server::Application;

use crate::helpers::{Client, Patience, TestApp, spawn_app, spawn_app_with, test_settings, unique};

/// The client still gets a well-formed answer.
async fn assert_served(client: &mut Client) {
    let data = client
        .ok("social:getEvents", json!({"source": "network:n"}))
        .await;
    assert_eq!(data, json!({"events": []}));
}

/// Another user, connected now, is served.
async fn assert_others_served(app: &TestApp) {
    let mut other = app.connect(&unique("bystander")).await;
    assert_served(&mut other).await;
}

/// Sends one raw frame and answers the frame that comes back.
async fn answer_to(client: &mut Client, frame: Value) -> Value {
    client.send_text(frame.to_string()).await;
    client.next_frame().await
}

#[tokio::test]
async fn a_huge_endpoint_name_is_refused_without_being_echoed() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let answer = answer_to(
        &mut client,
        json!({"endpoint": "social:".repeat(15_000), "event": {"id": "e1"}}),
    )
    .await;
    assert_eq!(answer["endpoint"], "");
    assert_eq!(answer["event"]["id"], "e1");
    assert_eq!(answer["error"]["code"], 400);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("endpoint: invalid"), "{message}");
    assert!(message.len() < 200, "the name is not repeated: {message}");
    assert_served(&mut client).await;
    assert_others_served(&app).await;
}

#[tokio::test]
async fn an_endpoint_name_with_a_line_break_is_refused() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let answer = answer_to(
        &mut client,
        json!({"endpoint": "social:getEvents\n2026-01-01 INFO forged line", "event": {"id": "e2"}}),
    )
    .await;
    assert_eq!(answer["endpoint"], "");
    assert_eq!(answer["error"]["code"], 400);
    assert_served(&mut client).await;
}

#[tokio::test]
async fn an_event_id_longer_than_128_characters_is_refused_and_not_echoed() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let answer = answer_to(
        &mut client,
        json!({"endpoint": "social:getEvents", "data": {"source": "network:n"}, "event": {"id": "x".repeat(129)}}),
    )
    .await;
    assert_eq!(answer["endpoint"], "social:getEvents");
    assert_eq!(answer["error"]["code"], 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("event.id: ")
    );
    assert!(answer["event"].get("id").is_none(), "{answer}");
    assert_served(&mut client).await;
}

#[tokio::test]
async fn binary_frames_count_against_the_rate_limit() {
    // A burst of 4: one for the upgrade, three for frames.
    let app = spawn_app_with(|settings| {
        settings.connection.requests_per_second = 1;
        settings.connection.burst = 4;
    })
    .await;
    let mut client = app.connect(&unique("u")).await;
    for _ in 0..3 {
        client.send(Message::binary(b"junk".to_vec())).await;
        assert_eq!(client.next_frame().await["error"]["code"], 400);
    }
    let answer = answer_to(
        &mut client,
        json!({"endpoint": "social:getEvents", "data": {"source": "network:n"}}),
    )
    .await;
    assert_eq!(answer["error"]["code"], 429, "{answer}");
    client.send(Message::binary(b"junk".to_vec())).await;
    assert_eq!(client.next_frame().await["error"]["code"], 429);
    assert_others_served(&app).await;
}

#[tokio::test]
async fn a_users_connections_share_one_rate_limit() {
    // A burst of 6: two upgrades and four requests.
    let app = spawn_app_with(|settings| {
        settings.connection.requests_per_second = 1;
        settings.connection.burst = 6;
    })
    .await;
    let user = unique("u");
    let (mut first, mut second) = (app.connect(&user).await, app.connect(&user).await);
    let request = json!({"endpoint": "social:getEvents", "data": {"source": "network:n"}});
    for client in [&mut first, &mut second] {
        for _ in 0..2 {
            assert_eq!(answer_to(client, request.clone()).await["error"]["code"], 0);
        }
    }
    assert_eq!(
        answer_to(&mut first, request.clone()).await["error"]["code"],
        429
    );
    assert_eq!(
        answer_to(&mut second, request.clone()).await["error"]["code"],
        429
    );
    let (status, retry_after) = refused_upgrade(&app, &user).await;
    assert_eq!(
        (status, retry_after.is_some()),
        (429, true),
        "a new connection brings no new allowance: the upgrade itself is over the rate"
    );
    assert_others_served(&app).await;
}

/// An upgrade request of `user_id` with a Bearer token.
fn bearer_request(
    app: &TestApp,
    user_id: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = app.ws_url().into_client_request().unwrap();
    let token = app.token(user_id);
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The status and `Retry-After` of a refused upgrade.
async fn refused_upgrade(app: &TestApp, user_id: &str) -> (u16, Option<String>) {
    match tokio_tungstenite::connect_async(bearer_request(app, user_id)).await {
        Err(WsError::Http(response)) => (
            response.status().as_u16(),
            response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_owned()),
        ),
        Ok(_) => panic!("the upgrade should be refused"),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test]
async fn connections_beyond_the_per_user_cap_get_429_with_retry_after() {
    let app = spawn_app_with(|settings| settings.connection.max_connections_per_user = 2).await;
    let user = unique("u");
    let mut first = app.connect(&user).await;
    let _second = app.connect(&user).await;
    let (status, retry_after) = refused_upgrade(&app, &user).await;
    assert_eq!(status, 429);
    let retry_after: u64 = retry_after.expect("Retry-After is set").parse().unwrap();
    assert!(retry_after > 0);
    assert_served(&mut first).await;
    assert_others_served(&app).await;
    // A closed connection frees its place once the server has finished closing it; the
    // client cannot observe that moment, so it polls, within a bound.
    drop(first);
    let patience = Patience::new();
    loop {
        match tokio_tungstenite::connect_async(bearer_request(&app, &user)).await {
            Ok(_) => break,
            Err(WsError::Http(response)) if response.status() == 429 => {
                patience.wait("the freed place").await;
            }
            Err(other) => panic!("the place was not freed: {other}"),
        }
    }
}

/// An upgrade with `token` in the `Authorization` header is refused with HTTP 401.
async fn assert_upgrade_refused_with_401(app: &TestApp, token: &str) {
    let mut request = app.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_token_that_is_not_yet_valid_is_refused_with_401() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let token = app.token_with(&Claims {
        sub: unique("u"),
        exp: now + 3600,
        nbf: Some(now + 600),
        ..Claims::default()
    });
    assert_upgrade_refused_with_401(&app, &token).await;
    let valid_now = app.token_with(&Claims {
        sub: unique("u"),
        exp: now + 3600,
        nbf: Some(now - 1),
        ..Claims::default()
    });
    let mut client = app.connect_with_token(&valid_now).await;
    assert_served(&mut client).await;
}

const INTERNAL_SECRET: &str = "an-internal-secret-of-at-least-32-bytes";

#[tokio::test]
async fn the_internal_secret_is_accepted_in_the_header_only() {
    let app =
        spawn_app_with(|settings| settings.internal_secret = Some(INTERNAL_SECRET.into())).await;
    let http = reqwest::Client::new();
    let url = app.http_url("/api/v0/internal/rooms/r1/deleted");
    let in_query = http
        .post(format!("{url}?token={INTERNAL_SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), 401);
    let in_header = http
        .post(&url)
        .bearer_auth(INTERNAL_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(in_header.status(), 204);
    assert_others_served(&app).await;
}

#[tokio::test]
async fn the_service_refuses_to_start_with_a_short_internal_secret() {
    let mut settings = test_settings().await;
    settings.internal_secret = Some("31-bytes-is-one-byte-too-short!".into());
    let error = Application::build(settings)
        .await
        .err()
        .expect("the server must not start");
    assert!(error.to_string().contains("at least 32 bytes"), "{error}");
}

/// `count` stored sessions of `owner` whose last occurrence ends at `active_until`
/// (`None`: repeating without end), written straight to the database.
async fn stored_sessions(app: &TestApp, owner: &str, count: usize, active_until: Option<i64>) {
    let documents: Vec<bson::Document> = (0..count)
        .map(|index| {
            let start = bson::DateTime::from_millis(1_000_000);
            bson::doc! {
                "_id": format!("{owner}-{index}"), "created": start, "updated": start,
                "eventId": "", "ownerId": owner, "roomId": "r", "propId": "p", "sessionType": 0,
                "title": "t", "description": "", "startDate": start, "duration": 60_i64,
                "endDate": start, "isRecurring": active_until.is_none(),
                "color": {"r": 1.0, "g": 1.0, "b": 1.0, "a": 1.0}, "isValid": true,
                "activeUntil": active_until.map(bson::DateTime::from_millis),
            }
        })
        .collect();
    app.store
        .database()
        .collection::<bson::Document>("sessions")
        .insert_many(documents)
        .await
        .unwrap();
}

fn standalone_session(title: &str) -> Value {
    json!({"session": {
        "roomId": "r", "propId": "p", "title": title, "duration": 60,
        "startDate": chrono::Utc::now().timestamp_millis() + 3_600_000,
    }})
}

#[tokio::test]
async fn an_owner_has_at_most_1000_sessions_that_have_not_ended() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let future = chrono::Utc::now().timestamp_millis() + 86_400_000;
    stored_sessions(&app, &owner, 999, Some(future)).await;
    client
        .ok("social:createSession", standalone_session("1000th"))
        .await;
    let error = client
        .fails("social:createSession", standalone_session("1001st"), 409)
        .await;
    assert!(error.contains("session quota"), "{error}");
    assert_served(&mut client).await;
    assert_others_served(&app).await;

    let recurring_owner = unique("owner");
    stored_sessions(&app, &recurring_owner, 1000, None).await;
    let mut recurring = app.connect(&recurring_owner).await;
    let error = recurring
        .fails("social:createSession", standalone_session("more"), 409)
        .await;
    assert!(
        error.contains("session quota"),
        "recurring sessions without end count: {error}"
    );

    let past_owner = unique("owner");
    let past = chrono::Utc::now().timestamp_millis() - 1000;
    stored_sessions(&app, &past_owner, 1000, Some(past)).await;
    let mut ended = app.connect(&past_owner).await;
    ended
        .ok("social:createSession", standalone_session("new"))
        .await;
}

#[tokio::test]
async fn a_session_holds_at_most_1000_invitations() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = owner
        .ok("social:createSession", standalone_session("big"))
        .await;
    let id = session["session"]["id"].clone();
    for batch in 0..10 {
        let entries: Vec<Value> = (0..100)
            .map(|index| json!({"userId": format!("guest-{batch}-{index}")}))
            .collect();
        owner
            .ok(
                "social:inviteUsersToSession",
                json!({"sessionId": id, "usersToInvite": entries}),
            )
            .await;
    }
    let error = owner
        .fails(
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": [{"userId": "one-too-many"}]}),
            409,
        )
        .await;
    assert!(error.contains("invitation quota"), "{error}");
    assert_served(&mut owner).await;
}

#[tokio::test]
async fn a_push_document_stays_small_whatever_the_audience() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let guest = unique("guest");
    let entries: Vec<Value> = (0..100)
        .map(|index| json!({"userId": format!("{guest}-{index}")}))
        .collect();
    let mut first_guest = app.connect(&format!("{guest}-0")).await;
    let mut session = standalone_session("crowded");
    session["usersToInvite"] = json!(entries);
    let session = owner.ok("social:createSession", session).await;
    let id = session["session"]["id"].as_str().unwrap().to_owned();
    first_guest.next_push("social:sessionUpdated").await;
    for title in ["renamed", "renamed again"] {
        owner
            .ok(
                "social:updateSession",
                json!({"session": {"id": id, "title": title}}),
            )
            .await;
        let pushed = first_guest.next_push("social:sessionUpdated").await;
        assert_eq!(pushed["session"]["title"], title);
    }
    let pushes: Vec<bson::Document> = app
        .store
        .database()
        .collection::<bson::Document>("pushes")
        .find(bson::doc! { "sessionId": &id })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pushes.len(), 3);
    for push in &pushes {
        let bytes = bson::to_vec(push).unwrap().len();
        assert!(bytes < 512, "a push of {bytes} bytes: {push}");
    }
    assert_served(&mut owner).await;
}

/// `usersToInvite` entries of the distinct addresses `{inviter}-{i}@example.com` for each
/// `i` in `numbers`, five to an entry.
fn email_entries(inviter: &str, numbers: std::ops::Range<usize>) -> Vec<Value> {
    numbers
        .collect::<Vec<_>>()
        .chunks(5)
        .map(|chunk| {
            let emails: Vec<String> = chunk
                .iter()
                .map(|i| format!("{inviter}-{i}@example.com"))
                .collect();
            json!({"emails": emails})
        })
        .collect()
}

#[tokio::test]
async fn an_inviter_looks_up_at_most_500_contacts_a_day() {
    let app = spawn_app().await;
    let inviter = unique("inviter");
    let mut client = app.connect(&inviter).await;
    let session = client
        .ok("social:createSession", standalone_session("s"))
        .await;
    let id = session["session"]["id"].clone();
    let entries = |from, to| email_entries(&inviter, from..to);
    client
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": entries(0, 500)}),
        )
        .await;
    // The same contacts again cost nothing.
    client
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": entries(495, 500)}),
        )
        .await;
    let error = client
        .fails(
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": entries(500, 501)}),
            409,
        )
        .await;
    assert!(error.contains("look-up quota"), "{error}");
    assert_served(&mut client).await;
    // Another inviter has a quota of their own.
    let mut other = app.connect(&unique("inviter")).await;
    let theirs = other
        .ok("social:createSession", standalone_session("t"))
        .await;
    other
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": theirs["session"]["id"], "usersToInvite": entries(500, 505)}),
        )
        .await;
}

#[tokio::test]
async fn user_ids_with_control_characters_are_refused_as_invitees_and_as_token_subjects() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = owner
        .ok("social:createSession", standalone_session("s"))
        .await;
    let hostile = [
        "\u{1}".repeat(256),
        "nul\u{0}byte".to_owned(),
        "esc\u{1b}[31mred".to_owned(),
        "line\r\nbreak".to_owned(),
        "del\u{7f}".to_owned(),
    ];
    for user_id in &hostile {
        let invite = json!([{ "userId": user_id }]);
        let mut create = standalone_session("s");
        create["usersToInvite"] = invite.clone();
        let error = owner.fails("social:createSession", create, 400).await;
        assert!(error.contains("control characters"), "{error}");
        let error = owner
            .fails(
                "social:inviteUsersToSession",
                json!({"sessionId": session["session"]["id"], "usersToInvite": invite}),
                400,
            )
            .await;
        assert!(error.contains("usersToInvite[0].userId"), "{error}");
    }
    // Nor can a token name such a user.
    let now = chrono::Utc::now().timestamp();
    let token = app.token_with(&Claims {
        sub: "line\nbreak".to_owned(),
        exp: now + 3600,
        ..Claims::default()
    });
    assert_upgrade_refused_with_401(&app, &token).await;
    // Ids of any other text are taken as given: the identity provider knows the users.
    owner
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": session["session"]["id"],
                   "usersToInvite": [{"userId": "auth0|5f7c8ec7c33c6c004bbafe82"}, {"userId": "zoë@example.com"}]}),
        )
        .await;
    assert_served(&mut owner).await;
}

#[tokio::test]
async fn a_user_holds_at_most_200_open_invitations_and_declining_frees_one() {
    let app = spawn_app().await;
    let invitee = unique("popular");
    let spammer = unique("spammer");
    let future = chrono::Utc::now().timestamp_millis() + 86_400_000;
    stored_sessions(&app, &spammer, 200, Some(future)).await;
    app.store
        .database()
        .collection::<bson::Document>("sessions")
        .update_many(
            bson::doc! { "ownerId": &spammer },
            bson::doc! { "$set": { "invited": [{ "userId": &invitee, "role": 0 }] } },
        )
        .await
        .unwrap();
    let invite = json!([{ "userId": &invitee }]);
    let mut friend = app.connect(&unique("friend")).await;
    let mut create = standalone_session("party");
    create["usersToInvite"] = invite.clone();
    let error = friend
        .fails("social:createSession", create.clone(), 409)
        .await;
    assert!(error.contains("open invitations"), "{error}");
    // Refused before anything was written: no session, nothing counted.
    let session = friend
        .ok("social:createSession", standalone_session("later"))
        .await;
    let error = friend
        .fails(
            "social:inviteUsersToSession",
            json!({"sessionId": session["session"]["id"], "usersToInvite": invite}),
            409,
        )
        .await;
    assert!(error.contains("open invitations"), "{error}");
    // Declining one of them makes room.
    let mut popular = app.connect(&invitee).await;
    popular
        .ok(
            "social:declineSessionJoin",
            json!({"sessionId": format!("{spammer}-0")}),
        )
        .await;
    friend
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": session["session"]["id"], "usersToInvite": invite}),
        )
        .await;
    assert_served(&mut friend).await;
}

#[tokio::test]
async fn an_inviter_invites_at_most_2000_distinct_users_a_day() {
    let app = spawn_app().await;
    let inviter = unique("inviter");
    let mut client = app.connect(&inviter).await;
    let guests = |from: usize, to: usize| -> Vec<Value> {
        (from..to)
            .map(|index| json!({"userId": format!("{inviter}-guest-{index}")}))
            .collect()
    };
    let mut sessions = Vec::new();
    for title in ["a", "b", "c"] {
        let session = client
            .ok("social:createSession", standalone_session(title))
            .await;
        sessions.push(session["session"]["id"].clone());
    }
    for batch in 0..20 {
        client
            .ok(
                "social:inviteUsersToSession",
                json!({"sessionId": sessions[batch / 10],
                       "usersToInvite": guests(batch * 100, batch * 100 + 100)}),
            )
            .await;
    }
    // The same people to another session cost nothing.
    client
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": sessions[2], "usersToInvite": guests(0, 100)}),
        )
        .await;
    let error = client
        .fails(
            "social:inviteUsersToSession",
            json!({"sessionId": sessions[2], "usersToInvite": guests(2000, 2001)}),
            409,
        )
        .await;
    assert!(error.contains("2000 distinct users"), "{error}");
    assert_served(&mut client).await;
}

/// The statuses of `count` GETs of `url` sent one after the other (with `token`, if any).
async fn statuses(url: &str, token: Option<&str>, count: usize) -> Vec<u16> {
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..count {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        statuses.push(request.send().await.unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn the_calendar_and_readiness_routes_are_rate_limited_per_user_feed_and_address() {
    // A burst of 5, refilled once a second: 12 requests in a row pass the burst.
    let app = spawn_app_with(|settings| {
        settings.connection.requests_per_second = 1;
        settings.connection.burst = 5;
    })
    .await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let session = client
        .ok("social:createSession", standalone_session("s"))
        .await;
    let feed = client.ok("social:getCalendarFeed", json!({})).await;
    let feed_path = feed["url"]
        .as_str()
        .unwrap()
        .strip_prefix("https://social.example.test")
        .unwrap()
        .to_owned();
    let invitation = app.http_url(&format!(
        "/api/v0/resource/sessionInvitation/{}",
        session["session"]["id"].as_str().unwrap()
    ));
    for (route, url, token) in [
        ("calendar feed", app.http_url(&feed_path), None),
        ("readiness", app.http_url("/readyz"), None),
        (
            "invitation file",
            invitation.clone(),
            Some(app.token(&owner)),
        ),
    ] {
        let got = statuses(&url, token.as_deref(), 12).await;
        assert!(got.contains(&429), "{route}: {got:?}");
        assert!(
            got.iter().all(|status| [200, 429].contains(status)),
            "{route}: {got:?}"
        );
    }
    // Each holder has a rate of its own: another user's invitation file is served.
    let other = unique("other");
    let mut other_client = app.connect(&other).await;
    let theirs = other_client
        .ok("social:createSession", standalone_session("t"))
        .await;
    let file = app.invitation_file(&theirs["session"], &other).await;
    assert!(file.starts_with("BEGIN:VCALENDAR"), "{file}");
}

#[tokio::test]
async fn a_frame_of_several_mebibytes_gets_413_and_close_1009_at_the_default_limit() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let padding = "x".repeat(3 * 1024 * 1024);
    client
        .send_text(json!({"endpoint": "social:getEvents", "data": {"source": padding}}).to_string())
        .await;
    assert_eq!(client.next_frame().await["error"]["code"], 413);
    assert_eq!(client.close_code().await, Some(1009));
    // The client answers the close; the server ends the connection right after, not
    // after draining for its longest time (10 s) as before.
    let answered = std::time::Instant::now();
    while client.next_message().await.is_some() {}
    let ended_after = answered.elapsed();
    assert!(
        ended_after < std::time::Duration::from_secs(3),
        "the connection ended {ended_after:?} after the closing handshake"
    );
    assert_others_served(&app).await;
}

#[tokio::test]
async fn a_plain_request_to_the_websocket_route_is_a_400_not_an_upgrade() {
    let app = spawn_app().await;
    let answer = reqwest::Client::new()
        .get(app.http_url("/api/v0/ws"))
        .bearer_auth(app.token(&unique("u")))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
}

#[tokio::test]
async fn simultaneous_invitations_cannot_pass_the_contact_look_up_quota_together() {
    let app = spawn_app().await;
    let inviter = unique("inviter");
    let mut client = app.connect(&inviter).await;
    let session = client
        .ok("social:createSession", standalone_session("s"))
        .await;
    let id = session["session"]["id"].clone();
    let emails = |from, to| email_entries(&inviter, from..to);
    client
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": emails(0, 450)}),
        )
        .await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(app.connect(&inviter).await);
    }
    let answers = futures_util::future::join_all(clients.iter_mut().enumerate().map(|(index, client)| {
        let request = json!({"sessionId": id, "usersToInvite": emails(1000 + index * 20, 1020 + index * 20)});
        client.request("social:inviteUsersToSession", request)
    }))
    .await;
    let refused = answers
        .iter()
        .filter(|answer| answer["error"]["code"] == 409)
        .count();
    assert!(
        refused >= 3,
        "at most two requests of 20 fit in the 50 left: {answers:?}"
    );
    let recorded = app
        .store
        .database()
        .collection::<bson::Document>("contactLookups")
        .count_documents(bson::doc! { "inviterId": &inviter })
        .await
        .unwrap();
    assert!(recorded <= 500, "{recorded} look-ups recorded");
}

#[tokio::test]
async fn a_socket_that_sends_half_a_request_or_nothing_is_closed_after_the_header_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|settings| {
        settings.connection.header_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let mut half = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    for (what, socket) in [("half a request", &mut half), ("nothing", &mut silent)] {
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            socket.read_to_end(&mut rest),
        )
        .await;
        assert!(
            ended.is_ok(),
            "a socket that sent {what} is still open after 5 s"
        );
    }
    // A request sent whole is answered as ever.
    let healthy = reqwest::get(app.http_url("/healthz")).await.unwrap();
    assert_eq!(healthy.status(), 200);
    assert_others_served(&app).await;
}

/// Sessions of `net`'s event with the longest description (10,000 four-byte characters,
/// about 40 KB each as stored).
async fn large_sessions(net: &mut crate::helpers::Network, event_id: &Value, count: usize) {
    for index in 0..count {
        let mut session =
            crate::helpers::session_fields(&format!("large {index}"), 60 + index as i64);
        session["eventId"] = event_id.clone();
        session["description"] = json!("𝄞".repeat(10_000));
        crate::helpers::create_session(&mut net.admin, session, json!([])).await;
    }
}

#[tokio::test]
async fn a_page_of_large_sessions_ends_at_a_mebibyte_and_the_pages_concatenate() {
    let app = spawn_app().await;
    let mut net = crate::helpers::network(&app).await;
    let event = crate::helpers::published_event(&mut net, json!({})).await;
    large_sessions(&mut net, &event["id"], 30).await;
    let first = net
        .member
        .ok(
            "social:getSessions",
            json!({"eventId": &event["id"], "limit": 500}),
        )
        .await;
    let first_page = first["sessions"].as_array().unwrap();
    assert!(
        (20..30).contains(&first_page.len()),
        "about 1 MiB of 40 KB sessions: {}",
        first_page.len()
    );
    assert!(first.to_string().len() < 1_200_000);
    let second = net
        .member
        .ok(
            "social:getSessions",
            json!({"eventId": &event["id"], "limit": 500, "after": &first["nextCursor"]}),
        )
        .await;
    assert!(
        second.get("nextCursor").is_none(),
        "the rest fits: {}",
        second["sessions"].as_array().unwrap().len()
    );
    let titles: Vec<String> = first_page
        .iter()
        .chain(second["sessions"].as_array().unwrap())
        .map(|session| session["title"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..30).map(|index| format!("large {index}")).collect();
    assert_eq!(titles, expected, "every session once, in order");
    assert_others_served(&app).await;
}

#[tokio::test]
async fn large_answers_take_from_the_rate_by_size() {
    // A burst of 200 and nearly no refill: what the bucket holds is what was spent.
    let app = spawn_app_with(|settings| {
        settings.connection.requests_per_second = 1;
        settings.connection.burst = 200;
    })
    .await;
    let mut net = crate::helpers::network(&app).await;
    let event = crate::helpers::published_event(&mut net, json!({})).await;
    // 30 frames of 40 KB and their 40 KB answers: 150 of the owner's 200.
    large_sessions(&mut net, &event["id"], 30).await;
    // Pages of about 1 MiB take 65 each: past three of them the reader is over the rate,
    // having sent 5 frames of a burst of 200.
    let page = json!({"eventId": &event["id"], "limit": 500});
    let mut codes = Vec::new();
    for _ in 0..5 {
        let answer = net.member.request("social:getSessions", page.clone()).await;
        codes.push(answer["error"]["code"].as_u64().unwrap());
    }
    assert_eq!(codes[..3], [0, 0, 0], "{codes:?}");
    assert_eq!(codes[4], 429, "{codes:?}");
    // Ordinary frames of another user are not charged more than one each.
    let mut other = app.connect(&unique("reader")).await;
    for _ in 0..10 {
        other
            .ok(
                "social:getEvents",
                json!({"source": &net.source, "limit": 1}),
            )
            .await;
    }
}

#[tokio::test]
async fn answers_a_connection_does_not_read_keep_their_requests_slots_until_written() {
    let app = spawn_app_with(|settings| {
        settings.connection.max_in_flight = 2;
        settings.connection.requests_per_second = 10_000;
        settings.connection.burst = 10_000;
    })
    .await;
    let mut net = crate::helpers::network(&app).await;
    let event = crate::helpers::published_event(&mut net, json!({})).await;
    large_sessions(&mut net, &event["id"], 25).await;
    // A connection of the member that never reads asks for 16 pages of about 1 MiB: far
    // more than the sockets' buffers take (a few MiB on loopback).
    let mut unread = app.connect(&net.member_id).await;
    let page = json!({"endpoint": "social:getSessions",
                      "data": {"eventId": &event["id"], "limit": 500}});
    for _ in 0..16 {
        unread.send_text(page.to_string()).await;
    }
    // The member's other connection is served while those buffers still take answers;
    // once they are full, the two unwritten answers keep both slots and it waits…
    let mut other = app.connect(&net.member_id).await;
    let probe = json!({"endpoint": "social:getEvents", "data": {"source": &net.source}});
    let mut waiting = false;
    for _ in 0..30 {
        other.send_text(probe.to_string()).await;
        let answered =
            tokio::time::timeout(std::time::Duration::from_secs(1), other.next_frame()).await;
        if answered.is_err() {
            waiting = true;
            break;
        }
    }
    assert!(
        waiting,
        "always answered within a second: the unread answers did not keep their slots"
    );
    // …until the connection that does not read has gone.
    drop(unread);
    let answer = other.next_frame().await;
    assert_eq!(answer["error"]["code"], 0, "{answer}");
    assert_eq!(answer["endpoint"], "social:getEvents");
    assert_others_served(&app).await;
}
