//! The envelope and the connection: every frame gets exactly one documented answer, and
//! bad input never harms the connection, other connections or the server.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use social_events::tools::embedded::EmbeddedDatabase;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Client, spawn_app, spawn_app_with, unique};

/// The connection still answers a well-formed request.
async fn assert_healthy(client: &mut Client) {
    let data = client
        .ok("social:getEvents", json!({"source": "network:n"}))
        .await;
    assert_eq!(data, json!({"events": []}));
}

#[tokio::test]
async fn a_response_echoes_the_endpoint_and_event_id_with_the_server_time() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let before = chrono::Utc::now().timestamp_millis();
    client
        .send_text(r#"{"endpoint":"social:getEvents","data":{"source":"network:x"},"event":{"id":"c-17","date":1}}"#.into())
        .await;
    let frame = client.next_frame().await;
    assert_eq!(frame["endpoint"], "social:getEvents");
    assert_eq!(frame["event"]["id"], "c-17");
    let date = frame["event"]["date"].as_i64().unwrap();
    assert!(date >= before && date <= chrono::Utc::now().timestamp_millis());
    assert_eq!(
        frame["error"],
        json!({"status": false, "code": 0, "message": ""})
    );
    assert_eq!(frame["data"], json!({"events": []}));
}

#[tokio::test]
async fn a_frame_that_is_not_json_gets_400_and_the_connection_stays_open() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    client.send_text("{this is not json".into()).await;
    let frame = client.next_frame().await;
    assert_eq!(frame["error"]["code"], 400);
    assert_eq!(frame["error"]["status"], true);
    assert!(
        frame["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("frame is not valid JSON")
    );
    assert!(frame.get("data").is_none());
    assert_healthy(&mut client).await;
}

#[tokio::test]
async fn a_binary_frame_gets_400_and_the_connection_stays_open() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    client
        .send(Message::binary(
            b"{\"endpoint\":\"social:getEvents\"}".to_vec(),
        ))
        .await;
    let frame = client.next_frame().await;
    assert_eq!(frame["error"]["code"], 400);
    assert!(
        frame["error"]["message"]
            .as_str()
            .unwrap()
            .contains("binary frames")
    );
    assert_healthy(&mut client).await;
}

#[tokio::test]
async fn a_frame_without_endpoint_gets_400_echoing_the_event_id() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    for (frame, message) in [
        (
            json!({"data": {}, "event": {"id": "e-1"}}),
            "endpoint: is required",
        ),
        (
            json!({"endpoint": 5, "event": {"id": "e-1"}}),
            "endpoint: invalid: must be a string of 1 to 64 bytes of letters, digits and : _ . -",
        ),
    ] {
        client.send_text(frame.to_string()).await;
        let answer = client.next_frame().await;
        assert_eq!(answer["error"]["code"], 400);
        assert_eq!(answer["error"]["message"], message);
        assert_eq!(answer["event"]["id"], "e-1");
    }
    client.send_text("[1,2,3]".into()).await;
    assert_eq!(client.next_frame().await["error"]["code"], 400);
    client
        .send_text(r#"{"endpoint":"social:getEvent","data":"x","event":{"id":"e-2"}}"#.into())
        .await;
    let answer = client.next_frame().await;
    assert_eq!(answer["error"]["message"], "data: must be an object");
    assert_eq!(answer["event"]["id"], "e-2");
    assert_healthy(&mut client).await;
}

#[tokio::test]
async fn an_unknown_endpoint_gets_404_naming_the_served_ones() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let frame = client.request("social:launchRocket", json!({})).await;
    assert_eq!(frame["endpoint"], "social:launchRocket");
    assert_eq!(frame["error"]["code"], 404);
    let message = frame["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("social:launchRocket") && message.contains("social:getEvent"),
        "{message}"
    );
    assert_healthy(&mut client).await;
}

#[tokio::test]
async fn an_oversized_frame_gets_413_and_close_1009_while_others_are_unaffected() {
    let app = spawn_app().await;
    let mut bystander = app.connect(&unique("bystander")).await;
    let mut client = app.connect(&unique("big")).await;
    let padding = "x".repeat(1024 * 1024 + 1);
    client
        .send_text(json!({"endpoint": "social:getEvents", "data": {"source": padding}, "event": {"id": "big-1"}}).to_string())
        .await;
    let frame = client.next_frame().await;
    assert_eq!(frame["error"]["code"], 413);
    assert_eq!(
        frame["event"]["id"], "big-1",
        "a frame read whole is answered with its id"
    );
    assert_eq!(frame["endpoint"], "social:getEvents");
    assert_eq!(client.close_code().await, Some(1009));
    assert_healthy(&mut bystander).await;
    let mut next = app.connect(&unique("next")).await;
    assert_healthy(&mut next).await;
}

