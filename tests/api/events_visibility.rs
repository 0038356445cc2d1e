//! Who sees which event: drafts, published events, networks and communities. An event the
//! caller may not see is always a 404, never a 403.

use serde_json::json;
use social_events::domain::kinds::MembershipRole as Role;

use crate::helpers::{create_event, network, spawn_app, unique};

fn titles(data: &serde_json::Value) -> Vec<String> {
    data["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_draft_is_seen_only_by_its_creator_and_the_sources_admins() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let draft = create_event(&mut net.admin, &net.source, "Draft").await;
    let id = draft["id"].as_str().unwrap();
    let other_admin = unique("admin2");
    app.add_membership(&other_admin, &net.id, None, Role::Admin)
        .await;
    let mut other_admin = app.connect(&other_admin).await;

    net.admin
        .ok("social:getEvent", json!({"eventId": id}))
        .await;
    other_admin
        .ok("social:getEvent", json!({"eventId": id}))
        .await;
    net.member
        .fails("social:getEvent", json!({"eventId": id}), 404)
        .await;
    let listed = net
        .member
        .ok("social:getEvents", json!({"source": net.source}))
        .await;
    assert!(titles(&listed).is_empty());
    let listed = other_admin
        .ok("social:getEvents", json!({"source": net.source}))
        .await;
    assert_eq!(titles(&listed), ["Draft"]);
}

#[tokio::test]
async fn a_draft_is_404_not_403_for_a_member_who_tries_to_change_it() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let draft = create_event(&mut net.admin, &net.source, "Draft").await;
    let id = draft["id"].as_str().unwrap();
    net.member
        .fails(
            "social:updateEvent",
            json!({"eventId": id, "event": {"title": "x"}}),
            404,
        )
        .await;
    net.member
        .fails("social:publishEvent", json!({"eventId": id}), 404)
        .await;
    net.member
        .fails("social:deleteEvent", json!({"eventId": id}), 404)
        .await;
}

#[tokio::test]
async fn a_published_event_is_seen_by_members_but_never_by_non_members() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = create_event(&mut net.admin, &net.source, "Public").await;
    let id = event["id"].as_str().unwrap();
    net.admin
        .ok("social:publishEvent", json!({"eventId": id}))
        .await;
    let seen = net
        .member
        .ok("social:getEvent", json!({"eventId": id}))
        .await;
    assert_eq!(seen["event"]["status"], 1);

    let mut stranger = app.connect(&unique("stranger")).await;
    let not_found = stranger
        .fails("social:getEvent", json!({"eventId": id}), 404)
        .await;
    let missing = stranger
        .fails("social:getEvent", json!({"eventId": "no-such-id"}), 404)
        .await;
    assert_eq!(
        not_found, missing,
        "a hidden event looks exactly like a missing one"
    );
    stranger
        .fails(
            "social:updateEvent",
            json!({"eventId": id, "event": {"title": "x"}}),
            404,
        )
        .await;
    stranger
        .fails("social:deleteEvent", json!({"eventId": id}), 404)
        .await;
    let listed = stranger
        .ok("social:getEvents", json!({"source": net.source}))
        .await;
    assert!(titles(&listed).is_empty());
}

#[tokio::test]
async fn community_events_are_seen_by_community_members_and_network_admins_only() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let community = format!("community:{}:c1", net.id);
    let event = create_event(&mut net.admin, &community, "Community event").await;
    let id = event["id"].as_str().unwrap();
    net.admin
        .ok("social:publishEvent", json!({"eventId": id}))
        .await;

    let community_member = unique("cmember");
    app.add_membership(&community_member, &net.id, Some("c1"), Role::Member)
        .await;
    let mut community_member = app.connect(&community_member).await;
    community_member
        .ok("social:getEvent", json!({"eventId": id}))
        .await;
    let listed = community_member
        .ok("social:getEvents", json!({"source": community}))
        .await;
    assert_eq!(titles(&listed), ["Community event"]);
    let network_listing = community_member
        .ok("social:getEvents", json!({"source": net.source}))
        .await;
    assert!(
        titles(&network_listing).is_empty(),
        "a community membership is not a network one"
    );

    net.member
        .fails("social:getEvent", json!({"eventId": id}), 404)
        .await;
    let listed = net
        .member
        .ok("social:getEvents", json!({"source": community}))
        .await;
    assert!(titles(&listed).is_empty());
    let listed = net
        .admin
        .ok("social:getEvents", json!({"source": community}))
        .await;
    assert_eq!(titles(&listed), ["Community event"]);
}

#[tokio::test]
async fn members_list_published_events_and_their_own_drafts() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let community = format!("community:{}:c2", net.id);
    let creator = unique("ccreator");
    app.add_membership(&creator, &net.id, Some("c2"), Role::Admin)
        .await;
    let mut creator_client = app.connect(&creator).await;
    let own_draft = create_event(&mut creator_client, &community, "Own draft").await;
    let published = create_event(&mut net.admin, &community, "Published").await;
    create_event(&mut net.admin, &community, "Admin draft").await;
    net.admin
        .ok("social:publishEvent", json!({"eventId": published["id"]}))
        .await;
    // The creator is demoted to member: its own draft stays visible to it.
    app.add_membership(&creator, &net.id, Some("c2"), Role::Member)
        .await;
    let listed = creator_client
        .ok("social:getEvents", json!({"source": community}))
        .await;
    let mut seen = titles(&listed);
    seen.sort();
    assert_eq!(seen, ["Own draft", "Published"]);
    creator_client
        .ok("social:getEvent", json!({"eventId": own_draft["id"]}))
        .await;
}
