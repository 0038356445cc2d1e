//! What the benchmarks share: a real `social-events serve` process, its CPU time from
//! `/proc`, and a loop that times one request after another. Each benchmark uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use social_events::tools::replay::client::Client;
use social_events::tools::token::TokenSigner;

pub const SECRET: &str = "benchmark-secret-of-at-least-32-bytes";

/// A server process; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
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
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_social-events"))
            .arg("serve")
            .env("MONGODB_URI", mongodb_uri)
            .env("SOCIAL_DB", db_name)
            .env("SOCIAL_JWT_SECRET", SECRET)
            .env("SOCIAL_BIND", format!("127.0.0.1:{port}"))
            .env("SOCIAL_RATE_LIMIT", "1000000")
            .env("SOCIAL_RATE_BURST", "1000000")
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
        let token = TokenSigner::hs256(SECRET.as_bytes())
            .sign_for_user(user_id, 3600)
            .unwrap();
        Client::connect(&self.url, &token).await.unwrap()
    }

    /// Bytes of memory the server process holds (its resident set).
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc entry");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status");
        kib * 1024
    }

    /// Seconds of CPU the server process has used.
    pub fn cpu_seconds(&self, ticks_per_second: f64) -> f64 {
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

/// Clock ticks per second of `/proc` CPU times.
pub fn ticks_per_second() -> f64 {
    let output = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0)
}

/// Sends a request that must succeed; answers its `data`.
pub async fn ok(client: &mut Client, endpoint: &str, data: Value) -> Value {
    let frame = client.request(endpoint, data).await.unwrap();
    assert_eq!(frame["error"]["code"], 0, "{endpoint}: {frame}");
    frame["data"].clone()
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
