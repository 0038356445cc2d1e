//! The push modes of the load tool: a 1,000-person fan-out, idle sockets, two processes
//! on one database, and the prop board's watchers.

use std::time::{Duration, Instant};

use bson::Document;
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use social_events::tools::replay::client::Client;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Database, RoundTrips, Server, ok, ticks_per_second};
use crate::driving::{ROOM, connect_all, session_data, setting};

/// title. The frame is searched, not parsed: with a thousand readers in this process,
/// parsing every 200 KB frame would measure the benchmark instead of the server.
fn listen_for_updates(
    client: Client,
    arrivals: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) {
    listen_for_pushes("social:sessionUpdated", client, arrivals);
}

/// A socket that records when each push of `endpoint` arrives, by the first session title
/// in it (see [`listen_for_updates`]).
fn listen_for_pushes(
    endpoint: &'static str,
    mut client: Client,
    arrivals: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) {
    let prefix = format!(r#"{{"endpoint":"{endpoint}""#);
    tokio::spawn(async move {
        while let Ok(Some(message)) = client.next_message().await {
            let Message::Text(text) = message else {
                continue;
            };
            let at = Instant::now();
            if !text.starts_with(&prefix) {
                continue;
            }
            // The session's own title is the first one in the frame.
            let Some(start) = text.find(r#""title":""#).map(|index| index + 9) else {
                continue;
            };
            let Some(length) = text[start..].find('"') else {
                continue;
            };
            if arrivals
                .send((text[start..start + length].to_owned(), at))
                .is_err()
            {
                return;
            }
        }
    });
}

/// Delays between each update's request and each push of it; answers them, how many
/// pushes were missing, and when each update was sent.
async fn update_and_time(
    owner: &mut Client,
    session_id: &str,
    label: &str,
    updates: usize,
    interval: Duration,
    recipients: usize,
    arrivals: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>,
) -> (Vec<Duration>, usize, Vec<Instant>) {
    let mut sent = std::collections::HashMap::new();
    let mut sends = Vec::with_capacity(updates);
    let mut ticker = tokio::time::interval(interval);
    for update in 0..updates {
        ticker.tick().await;
        let title = format!("{label} {update}");
        let now = Instant::now();
        sent.insert(title.clone(), now);
        sends.push(now);
        ok(
            owner,
            "social:updateSession",
            json!({"session": {"id": session_id, "title": title}}),
        )
        .await;
    }
    let expected = updates * recipients;
    let mut delays = Vec::with_capacity(expected);
    let deadline = Instant::now() + Duration::from_secs(30);
    while delays.len() < expected {
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, arrivals.recv()).await {
            Ok(Some((title, at))) => {
                if let Some(sent_at) = sent.get(&title) {
                    delays.push(at.duration_since(*sent_at));
                }
            }
            _ => break,
        }
    }
    let missing = expected - delays.len();
    delays.sort();
    (delays, missing, sends)
}

fn print_delays(name: &str, delays: &[Duration], missing: usize) {
    if delays.is_empty() {
        println!("{name}: no push arrived ({missing} missing)");
        return;
    }
    let at = |share: usize| delays[(delays.len() * share / 100).min(delays.len() - 1)];
    println!(
        "{name}: {} pushes, p50 {:.1?}, p99 {:.1?}, max {:.1?}, {missing} missing",
        delays.len(),
        at(50),
        at(99),
        delays[delays.len() - 1]
    );
}

