//! What the benchmarks share: a real `social-events serve` process, its CPU time from
//! `/proc`, and a loop that times one request after another. Each benchmark uses part of it.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bson::doc;
use serde_json::Value;
use social_events::token::TokenSigner;
use social_events::tools::embedded::EmbeddedDatabase;
use social_events::tools::replay::client::Client;

pub const SECRET: &str = "benchmark-secret-of-at-least-32-bytes";

/// A server process; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    /// `http://host:port`, for the HTTP routes.
    pub http: String,
    /// The address it listens on.
    pub address: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the release binary on database `db_name` of `mongodb_uri` and waits until
    /// it is ready. Rate limits are lifted: one client sends as fast as it can.
    pub async fn start(mongodb_uri: &str, db_name: &str) -> Server {
        Server::start_with(
            mongodb_uri,
            db_name,
            &[
                ("SOCIAL_RATE_LIMIT", "1000000"),
                ("SOCIAL_RATE_BURST", "1000000"),
            ],
        )
        .await
    }

    /// Starts the release binary as [`Server::start`] does, with the documented limits
    /// changed only by `settings` (environment variables).
    pub async fn start_with(mongodb_uri: &str, db_name: &str, settings: &[(&str, &str)]) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_social-events"))
            .arg("serve")
            .env("MONGODB_URI", mongodb_uri)
            .env("SOCIAL_DB", db_name)
            .env("SOCIAL_JWT_SECRET", SECRET)
            .env("SOCIAL_BIND", format!("127.0.0.1:{port}"))
            .envs(settings.iter().copied())
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("the server starts");
        let server = Server {
            child,
            url: format!("ws://127.0.0.1:{port}/api/v0/ws"),
            http: format!("http://127.0.0.1:{port}"),
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .map(|answer| answer.status().is_success())
            .ok()
            != Some(true)
        {
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// A connection as `user_id`.
    pub async fn connect(&self, user_id: &str) -> Client {
        Client::connect(&self.url, &token_for(user_id))
            .await
            .unwrap()
    }

    /// The process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Bytes of memory the server process holds (its resident set).
    pub fn resident_bytes(&self) -> u64 {
        resident_bytes_of(self.pid())
    }

    /// Seconds of CPU the server process has used.
    pub fn cpu_seconds(&self, ticks_per_second: f64) -> f64 {
        cpu_seconds_of(self.pid(), ticks_per_second)
    }

    /// The value of the unlabelled series `name` of the server's `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.http))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} is not among the server's metrics"))
    }
}

/// A token of `user_id` the benchmark servers accept, valid for an hour.
pub fn token_for(user_id: &str) -> String {
    TokenSigner::hs256(SECRET.as_bytes())
        .sign_for_user(user_id, 3600)
        .unwrap()
}

/// Seconds of CPU process `pid` has used.
pub fn cpu_seconds_of(pid: u32, ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("a /proc entry");
    // Fields after the command name, which ends with ')': utime is the 12th, stime the 13th.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / ticks_per_second
}

/// Bytes of memory process `pid` holds (its resident set).
pub fn resident_bytes_of(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's /proc entry");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib * 1024
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Clock ticks per second of `/proc` CPU times.
pub fn ticks_per_second() -> f64 {
    let output = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0)
}

/// A connection that sends a request and answers the response frame carrying its
/// `event.id`: the replay client, or the load tool's own.
pub trait Requester: Send + 'static {
    fn request(
        &mut self,
        endpoint: &str,
        data: Value,
    ) -> impl Future<Output = anyhow::Result<Value>> + Send;
}

impl Requester for Client {
    fn request(
        &mut self,
        endpoint: &str,
        data: Value,
    ) -> impl Future<Output = anyhow::Result<Value>> + Send {
        Client::request(self, endpoint, data)
    }
}

/// Sends a request that must succeed; answers its `data`.
/// A request answered `503` (the database was slow) is sent again, up to five times.
pub async fn ok(client: &mut impl Requester, endpoint: &str, data: Value) -> Value {
    let mut frame = client.request(endpoint, data.clone()).await.unwrap();
    for _ in 0..5 {
        if frame["error"]["code"] != 503 {
            break;
        }
        frame = client.request(endpoint, data.clone()).await.unwrap();
    }
    assert_eq!(frame["error"]["code"], 0, "{endpoint}: {frame}");
    frame["data"].clone()
}

/// A published event of `network`, created through `client` (an admin of it) and
/// lasting until 2100; answers its id.
pub async fn published_event(client: &mut Client, network: &str, title: &str) -> String {
    let event = ok(
        client,
        "social:createEvent",
        serde_json::json!({"source": format!("network:{network}"), "event": {
            "title": title, "startDate": "2030-01-01T00:00:00Z", "endDate": "2100-01-01T00:00:00Z",
        }}),
    )
    .await;
    let event_id = event["event"]["id"].as_str().unwrap().to_owned();
    ok(
        client,
        "social:publishEvent",
        serde_json::json!({"eventId": &event_id}),
    )
    .await;
    event_id
}

/// What one measured series of calls gave.
pub struct Figures {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub cpu_per_call: Duration,
}

