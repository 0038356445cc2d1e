//! Who sees and joins which session: the three session types with an owner, an invitee,
//! a member who is not invited, and a non-member.

use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole as Role;
use social_events::domain::source::Membership;

use crate::helpers::{
    Client, Network, Patience, TestApp, create_event, create_session, event_fields, joined_ids,
    network, published_event, session_fields, spawn_app, unique,
};

/// A network, a published event, and a session of `kind` in it owned by the network's
/// member, with one invitee who is not a member and one member who is not invited.
struct Cast {
    net: Network,
    session: Value,
    invitee: Client,
    invitee_id: String,
    bystander: Client,
    stranger: Client,
}

async fn cast(app: &TestApp, kind: i64) -> Cast {
    let mut net = network(app).await;
    let event = published_event(&mut net, json!({})).await;
    let invitee_id = unique("invitee");
    let bystander_id = unique("bystander");
    app.add_membership(&bystander_id, &net.id, None, Role::Member)
        .await;
    let mut fields = session_fields("Session", 60);
    fields["eventId"] = event["id"].clone();
    fields["sessionType"] = json!(kind);
    let session = create_session(&mut net.member, fields, json!([{"userId": &invitee_id}])).await;
    Cast {
        session,
        invitee: app.connect(&invitee_id).await,
        invitee_id,
        bystander: app.connect(&bystander_id).await,
        stranger: app.connect(&unique("stranger")).await,
        net,
    }
}

fn id(cast: &Cast) -> Value {
    json!({"sessionId": cast.session["id"]})
}

#[tokio::test]
async fn a_public_session_is_seen_and_joined_by_members_and_invitees_only() {
    let app = spawn_app().await;
    let mut cast = cast(&app, 0).await;
    let request = id(&cast);
    for client in [
        &mut cast.net.member,
        &mut cast.invitee,
        &mut cast.bystander,
        &mut cast.net.admin,
    ] {
        client.ok("social:getSession", request.clone()).await;
    }
    cast.stranger
        .fails("social:getSession", request.clone(), 404)
        .await;
    cast.stranger
        .fails("social:joinSession", request.clone(), 404)
        .await;
    cast.bystander
        .ok("social:joinSession", request.clone())
        .await;
    cast.invitee.ok("social:joinSession", request.clone()).await;
    let seen = cast.net.member.ok("social:getSession", request).await;
    let mut joined = joined_ids(&seen["session"]);
    joined.sort();
    assert_eq!(joined.len(), 2);
    assert!(joined.contains(&cast.invitee_id));
}

#[tokio::test]
async fn a_private_session_exists_only_for_its_owner_invitees_participants_and_admins() {
    let app = spawn_app().await;
    let mut cast = cast(&app, 1).await;
    let request = id(&cast);
    cast.net
        .member
        .ok("social:getSession", request.clone())
        .await;
    cast.invitee.ok("social:getSession", request.clone()).await;
    cast.net
        .admin
        .ok("social:getSession", request.clone())
        .await;
    let hidden = cast
        .bystander
        .fails("social:getSession", request.clone(), 404)
        .await;
    let missing = cast
        .bystander
        .fails("social:getSession", json!({"sessionId": "nope"}), 404)
        .await;
    assert_eq!(
        hidden, missing,
        "a Private session looks exactly like a missing one"
    );
    cast.stranger
        .fails("social:getSession", request.clone(), 404)
        .await;
    cast.bystander
        .fails("social:joinSession", request.clone(), 404)
        .await;
    cast.net
        .admin
        .fails("social:joinSession", request.clone(), 404)
        .await;
    cast.invitee.ok("social:joinSession", request.clone()).await;
    cast.bystander
        .fails("social:declineSessionJoin", request, 404)
        .await;
}

#[tokio::test]
async fn an_open_slot_is_booked_by_exactly_one_participant_besides_the_owner() {
    let app = spawn_app().await;
    let mut cast = cast(&app, 2).await;
    let request = id(&cast);
    cast.net
        .member
        .ok("social:joinSession", request.clone())
        .await;
    cast.bystander
        .ok("social:joinSession", request.clone())
        .await;
    let message = cast
        .invitee
        .fails("social:joinSession", request.clone(), 409)
        .await;
    assert_eq!(message, "the open slot is already taken");
    cast.stranger
        .fails("social:joinSession", request.clone(), 404)
        .await;
    cast.bystander
        .ok("social:joinSession", request.clone())
        .await;
    cast.bystander
        .ok("social:declineSessionJoin", request.clone())
        .await;
    cast.invitee.ok("social:joinSession", request.clone()).await;
    let seen = cast.net.member.ok("social:getSession", request).await;
    assert_eq!(
        joined_ids(&seen["session"]),
        [cast.invitee_id.clone()],
        "the owner is not listed"
    );
}

