//! One embedded database per test run, and one server per test on a fresh database
//! name, with its settings and a signer of tokens for it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::Value;
use social_events::domain::kinds::MembershipRole as Role;
use social_events::domain::source::Membership;
use social_events::http::server::Application;
use social_events::http::settings::{ConnectionLimits, Settings};
use social_events::push::PushMode;
use social_events::store::{DEFAULT_DEADLINE, Store};
use social_events::token::{Claims, TokenSigner, TokenVerifier};
use social_events::tools::embedded::EmbeddedDatabase;
use tokio_util::sync::CancellationToken;

use super::Client;

/// The HS256 secret of every test server.
pub const SECRET: &str = "integration-tests-secret-32-bytes-long";

/// The database server shared by every test of this run; stopped when the run ends.
pub(super) fn database_uri() -> &'static str {
    static DATABASE: OnceLock<EmbeddedDatabase> = OnceLock::new();
    DATABASE
        .get_or_init(|| {
            let storage = std::env::temp_dir().join(format!(
                "social-events-tests-{}",
                uuid::Uuid::now_v7().simple()
            ));
            EmbeddedDatabase::start(Path::new(".venv"), &storage, true)
                .expect("the embedded database starts")
        })
        .uri()
}

/// The URI of the database server shared by every test of this run (started at the first
/// call).
pub async fn shared_database_uri() -> String {
    tokio::task::spawn_blocking(database_uri)
        .await
        .expect("database start-up did not panic")
        .to_owned()
}

fn init_logs() {
    static LOGS: OnceLock<()> = OnceLock::new();
    LOGS.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Waiting for what no client can await (a change the server hears of through the
/// database, a database or service recovering): each `wait` pauses briefly, and fails
/// the test once its bound (ten seconds by default) has passed.
pub struct Patience {
    until: std::time::Instant,
}

impl Patience {
    pub fn new() -> Patience {
        Patience::of(Duration::from_secs(10))
    }

    /// Patience that fails the test after `bound` instead.
    pub fn of(bound: Duration) -> Patience {
        Patience {
            until: std::time::Instant::now() + bound,
        }
    }

    pub async fn wait(&self, what: &str) {
        assert!(
            std::time::Instant::now() < self.until,
            "{what} was never seen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A running server on its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db_name: String,
    pub push_mode: PushMode,
    /// The server's own store: what tests write through it the server sees at once.
    pub store: Store,
    /// The database server's address, for writing as the wider platform does.
    uri: String,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    signer: Arc<TokenSigner>,
}

/// Starts a server with the default settings on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The settings of a test server on a fresh database of the shared database server.
pub async fn test_settings() -> Settings {
    init_logs();
    let uri = tokio::task::spawn_blocking(database_uri)
        .await
        .expect("database start-up did not panic");
    Settings {
        bind: "127.0.0.1:0".to_owned(),
        mongodb_uri: uri.into(),
        db_name: format!("t_{}", uuid::Uuid::now_v7().simple()),
        db_timeout: DEFAULT_DEADLINE,
        tokens: TokenVerifier::hs256(SECRET.as_bytes()).unwrap(),
        public_url: "https://social.example.test".to_owned(),
        internal_secret: None,
        connection: ConnectionLimits::default(),
        development_tokens: None,
        calendar_feed_key: Some(social_events::domain::feed::FeedKey::derive(
            SECRET.as_bytes(),
        )),
        reminder_tick: Duration::from_secs(1),
    }
}

/// Starts a server on a fresh database after `configure` adjusted its settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings().await;
    configure(&mut settings);
    let uri = settings.mongodb_uri.expose_secret().to_owned();
    let db_name = settings.db_name.clone();
    let application = Application::build(settings)
        .await
        .expect("the server builds");
    let addr = application.local_addr();
    let push_mode = application.push_mode();
    let shutdown = application.shutdown_token();
    let store = application.store();
    let server = tokio::spawn(application.run());
    TestApp {
        uri,
        addr,
        db_name,
        push_mode,
        store,
        shutdown,
        server: Some(server),
        signer: Arc::new(TokenSigner::hs256(SECRET.as_bytes())),
    }
}

impl TestApp {
    /// A valid token for `user_id`.
    pub fn token(&self, user_id: &str) -> String {
        self.signer.sign_for_user(user_id, 3600).unwrap()
    }

    /// A token with the given claims.
    pub fn token_with(&self, claims: &Claims) -> String {
        self.signer.sign(claims).unwrap()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/v0/ws", self.addr)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The calendar invitation file of `session` as `user_id` fetches it.
    pub async fn invitation_file(&self, session: &Value, user_id: &str) -> String {
        reqwest::Client::new()
            .get(self.http_url(&format!(
                "/api/v0/resource/sessionInvitation/{}",
                session["id"].as_str().unwrap()
            )))
            .bearer_auth(self.token(user_id))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Opens a WebSocket as `user_id` with a Bearer header.
    pub async fn connect(&self, user_id: &str) -> Client {
        self.connect_with_token(&self.token(user_id)).await
    }

    pub async fn connect_with_token(&self, token: &str) -> Client {
        Client::connect(&self.ws_url(), token).await
    }

    /// A store of its own on the server's database: writes through it reach the server
    /// only as the wider platform's writes do, through the database.
    pub async fn platform(&self) -> Store {
        Store::connect(&self.uri, &self.db_name, DEFAULT_DEADLINE)
            .await
            .unwrap()
    }

    /// Makes `user_id` a member of a network (`community` None) or a community.
    pub async fn add_membership(
        &self,
        user_id: &str,
        network_id: &str,
        community_id: Option<&str>,
        role: Role,
    ) {
        self.store
            .upsert_membership(&Membership {
                user_id: user_id.to_owned(),
                network_id: network_id.to_owned(),
                community_id: community_id.map(str::to_owned),
                role,
            })
            .await
            .unwrap();
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A fresh id for networks, communities and users, unique across tests and runs.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}