impl Figures {
    pub fn print(&self, name: &str) {
        println!(
            "{name:<34} {:>9.1}/s  p50 {:>9.3?}  p99 {:>9.3?}  server CPU/call {:>9.3?}",
            self.per_second, self.p50, self.p99, self.cpu_per_call
        );
    }
}

/// Sends `calls` requests one after the other (after ten unmeasured ones), the `n`th made
/// by `request(n)`, each of which must succeed.
pub async fn measure(
    server: &Server,
    client: &mut Client,
    endpoint: &str,
    calls: usize,
    mut request: impl FnMut(usize) -> Value,
) -> Figures {
    let ticks = ticks_per_second();
    // Warm-up: connections, caches, the first page of code.
    for call in 0..10 {
        ok(client, endpoint, request(calls + call)).await;
    }
    let cpu_before = server.cpu_seconds(ticks);
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(calls);
    for call in 0..calls {
        let data = request(call);
        let timed = Instant::now();
        ok(client, endpoint, data).await;
        latencies.push(timed.elapsed());
    }
    let elapsed = started.elapsed();
    let cpu = server.cpu_seconds(ticks) - cpu_before;
    latencies.sort();
    Figures {
        per_second: calls as f64 / elapsed.as_secs_f64(),
        p50: latencies[calls / 2],
        p99: latencies[(calls * 99 / 100).min(calls - 1)],
        cpu_per_call: Duration::from_secs_f64(cpu / calls as f64),
    }
}

/// `BENCH_CALLS`, or `default`.
pub fn calls(default: usize) -> usize {
    std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(default)
}

/// The database the run uses, and what to call it in the report.
pub struct Database {
    pub uri: String,
    pub described: &'static str,
    _embedded: Option<EmbeddedDatabase>,
}

impl Database {
    pub fn open() -> Database {
        match std::env::var("BENCH_MONGODB_URI") {
            Ok(uri) => Database {
                uri,
                described: "the database server at BENCH_MONGODB_URI",
                _embedded: None,
            },
            Err(_) => {
                let storage =
                    std::env::temp_dir().join(format!("social-events-load-{}", std::process::id()));
                let embedded =
                    EmbeddedDatabase::start(std::path::Path::new(".venv"), &storage, true)
                        .expect("the embedded database starts (run from the repository root)");
                Database {
                    uri: embedded.uri().to_owned(),
                    described: "embedded SecantusDB (Python)",
                    _embedded: Some(embedded),
                }
            }
        }
    }
}

/// The database server's count of requests received, and its rate while nothing runs.
pub struct RoundTrips {
    admin: mongodb::Database,
    background_per_second: f64,
    /// Bytes the database receives a second while nothing runs (its own probes).
    pub background_bytes_per_second: f64,
}

impl RoundTrips {
    pub async fn connect(uri: &str) -> RoundTrips {
        let client = mongodb::Client::with_uri_str(uri).await.unwrap();
        let mut trips = RoundTrips {
            admin: client.database("admin"),
            background_per_second: 0.0,
            background_bytes_per_second: 0.0,
        };
        let (before, bytes_before, started) =
            (trips.count().await, trips.bytes_in().await, Instant::now());
        tokio::time::sleep(Duration::from_secs(2)).await;
        let during = trips.count().await - before - 1.0;
        let bytes_during = trips.bytes_in().await - bytes_before;
        let elapsed = started.elapsed().as_secs_f64();
        trips.background_per_second = (during / elapsed).max(0.0);
        trips.background_bytes_per_second = (bytes_during / elapsed).max(0.0);
        trips
    }

    pub async fn count(&self) -> f64 {
        self.network_counter("numRequests").await
    }

    /// Bytes the database server has received (`serverStatus.network.bytesIn`): what
    /// clients wrote to it, documents and commands.
    pub async fn bytes_in(&self) -> f64 {
        self.network_counter("bytesIn").await
    }

    async fn network_counter(&self, name: &str) -> f64 {
        let status = self
            .admin
            .run_command(doc! { "serverStatus": 1 })
            .await
            .unwrap();
        let network = status.get_document("network").unwrap();
        match network.get(name) {
            Some(bson::Bson::Int32(count)) => f64::from(*count),
            Some(bson::Bson::Int64(count)) => *count as f64,
            Some(bson::Bson::Double(count)) => *count,
            other => panic!("serverStatus.network.{name} is {other:?}"),
        }
    }

    /// Round trips per request between two counts taken `elapsed` apart.
    pub fn per_request(&self, before: f64, after: f64, elapsed: Duration, requests: usize) -> f64 {
        let background = self.background_per_second * elapsed.as_secs_f64();
        ((after - before - 1.0 - background) / requests as f64).max(0.0)
    }
}

/// The modes (or scenarios) named on the command line; none named means all.
pub struct Chosen(Vec<String>);

impl Chosen {
    pub fn from_args() -> Chosen {
        Chosen(
            std::env::args()
                .skip(1)
                .filter(|arg| !arg.starts_with("--"))
                .collect(),
        )
    }

    pub fn wants(&self, name: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|chosen| chosen == name)
    }
}
