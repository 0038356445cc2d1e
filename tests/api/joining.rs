//! Joining and declining, and the limits under really concurrent clients.

use std::num::NonZeroU64;

use futures_util::future::join_all;
use serde_json::json;
use social_events::domain::ids::{SessionId, UserId};
use social_events::domain::kinds::{MembershipRole as Role, SessionKind};
use social_events::domain::session::viewer::JoinCondition;
use social_events::domain::time::Timestamp;

use crate::helpers::{
    Client, TestApp, create_session, invited, joined_ids, network, published_event, session_fields,
    spawn_app, unique,
};

#[tokio::test]
async fn joining_twice_or_joining_ones_own_session_changes_nothing() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut owner_client = app.connect(&owner).await;
    let session = create_session(&mut owner_client, session_fields("S", 30), json!([])).await;
    let request = json!({"sessionId": session["id"]});
    let guest = unique("guest");
    let mut guest_client = app.connect(&guest).await;
    let frame = guest_client
        .request("social:joinSession", request.clone())
        .await;
    assert_eq!(frame["error"]["code"], 0);
    assert!(frame.get("data").is_none(), "join answers without data");
    guest_client.ok("social:joinSession", request.clone()).await;
    owner_client.ok("social:joinSession", request.clone()).await;
    let seen = owner_client.ok("social:getSession", request).await;
    assert_eq!(joined_ids(&seen["session"]), [guest]);
}

#[tokio::test]
async fn declining_marks_the_invitation_and_a_later_join_accepts_it_again() {
    let app = spawn_app().await;
    let invitee = unique("invitee");
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(
        &mut owner,
        session_fields("S", 30),
        json!([{"userId": &invitee, "role": 2}]),
    )
    .await;
    let request = json!({"sessionId": session["id"]});
    let mut invitee_client = app.connect(&invitee).await;

    invitee_client
        .ok("social:joinSession", request.clone())
        .await;
    let seen = owner.ok("social:getSession", request.clone()).await;
    assert_eq!(
        invited(&seen["session"]),
        [(invitee.clone(), 2, 1)],
        "joining accepts"
    );

    invitee_client
        .ok("social:declineSessionJoin", request.clone())
        .await;
    let seen = owner.ok("social:getSession", request.clone()).await;
    assert_eq!(
        invited(&seen["session"]),
        [(invitee.clone(), 2, 2)],
        "declined stays listed"
    );
    assert!(joined_ids(&seen["session"]).is_empty(), "and leaves");

    invitee_client
        .ok("social:joinSession", request.clone())
        .await;
    let seen = owner.ok("social:getSession", request.clone()).await;
    assert_eq!(invited(&seen["session"]), [(invitee.clone(), 2, 1)]);
    assert_eq!(joined_ids(&seen["session"]), [invitee]);
}

#[tokio::test]
async fn a_participant_who_was_not_invited_leaves_by_declining() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(&mut owner, session_fields("S", 30), json!([])).await;
    let request = json!({"sessionId": session["id"]});
    let mut guest = app.connect(&unique("guest")).await;
    guest
        .fails("social:declineSessionJoin", request.clone(), 404)
        .await;
    guest.ok("social:joinSession", request.clone()).await;
    guest.ok("social:declineSessionJoin", request.clone()).await;
    let seen = owner.ok("social:getSession", request.clone()).await;
    assert!(joined_ids(&seen["session"]).is_empty());
    assert!(invited(&seen["session"]).is_empty());
    guest.fails("social:declineSessionJoin", request, 404).await;
}

#[tokio::test]
async fn the_events_participant_limit_caps_each_session() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({"participantLimit": 1})).await;
    let mut fields = session_fields("Small", 30);
    fields["eventId"] = event["id"].clone();
    let session = create_session(&mut net.admin, fields, json!([])).await;
    let request = json!({"sessionId": session["id"]});
    net.member.ok("social:joinSession", request.clone()).await;
    let late = unique("late");
    app.add_membership(&late, &net.id, None, Role::Member).await;
    let mut late = app.connect(&late).await;
    assert_eq!(
        late.fails("social:joinSession", request.clone(), 409).await,
        "the session is full"
    );
    net.member
        .ok("social:declineSessionJoin", request.clone())
        .await;
    late.ok("social:joinSession", request).await;
}

