//! A client in another language: Python's `websockets` (`tests/clients/python_client.py`),
//! with its defaults, agrees on permessage-deflate with the service and receives a push,
//! compressed, as the service sent it.
//!
//! The library is installed into the embedded database's Python environment (`.venv`)
//! from `tests/clients/requirements.txt` on first use.

use std::path::Path;
use std::process::Stdio;
use std::sync::OnceLock;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{create_session, session_fields, spawn_app, unique};

/// The Python of `.venv`, with `websockets` installed.
fn python() -> &'static Path {
    static PYTHON: OnceLock<&'static Path> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = Path::new(".venv/bin/python");
        let installed = std::process::Command::new(python)
            .args(["-c", "import websockets"])
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            let output = std::process::Command::new(python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["-r", "tests/clients/requirements.txt"])
                .output()
                .expect("pip runs");
            assert!(
                output.status.success(),
                "installing websockets: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        python
    })
}

#[tokio::test]
async fn pythons_websockets_agrees_on_compression_and_receives_a_push() {
    let app = spawn_app().await;
    let user = unique("python");
    let python = tokio::task::spawn_blocking(python).await.unwrap();
    let url = format!("{}?token={}", app.ws_url(), app.token(&user));
    let mut client = tokio::process::Command::new(python)
        .args(["tests/clients/python_client.py", &url, "Python keynote"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python runs");
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let connected = line == "connected";
        printed.push(line);
        if connected {
            break;
        }
    }
    assert!(
        printed.contains(&"extensions permessage-deflate".to_owned()),
        "{printed:?}"
    );
    let mut owner = app.connect(&unique("owner")).await;
    let invitee = json!([{ "userId": user }]);
    create_session(&mut owner, session_fields("Python keynote", 60), invitee).await;
    while let Some(line) = lines.next_line().await.unwrap() {
        printed.push(line);
    }
    let status = client.wait().await.unwrap();
    assert!(status.success(), "{printed:?}");
    assert!(
        printed.contains(&"pushed Python keynote".to_owned()),
        "{printed:?}"
    );
}
