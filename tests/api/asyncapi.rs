//! `GET /asyncapi.json` and `social-events asyncapi`: the AsyncAPI 3.0 document lists every
//! registered endpoint with its module's description, request and reply, and every
//! registered push; its message schemas are valid JSON Schemas, every message's example
//! matches its schema, and the command prints the same document.

use serde_json::Value;
use social_events::api::endpoint::Registry;

use crate::helpers::spawn_app;

/// The served document.
pub async fn served(app: &crate::helpers::TestApp) -> Value {
    let response = reqwest::get(app.http_url("/asyncapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_registered_endpoint_and_push_is_in_the_document() {
    let app = spawn_app().await;
    let document = served(&app).await;
    assert_eq!(document["asyncapi"], "3.0.0");
    assert_eq!(document["servers"]["service"]["protocol"], "wss");
    assert_eq!(
        document["servers"]["service"]["host"],
        "social.example.test"
    );
    let messages = &document["channels"]["api"]["messages"];
    for registration in Registry::global().registrations() {
        let name = registration.name;
        assert!(
            registration.is_described_by_its_module(),
            "{name} is described by another module's text"
        );
        let operation = &document["operations"][name];
        assert_eq!(operation["action"], "send", "{name}");
        let description = operation["description"].as_str().unwrap();
        assert!(!description.is_empty(), "{name} has no description");
        assert_eq!(description, registration.description());
        assert!(description.contains(name), "{name}: {description}");
        let request = &messages[format!("{name}.request")]["payload"];
        assert_eq!(request["properties"]["endpoint"]["const"], name);
        let mut schema = registration.request_schema().to_value();
        schema.as_object_mut().unwrap().remove("$schema");
        schema.as_object_mut().unwrap().remove("title");
        assert_eq!(request["properties"]["data"], schema, "{name}");
        assert_eq!(
            operation["reply"]["messages"][0]["$ref"],
            format!("#/channels/api/messages/{name}.answer")
        );
        for key in [format!("{name}.request"), format!("{name}.answer")] {
            jsonschema::validator_for(&messages[&key]["payload"])
                .unwrap_or_else(|error| panic!("{key}: {error}"));
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
        let name = push.name;
        let operation = &document["operations"][name];
        assert_eq!(operation["action"], "receive", "{name}");
        assert_eq!(operation["description"], push.description, "{name}");
        jsonschema::validator_for(&messages[format!("{name}.push")]["payload"])
            .unwrap_or_else(|error| panic!("{name}: {error}"));
    }
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
    let messages = document["channels"]["api"]["messages"].as_object().unwrap();
    assert_eq!(
        messages.len(),
        2 * Registry::global().registrations().count() + Registry::global().pushes().count()
    );
    let mut problems = Vec::new();
    for (key, message) in messages {
        let examples = message["examples"].as_array().unwrap();
        assert!(!examples.is_empty(), "{key} has no example");
        let validator = jsonschema::validator_for(&strict(&message["payload"])).unwrap();
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
    let validator =
        jsonschema::validator_for(&strict(&messages["social:getSession.answer"]["payload"]))
            .unwrap();
    let example = &messages["social:getSession.answer"]["examples"][0]["payload"];
    let mut broken = example.clone();
    broken["data"]["session"]["duration"] = Value::from("an hour");
    assert!(!validator.is_valid(&broken));
    let mut misspelt = example.clone();
    misspelt["data"]["session"]["titel"] = Value::from("Keynote");
    assert!(!validator.is_valid(&misspelt));
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
