//! A `social-events serve` process of its own, for tests of the binary and of several
//! processes on one database.

use std::net::SocketAddr;
use std::time::Duration;

use social_events::token::TokenSigner;
use social_events::tools::replay::client::ANSWER_TIMEOUT;

use super::app::database_uri;
use super::{Client, SECRET};

/// A `social-events serve` process of its own.
pub struct ServeProcess {
    pub addr: SocketAddr,
    /// The database server it uses.
    pub mongodb_uri: String,
    child: std::process::Child,
}

impl ServeProcess {
    /// Starts the real binary on database `db_name` of the shared database server and
    /// waits until it answers.
    pub async fn start(db_name: &str) -> ServeProcess {
        let uri = tokio::task::spawn_blocking(database_uri).await.unwrap();
        Self::start_on(uri, db_name).await
    }

    /// Starts the real binary on database `db_name` of the server at `uri`.
    pub async fn start_on(uri: &str, db_name: &str) -> ServeProcess {
        let mut process = Self::launch(
            &[
                ("MONGODB_URI", uri),
                ("SOCIAL_DB", db_name),
                ("RUST_LOG", "warn"),
            ],
            std::process::Stdio::inherit(),
        )
        .await;
        process.mongodb_uri = uri.to_owned();
        process
    }

    /// Starts the real binary with `environment` (besides the bind address and the test
    /// secret) and waits until it answers `/healthz`; its standard error goes to `stderr`.
    pub async fn launch(environment: &[(&str, &str)], stderr: std::process::Stdio) -> ServeProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_social-events"))
            .arg("serve")
            .env("SOCIAL_BIND", addr.to_string())
            .env("SOCIAL_JWT_SECRET", SECRET)
            .envs(environment.iter().copied())
            .stdin(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the server binary starts");
        let process = ServeProcess {
            addr,
            mongodb_uri: String::new(),
            child,
        };
        let health = format!("http://{addr}/healthz");
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while reqwest::get(&health).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server process did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    /// Opens a WebSocket to this process as `user_id`.
    pub async fn connect(&self, user_id: &str) -> Client {
        Client::connect(&self.ws_url(), &self.token(user_id)).await
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/v0/ws", self.addr)
    }

    pub fn token(&self, user_id: &str) -> String {
        TokenSigner::hs256(SECRET.as_bytes())
            .sign_for_user(user_id, 3600)
            .unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The standard error of a process launched with `Stdio::piped()`.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// Kills the process with SIGKILL: no shutdown, no flush, nothing finished.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
