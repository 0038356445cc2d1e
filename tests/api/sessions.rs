//! The session endpoints: creating, updating, deleting and reading sessions.

use bson::doc;
use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole as Role;

use crate::helpers::{
    Patience, create_event, create_session, invited, network, published_event, put_user,
    session_fields, spawn_app, unique,
};

#[tokio::test]
async fn create_session_answers_the_reference_shape_with_people_rendered() {
    let app = spawn_app().await;
    let owner = unique("owner");
    put_user(
        &app,
        json!({"id": &owner, "firstName": "Olga", "lastName": "Owner", "avatar": "o.png",
        "companyName": "ACME", "companyTitle": "Host", "emails": ["olga@example.com"]}),
    )
    .await;
    let guest = unique("guest");
    put_user(&app, json!({"id": &guest, "firstName": "Gus", "avatar3D": {"assetId": "a1", "assetSkins": {"hair": "red"},
        "avatarUrl": "https://models.example/g.glb", "avatarUserId": "rpm-1"}})).await;
    let mut client = app.connect(&owner).await;
    let mut fields = session_fields("Standalone", 60);
    fields["id"] = json!("client-chosen");
    fields["ownerId"] = json!("someone-else");
    fields["isValid"] = json!(false);
    fields["created"] = json!(1);
    let session = create_session(&mut client, fields, json!([{"userId": &guest, "role": 1}])).await;

    let keys: Vec<&str> = session
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "created",
            "updated",
            "eventId",
            "ownerId",
            "roomId",
            "propId",
            "sessionType",
            "title",
            "description",
            "startDate",
            "duration",
            "isRecurring",
            "timeZone",
            "color",
            "isValid",
            "owner",
            "invitedUsers",
            "joinedUsers",
            "version"
        ]
    );
    assert_ne!(session["id"], "client-chosen", "the server owns ids");
    assert_eq!(session["ownerId"], owner);
    assert_eq!(session["isValid"], true);
    assert_eq!(session["eventId"], "");
    assert_ne!(session["created"], 1);
    assert_eq!(
        session["color"],
        json!({"r": 0.5, "g": 0.25, "b": 1.0, "a": 1.0})
    );
    assert_eq!(
        session["owner"],
        json!({"id": owner, "firstName": "Olga", "lastName": "Owner", "privacyMode": 0,
               "avatar": "o.png", "companyName": "ACME", "companyTitle": "Host"})
    );
    let entry = &session["invitedUsers"][0];
    assert_eq!(entry["role"], 1);
    assert_eq!(entry["status"], 0);
    assert_eq!(
        entry["user"]["avatar3D"]["assetSkins"],
        json!({"hair": "red"})
    );
    assert_eq!(session["joinedUsers"], json!([]));
    assert!(
        !session.to_string().contains("olga@example.com"),
        "contacts are never shown"
    );
}

#[tokio::test]
async fn a_session_in_an_event_takes_the_events_room_by_default() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({"roomId": "event-room"})).await;
    let mut fields = session_fields("In event", 30);
    fields["eventId"] = event["id"].clone();
    fields.as_object_mut().unwrap().remove("roomId");
    let session = create_session(&mut net.member, fields, json!([])).await;
    assert_eq!(session["roomId"], "event-room");
    assert_eq!(session["eventId"], event["id"]);
    assert_eq!(session["ownerId"], net.member_id);
}

#[tokio::test]
async fn a_session_needs_an_event_the_caller_can_see() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let draft = create_event(&mut net.admin, &net.source, "Draft").await;
    let mut fields = session_fields("S", 30);
    fields["eventId"] = draft["id"].clone();
    let data = json!({"session": fields});
    net.member
        .fails("social:createSession", data.clone(), 404)
        .await;
    net.admin.ok("social:createSession", data.clone()).await;
    let mut stranger = app.connect(&unique("stranger")).await;
    stranger.fails("social:createSession", data, 404).await;
}