pub async fn fanout_mode(database: &Database) {
    const AUDIENCE: usize = 1000;
    let updates = setting("BENCH_FANOUT_UPDATES", 20);
    let server = Server::start(&database.uri, "load_fanout").await;
    let mut owner = server.connect("fan-owner").await;
    let data = session_data("fan-out".into(), None, "stage", 60);
    let created = ok(&mut owner, "social:createSession", json!({"session": data})).await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    let invitees: Vec<String> = (1..AUDIENCE).map(|index| format!("fan-{index}")).collect();
    for batch in invitees.chunks(100) {
        let entries: Vec<Value> = batch.iter().map(|user| json!({"userId": user})).collect();
        ok(
            &mut owner,
            "social:inviteUsersToSession",
            json!({"sessionId": &session_id, "usersToInvite": entries}),
        )
        .await;
    }
    let clients = connect_all(&server, &invitees).await;
    let stalled_count = AUDIENCE / 100;
    let (arrivals_in, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let mut stalled = Vec::new();
    for (index, client) in clients.into_iter().enumerate() {
        if index < stalled_count {
            stalled.push(client); // never read
        } else {
            listen_for_updates(client, arrivals_in.clone());
        }
    }
    drop(arrivals_in);
    let readers = AUDIENCE - 1 - stalled_count;
    let ticks = ticks_per_second();
    let (cpu_before, memory_before) = (server.cpu_seconds(ticks), server.resident_bytes());
    println!(
        "fanout: a session with {AUDIENCE} people in its audience ({readers} reading invitees, {stalled_count} stalled sockets), {updates} updates every 300 ms, {}",
        database.described
    );
    // One update unmeasured: the first rendering reads the thousand profiles.
    update_and_time(
        &mut owner,
        &session_id,
        "warm-up",
        1,
        Duration::from_millis(300),
        readers,
        &mut arrivals,
    )
    .await;
    let (delays, missing, _) = update_and_time(
        &mut owner,
        &session_id,
        "update",
        updates,
        Duration::from_millis(300),
        readers,
        &mut arrivals,
    )
    .await;
    print_delays("update request → push arrival", &delays, missing);
    println!(
        "server CPU {:.1?} per update; memory {:.1} MiB → {:.1} MiB",
        Duration::from_secs_f64((server.cpu_seconds(ticks) - cpu_before) / updates as f64),
        memory_before as f64 / 1_048_576.0,
        server.resident_bytes() as f64 / 1_048_576.0,
    );
    drop(stalled);
}

pub async fn idle_mode(database: &Database) {
    let sockets = setting("BENCH_IDLE_SOCKETS", 10_000);
    let server = Server::start(&database.uri, "load_idle").await;
    // One socket first, so that what every connection shares is already there.
    let first = server.connect("idle-first").await;
    let baseline = server.resident_bytes();
    println!(
        "idle: authenticated sockets that send nothing, {}",
        database.described
    );
    let mut open = vec![first];
    let mut checkpoints = vec![sockets.min(2_000), sockets];
    checkpoints.dedup();
    for checkpoint in checkpoints {
        let users: Vec<String> = (open.len()..checkpoint)
            .map(|index| format!("idle-{index}"))
            .collect();
        open.extend(connect_all(&server, &users).await);
        let grown = server.resident_bytes().saturating_sub(baseline);
        println!(
            "{checkpoint:>6} sockets: server memory +{:.1} MiB, {:.1} KiB per socket",
            grown as f64 / 1_048_576.0,
            grown as f64 / 1024.0 / (checkpoint - 1).max(1) as f64,
        );
    }
}

pub async fn cross_mode(database: &Database) {
    let updates = setting("BENCH_FANOUT_UPDATES", 20);
    let writer = Server::start(&database.uri, "load_cross").await;
    let reader = Server::start(&database.uri, "load_cross").await;
    let mut owner = writer.connect("cross-owner").await;
    let data = session_data("cross".into(), None, "stage", 60);
    let created = ok(
        &mut owner,
        "social:createSession",
        json!({"session": data, "usersToInvite": [{"userId": "cross-reader"}]}),
    )
    .await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    let (arrivals_in, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    listen_for_updates(reader.connect("cross-reader").await, arrivals_in.clone());
    // The bare watcher: the same change stream, with nothing behind it.
    let watched = mongodb::Client::with_uri_str(&database.uri).await.unwrap();
    let mut stream = watched
        .database("load_cross")
        .collection::<Document>("pushes")
        .watch()
        .max_await_time(Duration::from_millis(250))
        .await
        .expect("change streams (a replica set)");
    let (watched_in, mut watched_arrivals) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    tokio::spawn(async move {
        while let Ok(Some(_)) = stream.try_next().await {
            if watched_in.send(Instant::now()).is_err() {
                return;
            }
        }
    });
    drop(arrivals_in);
    println!(
        "cross: the change made through one serve process, heard on another, {updates} updates every 300 ms, {}",
        database.described
    );
    let (delays, missing, sends) = update_and_time(
        &mut owner,
        &session_id,
        "update",
        updates,
        Duration::from_millis(300),
        1,
        &mut arrivals,
    )
    .await;
    print_delays("client on the other process", &delays, missing);
    // The watcher saw one insert per update, in order: its delays from the same sends.
    let mut watcher_delays = Vec::new();
    for sent in &sends {
        match tokio::time::timeout(Duration::from_secs(5), watched_arrivals.recv()).await {
            Ok(Some(at)) => watcher_delays.push(at.saturating_duration_since(*sent)),
            _ => break,
        }
    }
    watcher_delays.sort();
    print_delays(
        "bare change-stream watcher",
        &watcher_delays,
        updates.saturating_sub(watcher_delays.len()),
    );
}

/// A `board` series: CPU seconds and database round trips per `work`.
async fn cost_of(
    server: &Server,
    trips: &RoundTrips,
    count: usize,
    work: impl std::future::Future<Output = ()>,
) -> (f64, f64) {
    let ticks = ticks_per_second();
    let (cpu_before, trips_before, started) = (
        server.cpu_seconds(ticks),
        trips.count().await,
        Instant::now(),
    );
    work.await;
    let cpu = (server.cpu_seconds(ticks) - cpu_before) / count as f64;
    let trips_after = trips.count().await;
    (
        cpu,
        trips.per_request(trips_before, trips_after, started.elapsed(), count),
    )
}

pub async fn board_mode(database: &Database) {
    const WATCHERS: usize = 200;
    const PROP: &str = "board-stage";
    let updates = setting("BENCH_FANOUT_UPDATES", 20);
    let calls = setting("BENCH_CALLS", 300);
    let server = Server::start(&database.uri, "load_board").await;
    let trips = RoundTrips::connect(&database.uri).await;
    let mut owner = server.connect("board-owner").await;
    let data = session_data("board".into(), None, PROP, 60);
    let created = ok(&mut owner, "social:createSession", json!({"session": data})).await;
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();
    let prop = json!({"roomId": ROOM, "propId": PROP});
    println!(
        "board: {WATCHERS} connections watching one prop, a session there updated {updates} times every 600 ms, {}",
        database.described
    );
    // The baseline: the look each watcher takes is one getPropSessions.
    let mut looker = server.connect("board-looker").await;
    let (look_cpu, look_trips) = cost_of(&server, &trips, calls, async {
        for _ in 0..calls {
            ok(&mut looker, "social:getPropSessions", prop.clone()).await;
        }
    })
    .await;
    let update = |title: String| json!({"session": {"id": &session_id, "title": title}});
    let (alone_cpu, alone_trips) = cost_of(&server, &trips, updates, async {
        for index in 0..updates {
            ok(
                &mut owner,
                "social:updateSession",
                update(format!("alone {index}")),
            )
            .await;
        }
    })
    .await;
    let users: Vec<String> = (0..WATCHERS)
        .map(|index| format!("board-{index}"))
        .collect();
    let mut watchers = connect_all(&server, &users).await;
    for watcher in &mut watchers {
        ok(watcher, "social:watchProp", prop.clone()).await;
    }
    let (arrivals_in, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    for watcher in watchers {
        listen_for_pushes("social:propSessionsUpdated", watcher, arrivals_in.clone());
    }
    drop(arrivals_in);
    // Past the shortest interval between looks since the watches' first looks (their
    // answers), so that the first update is not held back by it.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut delays = Vec::new();
    let mut missing = 0;
    let (watched_cpu, watched_trips) = cost_of(&server, &trips, updates, async {
        (delays, missing, _) = update_and_time(
            &mut owner,
            &session_id,
            "watched",
            updates,
            // Apart by more than a watch's shortest interval between looks: each update
            // is looked at on its own.
            Duration::from_millis(600),
            WATCHERS,
            &mut arrivals,
        )
        .await;
    })
    .await;
    print_delays("update request → board push arrival", &delays, missing);
    let per_look_cpu = (watched_cpu - alone_cpu).max(0.0) / WATCHERS as f64;
    let per_look_trips = (watched_trips - alone_trips).max(0.0) / WATCHERS as f64;
    println!(
        "getPropSessions (baseline): CPU {:.0?}, {look_trips:.1} round trips per call",
        Duration::from_secs_f64(look_cpu)
    );
    println!(
        "updateSession without watchers: CPU {:.0?}, {alone_trips:.1} round trips; with {WATCHERS}: CPU {:.1?}, {watched_trips:.0} round trips",
        Duration::from_secs_f64(alone_cpu),
        Duration::from_secs_f64(watched_cpu)
    );
    println!(
        "per watcher and change: CPU {:.0?} ({:.2}× a getPropSessions), {per_look_trips:.2} round trips ({:.2}×)",
        Duration::from_secs_f64(per_look_cpu),
        per_look_cpu / look_cpu.max(1e-12),
        per_look_trips / look_trips.max(1e-12)
    );
}
