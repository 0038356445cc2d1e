//! What tests create through the API: a network with its people, events and sessions,
//! and what they read back from a session.

use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole as Role;

use super::{Client, TestApp, unique};

/// A network with an admin and a member, each connected.
pub struct Network {
    pub id: String,
    /// `network:{id}`.
    pub source: String,
    pub admin_id: String,
    pub admin: Client,
    pub member_id: String,
    pub member: Client,
}

/// Creates a network with one admin and one member, both connected.
pub async fn network(app: &TestApp) -> Network {
    let id = unique("net");
    let admin_id = unique("admin");
    let member_id = unique("member");
    app.add_membership(&admin_id, &id, None, Role::Admin).await;
    app.add_membership(&member_id, &id, None, Role::Member)
        .await;
    Network {
        admin: app.connect(&admin_id).await,
        member: app.connect(&member_id).await,
        source: format!("network:{id}"),
        id,
        member_id,
        admin_id,
    }
}

/// A valid `event` object for `createEvent`.
pub fn event_fields(title: &str) -> Value {
    json!({
        "title": title,
        "description": "A gathering",
        "startDate": 1_900_000_000_000_i64,
        "endDate": 1_900_003_600_000_i64,
        "previewResourceId": "res-1",
        "roomId": "room-1",
        "participantLimit": 10,
        "price": 0.0,
        "customData": {"venue": "Main hall"}
    })
}

/// Creates an event in `source` as `client` and answers it.
pub async fn create_event(client: &mut Client, source: &str, title: &str) -> Value {
    let data = client
        .ok(
            "social:createEvent",
            json!({"source": source, "event": event_fields(title), "formSchema": {}}),
        )
        .await;
    data["event"].clone()
}

/// A published event in `net`, created by its admin; answers the event.
pub async fn published_event(net: &mut Network, patch: Value) -> Value {
    let mut fields = event_fields("Conference");
    fields["endDate"] = json!(4_102_444_800_000_i64);
    for (key, value) in patch.as_object().cloned().unwrap_or_default() {
        fields[key] = value;
    }
    let data = net
        .admin
        .ok(
            "social:createEvent",
            json!({"source": net.source, "event": fields}),
        )
        .await;
    let id = data["event"]["id"].clone();
    let published = net
        .admin
        .ok("social:publishEvent", json!({"eventId": id}))
        .await;
    published["event"].clone()
}

/// A valid `session` object starting `starts_in_minutes` from now, lasting an hour.
pub fn session_fields(title: &str, starts_in_minutes: i64) -> Value {
    let start = chrono::Utc::now().timestamp_millis() + starts_in_minutes * 60_000;
    json!({
        "roomId": "room-1",
        "propId": "stage",
        "sessionType": 0,
        "title": title,
        "description": "Talk",
        "startDate": start,
        "duration": 3600,
        "isRecurring": false,
        "color": {"r": 0.5, "g": 0.25, "b": 1.0, "a": 1.0}
    })
}

/// Creates a session as `client` from `session` and `usersToInvite`; answers the session.
pub async fn create_session(client: &mut Client, session: Value, invite: Value) -> Value {
    let data = client
        .ok(
            "social:createSession",
            json!({"session": session, "usersToInvite": invite}),
        )
        .await;
    data["session"].clone()
}

/// Stores a user document directly, as the wider platform would.
pub async fn put_user(app: &TestApp, user: Value) {
    let user: social_events::domain::people::User = serde_json::from_value(user).unwrap();
    app.store.replace_user(&user).await.unwrap();
}

/// The ids of the users in a session's `joinedUsers`.
pub fn joined_ids(session: &Value) -> Vec<String> {
    session["joinedUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `(id, role, status)` of each entry of a session's `invitedUsers`.
pub fn invited(session: &Value) -> Vec<(String, i64, i64)> {
    session["invitedUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["user"]["id"].as_str().unwrap().to_owned(),
                entry["role"].as_i64().unwrap(),
                entry["status"].as_i64().unwrap(),
            )
        })
        .collect()
}