#[tokio::test]
async fn create_session_answers_400_naming_the_invalid_field() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let with = |patch: Value| {
        let mut fields = session_fields("T", 10);
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                fields.as_object_mut().unwrap().remove(key);
            } else {
                fields[key] = value.clone();
            }
        }
        json!({"session": fields})
    };
    let cases = [
        (
            with(json!({"title": null})),
            "data.session.title: is required",
        ),
        (
            with(json!({"title": ""})),
            "data.session.title: must not be empty",
        ),
        (
            with(json!({"startDate": null})),
            "data.session.startDate: is required",
        ),
        (
            with(json!({"startDate": true})),
            "data.session.startDate: invalid type",
        ),
        (
            with(json!({"duration": null})),
            "data.session.duration: is required",
        ),
        (
            with(json!({"duration": 0})),
            "data.session.duration: must be between 1 and 604800",
        ),
        (
            with(json!({"duration": 604_801})),
            "data.session.duration: must be between",
        ),
        (
            with(json!({"duration": "1h"})),
            "data.session.duration: invalid type",
        ),
        (
            with(json!({"sessionType": 3})),
            "data.session.sessionType: must be 0",
        ),
        (
            with(json!({"color": {"r": 1.5, "g": 0, "b": 0, "a": 1}})),
            "data.session.color.r: must be between 0 and 1",
        ),
        (
            with(json!({"color": {"r": 1, "g": 0, "b": 0}})),
            "data.session.color.a: is required",
        ),
        (
            with(json!({"roomId": null})),
            "data.session.roomId: is required",
        ),
        (
            with(json!({"isRecurring": "yes"})),
            "data.session.isRecurring: invalid type",
        ),
        (
            with(json!({"isRecurring": true, "recurrence": "FREQ=NEVER"})),
            "data.session.recurrence: not a valid RRULE",
        ),
        (
            with(json!({"recurrence": "FREQ=DAILY"})),
            "data.session.recurrence: a recurrence applies to recurring sessions only",
        ),
        (json!({}), "data.session: is required"),
        (
            json!({"session": session_fields("T", 10), "usersToInvite": [{"userId": "x", "role": 7}]}),
            "data.usersToInvite[0].role: must be 0",
        ),
        (
            json!({"session": session_fields("T", 10), "usersToInvite": {"userId": "x"}}),
            "data.usersToInvite: invalid type",
        ),
    ];
    for (data, expected) in cases {
        let message = client
            .fails("social:createSession", data.clone(), 400)
            .await;
        assert!(
            message.starts_with(expected),
            "{data}: {message:?} should start with {expected:?}"
        );
    }
    let stored = app
        .store
        .database()
        .collection::<bson::Document>("sessions")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn update_session_changes_only_the_fields_present_and_ignores_server_fields() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let session = create_session(&mut client, session_fields("Before", 60), json!([])).await;
    let id = session["id"].clone();
    let data = client
        .ok(
            "social:updateSession",
            json!({"session": {"id": id, "title": "After", "duration": 1800, "ownerId": "thief",
                               "isValid": false, "created": 5, "sessionType": 2}}),
        )
        .await;
    let updated = &data["session"];
    assert_eq!(updated["title"], "After");
    assert_eq!(updated["duration"], 1800);
    assert_eq!(updated["sessionType"], 2);
    assert_eq!(updated["ownerId"], owner);
    assert_eq!(updated["isValid"], true);
    for unchanged in [
        "created",
        "startDate",
        "roomId",
        "propId",
        "description",
        "color",
        "isRecurring",
    ] {
        assert_eq!(updated[unchanged], session[unchanged], "{unchanged}");
    }
    let data = client
        .ok(
            "social:updateSession",
            json!({"session": {"id": id, "isRecurring": true, "recurrence": "FREQ=DAILY;COUNT=3"}}),
        )
        .await;
    assert_eq!(data["session"]["recurrence"], "FREQ=DAILY;COUNT=3");
    let data = client
        .ok(
            "social:updateSession",
            json!({"session": {"id": id, "recurrence": ""}}),
        )
        .await;
    assert!(
        data["session"].get("recurrence").is_none(),
        "an empty string clears it"
    );
    assert_eq!(data["session"]["isRecurring"], true);
}

