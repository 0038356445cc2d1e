//! The AsyncAPI 3.0 document of the WebSocket API, generated from the endpoint registry:
//! one `send` operation per registered endpoint with its request and its reply, one
//! `receive` operation per registered push, each payload's JSON Schema from the Rust types
//! (`schemars`), each endpoint's description from its module, and an example of every
//! message (the endpoints' own examples, encoded as the service encodes frames). An
//! endpoint or push appears here by being registered. Served at `GET /asyncapi.json` and
//! printed by `social-events asyncapi`.

use schemars::Schema;
use serde_json::{Map, Value, json};

use super::endpoint::{Example, Registry};
use super::envelope::encode_success;
use super::examples;

/// The channel every message travels on.
const CHANNEL: &str = "api";
/// Where the WebSocket is served.
const PATHNAME: &str = "/api/v0/ws";

/// A schema to embed in the document: no `$schema` of its own.
fn embeddable(schema: Schema) -> Value {
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.remove("$schema");
        object.remove("title");
    }
    value
}

/// The `event` stamp of every frame: the client's correlation id, echoed in the answer
/// (a push carries its own), and the sender's time.
fn event_stamp() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": { "type": "string", "maxLength": 128 },
            "date": { "type": "integer", "description": "milliseconds since the Unix epoch" },
        },
    })
}

/// The `error` object of every answer and push.
fn wire_error() -> Value {
    json!({
        "type": "object",
        "required": ["status", "code", "message"],
        "properties": {
            "status": { "type": "boolean", "description": "true for a failure" },
            "code": { "type": "integer", "description": "0, or the error code (400, 401, 403, 404, 409, 413, 429, 500, 503)" },
            "message": { "type": "string" },
        },
    })
}

/// A frame the client sends to `endpoint`.
fn request_frame(endpoint: &str, data: Value) -> Value {
    json!({
        "type": "object",
        "required": ["endpoint"],
        "properties": {
            "endpoint": { "const": endpoint },
            "data": data,
            "event": event_stamp(),
        },
    })
}

/// A frame the service sends unasked with only `endpoint` and `data`.
fn bare_frame(endpoint: &str, data: Value) -> Value {
    json!({
        "type": "object",
        "required": ["endpoint", "data"],
        "properties": {
            "endpoint": { "const": endpoint },
            "data": data,
        },
        "additionalProperties": false,
    })
}

/// The example request and answer frames of `endpoint`, the answer encoded as the service
/// encodes it.
fn example_frames(endpoint: &str, example: &Example) -> (Value, Value) {
    let request = json!({
        "endpoint": endpoint,
        "data": example.request,
        "event": { "id": "1", "date": examples::DATE },
    });
    let data = (!example.answer.is_null()).then_some(&example.answer);
    let answer = examples::frame(&encode_success(endpoint, Some("1"), data));
    (request, answer)
}

/// A frame the service sends: an answer of `endpoint` or a push. A `data` that is always
/// `null` is never sent: the frame has no `data`.
fn answer_frame(endpoint: &str, data: Value) -> Value {
    let data = if data == json!({ "type": "null" }) {
        json!(false)
    } else {
        data
    };
    json!({
        "type": "object",
        "required": ["endpoint", "error", "event"],
        "properties": {
            "endpoint": { "const": endpoint },
            "data": data,
            "error": wire_error(),
            "event": event_stamp(),
        },
    })
}

fn message_ref(key: &str) -> Value {
    json!({ "$ref": format!("#/channels/{CHANNEL}/messages/{}", pointer_escape(key)) })
}

/// `key` as one JSON Pointer token.
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The document, for clients of the service at `public_url`.
pub fn document(public_url: &str) -> Value {
    let mut messages = Map::new();
    let mut operations = Map::new();
    let channel_ref = json!({ "$ref": format!("#/channels/{CHANNEL}") });
    for registration in Registry::global().registrations() {
        let name = registration.name;
        let description = registration.description();
        let request_key = format!("{name}.request");
        let answer_key = format!("{name}.answer");
        let (request_example, answer_example) = example_frames(name, &registration.example());
        messages.insert(
            request_key.clone(),
            json!({
                "name": request_key,
                "title": format!("{name} request"),
                "payload": request_frame(name, embeddable(registration.request_schema())),
                "examples": [{ "name": "example", "payload": request_example }],
            }),
        );
        messages.insert(
            answer_key.clone(),
            json!({
                "name": answer_key,
                "title": format!("{name} answer"),
                "summary": "The answer, with the request's event.id; on failure error.status is true and data is absent.",
                "payload": answer_frame(name, embeddable(registration.response_schema())),
                "examples": [{ "name": "example", "payload": answer_example }],
            }),
        );
        operations.insert(
            name.to_owned(),
            json!({
                "action": "send",
                "channel": channel_ref,
                "title": name,
                "description": description,
                "messages": [message_ref(&request_key)],
                "reply": { "channel": channel_ref, "messages": [message_ref(&answer_key)] },
            }),
        );
    }
    for push in Registry::global().pushes() {
        let key = format!("{}.push", push.name);
        let data = embeddable(push.data_schema());
        let payload = if push.is_stamped() {
            answer_frame(push.name, data)
        } else {
            bare_frame(push.name, data)
        };
        messages.insert(
            key.clone(),
            json!({
                "name": key,
                "title": push.name,
                "payload": payload,
                "examples": [{ "name": "example", "payload": push.example() }],
            }),
        );
        operations.insert(
            push.name.to_owned(),
            json!({
                "action": "receive",
                "channel": channel_ref,
                "title": push.name,
                "description": push.description,
                "messages": [message_ref(&key)],
            }),
        );
    }
    let (protocol, host) = match public_url.split_once("://") {
        Some(("https", host)) => ("wss", host),
        Some((_, host)) => ("ws", host),
        None => ("ws", public_url),
    };
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "social-events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The social layer of a virtual-events platform over one WebSocket: \
                            each request frame is answered by one frame with the same \
                            event.id; pushes arrive unasked. Authenticate the upgrade with \
                            `Authorization: Bearer <token>` or `?token=<token>`.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "service": {
                "host": host.trim_end_matches('/'),
                "protocol": protocol,
                "pathname": PATHNAME,
            },
        },
        "channels": {
            CHANNEL: { "address": PATHNAME, "messages": messages },
        },
        "operations": operations,
    })
}
