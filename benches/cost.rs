//! The cost tool: what one user at the documented limits can make a `serve` process spend,
//! against the same number of ordinary requests, in the same run.
//!
//! `cargo bench --bench cost [-- SCENARIO...]`, scenarios (all by default):
//! - `ordinary`: the baseline. One connection reading its answers: `getSession` of a
//!   session with ten invitees, `getPropSessions`, a 20-session page of `getSessions`,
//!   title changes by `updateSession`, `joinSession` and `declineSessionJoin` of another's
//!   session.
//! - `large-frames`: frames of 1 MiB less a little (the frame limit), each a `createEvent`
//!   whose description is too long.
//! - `large-pages`: `getSessions` pages of 500 sessions with the longest description
//!   (10,000 four-byte characters) each, read.
//! - `unread-pages`: the same over 32 connections (the per-user limit) that never read.
//! - `large-writes`: `updateSession` of a session with 1000 invitees of 256-byte ids,
//!   replacing its longest description each time.
//! - `resume`: upgrades that resume from the user's first push (the user is invited to 20
//!   sessions of 1000 invitees with 256-byte ids, each changed since) and never read, the
//!   newest 32 kept open.
//! - `feed`: `GET`s of the user's calendar feed: 1000 sessions (as many as a feed lists)
//!   with the longest description.
//! - `fanout`: title changes of a session whose 200 invitees are connected and read.
//!
//! Each scenario runs a fresh `serve` with the documented defaults (100 frames a second
//! per user, bursts of 200, 32 connections, 1 MiB frames) on a fresh database, prepared
//! beforehand through another `serve` without rate limits, which is stopped before the
//! measurement. Then the user sends `BENCH_FRAMES` (default 1000) frames or requests
//! paced at 100 a second, and the measurement lasts until the server has been idle for
//! half a second: the server's CPU seconds (`/proc`), the most memory it held above its
//! size before (sampled every 10 ms) and the bytes the database received
//! (`serverStatus.network.bytesIn`, less its idle rate). Each is printed per second of
//! sending and as a ratio to `ordinary`.
//!
//! The embedded SecantusDB (Python) is used unless `BENCH_MONGODB_URI` names another
//! database server (`?directConnection=true` for a single node).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{
    Chosen, Database, RoundTrips, Server, cpu_seconds_of, ok, published_event, resident_bytes_of,
    ticks_per_second, token_for,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole;
use social_events::domain::source::Membership;
use social_events::store::{DEFAULT_DEADLINE, Store};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const NETWORK: &str = "cost-net";
const ROOM: &str = "cost-room";
/// The documented default rate of one user's frames.
const FRAMES_PER_SECOND: f64 = 100.0;
/// The documented default number of connections of one user.
const CONNECTIONS_PER_USER: usize = 32;
/// The longest description: 10,000 characters of four bytes each.
fn longest_description(variant: usize) -> String {
    let character = ['𝄞', '𝄢', '𝅘', '𝆑'][variant % 4];
    character.to_string().repeat(10_000)
}

/// The longest user ids: 256 bytes.
fn long_ids(count: usize) -> Vec<String> {
    (0..count).map(|index| format!("{index:0>256}")).collect()
}

/// The database server's process, when `BENCH_DATABASE_PID` names it.
fn database_pid() -> Option<u32> {
    std::env::var("BENCH_DATABASE_PID")
        .ok()
        .and_then(|pid| pid.parse().ok())
}