#[tokio::test]
async fn a_frame_just_under_the_limit_is_processed() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let padding = "x".repeat(1000 * 1024);
    let frame = client
        .request(
            "social:getEvents",
            json!({"source": "network:n", "padding": padding}),
        )
        .await;
    assert_eq!(frame["error"]["code"], 0, "unknown fields are ignored");
}

#[tokio::test]
async fn requests_on_one_connection_are_answered_once_each_and_correlated_by_id() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    let ids: BTreeSet<String> = (0..20).map(|index| format!("p-{index}")).collect();
    for id in &ids {
        let frame = json!({"endpoint": "social:getEvents", "data": {"source": "network:n"}, "event": {"id": id}});
        client.send_text(frame.to_string()).await;
    }
    let mut answered = BTreeSet::new();
    for _ in 0..ids.len() {
        let frame = client.next_frame().await;
        assert!(answered.insert(frame["event"]["id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(answered, ids);
}

#[tokio::test]
async fn requests_beyond_the_rate_limit_get_429_and_the_connection_stays_open() {
    // A burst of 4: one for the upgrade, three for requests.
    let app = spawn_app_with(|settings| {
        settings.connection.requests_per_second = 1;
        settings.connection.burst = 4;
    })
    .await;
    let mut client = app.connect(&unique("u")).await;
    for index in 0..5 {
        let frame = json!({"endpoint": "social:getEvents", "data": {"source": "network:n"}, "event": {"id": index.to_string()}});
        client.send_text(frame.to_string()).await;
    }
    let mut codes = Vec::new();
    for _ in 0..5 {
        let frame = client.next_frame().await;
        codes.push((
            frame["event"]["id"].as_str().unwrap().to_owned(),
            frame["error"]["code"].clone(),
        ));
    }
    codes.sort_by(|a, b| a.0.cmp(&b.0));
    let codes: Vec<Value> = codes.into_iter().map(|(_, code)| code).collect();
    assert_eq!(
        codes,
        [json!(0), json!(0), json!(0), json!(429), json!(429)]
    );
    // Still open: a ping (which spends no request) is answered.
    client.send(Message::Ping(b"alive".to_vec().into())).await;
    assert!(matches!(
        client.next_message().await,
        Some(Message::Pong(_))
    ));
}

#[tokio::test]
async fn health_and_readiness_answer_over_http() {
    let app = spawn_app().await;
    let health = reqwest::get(app.http_url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(app.http_url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn shutdown_closes_connections_with_1001() {
    let app = spawn_app().await;
    let mut client = app.connect(&unique("u")).await;
    assert_healthy(&mut client).await;
    app.stop().await;
    assert_eq!(client.close_code().await, Some(1001));
}

#[tokio::test]
async fn a_database_outage_answers_503_and_keeps_the_connection_open() {
    let storage = std::env::temp_dir().join(format!(
        "social-events-outage-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let database = tokio::task::spawn_blocking(move || {
        EmbeddedDatabase::start(Path::new(".venv"), &storage, true).unwrap()
    })
    .await
    .unwrap();
    let uri = database.uri().to_owned();
    let app = spawn_app_with(|settings| settings.mongodb_uri = uri.into()).await;
    let mut client = app.connect(&unique("u")).await;
    assert_healthy(&mut client).await;

    tokio::task::spawn_blocking(move || database.stop())
        .await
        .unwrap();
    // Requests that need the database (the caller's memberships may still be in memory).
    let message = client
        .fails("social:getEvent", json!({"eventId": "x"}), 503)
        .await;
    assert!(message.contains("may be retried"), "{message}");
    let ready = reqwest::get(app.http_url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    client
        .fails("social:getSession", json!({"sessionId": "y"}), 503)
        .await;
}

#[tokio::test]
async fn a_frame_far_beyond_the_limit_gets_413_and_close_1009() {
    let app = spawn_app_with(|settings| settings.connection.max_frame_bytes = 64 * 1024).await;
    for size in [1024 * 1024, 16 * 1024 * 1024] {
        let mut client = app.connect(&unique("huge")).await;
        let padding = "x".repeat(size);
        client
            .send_text(
                json!({"endpoint": "social:getEvents", "data": {"source": padding}}).to_string(),
            )
            .await;
        let frame = client.next_frame().await;
        assert_eq!(frame["error"]["code"], 413, "{size} bytes");
        assert_eq!(client.close_code().await, Some(1009), "{size} bytes");
    }
    let mut next = app.connect(&unique("next")).await;
    assert_healthy(&mut next).await;
}
