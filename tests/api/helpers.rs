//! Test harness: one embedded database per test run, one server per test on a fresh
//! database name, and a WebSocket client that speaks the envelope.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole as Role;
use social_events::domain::source::Membership;
use social_events::http::server::Application;
use social_events::http::settings::{ConnectionLimits, Settings};
use social_events::push::PushMode;
use social_events::store::{DEFAULT_DEADLINE, Store};
use social_events::token::{Claims, TokenSigner, TokenVerifier};
use social_events::tools::embedded::EmbeddedDatabase;
use social_events::tools::replay::client::ANSWER_TIMEOUT;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// The HS256 secret of every test server.
pub const SECRET: &str = "integration-tests-secret-32-bytes-long";

/// The database server shared by every test of this run; stopped when the run ends.
fn database_uri() -> &'static str {
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

/// The envelope client of the service's replay tool, with asserting shortcuts: a test
/// that gets no answer in time has failed.
pub struct Client(social_events::tools::replay::client::Client);

impl Client {
    /// Connects to a WebSocket URL with a Bearer token.
    pub async fn connect(url: &str, token: &str) -> Client {
        Client(
            social_events::tools::replay::client::Client::connect(url, token)
                .await
                .expect("the upgrade succeeds"),
        )
    }

    /// Connects, or answers why the upgrade failed (a refusal's status among it).
    pub async fn try_connect(url: &str, token: &str) -> Result<Client, String> {
        social_events::tools::replay::client::Client::connect(url, token)
            .await
            .map(Client)
            .map_err(|error| error.to_string())
    }

    /// Sends a request and answers its response frame; pushes in between are kept.
    pub async fn request(&mut self, endpoint: &str, data: Value) -> Value {
        self.0.request(endpoint, data).await.unwrap()
    }

    /// Sends a request that must succeed and answers its `data` (`Null` when absent).
    pub async fn ok(&mut self, endpoint: &str, data: Value) -> Value {
        let frame = self.request(endpoint, data).await;
        assert_eq!(
            frame["error"],
            json!({"status": false, "code": 0, "message": ""}),
            "{endpoint} failed: {frame}"
        );
        frame.get("data").cloned().unwrap_or(Value::Null)
    }

    /// Sends a request that must fail with `code` and answers the error message.
    pub async fn fails(&mut self, endpoint: &str, data: Value, code: u64) -> String {
        let frame = self.request(endpoint, data).await;
        assert_eq!(
            frame["error"]["status"], true,
            "{endpoint} should fail: {frame}"
        );
        assert_eq!(frame["error"]["code"], code, "{endpoint}: {frame}");
        assert!(
            frame.get("data").is_none(),
            "a failure carries no data: {frame}"
        );
        frame["error"]["message"].as_str().unwrap().to_owned()
    }

    pub async fn send_text(&mut self, text: String) {
        self.0.send_text(text).await.unwrap();
    }

    pub async fn send(&mut self, message: Message) {
        self.0.send(message).await.unwrap();
    }

    /// The next message of any kind, or `None` when the connection ended.
    pub async fn next_message(&mut self) -> Option<Message> {
        self.0.next_message().await.unwrap()
    }

    /// The next text frame, parsed (a kept one first).
    pub async fn next_frame(&mut self) -> Value {
        self.0.next_frame().await.unwrap()
    }