#[tokio::test]
async fn update_session_refuses_a_move_to_another_event_and_invalid_values() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let mut fields = session_fields("S", 60);
    fields["eventId"] = event["id"].clone();
    let session = create_session(&mut net.member, fields, json!([])).await;
    let id = session["id"].clone();
    let message = net
        .member
        .fails(
            "social:updateSession",
            json!({"session": {"id": id, "eventId": "other"}}),
            400,
        )
        .await;
    assert_eq!(
        message,
        "data.session.eventId: a session cannot move to another event"
    );
    net.member
        .ok(
            "social:updateSession",
            json!({"session": {"id": id, "eventId": event["id"]}}),
        )
        .await;
    let message = net
        .member
        .fails(
            "social:updateSession",
            json!({"session": {"id": id, "duration": -5}}),
            400,
        )
        .await;
    assert!(message.starts_with("data.session.duration:"), "{message}");
    let message = net
        .member
        .fails(
            "social:updateSession",
            json!({"session": {"title": "x"}}),
            400,
        )
        .await;
    assert_eq!(message, "data.session.id: is required");
    net.member
        .fails(
            "social:updateSession",
            json!({"session": {"id": "missing", "title": "x"}}),
            404,
        )
        .await;
}

#[tokio::test]
async fn only_the_owner_or_an_admin_of_the_source_manages_a_session() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let mut fields = session_fields("S", 60);
    fields["eventId"] = event["id"].clone();
    let session = create_session(&mut net.member, fields, json!([])).await;
    let id = session["id"].clone();

    let other = unique("other-member");
    app.add_membership(&other, &net.id, None, Role::Member)
        .await;
    let mut other = app.connect(&other).await;
    let update = json!({"session": {"id": id, "title": "x"}});
    other
        .fails("social:updateSession", update.clone(), 403)
        .await;
    other
        .fails("social:deleteSession", json!({"sessionId": id}), 403)
        .await;
    other
        .fails(
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": [{"userId": "z"}]}),
            403,
        )
        .await;
    other
        .fails(
            "social:deleteUserSessionInvitations",
            json!({"sessionId": id, "usersToInvite": ["z"]}),
            403,
        )
        .await;

    net.admin.ok("social:updateSession", update).await;
    let frame = net
        .admin
        .request("social:deleteSession", json!({"sessionId": id}))
        .await;
    assert_eq!(frame["error"]["code"], 0);
    assert!(frame.get("data").is_none());
    net.member
        .fails("social:getSession", json!({"sessionId": id}), 404)
        .await;
    net.member
        .fails("social:deleteSession", json!({"sessionId": id}), 404)
        .await;
}

#[tokio::test]
async fn get_sessions_lists_the_visible_sessions_of_an_event_by_start_then_id() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let mut titles = Vec::new();
    for (title, minutes, kind) in [
        ("third", 300, 0),
        ("first", 100, 0),
        ("hidden", 150, 1),
        ("second", 200, 2),
    ] {
        let mut fields = session_fields(title, minutes);
        fields["eventId"] = event["id"].clone();
        fields["sessionType"] = json!(kind);
        create_session(&mut net.admin, fields, json!([])).await;
        titles.push(title);
    }
    let listed = net
        .member
        .ok("social:getSessions", json!({"eventId": event["id"]}))
        .await;
    let seen: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        seen,
        ["first", "second", "third"],
        "the Private session is hidden"
    );
    let listed = net
        .admin
        .ok("social:getSessions", json!({"eventId": event["id"]}))
        .await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 4);
    let mut stranger = app.connect(&unique("stranger")).await;
    let listed = stranger
        .ok("social:getSessions", json!({"eventId": event["id"]}))
        .await;
    assert_eq!(listed["sessions"], json!([]));
    let listed = stranger
        .ok("social:getSessions", json!({"eventId": "no-such-event"}))
        .await;
    assert_eq!(listed["sessions"], json!([]));
}

