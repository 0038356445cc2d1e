//! The AsyncAPI 3.0 document of the WebSocket API, generated from the endpoint registry:
//! one `send` operation per registered endpoint with its request and its reply, one
//! `receive` operation per registered push, each payload's JSON Schema from the Rust types
//! (`schemars`), each endpoint's description from its module, and an example of every
//! message (the endpoints' own examples, encoded as the service encodes frames). An
//! endpoint or push appears here by being registered. Served at `GET /asyncapi.json` and
//! printed by `social-events asyncapi`.
//!
//! The document is written for code generators as much as for people: every message and
//! every payload is a named component (`CreateEventRequest` is the `data` a client sends
//! to `social:createEvent`, `CreateEventRequestFrame` the whole frame, `CreateEventAnswer`
//! the answer's `data`, `SessionUpdatedPush` a push's `data`), shapes that several
//! messages share are components referred to by `$ref`, no schema is a bare `true` or
//! `false`, and the wire names of fields are the property names. Operations and messages
//! are keyed by the endpoint name without its `social:` prefix (`createEvent`,
//! `createEventRequest`, `sessionUpdatedPush`); each operation's `title` and each frame's
//! `endpoint` constant carry the full name.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use super::endpoint::{Example, Registry};
use super::envelope::encode_success;
use super::examples;

/// The channel every message travels on.
const CHANNEL: &str = "api";
/// Where the WebSocket is served, below the service's public URL.
const ADDRESS: &str = "/api/v0/ws";
/// Where references to shared schemas point.
const SCHEMAS: &str = "/components/schemas/";

/// What the document says of the protocol as a whole (Markdown).
const PROTOCOL: &str = "\
The social layer of a virtual-events platform — events, sessions at room props, \
invitations, joins and live updates — over one WebSocket per signed-in user.

**Connecting.** Open the WebSocket with a token: `Authorization: Bearer <token>` on the \
upgrade, or `?token=<token>` where a browser cannot set headers. A connection lives as \
long as its token; `social:tokenExpired` warns before it ends.

**Frames.** Every frame is one JSON text message. A request is \
`{\"endpoint\": \"social:…\", \"data\": {…}, \"event\": {\"id\": \"…\"}}`; it is answered by \
exactly one frame with the same `endpoint` and `event.id`: \
`{\"endpoint\", \"data\"?, \"error\": {\"status\", \"code\", \"message\"}, \"event\": {\"id\", \"date\"}}`. \
`error.status` is `false` and `error.code` `0` on success; on failure `error.status` is \
`true`, `error.code` is 400, 401, 403, 404, 409, 413, 429, 500 or 503 and `data` is absent. \
Answers may arrive in another order than their requests: match them by `event.id`.

**Request ids.** Give each request a fresh `event.id` (a UUID, say), unique for the user \
across all their connections for at least 10 minutes: a request that changes data and \
repeats an earlier `event.id` is a retry, answered with the first answer and not done \
twice. Retrying a write after a lost connection with the same `event.id` is safe.

**Pushes.** The service sends frames unasked (the `receive` operations): changes to \
sessions the user can see, prop boards they watch, and notices about the connection. \
Each push carries a push number in `event.id`; reconnecting with `?resumeAfter=<number>` \
delivers what was missed, or `social:resync` when that is no longer possible.";

/// A schema generator whose shared definitions are components of this document.
fn generator(decoded: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12().with(|settings| {
        settings.definitions_path = SCHEMAS.into();
        settings.meta_schema = None;
    });
    let settings = if decoded {
        settings.for_deserialize()
    } else {
        settings.for_serialize()
    };
    settings.into_generator()
}

/// A reference to the component schema `name`.
fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#{SCHEMAS}{name}") })
}

/// `social:createEvent` → `createEvent`, `acme:ping` → `acmePing`: the key of an
/// endpoint's operation, a name code generators and component keys accept (letters and
/// digits; the parts of another namespace's name joined in camel case).
fn operation_key(endpoint: &str) -> String {
    let name = endpoint.strip_prefix("social:").unwrap_or(endpoint);
    let mut parts = name.split(|character: char| !character.is_ascii_alphanumeric());
    let first = parts.next().unwrap_or_default().to_owned();
    parts.fold(first, |key, part| key + &type_stem(part))
}

