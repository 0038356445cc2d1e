//! The push modes of the load tool: a 1,000-person fan-out (readers without, then with
//! compression), idle sockets, two processes on one database, and the prop board's
//! watchers.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bson::Document;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use social_events::tools::replay::client::Client;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Database, RoundTrips, Server, cpu_seconds_of, ok, ticks_per_second};
use crate::driving::{ROOM, connect_all, session_data, setting};
use crate::raw_client::{Offer, RawSocket, UpgradeRefused, connect_all_raw};

/// The push of a session's change.
const SESSION_UPDATED: &str = "social:sessionUpdated";
/// The series of the server's `/metrics` that counts compressions.
const COMPRESSIONS: &str = "social_messages_compressed_total";

/// The first session title in `text` (the start of a message) when it is a push of
/// `endpoint`: a push's session is its data's first field, so this is the session's own
/// title. The text is searched, not parsed: with a thousand readers in this process,
/// parsing every 200 KB frame would measure the benchmark instead of the server.
fn title_of_push(text: &[u8], endpoint: &str) -> Option<String> {
    const TITLE: &[u8] = br#""title":""#;
    let rest = text
        .strip_prefix(br#"{"endpoint":""#)?
        .strip_prefix(endpoint.as_bytes())?;
    let start = rest.windows(TITLE.len()).position(|at| at == TITLE)? + TITLE.len();
    let length = rest[start..].iter().position(|&byte| byte == b'"')?;
    String::from_utf8(rest[start..start + length].to_vec()).ok()
}

/// A socket that records when each `social:sessionUpdated` push arrives, by its session's
/// title.
fn listen_for_updates(
    client: Client,
    arrivals: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) {
    listen_for_pushes(SESSION_UPDATED, client, arrivals);
}

/// A socket that records when each push of `endpoint` arrives, by the first session title
/// in it (see [`title_of_push`]).
fn listen_for_pushes(
    endpoint: &'static str,
    mut client: Client,
    arrivals: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) {
    tokio::spawn(async move {
        while let Ok(Some(message)) = client.next_message().await {
            let Message::Text(text) = message else {
                continue;
            };
            let at = Instant::now();
            let Some(title) = title_of_push(text.as_bytes(), endpoint) else {
                continue;
            };
            if arrivals.send((title, at)).is_err() {
                return;
            }
        }
    });
}

/// A raw socket that records when each `social:sessionUpdated` push arrives (when its
/// frame's last byte did), by its session's title, from the start of each message only
/// ([`RawSocket::skim`]); the bytes it reads are added to `wire_bytes`.
fn skim_updates(
    socket: RawSocket,
    arrivals: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
    wire_bytes: Arc<AtomicU64>,
) {
    tokio::spawn(async move {
        let _ = socket
            .skim(&wire_bytes, |start, at| {
                match title_of_push(start, SESSION_UPDATED) {
                    Some(title) => arrivals.send((title, at)).is_ok(),
                    None => true,
                }
            })
            .await;
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

/// The delay `share` per cent of the sorted `delays` are within.
fn percentile(delays: &[Duration], share: usize) -> Duration {
    delays[(delays.len() * share / 100).min(delays.len() - 1)]
}

fn print_delays(name: &str, delays: &[Duration], missing: usize) {
    if delays.is_empty() {
        println!("{name}: no push arrived ({missing} missing)");
        return;
    }
    println!(
        "{name}: {} pushes, p50 {:.1?}, p99 {:.1?}, max {:.1?}, {missing} missing",
        delays.len(),
        percentile(delays, 50),
        percentile(delays, 99),
        delays[delays.len() - 1]
    );
}

/// People in the fan-out's session: its owner and 999 invitees.
const AUDIENCE: usize = 1000;
/// Sockets of the fan-out that never read: 1 %.
const STALLED: usize = AUDIENCE / 100;
/// Invitees of the fan-out that read their pushes.
const READERS: usize = AUDIENCE - 1 - STALLED;

/// What one fan-out run measured.
struct FanoutRun {
    /// Update request → push arrival, sorted.
    delays: Vec<Duration>,
    missing: usize,
    /// Bytes the readers received (frames, headers included) during the measured updates.
    wire_bytes: u64,
    /// Server CPU from the first measured update until the last push arrived.
    cpu_seconds: f64,
    /// This process's CPU meanwhile: its readers share the server's cores.
    own_cpu_seconds: f64,
    /// Server memory once all had connected, and after the updates.
    memory: (u64, u64),
    /// Messages the server compressed during the measured updates.
    compressions: f64,
}

/// One fan-out run on a fresh server: the owner (a plain client) updates a session whose
/// 999 invitees are connected with raw sockets offering `offer`.
async fn fanout_run(database: &Database, offer: Offer, updates: usize) -> FanoutRun {
    let server = Server::start(&database.uri, "load_fanout").await;
    let mut owner = server.connect("fan-owner").await;
    let data = session_data(format!("fan-out {offer:?}"), None, "stage", 60);
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
    let mut sockets = connect_all_raw(&server, &invitees, offer).await;
    assert!(
        sockets
            .iter()
            .all(|socket| socket.compression() == (offer == Offer::Deflate)),
        "the server agreed on compression exactly with the sockets that offered it"
    );
    let stalled: Vec<RawSocket> = sockets.drain(..STALLED).collect(); // never read
    let (arrivals_in, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let wire_bytes = Arc::new(AtomicU64::new(0));
    for socket in sockets {
        skim_updates(socket, arrivals_in.clone(), Arc::clone(&wire_bytes));
    }
    drop(arrivals_in);
    let interval = Duration::from_millis(300);
    let memory_before = server.resident_bytes();
    // One update unmeasured: the first rendering reads the thousand profiles.
    update_and_time(
        &mut owner,
        &session_id,
        "warm-up",
        1,
        interval,
        READERS,
        &mut arrivals,
    )
    .await;
    let ticks = ticks_per_second();
    let compressions_before = server.metric(COMPRESSIONS).await;
    let (cpu_before, own_cpu_before, wire_before) = (
        server.cpu_seconds(ticks),
        cpu_seconds_of(std::process::id(), ticks),
        wire_bytes.load(Ordering::Relaxed),
    );
    let (delays, missing, _) = update_and_time(
        &mut owner,
        &session_id,
        "update",
        updates,
        interval,
        READERS,
        &mut arrivals,
    )
    .await;
    let cpu_seconds = server.cpu_seconds(ticks) - cpu_before;
    let own_cpu_seconds = cpu_seconds_of(std::process::id(), ticks) - own_cpu_before;
    let wire_bytes = wire_bytes.load(Ordering::Relaxed) - wire_before;
    let compressions = server.metric(COMPRESSIONS).await - compressions_before;
    let memory = (memory_before, server.resident_bytes());
    drop(stalled);
    FanoutRun {
        delays,
        missing,
        wire_bytes,
        cpu_seconds,
        own_cpu_seconds,
        memory,
        compressions,
    }
}

pub async fn fanout_mode(database: &Database) {
    let updates = setting("BENCH_FANOUT_UPDATES", 20);
    println!(
        "fanout: a session with {AUDIENCE} people in its audience ({READERS} reading invitees, {STALLED} stalled sockets), {updates} updates every 300 ms, readers without compression then with it (a fresh server each), {}",
        database.described
    );
    let runs = [
        fanout_run(database, Offer::Plain, updates).await,
        fanout_run(database, Offer::Deflate, updates).await,
    ];
    let row = |name: &str, figure: &dyn Fn(&FanoutRun) -> String| {
        println!(
            "{name:<36} {:>16} {:>16}",
            figure(&runs[0]),
            figure(&runs[1])
        );
    };
    let delay = |run: &FanoutRun, share: usize| match run.delays.is_empty() {
        true => "-".to_owned(),
        false => format!("{:.1?}", percentile(&run.delays, share)),
    };
    let delivered = |run: &FanoutRun| run.delays.len().max(1) as f64;
    println!("{:<36} {:>16} {:>16}", "", "plain", "compressed");
    row("pushes delivered", &|run| run.delays.len().to_string());
    row("pushes missing", &|run| run.missing.to_string());
    row("push delay min (update → arrival)", &|run| delay(run, 0));
    row("push delay p50", &|run| delay(run, 50));
    row("push delay p99", &|run| delay(run, 99));
    row("push delay max", &|run| delay(run, 100));
    row("bytes on the wire per push", &|run| {
        format!("{:.0}", run.wire_bytes as f64 / delivered(run))
    });
    row("server CPU per delivered push", &|run| {
        format!(
            "{:.1?}",
            Duration::from_secs_f64(run.cpu_seconds / delivered(run))
        )
    });
    row("server CPU per update", &|run| {
        format!(
            "{:.1?}",
            Duration::from_secs_f64(run.cpu_seconds / updates as f64)
        )
    });
    row("load tool CPU per update (readers)", &|run| {
        format!(
            "{:.1?}",
            Duration::from_secs_f64(run.own_cpu_seconds / updates as f64)
        )
    });
    row("server memory, MiB (before → after)", &|run| {
        format!(
            "{:.1} → {:.1}",
            run.memory.0 as f64 / 1_048_576.0,
            run.memory.1 as f64 / 1_048_576.0
        )
    });
    row("compressions per update", &|run| {
        format!("{:.2}", run.compressions / updates as f64)
    });
    let once = runs[0].compressions == 0.0 && runs[1].compressions == updates as f64;
    println!(
        "each push compressed once for all {READERS} compressing readers (one compression per update, none without compression): {}",
        if once { "yes" } else { "NO" }
    );
}

/// Sockets opened from one loopback address. Each address has ≈ 28,000 ephemeral ports
/// to the server (`net.ipv4.ip_local_port_range`), but `connect` looks for a free one
/// among those in use one by one: at 20,000 from one address that search took most of
/// this process's CPU, and the upgrades per second measured the tool, not the server.
const SOCKETS_PER_ADDRESS: usize = 5_000;
/// Upgrades under way at once.
const OPENING_AT_ONCE: usize = 64;
/// Pause before an upgrade refused as busy is tried again.
const BUSY_PAUSE: Duration = Duration::from_millis(50);

/// The local address socket `index` of the idle mode connects from: 127.0.0.1, then
/// 127.0.0.2, … (all of 127.0.0.0/8 is the loopback).
fn source_address(index: usize) -> IpAddr {
    let [a, b, c, d] = Ipv4Addr::LOCALHOST.octets();
    let next = u32::from_be_bytes([a, b, c, d]) + (index / SOCKETS_PER_ADDRESS) as u32;
    IpAddr::V4(Ipv4Addr::from(next))
}

/// Descriptors this process and the server need besides the idle sockets (the owner's
/// and the database's connections, logs, the runtime's own).
const OWN_DESCRIPTORS: u64 = 500;

/// Raises this process's limit of open files towards `wanted`, up to what it may: the
/// hard limit too with root's CAP_SYS_RESOURCE (up to `fs.nr_open`), else the soft limit
/// up to the hard one. Answers the limit in force. A server started afterwards inherits
/// it: the service never raises its own limit, its operator does.
fn raise_open_files(wanted: u64) -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft >= wanted {
        return soft;
    }
    let most = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|most| most.trim().parse().ok())
        .unwrap_or(hard);
    let raised = wanted.min(most);
    if raised > hard && setrlimit(Resource::RLIMIT_NOFILE, raised, raised).is_ok() {
        return raised;
    }
    let raised = wanted.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, raised, hard).unwrap();
    raised
}

/// The limit of open files of process `pid` (`/proc/PID/limits`).
fn open_files_limit_of(pid: u32) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|values| values.split_whitespace().next())
        .unwrap_or("?")
        .to_owned()
}

