//! The values the endpoints' examples share (see [`Endpoint::example`]): one event and one
//! session of the development data (`embedded-db/dev-users.json`: Ada, admin of network
//! `acme`, and Grace, a member), written by hand in the shape the service answers. The
//! examples are what the AsyncAPI document shows and what the console fills in; the
//! contract tests hold them to the schemas (no unknown keys) and the example requests to
//! the endpoints' own decoding.
//!
//! [`Endpoint::example`]: super::endpoint::Endpoint::example

use serde_json::{Value, json};

/// The id of the example event.
pub const EVENT_ID: &str = "01a2244b-8f56-70c5-90b6-ad6053aa36c8";
/// The id of the example session.
pub const SESSION_ID: &str = "01a2244b-8f65-713e-941f-58a620b880b1";
/// The `event.id` of the example pushes: pushes are numbered, increasing.
pub const PUSH_ID: &str = "1042";
/// The example event's source.
pub const SOURCE: &str = "network:acme";
/// The room and prop of the example session.
pub const ROOM_ID: &str = "main-hall";
pub const PROP_ID: &str = "stage";

/// The `event.date` of every example frame (milliseconds since the Unix epoch), so that the
/// document is the same at every start.
pub const DATE: i64 = 1795905261430;

/// An encoded frame as an example: `text` parsed, its `event.date` set to [`DATE`].
pub fn frame(text: &str) -> Value {
    let mut frame: Value = serde_json::from_str(text).unwrap_or_default();
    if let Some(date) = frame.pointer_mut("/event/date") {
        *date = json!(DATE);
    }
    frame
}

/// A calendar feed URL of the development server.
pub fn calendar_feed_url() -> String {
    crate::app::calendar_feed::feed_url(
        "http://127.0.0.1:8080",
        "6f1c2a9e0b7d4c3f8a5e1d2c9b0a7f6e5d4c3b2a19f8e7d6c5b4a39281706f5e",
    )
}

/// The fields a client sends to create the example event.
pub fn event_fields() -> Value {
    json!({
        "title": "Product launch",
        "description": "The spring release, live on the main stage.",
        "startDate": "2030-04-02T17:00:00Z",
        "endDate": "2030-04-02T19:00:00Z",
        "roomId": ROOM_ID,
        "participantLimit": 200,
        "price": 0,
        "customData": { "venue": "Main hall" },
    })
}

/// The example event as the service answers it; `published`: after `social:publishEvent`.
pub fn event(published: bool) -> Value {
    json!({
        "id": EVENT_ID,
        "created": 1795905261398_i64,
        "updated": 1795905261405_i64,
        "sourceString": SOURCE,
        "sourceType": "network",
        "sourcePk": "acme",
        "networkId": "acme",
        "title": "Product launch",
        "description": "The spring release, live on the main stage.",
        "startDate": 1901379600000_i64,
        "endDate": 1901386800000_i64,
        "previewResourceId": "",
        "roomId": ROOM_ID,
        "participantLimit": 200,
        "price": 0.0,
        "customData": { "venue": "Main hall" },
        "status": i32::from(published),
        "formSchema": {},
    })
}

/// The fields a client sends to create the example session.
pub fn session_fields() -> Value {
    json!({
        "eventId": EVENT_ID,
        "roomId": ROOM_ID,
        "propId": PROP_ID,
        "sessionType": 0,
        "title": "Keynote",
        "description": "What is new this spring.",
        "startDate": "2030-04-02T17:00:00Z",
        "duration": 3600,
        "isRecurring": false,
        "timeZone": "Europe/Berlin",
        "color": { "r": 0.2, "g": 0.4, "b": 0.8, "a": 1.0 },
    })
}

/// Who the example session invites: Grace, as a presenter.
pub fn users_to_invite() -> Value {
    json!([{ "userId": "grace", "role": 1 }])
}

/// The example session as Ada sees it; `joined`: after Grace joined it.
pub fn session(joined: bool) -> Value {
    let grace = person("grace", "Grace", "Hopper", "", "");
    json!({
        "id": SESSION_ID,
        "created": 1795905261413_i64,
        "updated": 1795905261428_i64,
        "eventId": EVENT_ID,
        "ownerId": "ada",
        "roomId": ROOM_ID,
        "propId": PROP_ID,
        "sessionType": 0,
        "title": "Keynote",
        "description": "What is new this spring.",
        "startDate": 1901379600000_i64,
        "duration": 3600,
        "isRecurring": false,
        "timeZone": "Europe/Berlin",
        "color": { "r": 0.2, "g": 0.4, "b": 0.8, "a": 1.0 },
        "isValid": true,
        "owner": person("ada", "Ada", "Lovelace", "Analytical Engines", "Programmer"),
        "invitedUsers": [{ "user": grace, "role": 1, "status": i32::from(joined) }],
        "joinedUsers": if joined { vec![grace] } else { Vec::new() },
        "version": if joined { 2 } else { 1 },
    })
}

/// A person as sessions render them.
fn person(id: &str, first_name: &str, last_name: &str, company: &str, title: &str) -> Value {
    json!({
        "id": id,
        "firstName": first_name,
        "lastName": last_name,
        "privacyMode": 0,
        "avatar": "",
        "companyName": company,
        "companyTitle": title,
    })
}

/// The example request of the prop endpoints: the examples' stage.
pub fn prop_request() -> Value {
    json!({ "roomId": ROOM_ID, "propId": PROP_ID })
}

/// The example answer of the prop endpoints: one session.
pub fn prop_sessions() -> Value {
    json!({ "sessions": [session(true)] })
}