/// `createEvent` → `CreateEvent`: the stem of an endpoint's schema names.
fn type_stem(key: &str) -> String {
    let mut characters = key.chars();
    characters
        .next()
        .map(|first| first.to_uppercase().chain(characters).collect())
        .unwrap_or_default()
}

/// The components of the envelope every frame shares.
fn envelope_schemas() -> [(&'static str, Value); 3] {
    [
        (
            "ErrorCode",
            json!({
                "type": "integer",
                "enum": [0, 400, 401, 403, 404, 409, 413, 429, 500, 503],
                "description": "`0` on success, else the failure's code, as in HTTP: 400 a \
                                malformed or invalid request, 401 an expired or refused token, \
                                403 not allowed, 404 not found (or not visible), 409 a conflict \
                                (a full session, a quota, a stale write), 413 a frame too large, \
                                429 too many requests, 500 an unexpected failure, 503 the \
                                service is busy or its database unreachable (retry later).",
            }),
        ),
        (
            "EventStamp",
            json!({
                "type": "object",
                "description": "A frame's stamp: in a request, the client's correlation id; in \
                                an answer, the same id echoed and the service's time; in a push, \
                                the push number to resume after.",
                "properties": {
                    "id": {
                        "type": "string",
                        "maxLength": 128,
                        "description": "The request's correlation id (unique per user for 10 \
                                        minutes), echoed in its answer; a push's number.",
                    },
                    "date": {
                        "type": "integer",
                        "description": "When the frame was sent, in milliseconds since the \
                                        Unix epoch.",
                    },
                },
            }),
        ),
        (
            "WireError",
            json!({
                "type": "object",
                "description": "Whether a request failed, and why.",
                "required": ["status", "code", "message"],
                "properties": {
                    "status": { "type": "boolean", "description": "`true` for a failure." },
                    "code": schema_ref("ErrorCode"),
                    "message": {
                        "type": "string",
                        "description": "Empty on success, else what went wrong, naming the \
                                        field (`data.session.title`) where one is at fault.",
                    },
                },
            }),
        ),
    ]
}

/// A frame the client sends to `endpoint`, whose `data` is the component `data`.
fn request_frame(endpoint: &str, data: &str) -> Value {
    json!({
        "type": "object",
        "required": ["endpoint"],
        "properties": {
            "endpoint": { "type": "string", "const": endpoint },
            "data": schema_ref(data),
            "event": schema_ref("EventStamp"),
        },
    })
}

/// A frame the service sends, an answer to `endpoint` or a push, with `error` and
/// `event`; `data` names its component, `None` when the frame never has one.
fn answer_frame(endpoint: &str, data: Option<&str>) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "endpoint".into(),
        json!({ "type": "string", "const": endpoint }),
    );
    if let Some(data) = data {
        properties.insert("data".into(), schema_ref(data));
    }
    properties.insert("error".into(), schema_ref("WireError"));
    properties.insert("event".into(), schema_ref("EventStamp"));
    json!({
        "type": "object",
        "required": ["endpoint", "error", "event"],
        "properties": properties,
    })
}

