//! Inviting by id and contact, pending contact invitations, re-inviting and uninviting.

use serde_json::json;
use social_events::token::Claims;

use crate::helpers::{
    create_session, invited, joined_ids, put_user, session_fields, spawn_app, unique,
};

#[tokio::test]
async fn invitations_resolve_by_id_email_phone_and_facebook() {
    let app = spawn_app().await;
    let (by_email, by_phone, by_facebook, by_id) =
        (unique("mail"), unique("phone"), unique("fb"), unique("id"));
    let email = format!("{by_email}@Example.com");
    put_user(
        &app,
        json!({"id": &by_email, "emails": [email.to_lowercase()]}),
    )
    .await;
    put_user(&app, json!({"id": &by_phone, "phones": ["+14155550123"]})).await;
    put_user(
        &app,
        json!({"id": &by_facebook, "facebook": ["app1:fb-42"]}),
    )
    .await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let session = create_session(&mut client, session_fields("S", 60), json!([])).await;
    let frame = client
        .request(
            "social:inviteUsersToSession",
            json!({"sessionId": session["id"], "usersToInvite": [
                {"emails": [email.to_uppercase()], "role": 1},
                {"phones": ["+14155550123"], "role": 2},
                {"facebook": "app1:fb-42"},
                {"userId": &by_id},
                {"userId": &owner, "role": 1},
            ]}),
        )
        .await;
    assert_eq!(frame["error"]["code"], 0, "{frame}");
    assert!(frame.get("data").is_none());
    let seen = client
        .ok("social:getSession", json!({"sessionId": session["id"]}))
        .await;
    assert_eq!(
        invited(&seen["session"]),
        [
            (by_email, 1, 0),
            (by_phone, 2, 0),
            (by_facebook, 0, 0),
            (by_id, 0, 0)
        ],
        "the owner is never invited"
    );
}

#[tokio::test]
async fn an_e_mail_invitation_finds_a_user_whose_address_is_stored_in_another_letter_case() {
    let app = spawn_app().await;
    let mixed = unique("mixed");
    let stored = format!("{mixed}.Case@Example.COM");
    put_user(&app, json!({"id": &mixed, "emails": [&stored]})).await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(&mut owner, session_fields("S", 60), json!([])).await;
    for role in [0, 1] {
        owner
            .ok(
                "social:inviteUsersToSession",
                json!({"sessionId": session["id"], "usersToInvite": [
                    {"emails": [stored.to_lowercase()], "role": role}
                ]}),
            )
            .await;
    }
    let seen = owner
        .ok("social:getSession", json!({"sessionId": session["id"]}))
        .await;
    assert_eq!(
        invited(&seen["session"]),
        [(mixed, 1, 0)],
        "one invitation, its role updated by the second invite"
    );
    let pending = app
        .store
        .database()
        .collection::<bson::Document>("sessions")
        .find_one(bson::doc! { "_id": session["id"].as_str().unwrap() })
        .await
        .unwrap()
        .unwrap();
    assert!(
        pending
            .get_array("pendingContacts")
            .map_or(true, |pending| pending.is_empty()),
        "no pending contact invitation: {pending}"
    );
}

#[tokio::test]
async fn re_inviting_changes_the_role_and_makes_a_declined_invitation_pending() {
    let app = spawn_app().await;
    let invitee = unique("invitee");
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(
        &mut owner,
        session_fields("S", 60),
        json!([{"userId": &invitee}]),
    )
    .await;
    let request = json!({"sessionId": session["id"]});
    let mut invitee_client = app.connect(&invitee).await;
    invitee_client
        .ok("social:declineSessionJoin", request.clone())
        .await;
    owner
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": session["id"], "usersToInvite": [{"userId": &invitee, "role": 1}]}),
        )
        .await;
    let seen = owner.ok("social:getSession", request).await;
    assert_eq!(invited(&seen["session"]), [(invitee, 1, 0)]);
}

