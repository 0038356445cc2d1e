//! Waitlists (extension): `joinSession` with `"waitlist": true` on a full session waits
//! for a seat with a rank; ranks stay exact under simultaneous joins; a seat that frees
//! goes to the first waitlisted user who may still join, who hears of it; `getSession`
//! shows the caller's own `waitlistPosition`. A place on a waitlist gives no sight of a
//! session: who may no longer see it hears no more of it, and may always leave.

use futures_util::future::join_all;
use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole as Role;

use crate::helpers::{
    Network, Patience, TestApp, create_session, joined_ids, network, published_event,
    session_fields, spawn_app, unique,
};
use crate::joining::members;

#[tokio::test]
async fn fifty_simultaneous_waitlisted_joins_give_five_seats_and_ranks_one_to_forty_five() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({"participantLimit": 5})).await;
    let mut fields = session_fields("Crowded", 30);
    fields["eventId"] = event["id"].clone();
    let session = create_session(&mut net.admin, fields, json!([])).await;
    let mut crowd = members(&app, &net.id, 50).await;

    let request = json!({ "sessionId": session["id"], "waitlist": true });
    let frames: Vec<Value> = join_all(
        crowd
            .iter_mut()
            .map(|client| client.request("social:joinSession", request.clone())),
    )
    .await;
    assert!(
        frames.iter().all(|frame| frame["error"]["code"] == 0),
        "{frames:?}"
    );
    let seated: Vec<usize> = (0..50)
        .filter(|i| frames[*i].get("data").is_none())
        .collect();
    assert_eq!(seated.len(), 5);
    let mut by_rank: Vec<(u64, usize)> = (0..50)
        .filter_map(|i| {
            let data = frames[i].get("data")?;
            assert_eq!(data["waitlisted"], true);
            Some((data["position"].as_u64().unwrap(), i))
        })
        .collect();
    by_rank.sort();
    let ranks: Vec<u64> = by_rank.iter().map(|(rank, _)| *rank).collect();
    assert_eq!(ranks, (1..=45).collect::<Vec<u64>>());

    // Each asks its own rank.
    let (_, second) = by_rank[1];
    let seen = crowd[second]
        .ok("social:getSession", json!({ "sessionId": session["id"] }))
        .await;
    assert_eq!(seen["session"]["waitlistPosition"], 2);
    let seen = net
        .admin
        .ok("social:getSession", json!({ "sessionId": session["id"] }))
        .await;
    assert!(seen["session"].get("waitlistPosition").is_none());

    // Declines free seats, taken in waitlist order; the promoted user hears of it.
    for (expected_rank, (_, promoted)) in by_rank.iter().take(2).enumerate() {
        let leaving = seated[expected_rank];
        crowd[leaving]
            .ok(
                "social:declineSessionJoin",
                json!({ "sessionId": session["id"] }),
            )
            .await;
        // Those waiting hear of the decline too; then of their promotion.
        let mut seen = Value::Null;
        for _ in 0..8 {
            seen = crowd[*promoted].next_push("social:sessionUpdated").await;
            if seen["session"].get("waitlistPosition").is_none() {
                break;
            }
        }
        assert_eq!(seen["session"]["id"], session["id"]);
        assert_eq!(joined_ids(&seen["session"]).len(), 5, "{seen}");
    }
    let (_, third) = by_rank[2];
    let seen = crowd[third]
        .ok("social:getSession", json!({ "sessionId": session["id"] }))
        .await;
    assert_eq!(seen["session"]["waitlistPosition"], 1);
    assert_eq!(joined_ids(&seen["session"]).len(), 5);
    let answer = crowd[third].ok("social:joinSession", request).await;
    assert_eq!(answer, json!({ "waitlisted": true, "position": 1 }));
}

#[tokio::test]
async fn leaving_or_losing_the_invitation_takes_people_off_the_waitlist_and_ranks_move_up() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({"participantLimit": 1})).await;
    let (ann, bob, cyd, dan) = (unique("ann"), unique("bob"), unique("cyd"), unique("dan"));
    for user in [&ann, &bob, &cyd, &dan] {
        app.add_membership(user, &net.id, None, Role::Member).await;
    }
    let mut fields = session_fields("Private", 30);
    fields["eventId"] = event["id"].clone();
    fields["sessionType"] = json!(1);
    let invite: Vec<Value> = [&ann, &bob, &cyd, &dan]
        .iter()
        .map(|user| json!({ "userId": user, "role": 0 }))
        .collect();
    let session = create_session(&mut net.admin, fields, json!(invite)).await;
    let id = json!({ "sessionId": session["id"] });
    let waiting = json!({ "sessionId": session["id"], "waitlist": true });
    let mut ann_client = app.connect(&ann).await;
    let mut bob_client = app.connect(&bob).await;
    let mut cyd_client = app.connect(&cyd).await;
    let mut dan_client = app.connect(&dan).await;
    ann_client.ok("social:joinSession", id.clone()).await;
    assert_eq!(
        bob_client
            .fails("social:joinSession", id.clone(), 409)
            .await,
        "the session is full"
    );
    for (client, rank) in [
        (&mut bob_client, 1),
        (&mut cyd_client, 2),
        (&mut dan_client, 3),
    ] {
        let answer = client.ok("social:joinSession", waiting.clone()).await;
        assert_eq!(answer, json!({ "waitlisted": true, "position": rank }));
    }
    // Dan leaves the waitlist; Bob is uninvited, which takes him off it.
    dan_client.ok("social:declineSessionJoin", id.clone()).await;
    net.admin
        .ok(
            "social:deleteUserSessionInvitations",
            json!({ "sessionId": session["id"], "usersToInvite": [&bob] }),
        )
        .await;
    let seen = cyd_client.ok("social:getSession", id.clone()).await;
    assert_eq!(seen["session"]["waitlistPosition"], 1);

    // Ann's seat goes to Cyd.
    ann_client.ok("social:declineSessionJoin", id.clone()).await;
    // Cyd, an invitee, heard of every change before this one too.
    let mut seated = Vec::new();
    for _ in 0..8 {
        seated = joined_ids(&cyd_client.next_push("social:sessionUpdated").await["session"]);
        if seated.contains(&cyd) {
            break;
        }
    }
    assert_eq!(seated, std::slice::from_ref(&cyd));
    let seen = net.admin.ok("social:getSession", id).await;
    assert_eq!(joined_ids(&seen["session"]), [cyd]);
}