#[tokio::test]
async fn an_incognito_user_is_shown_to_others_by_id_and_privacy_mode_only() {
    let app = spawn_app().await;
    let ghost = unique("ghost");
    put_user(
        &app,
        json!({"id": &ghost, "firstName": "Secret", "lastName": "Agent", "privacyMode": 1,
        "avatar": "g.png", "companyName": "Spies", "companyTitle": "Agent"}),
    )
    .await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(
        &mut owner,
        session_fields("S", 60),
        json!([{"userId": &ghost}]),
    )
    .await;
    assert_eq!(
        session["invitedUsers"][0]["user"],
        json!({"id": ghost, "firstName": "", "lastName": "", "privacyMode": 1, "avatar": "",
               "companyName": "", "companyTitle": ""})
    );
    let mut ghost_client = app.connect(&ghost).await;
    let seen = ghost_client
        .ok("social:getSession", json!({"sessionId": session["id"]}))
        .await;
    assert_eq!(
        seen["session"]["invitedUsers"][0]["user"]["firstName"],
        "Secret"
    );
    assert_eq!(invited(&seen["session"]), [(ghost.clone(), 0, 0)]);
}

#[tokio::test]
async fn the_session_queries_have_their_indexes() {
    let app = spawn_app().await;
    let names: Vec<String> = app
        .store
        .database()
        .collection::<bson::Document>("sessions")
        .list_index_names()
        .await
        .unwrap();
    for expected in [
        "eventId_1_startDate_1__id_1",
        "roomId_1_propId_1_isRecurring_1_endDate_1_startDate_1",
        "invited.userId_1",
        "pendingContacts.keys_1",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn every_session_endpoint_answers_400_for_a_missing_or_wrongly_typed_id() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let cases = [
        (
            "social:getSession",
            json!({}),
            "data.sessionId: is required",
        ),
        (
            "social:getSession",
            json!({"sessionId": 1}),
            "data.sessionId: invalid type",
        ),
        (
            "social:deleteSession",
            json!({"sessionId": null}),
            "data.sessionId: is required",
        ),
        (
            "social:getSessions",
            json!({"eventId": ["e"]}),
            "data.eventId: invalid type",
        ),
        (
            "social:getPropSessions",
            json!({"roomId": 1, "propId": "p"}),
            "data.roomId: invalid type",
        ),
        (
            "social:joinSession",
            json!({"sessionId": {}}),
            "data.sessionId: invalid type",
        ),
        (
            "social:declineSessionJoin",
            json!({}),
            "data.sessionId: is required",
        ),
        (
            "social:inviteUsersToSession",
            json!({"usersToInvite": []}),
            "data.sessionId: is required",
        ),
        (
            "social:deleteUserSessionInvitations",
            json!({"sessionId": "s", "usersToInvite": [1]}),
            "data.usersToInvite[0]: invalid type",
        ),
        (
            "social:deleteUserSessionInvitations",
            json!({"sessionId": "s"}),
            "data.usersToInvite: is required",
        ),
    ];
    for (endpoint, data, expected) in cases {
        let message = client.fails(endpoint, data, 400).await;
        assert!(
            message.starts_with(expected),
            "{endpoint}: {message:?} should start with {expected:?}"
        );
    }
}

#[tokio::test]
async fn every_session_endpoint_answers_404_for_a_session_the_caller_cannot_see() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let mut fields = session_fields("Hidden", 30);
    fields["sessionType"] = json!(1);
    let session = create_session(&mut owner, fields, json!([])).await;
    let id = session["id"].clone();
    let mut outsider = app.connect(&unique("outsider")).await;
    let cases = [
        ("social:getSession", json!({"sessionId": id})),
        (
            "social:updateSession",
            json!({"session": {"id": id, "title": "x"}}),
        ),
        ("social:deleteSession", json!({"sessionId": id})),
        (
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": [{"userId": "x"}]}),
        ),
        (
            "social:deleteUserSessionInvitations",
            json!({"sessionId": id, "usersToInvite": ["x"]}),
        ),
        ("social:joinSession", json!({"sessionId": id})),
        ("social:declineSessionJoin", json!({"sessionId": id})),
    ];
    for (endpoint, data) in cases {
        outsider.fails(endpoint, data, 404).await;
    }
    owner
        .ok("social:getSession", json!({"sessionId": id}))
        .await;
}