#[tokio::test]
async fn an_invitation_shows_a_session_to_someone_outside_the_events_source() {
    let app = spawn_app().await;
    let cast = cast(&app, 0).await;
    let mut invitee = cast.invitee;
    let seen = invitee
        .ok(
            "social:getSession",
            json!({"sessionId": cast.session["id"]}),
        )
        .await;
    assert_eq!(seen["session"]["id"], cast.session["id"]);
    let listed = invitee
        .ok(
            "social:getSessions",
            json!({"eventId": cast.session["eventId"]}),
        )
        .await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn standalone_sessions_are_public_to_everyone_unless_private() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let mut anyone = app.connect(&unique("anyone")).await;
    let public = create_session(&mut owner, session_fields("Open table", 30), json!([])).await;
    anyone
        .ok("social:getSession", json!({"sessionId": public["id"]}))
        .await;
    anyone
        .ok("social:joinSession", json!({"sessionId": public["id"]}))
        .await;
    let mut private = session_fields("Closed table", 30);
    private["sessionType"] = json!(1);
    let private = create_session(&mut owner, private, json!([])).await;
    anyone
        .fails(
            "social:getSession",
            json!({"sessionId": private["id"]}),
            404,
        )
        .await;
}

#[tokio::test]
async fn joining_a_session_of_an_unpublished_event_is_a_conflict() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let draft = create_event(&mut net.admin, &net.source, "Draft").await;
    let invitee = unique("invitee");
    let mut fields = session_fields("Preview", 30);
    fields["eventId"] = draft["id"].clone();
    let session = create_session(&mut net.admin, fields, json!([{"userId": &invitee}])).await;
    let mut invitee = app.connect(&invitee).await;
    let request = json!({"sessionId": session["id"]});
    invitee.ok("social:getSession", request.clone()).await;
    let message = invitee
        .fails("social:joinSession", request.clone(), 409)
        .await;
    assert_eq!(message, "the event is not published");
    net.member.fails("social:joinSession", request, 404).await;
}

#[tokio::test]
async fn joining_an_invalid_session_is_a_conflict() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(&mut owner, session_fields("Gone", 30), json!([])).await;
    app.store
        .database()
        .collection::<bson::Document>("sessions")
        .update_one(
            bson::doc! {"_id": session["id"].as_str().unwrap()},
            bson::doc! {"$set": {"isValid": false}},
        )
        .await
        .unwrap();
    let mut guest = app.connect(&unique("guest")).await;
    let request = json!({"sessionId": session["id"]});
    let message = guest
        .fails("social:joinSession", request.clone(), 409)
        .await;
    assert!(message.contains("no longer exists"), "{message}");
    let seen = guest.ok("social:getSession", request).await;
    assert_eq!(seen["session"]["isValid"], false);
}

#[tokio::test]
async fn the_owner_joining_its_own_private_session_changes_nothing() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let mut fields = session_fields("Mine", 30);
    fields["sessionType"] = json!(1);
    let session = create_session(&mut owner, fields, json!([])).await;
    owner
        .ok("social:joinSession", json!({"sessionId": session["id"]}))
        .await;
    let seen = owner
        .ok("social:getSession", json!({"sessionId": session["id"]}))
        .await;
    assert!(joined_ids(&seen["session"]).is_empty());
}

/// The answer's error code.
async fn code_of(client: &mut Client, endpoint: &str, data: Value) -> u64 {
    client.request(endpoint, data).await["error"]["code"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn membership_changes_made_by_the_platform_are_seen_soon_after() {
    let app = spawn_app().await;
    let platform = app.platform().await;
    let network_id = unique("net");
    let user_id = unique("user");
    let mut user = app.connect(&user_id).await;
    let create = json!({"source": format!("network:{network_id}"), "event": event_fields("Mine")});
    let membership = |role| Membership {
        user_id: user_id.clone(),
        network_id: network_id.clone(),
        community_id: None,
        role,
    };
    // The server answers with what it knows of the user's memberships, then with what the
    // platform changed behind its back: added, demoted, promoted again, removed.
    assert_eq!(
        code_of(&mut user, "social:createEvent", create.clone()).await,
        403
    );
    let steps = [
        ("an added admin membership", Some(Role::Admin), 0, 403),
        ("a demotion", Some(Role::Member), 403, 0),
        ("a promotion", Some(Role::Admin), 0, 403),
        ("a removed membership", None, 403, 0),
    ];
    for (change, role, expected, before) in steps {
        match role {
            Some(role) => platform.upsert_membership(&membership(role)).await.unwrap(),
            None => {
                platform
                    .database()
                    .collection::<bson::Document>("memberships")
                    .delete_one(bson::doc! {"userId": &user_id})
                    .await
                    .unwrap();
            }
        }
        let patience = Patience::new();
        loop {
            let code = code_of(&mut user, "social:createEvent", create.clone()).await;
            if code == expected {
                break;
            }
            assert_eq!(code, before, "{change}: neither the old answer nor the new");
            patience.wait(change).await;
        }
    }
}