/// A session of `net`'s event with one seat, taken by a new member; answers the session
/// and that member's id.
async fn one_seat_taken(app: &TestApp, net: &mut Network, invite: Value) -> (Value, String) {
    let event = published_event(net, json!({"participantLimit": 1})).await;
    let mut fields = session_fields("Open talk", 30);
    fields["eventId"] = event["id"].clone();
    let session = create_session(&mut net.admin, fields, invite).await;
    let seated = unique("seated");
    app.add_membership(&seated, &net.id, None, Role::Member)
        .await;
    app.connect(&seated)
        .await
        .ok("social:joinSession", json!({ "sessionId": session["id"] }))
        .await;
    (session, seated)
}

#[tokio::test]
async fn a_session_made_private_drops_those_waiting_who_are_not_invited_and_tells_them_it_is_gone()
{
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let (outsider, invitee) = (unique("outsider"), unique("invitee"));
    for user in [&outsider, &invitee] {
        app.add_membership(user, &net.id, None, Role::Member).await;
    }
    let (session, _) =
        one_seat_taken(&app, &mut net, json!([{ "userId": &invitee, "role": 0 }])).await;
    let id = json!({ "sessionId": session["id"] });
    let waiting = json!({ "sessionId": session["id"], "waitlist": true });
    let mut outsider_client = app.connect(&outsider).await;
    let mut invitee_client = app.connect(&invitee).await;
    outsider_client
        .ok("social:joinSession", waiting.clone())
        .await;
    invitee_client.ok("social:joinSession", waiting).await;

    let update =
        json!({ "session": { "id": session["id"], "sessionType": 1, "title": "Board only" } });
    net.admin.ok("social:updateSession", update).await;
    // The outsider hears only that the session is gone for them, not what it became.
    let frames = outsider_client.frames_before_sentinel().await;
    let endpoints: Vec<&str> = frames
        .iter()
        .map(|frame| frame["endpoint"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(endpoints, ["social:sessionDeleted"], "{frames:?}");
    assert_eq!(frames[0]["data"]["sessionId"], session["id"]);
    outsider_client
        .fails("social:getSession", id.clone(), 404)
        .await;
    // The invitee keeps their place, now first.
    let seen = invitee_client.ok("social:getSession", id).await;
    assert_eq!(seen["session"]["title"], "Board only");
    assert_eq!(seen["session"]["waitlistPosition"], 1);
}

#[tokio::test]
async fn someone_waiting_who_loses_sight_of_a_session_hears_no_more_of_it_and_may_still_leave() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let (session, seated) = one_seat_taken(&app, &mut net, json!([])).await;
    let id = json!({ "sessionId": session["id"] });
    let leaver = unique("leaver");
    app.add_membership(&leaver, &net.id, None, Role::Member)
        .await;
    let mut leaver_client = app.connect(&leaver).await;
    let waiting = json!({ "sessionId": session["id"], "waitlist": true });
    leaver_client.ok("social:joinSession", waiting).await;

    // Their membership goes: the session is out of their sight.
    app.platform()
        .await
        .database()
        .collection::<bson::Document>("memberships")
        .delete_one(bson::doc! { "userId": &leaver })
        .await
        .unwrap();
    let patience = Patience::new();
    while leaver_client.request("social:getSession", id.clone()).await["error"]["code"] != 404 {
        patience.wait("the session out of sight").await;
    }
    let update = json!({ "session": { "id": session["id"], "title": "Members only" } });
    net.admin.ok("social:updateSession", update).await;
    let mut seated_client = app.connect(&seated).await;
    assert_eq!(
        seated_client.ok("social:getSession", id.clone()).await["session"]["title"],
        "Members only"
    );
    let frames = leaver_client.frames_before_sentinel().await;
    assert!(
        frames
            .iter()
            .all(|frame| frame["endpoint"] != "social:sessionUpdated"),
        "a push of a session out of sight: {frames:?}"
    );
    // Out of sight, still waiting: they may leave, and then wait no more.
    leaver_client
        .ok("social:declineSessionJoin", id.clone())
        .await;
    leaver_client
        .fails("social:declineSessionJoin", id, 404)
        .await;
}
