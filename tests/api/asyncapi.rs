//! `GET /asyncapi.json` and `social-events asyncapi`: the AsyncAPI 3.0 document lists every
//! registered endpoint with its module's description, request and reply, and the pushes;
//! its message schemas are valid JSON Schemas, and the command prints the same document.

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
    for push in [
        "social:sessionUpdated",
        "social:sessionDeleted",
        "social:resync",
        "social:tokenExpired",
    ] {
        assert_eq!(document["operations"][push]["action"], "receive", "{push}");
        jsonschema::validator_for(&messages[format!("{push}.push")]["payload"])
            .unwrap_or_else(|error| panic!("{push}: {error}"));
    }
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
