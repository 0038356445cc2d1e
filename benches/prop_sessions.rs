//! `getPropSessions` with a prop full of the costliest recurring sessions the limits allow,
//! against a baseline prop of single sessions, measured in the same run on a real server
//! process and the embedded database.
//!
//! `cargo bench --bench prop_sessions` (release build). Prints, for each prop: answers per
//! second, p50 and p99 latency, and the server process's CPU time per call (read from
//! `/proc`), which is steady where wall-clock figures vary on a shared machine; then the
//! ratio of the worst prop to the baseline. `BENCH_CALLS` sets the calls per prop.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use social_events::tools::embedded::EmbeddedDatabase;
use social_events::tools::replay::client::Client;
use social_events::tools::token::TokenSigner;

const SECRET: &str = "benchmark-secret-of-at-least-32-bytes";
/// Recurring sessions at the worst prop: the most `getPropSessions` considers.
const SESSIONS_PER_PROP: usize = 200;

/// The costliest recurring shapes the write-time rules allow, all started in 1971-1972:
/// sparse rules walk many days per occurrence, counted ones must find their place.
const WORST_RULES: [(&str, &str); 5] = [
    (
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29",
        "1972-01-01T09:00:00.123Z",
    ),
    (
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=900",
        "1971-03-01T09:00:00Z",
    ),
    (
        "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=1000",
        "1971-01-01T09:00:00Z",
    ),
    (
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU",
        "1971-01-01T09:00:00Z",
    ),
    ("FREQ=MONTHLY;BYDAY=-1FR;INTERVAL=7", "1971-01-01T09:00:00Z"),
];

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Seconds of CPU the server process has used.
    fn cpu_seconds(&self, ticks_per_second: f64) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("the server's /proc entry");
        // Fields after the command name, which ends with ')': utime is the 12th, stime the 13th.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / ticks_per_second
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ticks_per_second() -> f64 {
    let output = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0)
}

async fn start_server(mongodb_uri: &str) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_social-events"))
        .arg("serve")
        .env("MONGODB_URI", mongodb_uri)
        .env("SOCIAL_DB", "bench")
        .env("SOCIAL_JWT_SECRET", SECRET)
        .env("SOCIAL_BIND", format!("127.0.0.1:{port}"))
        .env("SOCIAL_RATE_LIMIT", "1000000")
        .env("SOCIAL_RATE_BURST", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the server starts");
    let server = Server {
        child,
        url: format!("ws://127.0.0.1:{port}/api/v0/ws"),
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

async fn ok(client: &mut Client, endpoint: &str, data: Value) -> Value {
    let frame = client.request(endpoint, data).await.unwrap();
    assert_eq!(frame["error"]["code"], 0, "{endpoint}: {frame}");
    frame["data"].clone()
}

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_call: Duration,
}

async fn measure(
    server: &Server,
    client: &mut Client,
    prop: &str,
    calls: usize,
    ticks: f64,
) -> Figures {
    let request = json!({"roomId": "bench-room", "propId": prop});
    // Warm-up: connections, caches, the first page of code.
    for _ in 0..10 {
        ok(client, "social:getPropSessions", request.clone()).await;
    }
    let cpu_before = server.cpu_seconds(ticks);
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let call = Instant::now();
        ok(client, "social:getPropSessions", request.clone()).await;
        latencies.push(call.elapsed());
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

fn print(name: &str, figures: &Figures) {
    println!(
        "{name:<34} {:>9.1}/s  p50 {:>9.3?}  p99 {:>9.3?}  server CPU/call {:>9.3?}",
        figures.per_second, figures.p50, figures.p99, figures.cpu_per_call
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let storage = std::env::temp_dir().join(format!("social-events-bench-{}", std::process::id()));
    let database = EmbeddedDatabase::start(Path::new(".venv"), &storage, true)
        .expect("the embedded database starts (run from the repository root)");
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(200);
    runtime.block_on(async {
        let server = start_server(database.uri()).await;
        let token = TokenSigner::hs256(SECRET.as_bytes()).sign_for_user("bench-owner", 3600).unwrap();
        let mut client = Client::connect(&server.url, &token).await.unwrap();
        let soon = chrono::Utc::now().timestamp_millis() + 3_600_000;
        for index in 0..SESSIONS_PER_PROP {
            let (rule, start) = WORST_RULES[index % WORST_RULES.len()];
            let session = json!({
                "roomId": "bench-room", "propId": "worst", "title": format!("worst {index}"),
                "startDate": start, "duration": 3600, "isRecurring": true, "recurrence": rule,
            });
            ok(&mut client, "social:createSession", json!({"session": session})).await;
            let single = json!({
                "roomId": "bench-room", "propId": "baseline", "title": format!("single {index}"),
                "startDate": soon + index as i64 * 60_000, "duration": 60,
            });
            ok(&mut client, "social:createSession", json!({"session": single})).await;
        }
        let ticks = ticks_per_second();
        println!("getPropSessions, {SESSIONS_PER_PROP} sessions per prop, {calls} calls each, one client, embedded SecantusDB (Python)");
        let baseline = measure(&server, &mut client, "baseline", calls, ticks).await;
        print("baseline: single sessions", &baseline);
        let worst = measure(&server, &mut client, "worst", calls, ticks).await;
        print("worst recurring shapes", &worst);
        println!(
            "ratio worst/baseline: CPU/call {:.2}, p50 {:.2}",
            worst.cpu_per_call.as_secs_f64() / baseline.cpu_per_call.as_secs_f64().max(1e-9),
            worst.p50.as_secs_f64() / baseline.p50.as_secs_f64().max(1e-9),
        );
    });
}