/// A frame the service sends unasked with only `endpoint` and `data` (`None`: no `data`).
fn bare_frame(endpoint: &str, data: Option<&str>) -> Value {
    let mut frame = json!({
        "type": "object",
        "required": ["endpoint"],
        "properties": { "endpoint": { "type": "string", "const": endpoint } },
    });
    if let Some(data) = data {
        frame["required"] = json!(["endpoint", "data"]);
        frame["properties"]["data"] = schema_ref(data);
    }
    frame
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

/// Whether `schema` describes only `null`: a frame that never carries `data`.
fn is_null_only(schema: &Value) -> bool {
    schema.get("type") == Some(&json!("null"))
}

/// The document's schemas, messages and operations, filled from the registry.
#[derive(Default)]
struct Contents {
    schemas: Map<String, Value>,
    messages: Map<String, Value>,
    operations: Map<String, Value>,
}

impl Contents {
    /// Adds the component schema `name`.
    ///
    /// # Panics
    /// When `name` is taken by a different schema: two registrations or types claim one
    /// name, a build mistake the contract tests catch.
    fn add_schema(&mut self, name: &str, schema: Value) {
        match self.schemas.get(name) {
            Some(existing) if *existing != schema => {
                panic!("two different schemas are named {name} in the AsyncAPI document")
            }
            _ => {
                self.schemas.insert(name.to_owned(), schema);
            }
        }
    }

    /// Adds the data schema `schema` as `name`, unless it describes no data.
    fn add_data(&mut self, name: String, schema: Value) -> Option<String> {
        if is_null_only(&schema) {
            return None;
        }
        self.add_schema(&name, schema);
        Some(name)
    }

    /// Adds the message `key` with its frame schema, examples and texts.
    fn add_message(&mut self, key: &str, frame: Value, example: Value, texts: Value) {
        let frame_name = format!("{}Frame", type_stem(key));
        self.add_schema(&frame_name, frame);
        let mut message = json!({
            "name": key,
            "payload": schema_ref(&frame_name),
            "correlationId": { "$ref": "#/components/correlationIds/eventId" },
            "examples": [{ "name": "example", "payload": example }],
        });
        if let (Some(message), Value::Object(texts)) = (message.as_object_mut(), texts) {
            message.extend(texts);
        }
        self.messages.insert(key.to_owned(), message);
    }

    /// Takes the definitions `generator` collected, so that `$ref`s resolve.
    fn add_definitions(&mut self, generator: &mut SchemaGenerator) {
        for (name, schema) in generator.take_definitions(true) {
            self.add_schema(&name, schema);
        }
    }

    /// Adds the request side: the requests' `data` schemas and the definitions they
    /// refer to. A type that reads differently than it is written (a time accepted as
    /// text or a number, but written as a number) is named `…Input` on this side.
    fn add_request_side(&mut self, mut data: Map<String, Value>, definitions: Map<String, Value>) {
        let renamed: Map<String, Value> = definitions
            .iter()
            .filter(|(name, schema)| {
                self.schemas
                    .get(name.as_str())
                    .is_some_and(|written| written != *schema)
            })
            .map(|(name, _)| (name.clone(), json!(format!("{name}Input"))))
            .collect();
        for (name, mut schema) in definitions {
            rename_refs(&mut schema, &renamed);
            let name = renamed
                .get(&name)
                .and_then(Value::as_str)
                .map_or(name.clone(), str::to_owned);
            self.add_schema(&name, schema);
        }
        for (name, schema) in &mut data {
            rename_refs(schema, &renamed);
            self.add_schema(name, schema.take());
        }
    }
}

/// `schema` with its references to the components named in `renamed` pointed at their
/// new names.
fn rename_refs(schema: &mut Value, renamed: &Map<String, Value>) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::String(target)) = object.get_mut("$ref")
                && let Some(new_name) = target
                    .strip_prefix(&format!("#{SCHEMAS}"))
                    .and_then(|name| renamed.get(name))
                    .and_then(Value::as_str)
            {
                *target = format!("#{SCHEMAS}{new_name}");
            }
            object
                .values_mut()
                .for_each(|value| rename_refs(value, renamed));
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_refs(item, renamed)),
        _ => {}
    }
}

fn message_ref(key: &str) -> Value {
    json!({ "$ref": format!("#/channels/{CHANNEL}/messages/{key}") })
}

/// The `servers` entry for clients of the service at `public_url`: scheme and host apart,
/// and a path prefix (a service behind a proxy at `https://host/social`) as `pathname`.
fn server(public_url: &str) -> Value {
    let (protocol, rest) = match public_url.split_once("://") {
        Some(("https" | "wss", rest)) => ("wss", rest),
        Some((_, rest)) => ("ws", rest),
        None => ("ws", public_url),
    };
    let rest = rest.trim_end_matches('/');
    let (host, prefix) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let mut server = json!({
        "host": host,
        "protocol": protocol,
        "description": "The service. Authenticate the WebSocket upgrade with a bearer token \
                        or the `token` query parameter.",
        "security": [
            { "$ref": "#/components/securitySchemes/bearer" },
            { "$ref": "#/components/securitySchemes/token" },
        ],
    });
    if !prefix.is_empty()
        && let Some(server) = server.as_object_mut()
    {
        server.insert("pathname".into(), json!(prefix));
    }
    server
}