#[tokio::test]
async fn concurrent_updates_of_different_fields_are_all_kept() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(app.connect(&owner).await);
    }
    let session = create_session(&mut clients[0], session_fields("S", 60), json!([])).await;
    let id = session["id"].clone();
    let changes = [
        json!({"title": "New title"}),
        json!({"description": "New description"}),
        json!({"duration": 7200}),
        json!({"startDate": "2099-01-01T00:00:00Z"}),
        json!({"color": {"r": 0, "g": 0, "b": 0, "a": 0.5}}),
    ];
    let requests = clients.iter_mut().zip(&changes).map(|(client, change)| {
        let mut fields = change.clone();
        fields["id"] = id.clone();
        client.request("social:updateSession", json!({ "session": fields }))
    });
    let frames = futures_util::future::join_all(requests).await;
    for frame in &frames {
        assert_eq!(frame["error"]["code"], 0, "{frame}");
    }
    let seen = clients[0]
        .ok("social:getSession", json!({"sessionId": id}))
        .await;
    let seen = &seen["session"];
    assert_eq!(seen["title"], "New title");
    assert_eq!(seen["description"], "New description");
    assert_eq!(seen["duration"], 7200);
    assert_eq!(seen["startDate"], 4_070_908_800_000_i64);
    assert_eq!(seen["color"]["a"], 0.5);
    let stored = app
        .store
        .find_session(&id.as_str().unwrap().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.end_date.millis(),
        4_070_908_800_000 + 7_200_000,
        "the derived end follows both the new start and the new duration"
    );
}

#[tokio::test]
async fn recurrences_finer_than_daily_and_starts_before_1970_are_refused() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let mut fields = session_fields("Every second", 60);
    fields["isRecurring"] = json!(true);
    fields["recurrence"] = json!("FREQ=DAILY;BYHOUR=0,1,2;BYMINUTE=0,15,30,45;BYSECOND=0,30");
    let message = client
        .fails("social:createSession", json!({"session": fields}), 400)
        .await;
    assert!(
        message.starts_with("data.session.recurrence: BYHOUR is not supported"),
        "{message}"
    );
    let mut fields = session_fields("Ancient", 60);
    fields["startDate"] = json!(-1);
    let message = client
        .fails("social:createSession", json!({"session": fields}), 400)
        .await;
    assert_eq!(
        message,
        "data.session.startDate: must not be before 1970-01-01T00:00:00Z"
    );
}

