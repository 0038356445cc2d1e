//! `GET /asyncapi.json` and `social-events asyncapi`: the AsyncAPI 3.0 document lists every
//! registered endpoint with its module's description, request and reply, and every
//! registered push; its message schemas are valid JSON Schemas whose shared shapes are
//! named components, every message's example matches its schema, the document speaks of
//! the protocol (no code paths, no boolean schemas), and the command prints the same
//! document.

use serde_json::Value;
use social_events::api::endpoint::Registry;

use crate::helpers::spawn_app;

/// The served document.
pub async fn served(app: &crate::helpers::TestApp) -> Value {
    let response = reqwest::get(app.http_url("/asyncapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `social:createEvent` → `createEvent`: the key of an endpoint's operation and the stem
/// of its messages' keys.
pub fn key_of(endpoint: &str) -> &str {
    endpoint.strip_prefix("social:").unwrap()
}

/// The message `key` of `document`.
pub fn message<'a>(document: &'a Value, key: &str) -> &'a Value {
    let message = &document["components"]["messages"][key];
    assert!(message.is_object(), "no message {key}");
    message
}

/// A validator of the payload of message `key`, its references resolved against the
/// document's components; `strict`: no unknown keys allowed in any object.
pub fn payload_validator(document: &Value, key: &str, strict: bool) -> jsonschema::Validator {
    let mut root = message(document, key)["payload"].clone();
    let mut components = document["components"].clone();
    if strict {
        components = self::strict(&components);
    }
    root["components"] = components;
    jsonschema::validator_for(&root).unwrap_or_else(|error| panic!("{key}: {error}"))
}

#[tokio::test]
async fn every_registered_endpoint_and_push_is_in_the_document() {
    let app = spawn_app().await;
    let document = served(&app).await;
    assert_eq!(document["asyncapi"], "3.0.0");
    let server = &document["servers"]["service"];
    assert_eq!(server["protocol"], "wss");
    assert_eq!(server["host"], "social.example.test");
    assert!(server.get("pathname").is_none(), "{server}");
    assert_eq!(document["channels"]["api"]["address"], "/api/v0/ws");
    assert_eq!(server["security"].as_array().unwrap().len(), 2);
    for registration in Registry::global().registrations() {
        let name = registration.name;
        let key = key_of(name);
        assert!(
            registration.is_described_by_its_module(),
            "{name} is described by another module's text"
        );
        let operation = &document["operations"][key];
        assert_eq!(operation["action"], "send", "{name}");
        assert_eq!(operation["title"], name);
        let description = operation["description"].as_str().unwrap();
        assert!(!description.is_empty(), "{name} has no description");
        assert_eq!(description, registration.description());
        assert!(description.contains(name), "{name}: {description}");
        assert_eq!(
            operation["messages"][0]["$ref"],
            format!("#/channels/api/messages/{key}Request")
        );
        assert_eq!(
            operation["reply"]["messages"][0]["$ref"],
            format!("#/channels/api/messages/{key}Answer")
        );
        let request = message(&document, &format!("{key}Request"));
        assert_eq!(
            request["correlationId"]["$ref"],
            "#/components/correlationIds/eventId"
        );
        let frame = request["payload"]["$ref"].as_str().unwrap();
        let frame = &document["components"]["schemas"][frame.rsplit('/').next().unwrap()];
        assert_eq!(frame["properties"]["endpoint"]["const"], name);
        for key in [format!("{key}Request"), format!("{key}Answer")] {
            payload_validator(&document, &key, false);
        }
    }
    let pushes: Vec<&str> = Registry::global().pushes().map(|push| push.name).collect();
    for push in [
        "social:sessionUpdated",
        "social:sessionDeleted",
        "social:resync",
        "social:tokenExpired",
    ] {
        assert!(pushes.contains(&push), "{push} is not registered");
    }
    for push in Registry::global().pushes() {
        let key = key_of(push.name);
        let operation = &document["operations"][key];
        assert_eq!(operation["action"], "receive", "{key}");
        assert_eq!(operation["description"], push.description, "{key}");
        payload_validator(&document, &format!("{key}Push"), false);
    }
    // Every reference points at a component that exists.
    let mut problems = Vec::new();
    for_each_value(&document, "", &mut |path, value| {
        if let Some(target) = value.get("$ref").and_then(Value::as_str) {
            let pointer = target.strip_prefix('#').unwrap_or(target);
            if document.pointer(pointer).is_none() {
                problems.push(format!("{path}: {target} points nowhere"));
            }
        }
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A service behind a proxy at a path prefix: the prefix is the server's `pathname`,
/// never part of its `host`, and the channel's address stays the WebSocket's own path.
#[tokio::test]
async fn a_public_url_with_a_path_prefix_is_the_servers_pathname() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_social-events"))
        .args(["asyncapi", "--public-url", "http://127.0.0.1:8080/social/"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let server = &document["servers"]["service"];
    assert_eq!(server["protocol"], "ws");
    assert_eq!(server["host"], "127.0.0.1:8080");
    assert_eq!(server["pathname"], "/social");
    assert_eq!(document["channels"]["api"]["address"], "/api/v0/ws");
}

/// Calls `visit` with every object of `value` and its JSON Pointer.
fn for_each_value(value: &Value, path: &str, visit: &mut dyn FnMut(&str, &Value)) {
    match value {
        Value::Object(object) => {
            visit(path, value);
            for (key, child) in object {
                for_each_value(child, &format!("{path}/{key}"), visit);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                for_each_value(child, &format!("{path}/{index}"), visit);
            }
        }
        _ => {}
    }
}

/// Keywords whose value may be `true` or `false` without being a boolean schema.
const BOOLEAN_KEYWORDS: [&str; 7] = [
    "additionalProperties",
    "default",
    "const",
    "deprecated",
    "readOnly",
    "writeOnly",
    "uniqueItems",
];

/// The document is written for client developers and their tools: no description names a
/// module of the code or uses its link syntax, no schema is a bare `true` or `false` (code
/// generators refuse them), and every inline enum or object that a generator would have
/// to name is a named component instead.
#[tokio::test]
async fn the_document_speaks_of_the_protocol_and_suits_code_generators() {
    let app = spawn_app().await;
    let document = served(&app).await;
    let mut problems = Vec::new();
    for_each_value(&document, "", &mut |path, value| {
        let Value::Object(object) = value else {
            return;
        };
        for (key, child) in object {
            if let (Some(text), "description" | "summary") = (child.as_str(), key.as_str()) {
                let names_code = text.split_whitespace().any(|word| {
                    word.contains("::") || word.starts_with("[`") || word.contains("crate")
                });
                if names_code {
                    problems.push(format!("{path}/{key} names the code: {text}"));
                }
            }
            if child.is_boolean()
                && !path.contains("/examples/")
                && !BOOLEAN_KEYWORDS.contains(&key.as_str())
            {
                problems.push(format!("{path}/{key} is a boolean schema"));
            }
        }
    });
    for_each_value(
        &document["components"]["schemas"],
        "",
        &mut |path, value| {
            let is_property = path.rsplit('/').nth(1) == Some("properties");
            if is_property && value.get("enum").is_some() {
                problems.push(format!("{path}: an inline enum, unnamed for generators"));
            }
        },
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `schema` with no unknown keys allowed in its objects of listed properties: an example
/// with a misspelt or stale key fails.
fn strict(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => {
            let mut strict: serde_json::Map<String, Value> = object
                .iter()
                .map(|(key, value)| (key.clone(), self::strict(value)))
                .collect();
            if object.contains_key("properties") && !object.contains_key("additionalProperties") {
                strict.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            Value::Object(strict)
        }
        Value::Array(items) => Value::Array(items.iter().map(strict).collect()),
        other => other.clone(),
    }
}

/// Every message's example matches the message's schema, with no unknown keys, and every
/// example request is one its endpoint accepts (decoded and validated as a real request
/// would be).
#[tokio::test]
async fn every_example_matches_its_schema_and_its_endpoint() {
    let app = spawn_app().await;
    let document = served(&app).await;
    let messages = document["components"]["messages"].as_object().unwrap();
    assert_eq!(
        messages.len(),
        2 * Registry::global().registrations().count() + Registry::global().pushes().count()
    );
    assert_eq!(
        document["channels"]["api"]["messages"]
            .as_object()
            .unwrap()
            .len(),
        messages.len()
    );
    let mut problems = Vec::new();
    for (key, message) in messages {
        let examples = message["examples"].as_array().unwrap();
        assert!(!examples.is_empty(), "{key} has no example");
        let validator = payload_validator(&document, key, true);
        for example in examples {
            for error in validator.iter_errors(&example["payload"]) {
                problems.push(format!(
                    "{key} example at {}: {error}",
                    error.instance_path()
                ));
            }
        }
    }
    for registration in Registry::global().registrations() {
        let example = registration.example();
        let Value::Object(data) = example.request else {
            panic!(
                "{}: the example request is not an object",
                registration.name
            );
        };
        if let Err(error) = registration.check(data) {
            problems.push(format!("{} example request: {error}", registration.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check is not vacuous: an example that breaks its schema is caught.
    let validator = payload_validator(&document, "getSessionAnswer", true);
    let example = &messages["getSessionAnswer"]["examples"][0]["payload"];
    let mut broken = example.clone();
    broken["data"]["session"]["duration"] = Value::from("an hour");
    assert!(!validator.is_valid(&broken));
    let mut misspelt = example.clone();
    misspelt["data"]["session"]["titel"] = Value::from("Keynote");
    assert!(!validator.is_valid(&misspelt));
}

/// The bounds and required fields the README states are in the schemas, and hold no
/// more than the service: each field a create request's schema requires is one the
/// service refuses the request without, and a value at each stated bound is accepted by
/// the schema as by the service.
#[tokio::test]
async fn stated_bounds_and_required_fields_are_in_the_schemas() {
    let app = spawn_app().await;
    let document = served(&app).await;
    let schemas = &document["components"]["schemas"];
    let session = &schemas["NewSession"];
    assert_eq!(
        session["required"],
        serde_json::json!(["title", "startDate", "duration"])
    );
    assert_eq!(session["properties"]["duration"]["minimum"], 1);
    assert_eq!(session["properties"]["duration"]["maximum"], 604800);
    assert_eq!(session["properties"]["title"]["maxLength"], 200);
    assert_eq!(
        schemas["NewEvent"]["required"],
        serde_json::json!(["title", "startDate", "endDate"])
    );
    assert_eq!(
        schemas["Waitlisted"]["properties"]["position"]["minimum"],
        1
    );
    for (endpoint, object) in [
        ("social:createSession", "session"),
        ("social:createEvent", "event"),
    ] {
        let registration = Registry::global().find(endpoint).unwrap();
        let example = registration.example().request;
        let schema = &schemas[format!("{}Request", type_stem(key_of(endpoint)))];
        let shape = schema["properties"][object]["$ref"].as_str().unwrap();
        let shape = &schemas[shape.rsplit('/').next().unwrap()];
        for field in shape["required"].as_array().unwrap() {
            let field = field.as_str().unwrap();
            let mut request = example.clone();
            request[object].as_object_mut().unwrap().remove(field);
            let Value::Object(data) = request else {
                unreachable!()
            };
            let refused = registration.check(data).unwrap_err().to_string();
            assert!(
                refused.contains(&format!("data.{object}.{field}")),
                "{endpoint} without {field}: {refused}"
            );
        }
    }
}

/// `createEvent` → `CreateEvent`.
fn type_stem(key: &str) -> String {
    let mut characters = key.chars();
    let first = characters.next().unwrap().to_uppercase();
    first.chain(characters).collect()
}

#[tokio::test]
async fn the_command_prints_the_served_document() {
    let app = spawn_app().await;
    let document = served(&app).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_social-events"))
        .args(["asyncapi", "--public-url", "https://social.example.test"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, document);
}
