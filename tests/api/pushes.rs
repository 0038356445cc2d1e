//! Live pushes: who hears of which change, on every connection, on every server process.

use std::path::Path;

use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole as Role;
use social_events::push::PushMode;
use social_events::tools::embedded::EmbeddedDatabase;

use crate::helpers::{
    Client, ServeProcess, create_session, invited, network, published_event, session_fields,
    spawn_app, spawn_app_with, unique,
};

/// A standalone session owned by `owner` with `invitee` invited.
async fn session_with_invitee(owner: &mut Client, invitee: &str, kind: i64) -> Value {
    let mut fields = session_fields("Pushed", 60);
    fields["sessionType"] = json!(kind);
    create_session(owner, fields, json!([{"userId": invitee}])).await
}

#[tokio::test]
async fn an_update_is_pushed_to_the_owner_invitees_and_participants_only() {
    let app = spawn_app().await;
    let (invitee_id, joiner_id, decliner_id) =
        (unique("invitee"), unique("joiner"), unique("decliner"));
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(
        &mut owner,
        session_fields("Pushed", 60),
        json!([{"userId": &invitee_id}, {"userId": &decliner_id}]),
    )
    .await;
    let id = session["id"].clone();
    let mut invitee = app.connect(&invitee_id).await;
    let mut joiner = app.connect(&joiner_id).await;
    let mut decliner = app.connect(&decliner_id).await;
    let mut bystander = app.connect(&unique("bystander")).await;
    joiner
        .ok("social:joinSession", json!({"sessionId": id}))
        .await;
    // The join reaches the decliner while still invited (a push shows the session as it is
    // when delivered, to the audience as it is then).
    decliner.next_push("social:sessionUpdated").await;
    decliner
        .ok("social:declineSessionJoin", json!({"sessionId": id}))
        .await;
    // Drain the pushes of the join and the decline.
    owner.next_push("social:sessionUpdated").await;
    owner.next_push("social:sessionUpdated").await;
    invitee.next_push("social:sessionUpdated").await;
    invitee.next_push("social:sessionUpdated").await;
    joiner.next_push("social:sessionUpdated").await;
    joiner.next_push("social:sessionUpdated").await;

    let answer = owner
        .ok(
            "social:updateSession",
            json!({"session": {"id": id, "title": "Renamed"}}),
        )
        .await;
    for client in [&mut owner, &mut invitee, &mut joiner] {
        let pushed = client.next_push("social:sessionUpdated").await;
        assert_eq!(pushed["session"]["title"], "Renamed");
        assert_eq!(pushed["session"]["id"], id);
        let fetched = client
            .ok("social:getSession", json!({"sessionId": id}))
            .await;
        assert_eq!(
            pushed, fetched,
            "the push renders the session as getSession does"
        );
    }
    assert_eq!(answer["session"]["title"], "Renamed");
    assert!(
        decliner.frames_before_sentinel().await.is_empty(),
        "a declined invitee hears nothing"
    );
    assert!(
        bystander.frames_before_sentinel().await.is_empty(),
        "an outsider hears nothing"
    );
}

#[tokio::test]
async fn a_new_invitee_and_a_joiner_hear_of_their_own_change() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(&mut owner, session_fields("S", 60), json!([])).await;
    let id = session["id"].clone();
    let newcomer_id = unique("newcomer");
    let mut newcomer = app.connect(&newcomer_id).await;
    owner
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": [{"userId": &newcomer_id, "role": 1}]}),
        )
        .await;
    let pushed = newcomer.next_push("social:sessionUpdated").await;
    assert_eq!(invited(&pushed["session"]), [(newcomer_id.clone(), 1, 0)]);
    owner.next_push("social:sessionUpdated").await;

    let mut joiner = app.connect(&unique("joiner")).await;
    joiner
        .ok("social:joinSession", json!({"sessionId": id}))
        .await;
    let pushed = joiner.next_push("social:sessionUpdated").await;
    assert_eq!(
        pushed["session"]["joinedUsers"].as_array().unwrap().len(),
        1
    );
    owner.next_push("social:sessionUpdated").await;
    newcomer.next_push("social:sessionUpdated").await;
}

#[tokio::test]
async fn creating_a_session_with_invitees_pushes_it_to_them() {
    let app = spawn_app().await;
    let invitee_id = unique("invitee");
    let mut invitee = app.connect(&invitee_id).await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = session_with_invitee(&mut owner, &invitee_id, 1).await;
    let pushed = invitee.next_push("social:sessionUpdated").await;
    assert_eq!(pushed["session"]["id"], session["id"]);
    assert!(
        owner.frames_before_sentinel().await.is_empty(),
        "the creator has its answer"
    );
}

