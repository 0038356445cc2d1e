//! The integrator's binary, started for real on the embedded database: its own endpoint
//! answers over the WebSocket beside the service's, and is counted in `/metrics`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use social_events::token::TokenSigner;
use social_events::tools::embedded::EmbeddedDatabase;
use social_events::tools::replay::client::Client;

const SECRET: &str = "custom-endpoint-test-secret-of-32-bytes!";

/// The binary, killed when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_integrators_endpoint_is_served_and_counted_beside_the_services() {
    let storage =
        std::env::temp_dir().join(format!("custom-endpoint-{}", uuid::Uuid::now_v7().simple()));
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv");
    let database = tokio::task::spawn_blocking(move || {
        EmbeddedDatabase::start(&venv, &storage, true).expect("the embedded database starts")
    })
    .await
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut served = Served(
        Command::new(env!("CARGO_BIN_EXE_custom-endpoint"))
            .arg("serve")
            .env("MONGODB_URI", database.uri())
            .env("SOCIAL_DB", "custom_endpoint")
            .env("SOCIAL_BIND", addr.to_string())
            .env("SOCIAL_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("http://{addr}/healthz"))
        .await
        .is_err()
    {
        if let Some(status) = served.0.try_wait().unwrap() {
            panic!("the binary exited with {status}");
        }
        assert!(Instant::now() < deadline, "the binary did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let token = TokenSigner::hs256(SECRET.as_bytes())
        .sign_for_user("integrator", 600)
        .unwrap();
    let mut client = Client::connect(&format!("ws://{addr}/api/v0/ws"), &token)
        .await
        .unwrap();
    let answer = client
        .request("acme:ping", json!({"message": "hello"}))
        .await
        .unwrap();
    assert_eq!(answer["error"]["code"], 0, "{answer}");
    assert_eq!(answer["endpoint"], "acme:ping");
    assert_eq!(
        answer["data"],
        json!({"userId": "integrator", "echo": "hello"})
    );
    // Validated like the service's own endpoints.
    let refused = client
        .request("acme:ping", json!({"message": "x".repeat(10_000)}))
        .await
        .unwrap();
    assert_eq!(refused["error"]["code"], 400, "{refused}");
    // The service's endpoints are still there.
    let events = client
        .request("social:getEvents", json!({"source": "network:n"}))
        .await
        .unwrap();
    assert_eq!(events["error"]["code"], 0, "{events}");

    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"social_frames_total{endpoint="acme:ping",code="0"} 1"#),
        "{metrics}"
    );
    let document: serde_json::Value = reqwest::get(format!("http://{addr}/asyncapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ping = &document["operations"]["acmePing"];
    assert_eq!(ping["action"], "send");
    assert!(
        ping["description"]
            .as_str()
            .unwrap()
            .starts_with("`acme:ping`"),
        "{ping}"
    );
    assert_eq!(ping["title"], "acme:ping");
    let example = &document["components"]["messages"]["acmePingRequest"]["examples"][0];
    assert_eq!(example["payload"]["data"]["message"], "hello");
}