/// The document, for clients of the service at `public_url`.
pub fn document(public_url: &str) -> Value {
    let mut contents = Contents::default();
    for (name, schema) in envelope_schemas() {
        contents.add_schema(name, schema);
    }
    let mut requests = generator(true);
    let mut answers = generator(false);
    let mut request_schemas = Map::new();
    let channel_ref = json!({ "$ref": format!("#/channels/{CHANNEL}") });
    for registration in Registry::global().registrations() {
        let name = registration.name;
        let key = operation_key(name);
        let stem = type_stem(&key);
        let request_data = format!("{stem}Request");
        let request_schema = registration.request_schema_in(&mut requests).to_value();
        request_schemas.insert(request_data.clone(), request_schema);
        let answer_schema = registration.response_schema_in(&mut answers).to_value();
        let answer_data = contents.add_data(format!("{stem}Answer"), answer_schema);
        let (request_example, answer_example) = example_frames(name, &registration.example());
        let request_key = format!("{key}Request");
        let answer_key = format!("{key}Answer");
        contents.add_message(
            &request_key,
            request_frame(name, &request_data),
            request_example,
            json!({ "title": format!("{name} request") }),
        );
        contents.add_message(
            &answer_key,
            answer_frame(name, answer_data.as_deref()),
            answer_example,
            json!({
                "title": format!("{name} answer"),
                "summary": "The answer, with the request's event.id; on failure error.status \
                            is true and data is absent.",
            }),
        );
        contents.operations.insert(
            key.clone(),
            json!({
                "action": "send",
                "channel": channel_ref,
                "title": name,
                "description": registration.description(),
                "messages": [message_ref(&request_key)],
                "reply": { "channel": channel_ref, "messages": [message_ref(&answer_key)] },
            }),
        );
    }
    for push in Registry::global().pushes() {
        let name = push.name;
        let key = operation_key(name);
        let message_key = format!("{key}Push");
        let data_schema = push.data_schema_in(&mut answers).to_value();
        let data = contents.add_data(type_stem(&message_key), data_schema);
        let frame = if push.is_stamped() {
            answer_frame(name, data.as_deref())
        } else {
            bare_frame(name, data.as_deref())
        };
        contents.add_message(
            &message_key,
            frame,
            push.example(),
            json!({ "title": name, "summary": push.description }),
        );
        contents.operations.insert(
            key.clone(),
            json!({
                "action": "receive",
                "channel": channel_ref,
                "title": name,
                "description": push.description,
                "messages": [message_ref(&message_key)],
            }),
        );
    }
    contents.add_definitions(&mut answers);
    contents.add_request_side(request_schemas, requests.take_definitions(true));
    let channel_messages: Map<String, Value> = contents
        .messages
        .keys()
        .map(|key| {
            (
                key.clone(),
                json!({ "$ref": format!("#/components/messages/{key}") }),
            )
        })
        .collect();
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "social-events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": PROTOCOL,
        },
        "defaultContentType": "application/json",
        "servers": { "service": server(public_url) },
        "channels": {
            CHANNEL: {
                "address": ADDRESS,
                "title": "The WebSocket",
                "description": "Requests, their answers and pushes, as JSON text frames.",
                "messages": channel_messages,
            },
        },
        "operations": contents.operations,
        "components": {
            "schemas": contents.schemas,
            "messages": contents.messages,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "`Authorization: Bearer <token>` on the WebSocket upgrade.",
                },
                "token": {
                    "type": "httpApiKey",
                    "in": "query",
                    "name": "token",
                    "description": "`?token=<token>` on the WebSocket URL, for clients (browsers) \
                                    that cannot set headers.",
                },
            },
            "correlationIds": {
                "eventId": {
                    "description": "A request and its answer share `event.id`.",
                    "location": "$message.payload#/event/id",
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_splits_into_protocol_host_and_pathname() {
        let plain = server("https://social.example.test/");
        assert_eq!(plain["protocol"], "wss");
        assert_eq!(plain["host"], "social.example.test");
        assert!(plain.get("pathname").is_none());
        let prefixed = server("http://127.0.0.1:8080/social/");
        assert_eq!(prefixed["protocol"], "ws");
        assert_eq!(prefixed["host"], "127.0.0.1:8080");
        assert_eq!(prefixed["pathname"], "/social");
    }

    #[test]
    fn names_come_from_the_endpoint_name() {
        assert_eq!(operation_key("social:createEvent"), "createEvent");
        assert_eq!(operation_key("acme:ping"), "acmePing");
        assert_eq!(
            operation_key("acme.room-service:ping"),
            "acmeRoomServicePing"
        );
        assert_eq!(type_stem("createEventRequest"), "CreateEventRequest");
        assert_eq!(type_stem(""), "");
    }
}