/// Connects `count` members of the network at once.
pub async fn members(app: &TestApp, network_id: &str, count: usize) -> Vec<Client> {
    let ids: Vec<String> = (0..count).map(|_| unique("crowd")).collect();
    for id in &ids {
        app.add_membership(id, network_id, None, Role::Member).await;
    }
    join_all(ids.iter().map(|id| app.connect(id))).await
}

/// Sends one join from each client at the same moment; answers the error codes.
async fn join_together(clients: &mut [Client], session_id: &serde_json::Value) -> Vec<u64> {
    let request = json!({"sessionId": session_id});
    let frames = join_all(
        clients
            .iter_mut()
            .map(|client| client.request("social:joinSession", request.clone())),
    )
    .await;
    frames
        .iter()
        .map(|frame| frame["error"]["code"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn fifty_simultaneous_joins_fill_a_limit_of_five_exactly() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({"participantLimit": 5})).await;
    let mut fields = session_fields("Crowded", 30);
    fields["eventId"] = event["id"].clone();
    let session = create_session(&mut net.admin, fields, json!([])).await;
    let mut crowd = members(&app, &net.id, 50).await;

    let codes = join_together(&mut crowd, &session["id"]).await;
    assert_eq!(
        codes.iter().filter(|code| **code == 0).count(),
        5,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|code| **code == 409).count(),
        45,
        "{codes:?}"
    );
    let seen = net
        .admin
        .ok("social:getSession", json!({"sessionId": session["id"]}))
        .await;
    assert_eq!(joined_ids(&seen["session"]).len(), 5);
}

#[tokio::test]
async fn twenty_simultaneous_bookings_of_an_open_slot_leave_exactly_one() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let mut fields = session_fields("Slot", 30);
    fields["eventId"] = event["id"].clone();
    fields["sessionType"] = json!(2);
    let session = create_session(&mut net.admin, fields, json!([])).await;
    let mut crowd = members(&app, &net.id, 20).await;

    let codes = join_together(&mut crowd, &session["id"]).await;
    assert_eq!(
        codes.iter().filter(|code| **code == 0).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|code| **code == 409).count(),
        19,
        "{codes:?}"
    );
    let seen = net
        .admin
        .ok("social:getSession", json!({"sessionId": session["id"]}))
        .await;
    assert_eq!(joined_ids(&seen["session"]).len(), 1);
}

#[tokio::test]
async fn a_join_decided_from_the_servers_last_write_of_a_session_is_decided_again_when_it_changed_since()
 {
    // The server starts a write from its own last write of a session, without reading it;
    // another writer (here the platform, writing the database directly) may have changed
    // the session since. An outcome other than a write that took place is then decided
    // again from a read: the guest, removed behind the server's back, is not told "joined
    // already" but joins again.
    let app = spawn_app().await;
    let platform = app.platform().await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(&mut owner, session_fields("S", 30), json!([])).await;
    let session_id = SessionId::from(session["id"].as_str().unwrap());
    let guest = unique("guest");
    let mut guest_client = app.connect(&guest).await;
    let request = json!({"sessionId": &session_id});
    guest_client.ok("social:joinSession", request.clone()).await;
    platform
        .leave_session(
            &session_id,
            &UserId::from(guest.as_str()),
            false,
            Timestamp::now(),
        )
        .await
        .unwrap()
        .expect("the session");
    guest_client.ok("social:joinSession", request.clone()).await;
    let stored = platform.find_session(&session_id).await.unwrap().unwrap();
    assert_eq!(stored.joined, [guest]);
    // And a write whose condition no longer holds is decided again: the one slot of an
    // open-slot session, taken behind the server's back, is not given twice.
    let mut fields = session_fields("Slot", 30);
    fields["sessionType"] = json!(2);
    let slot = create_session(&mut owner, fields, json!([])).await;
    let slot_id = SessionId::from(slot["id"].as_str().unwrap());
    let condition = JoinCondition {
        capacity: NonZeroU64::new(1),
        session_type: SessionKind::OpenSlot,
        invitation_required: false,
    };
    platform
        .join_session(
            &slot_id,
            &UserId::from("first"),
            condition,
            Timestamp::now(),
        )
        .await
        .unwrap()
        .expect("the slot was free");
    let message = guest_client
        .fails("social:joinSession", json!({"sessionId": &slot_id}), 409)
        .await;
    assert!(message.contains("open slot"), "{message}");
    let stored = platform.find_session(&slot_id).await.unwrap().unwrap();
    assert_eq!(stored.joined, ["first"]);
}
