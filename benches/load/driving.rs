//! What every mode of the load tool drives with: settings, clients in parallel, the raw
//! driver's baseline, and the sessions the modes create.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::Document;
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use social_events::tools::replay::client::Client;

use crate::common::{Requester, Server, ok};

/// The network of every user of the load tool.
pub const NETWORK: &str = "load-net";
/// The room every session is in.
pub const ROOM: &str = "load-room";

/// The value of the environment variable `name`, or `default`.
pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// What one series measured.
pub struct Series {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Series {
    pub fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> Series {
        latencies.sort();
        let count = latencies.len();
        Series {
            per_second: count as f64 / elapsed.as_secs_f64(),
            p50: latencies[count / 2],
            p99: latencies[(count * 99 / 100).min(count - 1)],
        }
    }
}

/// One request of one client: its endpoint and data.
pub type Plan = Arc<dyn Fn(usize, usize) -> (&'static str, Value) + Send + Sync>;

/// Runs `calls` requests on each client at once (client `c`'s `n`th is `plan(c, n)`);
/// answers the clients and the latencies.
pub async fn drive<C: Requester>(
    clients: Vec<C>,
    calls: usize,
    plan: Plan,
) -> (Vec<C>, Vec<Duration>) {
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            let plan = Arc::clone(&plan);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(calls);
                for call in 0..calls {
                    let (endpoint, data) = plan(index, call);
                    let started = Instant::now();
                    ok(&mut client, endpoint, data).await;
                    latencies.push(started.elapsed());
                }
                (client, latencies)
            })
        })
        .collect();
    let mut clients = Vec::new();
    let mut latencies = Vec::new();
    for task in tasks {
        let (client, measured) = task.await.unwrap();
        clients.push(client);
        latencies.extend(measured);
    }
    (clients, latencies)
}

/// The raw driver's work for one request.
pub type RawPlan = Arc<
    dyn Fn(mongodb::Database, usize, usize) -> futures_util::future::BoxFuture<'static, ()>
        + Send
        + Sync,
>;

/// Runs `calls` of the raw driver's work on each of `clients` tasks at once: the
/// baseline of a series.
pub async fn drive_raw(
    database: &mongodb::Database,
    clients: usize,
    calls: usize,
    plan: RawPlan,
) -> Series {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|index| {
            let (plan, database) = (Arc::clone(&plan), database.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(calls);
                for call in 0..calls {
                    let timed = Instant::now();
                    plan(database.clone(), index, call).await;
                    latencies.push(timed.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Series::of(latencies, started.elapsed())
}

/// A connected client for each of `users`, 64 connecting at a time.
pub async fn connect_all(server: &Server, users: &[String]) -> Vec<Client> {
    let mut clients = Vec::with_capacity(users.len());
    for chunk in users.chunks(64) {
        let connected =
            futures_util::future::join_all(chunk.iter().map(|user| server.connect(user))).await;
        clients.extend(connected);
    }
    clients
}

/// Every document of `cursor`.
pub async fn collect(cursor: mongodb::Cursor<Document>) -> Vec<Document> {
    cursor.try_collect().await.unwrap()
}

/// The `session` of a `createSession` at `prop` in the load room, starting in
/// `starts_in_minutes` and lasting an hour.
pub fn session_data(
    title: String,
    event_id: Option<&str>,
    prop: &str,
    starts_in_minutes: i64,
) -> Value {
    let start = chrono::Utc::now().timestamp_millis() + starts_in_minutes * 60_000;
    let mut session = json!({
        "roomId": ROOM, "propId": prop, "title": title, "startDate": start, "duration": 3600,
    });
    if let Some(event_id) = event_id {
        session["eventId"] = json!(event_id);
    }
    session
}
