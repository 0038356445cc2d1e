//! The JSON Schemas each endpoint's registration carries describe what the service really
//! does: while every QA fixture is replayed, each successful request's `data` validates
//! against its endpoint's request schema and each successful answer's `data` against its
//! response schema.

use serde_json::Value;
use social_events::api::endpoint::Registry;
use social_events::token::TokenSigner;
use social_events::tools::replay::{Target, replay_file, scenario_files};

use crate::helpers::{SECRET, spawn_app};

#[tokio::test]
async fn real_requests_and_answers_match_the_registered_schemas() {
    let app = spawn_app().await;
    let target = Target {
        url: format!("ws://{}", app.addr),
        store: app.store.clone(),
        signer: TokenSigner::hs256(SECRET.as_bytes()),
    };
    let mut exchanges = Vec::new();
    for file in scenario_files(&[std::path::PathBuf::from("fixtures")]).unwrap() {
        let outcome = replay_file(&target, &file).await;
        assert!(outcome.passed(), "{}", outcome.report());
        exchanges.extend(outcome.exchanges);
    }
    let mut problems = Vec::new();
    // Every answer frame, failed or not, matches its message in the AsyncAPI document.
    let document = crate::asyncapi::served(&app).await;
    for exchange in &exchanges {
        if Registry::global().find(&exchange.endpoint).is_err() {
            continue;
        }
        let key = format!("{}Answer", crate::asyncapi::key_of(&exchange.endpoint));
        let validator = crate::asyncapi::payload_validator(&document, &key, false);
        for error in validator.iter_errors(&exchange.answer) {
            problems.push(format!(
                "{} answer frame at {}: {error}",
                exchange.endpoint,
                error.instance_path()
            ));
        }
    }
    let mut checked = std::collections::BTreeSet::new();
    for exchange in exchanges
        .iter()
        .filter(|exchange| exchange.answer["error"]["code"] == 0)
    {
        let Ok(registration) = Registry::global().find(&exchange.endpoint) else {
            continue;
        };
        let answered = exchange.answer.get("data").cloned().unwrap_or(Value::Null);
        for (what, schema, instance) in [
            ("request", registration.request_schema(), &exchange.data),
            ("answer", registration.response_schema(), &answered),
        ] {
            let schema = schema.to_value();
            let validator = jsonschema::validator_for(&schema)
                .unwrap_or_else(|error| panic!("{} {what} schema: {error}", exchange.endpoint));
            for error in validator.iter_errors(instance) {
                problems.push(format!(
                    "{} {what} at {}: {error}",
                    exchange.endpoint,
                    error.instance_path()
                ));
            }
        }
        checked.insert(exchange.endpoint.clone());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The schemas are not vacuous: an answer of the wrong shape is refused.
    let get_session = Registry::global().find("social:getSession").unwrap();
    let schema = get_session.response_schema().to_value();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(!validator.is_valid(&serde_json::json!({"session": {"id": 5}})));
    assert!(!validator.is_valid(&serde_json::json!({})));
    let registered: std::collections::BTreeSet<String> =
        Registry::global().names().map(str::to_owned).collect();
    assert_eq!(
        checked, registered,
        "every endpoint answered successfully at least once"
    );
}