#[tokio::test]
async fn a_pending_contact_invitation_attaches_to_the_user_who_appears_with_it() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let address = format!("{}@example.org", unique("newcomer"));
    let session = create_session(
        &mut owner,
        session_fields("S", 60),
        json!([{"emails": [address.to_uppercase()], "role": 2}]),
    )
    .await;
    assert!(
        invited(&session).is_empty(),
        "pending contacts are not listed"
    );

    let newcomer = unique("newcomer");
    let claims = Claims {
        sub: newcomer.clone(),
        exp: chrono::Utc::now().timestamp() + 600,
        given_name: Some("New".into()),
        email: Some(address.clone()),
        email_verified: Some(true),
        ..Claims::default()
    };
    let mut newcomer_client = app.connect_with_token(&app.token_with(&claims)).await;
    let pushed = newcomer_client.next_push("social:sessionUpdated").await;
    assert_eq!(
        pushed["session"]["id"], session["id"],
        "the attached invitation is pushed"
    );
    let seen = newcomer_client
        .ok("social:getSession", json!({"sessionId": session["id"]}))
        .await;
    assert_eq!(invited(&seen["session"]), [(newcomer, 2, 0)]);
    assert_eq!(
        seen["session"]["invitedUsers"][0]["user"]["firstName"],
        "New"
    );
}

#[tokio::test]
async fn uninviting_from_a_private_session_also_removes_the_participant() {
    let app = spawn_app().await;
    let (stays, goes) = (unique("stays"), unique("goes"));
    let mut owner = app.connect(&unique("owner")).await;
    let mut fields = session_fields("Private", 60);
    fields["sessionType"] = json!(1);
    let session = create_session(
        &mut owner,
        fields,
        json!([{"userId": &stays}, {"userId": &goes}]),
    )
    .await;
    let request = json!({"sessionId": session["id"]});
    let mut goes_client = app.connect(&goes).await;
    goes_client.ok("social:joinSession", request.clone()).await;
    let frame = owner
        .request(
            "social:deleteUserSessionInvitations",
            json!({"sessionId": session["id"], "usersToInvite": [&goes, "never-invited"]}),
        )
        .await;
    assert_eq!(frame["error"]["code"], 0, "{frame}");
    assert!(frame.get("data").is_none());
    let seen = owner.ok("social:getSession", request.clone()).await;
    assert_eq!(invited(&seen["session"]), [(stays, 0, 0)]);
    assert!(joined_ids(&seen["session"]).is_empty());
    goes_client.fails("social:getSession", request, 404).await;
}

#[tokio::test]
async fn uninviting_from_a_public_session_keeps_the_participant() {
    let app = spawn_app().await;
    let guest = unique("guest");
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(
        &mut owner,
        session_fields("Public", 60),
        json!([{"userId": &guest}]),
    )
    .await;
    let request = json!({"sessionId": session["id"]});
    let mut guest_client = app.connect(&guest).await;
    guest_client.ok("social:joinSession", request.clone()).await;
    owner
        .ok(
            "social:deleteUserSessionInvitations",
            json!({"sessionId": session["id"], "usersToInvite": [&guest]}),
        )
        .await;
    let seen = owner.ok("social:getSession", request).await;
    assert!(invited(&seen["session"]).is_empty());
    assert_eq!(joined_ids(&seen["session"]), [guest]);
}

#[tokio::test]
async fn invalid_invitations_are_refused_naming_the_entry() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(&mut owner, session_fields("S", 60), json!([])).await;
    let cases = [
        (
            json!([{"emails": ["not-an-address"]}]),
            "data.usersToInvite[0].emails[0]: not an e-mail address",
        ),
        (
            json!([{"userId": "a"}, {"phones": ["12345"]}]),
            "data.usersToInvite[1].phones[0]: not an E.164",
        ),
        (
            json!([{"role": 1}]),
            "data.usersToInvite[0]: needs a userId",
        ),
        (
            json!([{"userId": 5}]),
            "data.usersToInvite[0].userId: invalid type",
        ),
    ];
    for (entries, expected) in cases {
        let message = owner
            .fails(
                "social:inviteUsersToSession",
                json!({"sessionId": session["id"], "usersToInvite": entries}),
                400,
            )
            .await;
        assert!(
            message.starts_with(expected),
            "{message:?} should start with {expected:?}"
        );
    }
    let message = owner
        .fails(
            "social:inviteUsersToSession",
            json!({"sessionId": session["id"]}),
            400,
        )
        .await;
    assert_eq!(message, "data.usersToInvite: is required");
    owner
        .fails(
            "social:inviteUsersToSession",
            json!({"sessionId": "missing", "usersToInvite": [{"userId": "x"}]}),
            404,
        )
        .await;
}