/// Bytes process `pid` has written to storage (`write_bytes` of `/proc/PID/io`).
fn storage_writes_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|line| line.strip_prefix("write_bytes:"))
                .and_then(|value| value.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

fn frames() -> usize {
    std::env::var("BENCH_FRAMES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1000)
}

/// What one scenario cost the server.
#[derive(Debug, Clone, Copy)]
struct Cost {
    /// Seconds of sending at the rate limit.
    sending: f64,
    cpu_seconds: f64,
    peak_memory: u64,
    database_bytes: f64,
    /// Answers with code 0.
    served: u64,
    /// CPU seconds of the database server and bytes it wrote to storage, when
    /// `BENCH_DATABASE_PID` names its process.
    database_process: Option<(f64, f64)>,
    /// Bytes of frames the user's connections (and those of its audience) read.
    sent_bytes: f64,
}

impl Cost {
    fn print(&self, name: &str, ordinary: Option<&Cost>) {
        let ratio = |value: f64, base: f64| {
            if base > 0.0 {
                format!("{:>7.1}×", value / base)
            } else {
                "        ".to_owned()
            }
        };
        let (cpu, memory, bytes) = (
            self.cpu_seconds / self.sending,
            self.peak_memory as f64,
            self.database_bytes / self.sending,
        );
        let base = ordinary.map(|base| {
            (
                base.cpu_seconds / base.sending,
                base.peak_memory as f64,
                base.database_bytes / base.sending,
            )
        });
        let (cpu_ratio, memory_ratio, bytes_ratio) = match base {
            Some((base_cpu, base_memory, base_bytes)) => (
                ratio(cpu, base_cpu),
                ratio(memory, base_memory),
                ratio(bytes, base_bytes),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        println!(
            "{name:<13} CPU {cpu:>6.3} s/s {cpu_ratio}  memory +{:>8.1} MiB {memory_ratio}  database writes {:>9.1} KiB/s {bytes_ratio}  to clients {:>9.1} KiB/s",
            memory / 1_048_576.0,
            bytes / 1024.0,
            self.sent_bytes / self.sending / 1024.0,
        );
        println!("{:<13} answers with code 0: {}", "", self.served);
        if let Some((database_cpu, storage_writes)) = self.database_process {
            let (cpu, writes) = (database_cpu / self.sending, storage_writes / self.sending);
            let (cpu_ratio, writes_ratio) = match ordinary.and_then(|base| {
                base.database_process
                    .map(|(cpu, writes)| (cpu / base.sending, writes / base.sending))
            }) {
                Some((base_cpu, base_writes)) => (ratio(cpu, base_cpu), ratio(writes, base_writes)),
                None => (String::new(), String::new()),
            };
            println!(
                "{:<13} database CPU {cpu:>6.3} s/s {cpu_ratio}  database storage writes {:>9.1} KiB/s {writes_ratio}",
                "",
                writes / 1024.0
            );
        }
        if let Some(error) = FIRST_ERROR.lock().unwrap().take() {
            println!("              first refusal: {error}");
        }
    }
}

/// Samples the resident memory of process `pid` until stopped; answers the most seen.
struct MemoryWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
}

impl MemoryWatch {
    fn start(pid: u32) -> MemoryWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(resident_bytes_of(pid)));
        let (stopped, highest) = (Arc::clone(&stop), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                highest.fetch_max(resident_bytes_of(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        MemoryWatch { stop, peak }
    }

    fn peak(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed)
    }
}

/// Measures `work` (which answers how many seconds it spent sending) on `server`, until
/// the server has been idle for half a second after it.
async fn cost_of(
    server: &Server,
    database: &RoundTrips,
    work: impl std::future::Future<Output = f64>,
) -> Cost {
    let ticks = ticks_per_second();
    let memory_before = server.resident_bytes();
    READ_BYTES.store(0, Ordering::Relaxed);
    SERVED.store(0, Ordering::Relaxed);
    *FIRST_ERROR.lock().unwrap() = None;
    let watch = MemoryWatch::start(server.pid());
    let database_pid = database_pid();
    let database_before =
        database_pid.map(|pid| (cpu_seconds_of(pid, ticks), storage_writes_of(pid)));
    let (cpu_before, bytes_before, started) = (
        server.cpu_seconds(ticks),
        database.bytes_in().await,
        Instant::now(),
    );
    let sending = work.await;
    // Idle: less than 5 ms of CPU in each of five 100 ms windows in a row.
    let mut idle_windows = 0;
    let mut last = server.cpu_seconds(ticks);
    let give_up = Instant::now() + Duration::from_secs(120);
    while idle_windows < 5 && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = server.cpu_seconds(ticks);
        idle_windows = if now - last < 0.005 {
            idle_windows + 1
        } else {
            0
        };
        last = now;
    }
    let elapsed = started.elapsed();
    let bytes = database.bytes_in().await - bytes_before;
    Cost {
        sending,
        cpu_seconds: server.cpu_seconds(ticks) - cpu_before,
        peak_memory: watch.peak().saturating_sub(memory_before),
        database_bytes: (bytes - database.background_bytes_per_second * elapsed.as_secs_f64())
            .max(0.0),
        sent_bytes: READ_BYTES.load(Ordering::Relaxed) as f64,
        served: SERVED.load(Ordering::Relaxed),
        database_process: database_pid
            .zip(database_before)
            .map(|(pid, (cpu, writes))| {
                (
                    cpu_seconds_of(pid, ticks) - cpu,
                    storage_writes_of(pid) - writes,
                )
            }),
    }
}

/// One WebSocket of the measured user, its frames sent without waiting for answers.
struct Pipe {
    sink: futures_util::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        Message,
    >,
    /// Answers read (when the pipe reads).
    answers: Arc<AtomicU64>,
}

/// Bytes of frames the measured user's pipes read, and the first error frame among them.
static READ_BYTES: AtomicU64 = AtomicU64::new(0);
/// Answers with code 0 the measured user's pipes read.
static SERVED: AtomicU64 = AtomicU64::new(0);
static FIRST_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

impl Pipe {
    /// Connects to `url` as `user_id`; a pipe that `reads` reads and discards every frame,
    /// one that does not never reads.
    async fn open(url: &str, user_id: &str, reads: bool) -> Pipe {
        Pipe::try_open(url, user_id, reads)
            .await
            .expect("the upgrade is accepted")
    }

    /// [`Pipe::open`], or `None` when the upgrade is refused.
    async fn try_open(url: &str, user_id: &str, reads: bool) -> Option<Pipe> {
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {}", token_for(user_id)).parse().unwrap(),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request).await.ok()?;
        let (sink, mut stream) = socket.split();
        let answers = Arc::new(AtomicU64::new(0));
        if reads {
            let counted = Arc::clone(&answers);
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    counted.fetch_add(1, Ordering::Relaxed);
                    if let Message::Text(text) = message {
                        READ_BYTES.fetch_add(text.len() as u64, Ordering::Relaxed);
                        if text.contains(r#""error":{"status":false,"code":0"#) {
                            SERVED.fetch_add(1, Ordering::Relaxed);
                        }
                        if !text.contains(r#""code":0"#)
                            && !text.contains(r#""endpoint":"social:session"#)
                        {
                            let mut first = FIRST_ERROR.lock().unwrap();
                            if first.is_none() {
                                *first = Some(text.chars().take(300).collect());
                            }
                        }
                    }
                }
            });
        } else {
            // Kept open, never polled.
            tokio::spawn(async move {
                let _unread = stream;
                std::future::pending::<()>().await;
            });
        }
        Some(Pipe { sink, answers })
    }
}

/// Ticks at the rate limit: one frame, upgrade or request per tick.
fn pacer() -> tokio::time::Interval {
    tokio::time::interval(Duration::from_secs_f64(1.0 / FRAMES_PER_SECOND))
}

/// Sends `count` frames, the `n`th made by `frame(n)`, over `pipes` in turn, paced at the
/// rate limit; answers the seconds it took.
async fn send_paced(pipes: &mut [Pipe], count: usize, frame: impl Fn(usize) -> String) -> f64 {
    let started = Instant::now();
    let mut ticker = pacer();
    let pipe_count = pipes.len();
    for index in 0..count {
        ticker.tick().await;
        let pipe = &mut pipes[index % pipe_count];
        // A pipe that does not read stops taking frames once the server stops reading it.
        if tokio::time::timeout(
            Duration::from_secs(1),
            pipe.sink.send(Message::text(frame(index))),
        )
        .await
        .is_err()
        {
            continue;
        }
    }
    started.elapsed().as_secs_f64()
}

/// Waits until the reading pipes have read `expected` frames, or ten seconds pass.
async fn answers_read(pipes: &[Pipe], expected: u64) {
    let give_up = Instant::now() + Duration::from_secs(10);
    while pipes
        .iter()
        .map(|pipe| pipe.answers.load(Ordering::Relaxed))
        .sum::<u64>()
        < expected
        && Instant::now() < give_up
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn request(endpoint: &str, id: String, data: Value) -> String {
    json!({"endpoint": endpoint, "event": {"id": id}, "data": data}).to_string()
}

/// A start `minutes` from now, in milliseconds.
fn minutes_from_now(minutes: i64) -> i64 {
    chrono::Utc::now().timestamp_millis() + minutes * 60_000
}

fn session_data(title: &str, prop: &str, starts_in_minutes: i64) -> Value {
    json!({
        "roomId": ROOM, "propId": prop, "title": title,
        "startDate": minutes_from_now(starts_in_minutes), "duration": 3600,
    })
}

/// The prepared database and the measured server of one scenario.
struct Stage {
    name: String,
    uri: String,
    /// Without rate limits, for preparing; stopped by [`Stage::measured`].
    preparing: Option<Server>,
}

impl Stage {
    async fn new(database: &Database, scenario: &str) -> Stage {
        let name = format!("cost_{}_{}", scenario.replace('-', "_"), std::process::id());
        Stage {
            preparing: Some(Server::start(&database.uri, &name).await),
            uri: database.uri.clone(),
            name,
        }
    }

    fn preparing(&self) -> &Server {
        self.preparing.as_ref().expect("still preparing")
    }

    async fn admin_of_network(&self, user_id: &str) {
        self.join_network(user_id, MembershipRole::Admin).await;
    }

    async fn join_network(&self, user_id: &str, role: MembershipRole) {
        let store = Store::connect(&self.uri, &self.name, DEFAULT_DEADLINE)
            .await
            .unwrap();
        store
            .upsert_membership(&Membership {
                user_id: user_id.to_owned(),
                network_id: NETWORK.to_owned(),
                community_id: None,
                role,
            })
            .await
            .unwrap();
    }

    /// A published event of `owner` (made an admin of the network); answers its id.
    async fn event(&self, owner: &str) -> String {
        self.admin_of_network(owner).await;
        let mut client = self.preparing().connect(owner).await;
        published_event(&mut client, NETWORK, "Cost").await
    }

    /// Stops the preparing server and starts the measured one with the documented limits.
    async fn measured(&mut self) -> Server {
        self.preparing = None;
        Server::start_with(&self.uri, &self.name, &[]).await
    }
}

/// Invites `invitees` to `session_id` in batches of 100.
async fn invite(
    client: &mut social_events::tools::replay::client::Client,
    session_id: &str,
    invitees: &[String],
) {
    for batch in invitees.chunks(100) {
        let entries: Vec<Value> = batch.iter().map(|user| json!({"userId": user})).collect();
        ok(
            client,
            "social:inviteUsersToSession",
            json!({"sessionId": session_id, "usersToInvite": entries}),
        )
        .await;
    }
}

fn people(prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|index| format!("{prefix}-{index}"))
        .collect()
}

async fn ordinary(database: &Database, trips: &RoundTrips) -> Cost {
    let mut stage = Stage::new(database, "ordinary").await;
    let event_id = stage.event("host").await;
    stage.join_network("user", MembershipRole::Member).await;
    let mut host = stage.preparing().connect("host").await;
    for index in 0..20 {
        let mut data = session_data(&format!("talk {index}"), "stage", 30 + index * 90);
        data["eventId"] = json!(&event_id);
        ok(&mut host, "social:createSession", json!({"session": data})).await;
    }
    let mut public = session_data("open table", "table", 60);
    public["eventId"] = json!(&event_id);
    let joinable = ok(
        &mut host,
        "social:createSession",
        json!({"session": public}),
    )
    .await;
    let joinable_id = joinable["session"]["id"].as_str().unwrap().to_owned();
    let mut user = stage.preparing().connect("user").await;
    let own = ok(
        &mut user,
        "social:createSession",
        json!({"session": session_data("mine", "booth", 60),
               "usersToInvite": people("friend", 10).iter().map(|id| json!({"userId": id})).collect::<Vec<_>>()}),
    )
    .await;
    let own_id = own["session"]["id"].as_str().unwrap().to_owned();
    let server = stage.measured().await;
    let mut pipes = vec![Pipe::open(&server.url, "user", true).await];
    let count = frames();
    cost_of(&server, trips, async {
        let sending = send_paced(&mut pipes, count, |index| {
            let id = format!("ordinary-{index}");
            match index % 10 {
                0..=2 => request("social:getSession", id, json!({"sessionId": &own_id})),
                3 | 4 => request(
                    "social:getPropSessions",
                    id,
                    json!({"roomId": ROOM, "propId": "stage"}),
                ),
                5 => request(
                    "social:getSessions",
                    id,
                    json!({"eventId": &event_id, "limit": 20}),
                ),
                6 | 7 => request(
                    "social:updateSession",
                    id,
                    json!({"session": {"id": &own_id, "title": format!("mine {index}")}}),
                ),
                8 => request("social:joinSession", id, json!({"sessionId": &joinable_id})),
                _ => request(
                    "social:declineSessionJoin",
                    id,
                    json!({"sessionId": &joinable_id}),
                ),
            }
        })
        .await;
        answers_read(&pipes, count as u64).await;
        sending
    })
    .await
}

async fn large_frames(database: &Database, trips: &RoundTrips) -> Cost {
    let mut stage = Stage::new(database, "large-frames").await;
    stage.admin_of_network("user").await;
    let server = stage.measured().await;
    let mut pipes = vec![Pipe::open(&server.url, "user", true).await];
    let description = "d".repeat(1024 * 1024 - 512);
    let count = frames();
    cost_of(&server, trips, async {
        let sending = send_paced(&mut pipes, count, |index| {
            request(
                "social:createEvent",
                format!("large-{index}"),
                json!({"source": format!("network:{NETWORK}"), "event": {
                    "title": "Large", "startDate": "2030-01-01T00:00:00Z",
                    "endDate": "2030-01-02T00:00:00Z", "description": &description,
                }}),
            )
        })
        .await;
        answers_read(&pipes, count as u64).await;
        sending
    })
    .await
}

/// An event of 500 sessions with the longest description each; answers its id.
async fn event_of_large_sessions(stage: &Stage) -> String {
    let event_id = stage.event("host").await;
    stage.join_network("user", MembershipRole::Member).await;
    let mut host = stage.preparing().connect("host").await;
    for index in 0..500 {
        let mut data = session_data(&format!("large {index}"), "stage", 30 + index);
        data["eventId"] = json!(&event_id);
        data["description"] = json!(longest_description(index as usize));
        ok(&mut host, "social:createSession", json!({"session": data})).await;
    }
    event_id
}

async fn large_pages(database: &Database, trips: &RoundTrips, reads: bool) -> Cost {
    let mut stage = Stage::new(database, if reads { "large-pages" } else { "unread-pages" }).await;
    let event_id = event_of_large_sessions(&stage).await;
    let server = stage.measured().await;
    let connections = if reads { 1 } else { CONNECTIONS_PER_USER };
    let mut pipes = Vec::with_capacity(connections);
    for _ in 0..connections {
        pipes.push(Pipe::open(&server.url, "user", reads).await);
    }
    let count = frames();
    cost_of(&server, trips, async {
        let sending = send_paced(&mut pipes, count, |index| {
            request(
                "social:getSessions",
                format!("page-{index}"),
                json!({"eventId": &event_id, "limit": 500}),
            )
        })
        .await;
        if reads {
            answers_read(&pipes, count as u64).await;
        }
        sending
    })
    .await
}

async fn large_writes(database: &Database, trips: &RoundTrips) -> Cost {
    let mut stage = Stage::new(database, "large-writes").await;
    let mut user = stage.preparing().connect("user").await;
    let mut data = session_data("large", "stage", 60);
    data["description"] = json!(longest_description(0));
    let created = ok(&mut user, "social:createSession", json!({"session": data})).await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    invite(&mut user, &session_id, &long_ids(1000)).await;
    drop(user);
    let server = stage.measured().await;
    let mut pipes = vec![Pipe::open(&server.url, "user", true).await];
    let count = frames();
    cost_of(&server, trips, async {
        let sending = send_paced(&mut pipes, count, |index| {
            request(
                "social:updateSession",
                format!("write-{index}"),
                json!({"session": {"id": &session_id, "description": longest_description(index + 1)}}),
            )
        })
        .await;
        answers_read(&pipes, count as u64).await;
        sending
    })
    .await
}

/// 20 sessions of 1000 invitees with 256-byte ids each (the user among them) by 20
/// owners, more than a replay's bytes hold; answers the first push the user received.
async fn invited_to_large_sessions(stage: &Stage) -> String {
    let invitees = long_ids(999);
    let mut user = stage.preparing().connect("user").await;
    for index in 0..20 {
        let mut owner = stage.preparing().connect(&format!("owner-{index}")).await;
        let created = ok(
            &mut owner,
            "social:createSession",
            json!({"session": session_data(&format!("large {index}"), "stage", 60 + index),
                   "usersToInvite": [{"userId": "user"}]}),
        )
        .await;
        let session_id = created["session"]["id"].as_str().unwrap().to_owned();
        invite(&mut owner, &session_id, &invitees).await;
    }
    let first = user.next_frame().await.unwrap();
    first["event"]["id"].as_str().unwrap().to_owned()
}

async fn resume(database: &Database, trips: &RoundTrips) -> Cost {
    let mut stage = Stage::new(database, "resume").await;
    let first_push = invited_to_large_sessions(&stage).await;
    let server = stage.measured().await;
    let url = format!("{}?resumeAfter={first_push}", server.url);
    let count = frames();
    cost_of(&server, trips, async {
        let started = Instant::now();
        let mut ticker = pacer();
        // The newest 32 stay open (the per-user limit), unread; upgrades refused (over the
        // rate or the connections) are tried again at the next tick.
        let mut open = std::collections::VecDeque::new();
        for _ in 0..count {
            ticker.tick().await;
            if let Some(pipe) = Pipe::try_open(&url, "user", false).await {
                open.push_back(pipe);
                if open.len() >= CONNECTIONS_PER_USER {
                    open.pop_front();
                }
            }
        }
        started.elapsed().as_secs_f64()
    })
    .await
}

async fn feed(database: &Database, trips: &RoundTrips) -> Cost {
    let mut stage = Stage::new(database, "feed").await;
    let mut user = stage.preparing().connect("user").await;
    // As many sessions as a feed lists, each with the longest description.
    for index in 0..1000 {
        let mut data = session_data(&format!("mine {index}"), "stage", 60 + index);
        data["description"] = json!(longest_description(index as usize));
        ok(&mut user, "social:createSession", json!({"session": data})).await;
    }
    let url = ok(&mut user, "social:getCalendarFeed", json!({})).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(user);
    let path = url[url.find("/api/").unwrap()..].to_owned();
    let server = stage.measured().await;
    let feed_url = format!("{}{path}", server.http);
    let http = reqwest::Client::new();
    let count = frames();
    cost_of(&server, trips, async {
        let started = Instant::now();
        let mut ticker = pacer();
        let mut gets = tokio::task::JoinSet::new();
        for _ in 0..count {
            ticker.tick().await;
            let (http, feed_url) = (http.clone(), feed_url.clone());
            gets.spawn(async move {
                if let Ok(answer) = http.get(feed_url).send().await {
                    let _ = answer.bytes().await;
                }
            });
        }
        let sending = started.elapsed().as_secs_f64();
        while gets.join_next().await.is_some() {}
        sending
    })
    .await
}

async fn fanout(database: &Database, trips: &RoundTrips) -> Cost {
    const AUDIENCE: usize = 200;
    let mut stage = Stage::new(database, "fanout").await;
    let mut user = stage.preparing().connect("user").await;
    let created = ok(
        &mut user,
        "social:createSession",
        json!({"session": session_data("fan-out", "stage", 60)}),
    )
    .await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    let audience = people("listener", AUDIENCE);
    invite(&mut user, &session_id, &audience).await;
    drop(user);
    let server = stage.measured().await;
    let mut listeners = Vec::with_capacity(AUDIENCE);
    for listener in &audience {
        listeners.push(Pipe::open(&server.url, listener, true).await);
    }
    let mut pipes = vec![Pipe::open(&server.url, "user", true).await];
    let count = frames();
    cost_of(&server, trips, async {
        let sending = send_paced(&mut pipes, count, |index| {
            request(
                "social:updateSession",
                format!("fan-{index}"),
                json!({"session": {"id": &session_id, "title": format!("fan-out {index}")}}),
            )
        })
        .await;
        answers_read(&pipes, count as u64).await;
        sending
    })
    .await
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let chosen = Chosen::from_args();
    let database = Database::open();
    runtime.block_on(async {
        let trips = RoundTrips::connect(&database.uri).await;
        println!(
            "cost: one user sending {} frames at {FRAMES_PER_SECOND}/s, {}, {} cores",
            frames(),
            database.described,
            std::thread::available_parallelism().map_or(0, |cores| cores.get())
        );
        let base = ordinary(&database, &trips).await;
        base.print("ordinary", None);
        for name in [
            "large-frames",
            "large-pages",
            "unread-pages",
            "large-writes",
            "resume",
            "feed",
            "fanout",
        ] {
            if !chosen.wants(name) {
                continue;
            }
            let cost = match name {
                "large-frames" => large_frames(&database, &trips).await,
                "large-pages" => large_pages(&database, &trips, true).await,
                "unread-pages" => large_pages(&database, &trips, false).await,
                "large-writes" => large_writes(&database, &trips).await,
                "resume" => resume(&database, &trips).await,
                "feed" => feed(&database, &trips).await,
                _ => fanout(&database, &trips).await,
            };
            cost.print(name, Some(&base));
        }
    });
}