#[tokio::test]
async fn every_connection_of_a_user_gets_the_push() {
    let app = spawn_app().await;
    let invitee_id = unique("invitee");
    let mut phone = app.connect(&invitee_id).await;
    let mut laptop = app.connect(&invitee_id).await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = session_with_invitee(&mut owner, &invitee_id, 0).await;
    for device in [&mut phone, &mut laptop] {
        let pushed = device.next_push("social:sessionUpdated").await;
        assert_eq!(pushed["session"]["id"], session["id"]);
    }
}

#[tokio::test]
async fn declining_and_deleting_are_pushed() {
    let app = spawn_app().await;
    let invitee_id = unique("invitee");
    let mut invitee = app.connect(&invitee_id).await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = session_with_invitee(&mut owner, &invitee_id, 0).await;
    let id = session["id"].clone();
    invitee.next_push("social:sessionUpdated").await;
    invitee
        .ok("social:joinSession", json!({"sessionId": id}))
        .await;
    invitee.next_push("social:sessionUpdated").await;
    owner.next_push("social:sessionUpdated").await;
    invitee
        .ok("social:declineSessionJoin", json!({"sessionId": id}))
        .await;
    let pushed = owner.next_push("social:sessionUpdated").await;
    assert_eq!(invited(&pushed["session"]), [(invitee_id.clone(), 0, 2)]);

    owner
        .ok("social:deleteSession", json!({"sessionId": id}))
        .await;
    let pushed = owner.next_push("social:sessionDeleted").await;
    assert_eq!(pushed, json!({"sessionId": id}));
    assert!(
        invitee.frames_before_sentinel().await.is_empty(),
        "a declined invitee is not told"
    );
}

#[tokio::test]
async fn a_user_uninvited_from_a_private_session_is_told_it_is_gone() {
    let app = spawn_app().await;
    let (stays_id, goes_id) = (unique("stays"), unique("goes"));
    let mut stays = app.connect(&stays_id).await;
    let mut goes = app.connect(&goes_id).await;
    let mut owner = app.connect(&unique("owner")).await;
    let mut fields = session_fields("Private", 60);
    fields["sessionType"] = json!(1);
    let session = create_session(
        &mut owner,
        fields,
        json!([{"userId": &stays_id}, {"userId": &goes_id}]),
    )
    .await;
    let id = session["id"].clone();
    stays.next_push("social:sessionUpdated").await;
    goes.next_push("social:sessionUpdated").await;
    owner
        .ok(
            "social:deleteUserSessionInvitations",
            json!({"sessionId": id, "usersToInvite": [&goes_id]}),
        )
        .await;
    assert_eq!(
        goes.next_push("social:sessionDeleted").await,
        json!({"sessionId": id})
    );
    let pushed = stays.next_push("social:sessionUpdated").await;
    assert_eq!(invited(&pushed["session"]), [(stays_id, 0, 0)]);
}

#[tokio::test]
async fn deleting_an_event_pushes_the_deletion_of_each_of_its_sessions() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let mut ids = Vec::new();
    for title in ["first", "second"] {
        let mut fields = session_fields(title, 60);
        fields["eventId"] = event["id"].clone();
        let session = create_session(&mut net.member, fields, json!([])).await;
        ids.push(session["id"].clone());
    }
    net.admin
        .ok("social:deleteEvent", json!({"eventId": event["id"]}))
        .await;
    let mut deleted = Vec::new();
    for _ in 0..2 {
        deleted.push(net.member.next_push("social:sessionDeleted").await["sessionId"].clone());
    }
    deleted.sort_by_key(|id| id.to_string());
    ids.sort_by_key(|id| id.to_string());
    assert_eq!(deleted, ids);
}