/// Opens sockets `indexes` of the idle mode (user `idle-N`, from [`source_address`]),
/// [`OPENING_AT_ONCE`] at a time; each one's upgrade succeeded. An upgrade refused as
/// busy (`503`: the first connect of each user writes its profile, and the server bounds
/// its waiting database calls) is tried again after [`BUSY_PAUSE`], as a client would,
/// and counted in `retries`.
async fn open_idle(
    server: &Server,
    indexes: std::ops::Range<usize>,
    offer: Offer,
    retries: &AtomicU64,
) -> Vec<RawSocket> {
    futures_util::stream::iter(indexes)
        .map(|index| async move {
            let user = format!("idle-{index}");
            let source = Some(source_address(index));
            loop {
                match RawSocket::connect(server.address, source, &user, offer).await {
                    Ok(socket) => return socket,
                    Err(error)
                        if error
                            .downcast_ref::<UpgradeRefused>()
                            .is_some_and(UpgradeRefused::busy) =>
                    {
                        retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(BUSY_PAUSE).await;
                    }
                    Err(error) => panic!("socket {index}: {error:#}"),
                }
            }
        })
        .buffer_unordered(OPENING_AT_ONCE)
        .collect()
        .await
}

/// Lets the server finish each new connection's first work (its pending invitations are
/// looked up after the `101`) before its memory is read.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// The server's memory per idle socket at each of `checkpoints` (numbers of sockets,
/// rising), sockets opened with `offer` on a fresh server; prints each checkpoint.
async fn idle_series(database: &Database, checkpoints: &[usize], offer: Offer) {
    let server = Server::start(&database.uri, "load_idle").await;
    println!(
        "{offer:?} sockets, on a server whose limit of open files is {}:",
        open_files_limit_of(server.pid())
    );
    // One socket first, so that what every connection shares is already there.
    let first = RawSocket::connect(server.address, None, "idle-first", offer)
        .await
        .unwrap();
    assert_eq!(first.compression(), offer == Offer::Deflate);
    settle().await;
    let baseline = server.resident_bytes();
    let mut open = vec![first];
    let retries = AtomicU64::new(0);
    let mut opening = Duration::ZERO;
    let mut grown_before = 0;
    for &checkpoint in checkpoints {
        let started = Instant::now();
        let opened = open.len();
        open.extend(open_idle(&server, opened..checkpoint, offer, &retries).await);
        opening += started.elapsed();
        let rate = (checkpoint - opened) as f64 / started.elapsed().as_secs_f64();
        settle().await;
        let grown = server.resident_bytes().saturating_sub(baseline);
        println!(
            "{checkpoint:>7} sockets: server memory +{:.1} MiB, {:.2} KiB per socket ({:.2} KiB each for the last {}, upgraded at {rate:.0}/s)",
            grown as f64 / 1_048_576.0,
            grown as f64 / 1024.0 / (checkpoint - 1).max(1) as f64,
            grown.saturating_sub(grown_before) as f64 / 1024.0 / (checkpoint - opened) as f64,
            checkpoint - opened,
        );
        grown_before = grown;
    }
    println!(
        "{} sockets upgraded in {:.1?} ({:.0}/s); {} upgrades refused as busy (503) and tried again",
        open.len() - 1,
        opening,
        (open.len() - 1) as f64 / opening.as_secs_f64(),
        retries.load(Ordering::Relaxed)
    );
    // The server closes first, so that TIME_WAIT falls on its side (on its port, which
    // the next server does not take again) rather than on the ports bound here.
    drop(server);
    drop(open);
}