    /// The next push of `endpoint`, checking the push frame's shape.
    pub async fn next_push(&mut self, endpoint: &str) -> Value {
        let frame = self.next_frame().await;
        assert_eq!(
            frame["endpoint"], endpoint,
            "expected a {endpoint} push: {frame}"
        );
        assert_eq!(
            frame["error"],
            json!({"status": false, "code": 0, "message": ""})
        );
        assert!(
            frame["event"]["id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{frame}"
        );
        assert!(frame["event"]["date"].is_i64(), "{frame}");
        frame["data"].clone()
    }

    /// Every frame that arrived before a change of this client's own was pushed back:
    /// empty when no session push was sent to it (see the replay client for prop pushes).
    pub async fn frames_before_sentinel(&mut self) -> Vec<Value> {
        self.0.frames_before_sentinel().await.unwrap()
    }

    /// Waits for the close frame and answers its code (`None` when the connection ended
    /// without one).
    pub async fn close_code(&mut self) -> Option<u16> {
        self.0.close_code().await.unwrap()
    }
}

/// A network with an admin and a member, each connected.
pub struct Network {
    pub id: String,
    /// `network:{id}`.
    pub source: String,
    pub admin_id: String,
    pub admin: Client,
    pub member_id: String,
    pub member: Client,
}

/// Creates a network with one admin and one member, both connected.
pub async fn network(app: &TestApp) -> Network {
    let id = unique("net");
    let admin_id = unique("admin");
    let member_id = unique("member");
    app.add_membership(&admin_id, &id, None, Role::Admin).await;
    app.add_membership(&member_id, &id, None, Role::Member)
        .await;
    Network {
        admin: app.connect(&admin_id).await,
        member: app.connect(&member_id).await,
        source: format!("network:{id}"),
        id,
        member_id,
        admin_id,
    }
}

/// A valid `event` object for `createEvent`.
pub fn event_fields(title: &str) -> Value {
    json!({
        "title": title,
        "description": "A gathering",
        "startDate": 1_900_000_000_000_i64,
        "endDate": 1_900_003_600_000_i64,
        "previewResourceId": "res-1",
        "roomId": "room-1",
        "participantLimit": 10,
        "price": 0.0,
        "customData": {"venue": "Main hall"}
    })
}

/// Creates an event in `source` as `client` and answers it.
pub async fn create_event(client: &mut Client, source: &str, title: &str) -> Value {
    let data = client
        .ok(
            "social:createEvent",
            json!({"source": source, "event": event_fields(title), "formSchema": {}}),
        )
        .await;
    data["event"].clone()
}

/// A published event in `net`, created by its admin; answers the event.
pub async fn published_event(net: &mut Network, patch: Value) -> Value {
    let mut fields = event_fields("Conference");
    fields["endDate"] = json!(4_102_444_800_000_i64);
    for (key, value) in patch.as_object().cloned().unwrap_or_default() {
        fields[key] = value;
    }
    let data = net
        .admin
        .ok(
            "social:createEvent",
            json!({"source": net.source, "event": fields}),
        )
        .await;
    let id = data["event"]["id"].clone();
    let published = net
        .admin
        .ok("social:publishEvent", json!({"eventId": id}))
        .await;
    published["event"].clone()
}

/// A valid `session` object starting `starts_in_minutes` from now, lasting an hour.
pub fn session_fields(title: &str, starts_in_minutes: i64) -> Value {
    let start = chrono::Utc::now().timestamp_millis() + starts_in_minutes * 60_000;
    json!({
        "roomId": "room-1",
        "propId": "stage",
        "sessionType": 0,
        "title": title,
        "description": "Talk",
        "startDate": start,
        "duration": 3600,
        "isRecurring": false,
        "color": {"r": 0.5, "g": 0.25, "b": 1.0, "a": 1.0}
    })
}

/// Creates a session as `client` from `session` and `usersToInvite`; answers the session.
pub async fn create_session(client: &mut Client, session: Value, invite: Value) -> Value {
    let data = client
        .ok(
            "social:createSession",
            json!({"session": session, "usersToInvite": invite}),
        )
        .await;
    data["session"].clone()
}

/// Stores a user document directly, as the wider platform would.
pub async fn put_user(app: &TestApp, user: Value) {
    let user: social_events::domain::people::User = serde_json::from_value(user).unwrap();
    app.store.replace_user(&user).await.unwrap();
}

/// The ids of the users in a session's `joinedUsers`.
pub fn joined_ids(session: &Value) -> Vec<String> {
    session["joinedUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `(id, role, status)` of each entry of a session's `invitedUsers`.
pub fn invited(session: &Value) -> Vec<(String, i64, i64)> {
    session["invitedUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["user"]["id"].as_str().unwrap().to_owned(),
                entry["role"].as_i64().unwrap(),
                entry["status"].as_i64().unwrap(),
            )
        })
        .collect()
}

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