#[tokio::test]
async fn the_internal_endpoints_invalidate_sessions_of_a_deleted_room_or_prop_and_push_them() {
    let app = spawn_app_with(|settings| {
        settings.internal_secret = Some("internal-secret-of-the-platform-32-bytes".into())
    })
    .await;
    let room = unique("room");
    let mut owner = app.connect(&unique("owner")).await;
    let at_prop = |prop: &str| {
        let mut fields = session_fields(prop, 60);
        fields["roomId"] = json!(room);
        fields["propId"] = json!(prop);
        fields
    };
    let table = create_session(&mut owner, at_prop("table"), json!([])).await;
    let stage = create_session(&mut owner, at_prop("stage"), json!([])).await;
    let http = reqwest::Client::new();
    let prop_url = app.http_url(&format!(
        "/api/v0/internal/rooms/{room}/props/table/deleted"
    ));
    let room_url = app.http_url(&format!("/api/v0/internal/rooms/{room}/deleted"));

    let refused = http.post(&prop_url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let user_token = app.token("owner");
    let refused = http
        .post(&prop_url)
        .bearer_auth(user_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        401,
        "a user token is not an internal credential"
    );

    let done = http
        .post(&prop_url)
        .bearer_auth("internal-secret-of-the-platform-32-bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 204);
    let pushed = owner.next_push("social:sessionUpdated").await;
    assert_eq!(pushed["session"]["id"], table["id"]);
    assert_eq!(pushed["session"]["isValid"], false);

    let again = http
        .post(&prop_url)
        .bearer_auth("internal-secret-of-the-platform-32-bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 204);
    assert!(
        owner.frames_before_sentinel().await.is_empty(),
        "a repeated call pushes nothing"
    );

    let done = http
        .post(&room_url)
        .bearer_auth("internal-secret-of-the-platform-32-bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 204);
    let pushed = owner.next_push("social:sessionUpdated").await;
    assert_eq!(pushed["session"]["id"], stage["id"]);
    let seen = owner
        .ok("social:getSession", json!({"sessionId": stage["id"]}))
        .await;
    assert_eq!(seen["session"]["isValid"], false);
}

#[tokio::test]
async fn the_internal_endpoints_do_not_exist_without_a_secret() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .post(app.http_url("/api/v0/internal/rooms/r/deleted"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // As if the route were not there: no body, nothing about a secret.
    assert_eq!(response.text().await.unwrap(), "");
}

#[tokio::test]
async fn a_change_through_one_process_reaches_clients_of_another() {
    let db_name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let (first, second) =
        tokio::join!(ServeProcess::start(&db_name), ServeProcess::start(&db_name));
    let invitee_id = unique("invitee");
    let mut invitee_on_second = second.connect(&invitee_id).await;
    let mut owner_on_first = first.connect(&unique("owner")).await;
    let mut owner_on_second = second.connect(&unique("other")).await;
    owner_on_second.frames_before_sentinel().await;

    let started = std::time::Instant::now();
    let session = session_with_invitee(&mut owner_on_first, &invitee_id, 0).await;
    let pushed = invitee_on_second.next_push("social:sessionUpdated").await;
    eprintln!("cross-process push latency: {:?}", started.elapsed());
    assert_eq!(pushed["session"]["id"], session["id"]);

    invitee_on_second
        .ok("social:joinSession", json!({"sessionId": session["id"]}))
        .await;
    let pushed = owner_on_first.next_push("social:sessionUpdated").await;
    assert_eq!(pushed["session"]["joinedUsers"][0]["id"], invitee_id);
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_delay_pushes_to_others() {
    // The owner's 120 updates answer about 135 KB each: far past the rate limit, which
    // charges answers by size and is not what this test is about.
    let app = spawn_app_with(|settings| {
        settings.connection.outgoing_queue = 8;
        settings.connection.requests_per_second = 100_000;
        settings.connection.burst = 100_000;
    })
    .await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let mut fields = session_fields("Busy", 60);
    fields["eventId"] = event["id"].clone();
    fields["description"] = json!("d".repeat(10_000));
    let session = create_session(&mut net.admin, fields, json!([])).await;
    let id = session["id"].clone();
    // Large pushes: 500 invitees with long ids fill the socket buffers quickly.
    for batch in 0..5 {
        let invitees: Vec<Value> = (0..100)
            .map(|index| json!({"userId": format!("{batch}-{index}-{}", "x".repeat(200))}))
            .collect();
        net.admin
            .ok(
                "social:inviteUsersToSession",
                json!({"sessionId": id, "usersToInvite": invitees}),
            )
            .await;
    }
    let (slow_id, fast_id) = (unique("slow"), unique("fast"));
    for user in [&slow_id, &fast_id] {
        app.add_membership(user, &net.id, None, Role::Member).await;
    }
    let mut slow = app.connect(&slow_id).await;
    let mut fast = app.connect(&fast_id).await;
    slow.ok("social:joinSession", json!({"sessionId": id}))
        .await;
    fast.ok("social:joinSession", json!({"sessionId": id}))
        .await;

    fast.next_push("social:sessionUpdated").await; // its own join

    const UPDATES: usize = 120;
    // One push per update; each shows the session as it is when delivered, so a title
    // never goes back and the last push shows the last update.
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..UPDATES {
            let pushed = fast.next_push("social:sessionUpdated").await;
            let title = pushed["session"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let index: usize = title.trim_start_matches("update ").parse().unwrap();
            seen.push(index);
        }
        seen
    });
    for index in 0..UPDATES {
        net.admin
            .ok(
                "social:updateSession",
                json!({"session": {"id": id, "title": format!("update {index}")}}),
            )
            .await;
    }
    let seen = reader.await.unwrap();
    assert!(seen.windows(2).all(|pair| pair[0] <= pair[1]), "{seen:?}");
    assert_eq!(
        seen.last(),
        Some(&(UPDATES - 1)),
        "the reading client got every push"
    );

    // The client that never read was disconnected: its stream ends before all pushes.
    let mut seen = 0;
    while let Some(message) = slow.next_message().await {
        if message.is_close() {
            break;
        }
        seen += 1;
    }
    assert!(
        seen < UPDATES,
        "the slow client was cut off after {seen} frames"
    );
}

#[tokio::test]
async fn a_database_with_change_streams_selects_shared_delivery() {
    let app = spawn_app().await;
    assert_eq!(app.push_mode, PushMode::Shared);
}

#[tokio::test]
async fn without_change_streams_pushes_are_delivered_within_the_process() {
    let storage = std::env::temp_dir().join(format!(
        "social-events-standalone-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let database = tokio::task::spawn_blocking(move || {
        EmbeddedDatabase::start_with_options(Path::new(".venv"), &storage, true, &["--standalone"])
            .unwrap()
    })
    .await
    .unwrap();
    let uri = database.uri().to_owned();
    let app = spawn_app_with(|settings| settings.mongodb_uri = uri.into()).await;
    assert_eq!(app.push_mode, PushMode::Local);

    let invitee_id = unique("invitee");
    let mut invitee = app.connect(&invitee_id).await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = session_with_invitee(&mut owner, &invitee_id, 0).await;
    let pushed = invitee.next_push("social:sessionUpdated").await;
    assert_eq!(pushed["session"]["id"], session["id"]);
    app.stop().await;
    tokio::task::spawn_blocking(move || database.stop())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_invitee_who_saw_a_public_session_only_through_the_invitation_is_told_it_is_gone() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let outsider_id = unique("outsider");
    let mut outsider = app.connect(&outsider_id).await;
    let mut fields = session_fields("Public", 60);
    fields["eventId"] = event["id"].clone();
    let session = create_session(&mut net.admin, fields, json!([{"userId": &outsider_id}])).await;
    let id = session["id"].clone();
    outsider.next_push("social:sessionUpdated").await;
    outsider
        .ok("social:getSession", json!({"sessionId": id}))
        .await;
    net.admin
        .ok(
            "social:deleteUserSessionInvitations",
            json!({"sessionId": id, "usersToInvite": [&outsider_id]}),
        )
        .await;
    assert_eq!(
        outsider.next_push("social:sessionDeleted").await,
        json!({"sessionId": id})
    );
    outsider
        .fails("social:getSession", json!({"sessionId": id}), 404)
        .await;
}

#[tokio::test]
async fn an_incognito_invitee_sees_itself_in_its_push_and_others_do_not() {
    let app = spawn_app().await;
    let ghost_id = unique("ghost");
    crate::helpers::put_user(
        &app,
        json!({"id": &ghost_id, "firstName": "Hidden", "privacyMode": 1}),
    )
    .await;
    let mut ghost = app.connect(&ghost_id).await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = session_with_invitee(&mut owner, &ghost_id, 0).await;
    let own_view = ghost.next_push("social:sessionUpdated").await;
    assert_eq!(
        own_view["session"]["invitedUsers"][0]["user"]["firstName"],
        "Hidden"
    );
    owner
        .ok(
            "social:updateSession",
            json!({"session": {"id": session["id"], "title": "T2"}}),
        )
        .await;
    let others_view = owner.next_push("social:sessionUpdated").await;
    assert_eq!(
        others_view["session"]["invitedUsers"][0]["user"]["firstName"],
        ""
    );
    let own_view = ghost.next_push("social:sessionUpdated").await;
    assert_eq!(
        own_view["session"]["invitedUsers"][0]["user"]["firstName"],
        "Hidden"
    );
}