#[tokio::test]
async fn a_recurring_session_starting_after_its_event_ends_is_accepted_and_happens_once() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({"endDate": "2099-05-01T22:00:00Z"})).await;
    let mut fields = session_fields("After the party", 60);
    fields["eventId"] = event["id"].clone();
    fields["startDate"] = json!("2099-06-01T10:00:00Z");
    fields["isRecurring"] = json!(true);
    let session = create_session(&mut net.admin, fields, json!([])).await;
    assert_eq!(session["isRecurring"], true);
    let calendar = reqwest::Client::new()
        .get(app.http_url(&format!(
            "/api/v0/resource/sessionInvitation/{}",
            session["id"].as_str().unwrap()
        )))
        .bearer_auth(app.token(&net.admin_id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(calendar.contains("BEGIN:VEVENT"), "{calendar}");
    assert!(!calendar.contains("RRULE"), "it happens once:\n{calendar}");
}

#[tokio::test]
async fn malformed_platform_documents_do_not_break_requests() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let broken_user = unique("broken");
    let database = app.store.database();
    database
        .collection::<bson::Document>("memberships")
        .insert_one(doc! {"userId": &net.admin_id, "networkId": &net.id, "role": "owner"})
        .await
        .unwrap();
    database
        .collection::<bson::Document>("users")
        .insert_one(doc! {"_id": &broken_user, "firstName": 42, "avatar": null})
        .await
        .unwrap();
    let event = create_event(&mut net.admin, &net.source, "Still works").await;
    assert_eq!(event["title"], "Still works");
    let session = create_session(
        &mut net.admin,
        session_fields("S", 60),
        json!([{"userId": &broken_user}]),
    )
    .await;
    assert_eq!(session["invitedUsers"][0]["user"]["id"], broken_user);
    assert_eq!(session["invitedUsers"][0]["user"]["firstName"], "");
}

#[tokio::test]
async fn sessions_with_the_same_start_are_ordered_by_id_not_by_creation() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let mut fields = session_fields("Template", 60);
    fields["eventId"] = event["id"].clone();
    let created = create_session(&mut net.admin, fields, json!([])).await;
    let template = app
        .store
        .find_session(&created["id"].as_str().unwrap().into())
        .await
        .unwrap()
        .unwrap();
    app.store.delete_session(&template.id).await.unwrap();
    // Stored in the order z, a, m: the answers must still be a, m, z.
    for (id, title) in [("z", "last"), ("a", "first"), ("m", "middle")] {
        let mut copy = template.clone();
        copy.id = format!("{id}-{}", template.id).into();
        copy.title = title.to_owned();
        app.store.insert_session(&copy).await.unwrap();
    }
    let titles = |data: &Value| -> Vec<String> {
        data["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|session| session["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = net
        .member
        .ok("social:getSessions", json!({"eventId": event["id"]}))
        .await;
    assert_eq!(titles(&listed), ["first", "middle", "last"]);
    let at_prop = net
        .member
        .ok(
            "social:getPropSessions",
            json!({"roomId": "room-1", "propId": "stage"}),
        )
        .await;
    assert_eq!(titles(&at_prop), ["first", "middle"]);
}

#[tokio::test]
async fn a_profile_changed_by_the_platform_is_rendered_changed_soon_after() {
    let app = spawn_app().await;
    let guest = unique("guest");
    put_user(&app, json!({"id": &guest, "firstName": "Before"})).await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(
        &mut owner,
        session_fields("Profiles", 60),
        json!([{"userId": &guest}]),
    )
    .await;
    let request = json!({"sessionId": session["id"]});
    let first_name = |seen: &Value| seen["session"]["invitedUsers"][0]["user"]["firstName"].clone();
    let seen = owner.ok("social:getSession", request.clone()).await;
    assert_eq!(first_name(&seen), "Before");

    // The platform changes the profile behind the service's back; the service hears of it
    // through the database and renders the new one (within the change stream's delay).
    let changed: social_events::domain::people::User =
        serde_json::from_value(json!({"id": &guest, "firstName": "After"})).unwrap();
    app.platform().await.replace_user(&changed).await.unwrap();
    let patience = Patience::new();
    loop {
        let seen = owner.ok("social:getSession", request.clone()).await;
        if first_name(&seen) == "After" {
            break;
        }
        assert_eq!(first_name(&seen), "Before");
        patience.wait("the changed profile").await;
    }
}