pub async fn idle_mode(database: &Database) {
    let wanted = setting("BENCH_IDLE_SOCKETS", 100_000);
    let limit = raise_open_files(wanted as u64 + OWN_DESCRIPTORS);
    let sockets = wanted.min(limit.saturating_sub(OWN_DESCRIPTORS) as usize);
    let compressed = setting("BENCH_IDLE_COMPRESSED", 10_000).min(sockets);
    println!(
        "idle: authenticated sockets that send nothing (each upgraded with a valid token: 101), opened from {} loopback addresses, {OPENING_AT_ONCE} at a time; memory per socket is the server's resident memory grown since the first socket, {}",
        sockets.div_ceil(SOCKETS_PER_ADDRESS),
        database.described
    );
    if sockets < wanted {
        println!(
            "{wanted} sockets asked for, {sockets} opened: the limit of open files is {limit} and cannot be raised further here (its hard limit needs CAP_SYS_RESOURCE)"
        );
    }
    let mut checkpoints: Vec<usize> = [2_000, 10_000, sockets]
        .into_iter()
        .filter(|&checkpoint| checkpoint <= sockets)
        .collect();
    checkpoints.dedup();
    idle_series(database, &checkpoints, Offer::Plain).await;
    if compressed > 0 {
        idle_series(database, &[compressed], Offer::Deflate).await;
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
