//! The chaos run: real `serve` processes on one real database, many seeded WebSocket
//! clients, faults injected on a seeded schedule, every request, answer and push recorded,
//! and a history checker at the end.
//!
//! Shared by the long run (`cargo bench --bench chaos`, `benches/chaos.rs`) and the short
//! one of the test suite (`tests/api/chaos.rs`). [`run`] does one seed: it starts the
//! [`cluster`], sets up the [`workload`] (users, an event with a seat limit and its
//! sessions, an event of 100 seats for the bursts), runs the clients while [`faults`]
//! breaks things, stops the workload, lets pushes settle, has every user read the
//! sessions it took part in, and hands the [`history`] to the [`checker`].

// Two crates include this module (the bench and the test binary), each using part of it.
#![allow(dead_code)]

pub mod checker;
pub mod cluster;
pub mod faults;
pub mod history;
pub mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use checker::{CheckReport, CheckSettings, ViolationKind};
use cluster::Cluster;
use faults::{Schedule, ScheduleSettings};
use history::{AttemptResult, FaultKind, History, Recorder};
use workload::WorkloadSettings;

/// Everything one run is made of.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub clients: usize,
    /// `serve` processes.
    pub processes: usize,
    /// How long the clients run (faults included; the last observation window may extend
    /// it).
    pub workload: Duration,
    /// Client steps per second, all clients together.
    pub operations_per_second: f64,
    /// Sessions besides the burst sessions.
    pub sessions: usize,
    pub private_share: f64,
    pub seat_limit: usize,
    pub burst_limit: usize,
    /// Simultaneous joins per burst (at most one per client).
    pub burst_clients: usize,
    pub warmup: Duration,
    pub window: Duration,
    pub freeze: (Duration, Duration),
    pub database_down: (Duration, Duration),
    /// Pause between the end of the workload and the final reads.
    pub settle: Duration,
    /// `SOCIAL_DB_TIMEOUT` of the `serve` processes.
    pub db_timeout: Duration,
    /// The database server's executable (`secantusd-rs`); none: the Python SecantusDB of
    /// `.venv`.
    pub database: Option<PathBuf>,
    /// Keep the logs even when nothing was found.
    pub keep_logs: bool,
    pub check: CheckSettings,
}

impl Config {
    /// The long run, by hand: `clients` clients for `seconds` of workload.
    pub fn long(seed: u64, clients: usize, seconds: u64) -> Config {
        Config {
            seed,
            clients,
            processes: 3,
            workload: Duration::from_secs(seconds),
            operations_per_second: 30.0,
            sessions: (clients / 10).max(6),
            private_share: 0.3,
            seat_limit: 5,
            burst_limit: 100,
            burst_clients: clients.min(1000),
            warmup: Duration::from_secs(6),
            window: Duration::from_secs(12),
            freeze: (Duration::from_secs(1), Duration::from_secs(10)),
            database_down: (Duration::from_millis(500), Duration::from_secs(3)),
            settle: Duration::from_secs(5),
            db_timeout: Duration::from_secs(3),
            database: None,
            keep_logs: false,
            check: CheckSettings::default(),
        }
    }

    /// The short run of the test suite: one fault of each kind, shorter freezes and
    /// windows, fewer clients, and a burst of 150 joins onto 40 seats (the fan-out of
    /// 100 seats to a growing audience alone takes the debug build's two cores for
    /// seconds while the other tests run).
    pub fn short(seed: u64) -> Config {
        Config {
            burst_limit: 40,
            operations_per_second: 25.0,
            warmup: Duration::from_secs(4),
            window: Duration::from_secs(7),
            freeze: (Duration::from_secs(1), Duration::from_secs(3)),
            database_down: (Duration::from_millis(300), Duration::from_secs(1)),
            ..Config::long(seed, 150, 0)
        }
    }

    /// What the fault schedule is drawn from.
    pub fn schedule_settings(&self) -> ScheduleSettings {
        ScheduleSettings {
            workload: self.workload,
            warmup: self.warmup,
            window: self.window,
            freeze: self.freeze,
            database_down: self.database_down,
            processes: self.processes,
            burst_clients: self.burst_clients,
            burst_estimate: Duration::from_millis(10 * self.burst_clients as u64),
        }
    }
}

/// What one run gave.
pub struct RunResult {
    pub config: Config,
    pub schedule: Schedule,
    pub history: History,
    pub report: CheckReport,
    /// The run's database files and logs (removed after a clean run unless kept).
    pub directory: PathBuf,
    pub elapsed: Duration,
    /// How long each phase took: start-up and set-up, workload, final reads, check.
    pub phases: Vec<(&'static str, Duration)>,
}

impl RunResult {
    /// No violation (recovery included).
    pub fn passed(&self) -> bool {
        self.report.violations.is_empty()
    }

    /// The figures of the summary table (the history itself can be let go).
    pub fn summary(&self) -> Summary {
        let mut lags = self.report.push_lags.clone();
        lags.sort_unstable();
        let quantile = |q: f64| {
            lags.get(((lags.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        Summary {
            seed: self.config.seed,
            clients: self.config.clients,
            requests: self.history.operations.len(),
            attempts: self
                .history
                .operations
                .iter()
                .map(|operation| operation.attempts.len())
                .sum(),
            pushes: self.history.pushes.len(),
            faults: self.history.faults.len(),
            violations: self.report.violations.len(),
            recoveries: self.report.recoveries.clone(),
            push_lag: (quantile(0.5), quantile(0.99), quantile(1.0)),
        }
    }
}

/// One seed's line of the summary table.
#[derive(Debug, Clone)]
pub struct Summary {
    pub seed: u64,
    pub clients: usize,
    pub requests: usize,
    pub attempts: usize,
    pub pushes: usize,
    pub faults: usize,
    pub violations: usize,
    pub recoveries: Vec<checker::Recovery>,
    /// p50, p99 and max of the push lags.
    pub push_lag: (Duration, Duration, Duration),
}

/// Longest time the clients may take to finish their steps once stopped.
const STOP_PATIENCE: Duration = Duration::from_secs(60);
/// Longest time for the final reads.
const FINAL_READS_PATIENCE: Duration = Duration::from_secs(180);

/// Runs one seed.
pub async fn run(config: &Config) -> anyhow::Result<RunResult> {
    let started = Instant::now();
    let directory = std::env::temp_dir().join(format!(
        "social-events-chaos-{}-{}",
        config.seed,
        uuid::Uuid::now_v7().simple()
    ));
    let db_name = format!("chaos_{}", config.seed);
    let mut cluster = Cluster::start(
        directory.clone(),
        config.processes,
        &db_name,
        config.db_timeout,
        config.database.clone(),
    )
    .await
    .map_err(|error| anyhow::anyhow!("{error:#} (logs in {})", directory.display()))?;
    let schedule_settings = config.schedule_settings();
    let schedule = Schedule::generate(config.seed, &schedule_settings);
    let recorder = Recorder::new(started);
    let settings = WorkloadSettings {
        seed: config.seed,
        clients: config.clients,
        sessions: config.sessions,
        private_share: config.private_share,
        seat_limit: config.seat_limit,
        burst_limit: config.burst_limit,
        burst_sessions: schedule.bursts(),
        operations_per_second: config.operations_per_second,
    };
    let setup = workload::set_up(
        settings,
        recorder.clone(),
        cluster.urls(),
        &cluster.settings.mongodb_uri.clone(),
        &db_name,
    )
    .await
    .map_err(|error| {
        anyhow::anyhow!("set-up failed: {error:#} (logs in {})", directory.display())
    })?;
    let world = Arc::clone(&setup.world);
    let mut phases = vec![("start-up and set-up", started.elapsed())];

    let probes_until = tokio_util::sync::CancellationToken::new();
    let mut probes = tokio::task::JoinSet::new();
    for probe in &setup.probes {
        probes.spawn(workload::run_probe(
            Arc::clone(&world),
            Arc::clone(probe),
            setup.probe_session.clone(),
            probes_until.clone(),
        ));
    }
    let mut clients = tokio::task::JoinSet::new();
    for client in &world.clients {
        clients.spawn(workload::run_client(Arc::clone(&world), Arc::clone(client)));
    }
    let workload_started = Instant::now();
    // Every fault is bounded (restarts within a minute, bursts by the clients' patience);
    // this bounds the whole schedule once more.
    let schedule_bound = config.workload * 3 + Duration::from_secs(120);
    let executed = tokio::time::timeout(
        schedule_bound,
        faults::execute(&schedule, &schedule_settings, &mut cluster, &world),
    )
    .await;
    if let Some(rest) = config.workload.checked_sub(workload_started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    recorder.mark_workload_ended();
    world.stop.cancel();
    probes_until.cancel();
    let _ = tokio::time::timeout(STOP_PATIENCE, async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    clients.abort_all();
    while probes.join_next().await.is_some() {}
    tokio::time::sleep(config.settle).await;
    recorder.mark_final_reads_started();
    phases.push(("workload", workload_started.elapsed()));
    let reading = Instant::now();
    let _ = tokio::time::timeout(FINAL_READS_PATIENCE, workload::final_reads(&world)).await;
    phases.push(("final reads", reading.elapsed()));
    let exited = cluster.exited_processes();
    workload::close_all(&world).await;
    let mut history = recorder.finish();
    history.exited_processes = exited;
    drop(cluster);
    match executed {
        Ok(Ok(())) => {}
        Ok(Err(error)) => anyhow::bail!(
            "the fault schedule failed: {error:#} (logs in {})",
            directory.display()
        ),
        Err(_) => anyhow::bail!(
            "the fault schedule took longer than {schedule_bound:?} (logs in {})",
            directory.display()
        ),
    }
    let checking = Instant::now();
    let report = checker::check(&history, &config.check);
    phases.push(("check", checking.elapsed()));
    let result = RunResult {
        config: config.clone(),
        schedule,
        history,
        report,
        directory,
        elapsed: started.elapsed(),
        phases,
    };
    if result.passed() && !config.keep_logs {
        let _ = std::fs::remove_dir_all(&result.directory);
    } else {
        let written =
            write_trace(&result.history, &result.directory.join("history.txt")).and_then(|()| {
                write_violations(&result.report, &result.directory.join("violations.txt"))
            });
        if let Err(error) = written {
            println!("cannot write the history: {error}");
        }
    }
    Ok(result)
}

/// Writes every violation, one a line.
fn write_violations(report: &CheckReport, path: &std::path::Path) -> std::io::Result<()> {
    let lines: Vec<String> = report
        .violations
        .iter()
        .map(|violation| {
            format!(
                "{} at {} session {} user {}: {}",
                violation.kind.name(),
                violation
                    .at
                    .map_or("-".to_owned(), |at| format!("{:.3} s", at.as_secs_f64())),
                violation.session.as_deref().unwrap_or("-"),
                violation.user.as_deref().unwrap_or("-"),
                violation.detail
            )
        })
        .collect();
    std::fs::write(path, lines.join("\n"))
}

/// Writes the whole history as text, one line per event, in order of time (for
/// debugging a violation next to the server logs).
pub fn write_trace(history: &History, path: &std::path::Path) -> std::io::Result<()> {
    use std::fmt::Write as _;
    let labels: BTreeMap<&str, &str> = history
        .sessions
        .iter()
        .map(|session| (session.id.as_str(), session.label.as_str()))
        .collect();
    let label = |id: &str| labels.get(id).copied().unwrap_or(id).to_owned();
    let view = |view: &Result<checker::View, String>| match view {
        Ok(view) => format!(
            "{} {:?} joined {:?} invited {:?} position {:?}",
            label(&view.id),
            view.title,
            view.joined,
            view.invited
                .iter()
                .map(|invitee| format!("{}:{}", invitee.user, invitee.status))
                .collect::<Vec<_>>(),
            view.waitlist_position
        ),
        Err(error) => error.clone(),
    };
    let mut lines: Vec<(Duration, String)> = Vec::new();
    for fault in &history.faults {
        lines.push((
            fault.started,
            format!("FAULT {} begins: {}", fault.kind.name(), fault.detail),
        ));
        lines.push((fault.ended, format!("FAULT {} ends", fault.kind.name())));
    }
    for connection in &history.connections {
        lines.push((
            connection.opened,
            format!(
                "conn {} open {} on serve {} resumeAfter {:?}",
                connection.id, connection.user, connection.process, connection.resume_after
            ),
        ));
        if let Some(closed) = connection.closed {
            lines.push((
                closed,
                format!("conn {} closed {}", connection.id, connection.user),
            ));
        }
    }
    for push in &history.pushes {
        let what = match &push.frame {
            history::PushFrame::Updated {
                event_id,
                view: seen,
            } => {
                format!("updated {event_id} {}", view(seen))
            }
            history::PushFrame::Deleted {
                event_id,
                session_id,
            } => {
                format!("deleted {event_id} {}", label(session_id))
            }
            history::PushFrame::Resync => "resync".to_owned(),
            history::PushFrame::Other { text } => format!("other {text}"),
        };
        lines.push((
            push.at,
            format!("push conn {} to {} {what}", push.connection, push.user),
        ));
    }
    for operation in &history.operations {
        for attempt in &operation.attempts {
            lines.push((
                attempt.sent,
                format!(
                    "send conn {} {} {} {} {:?} {} {:?}",
                    attempt.connection,
                    operation.user,
                    operation.event_id,
                    operation.kind.name(),
                    operation.origin,
                    label(&operation.session),
                    operation.kind
                ),
            ));
            let answer = match &attempt.result {
                AttemptResult::Answered(answer) => {
                    let mut text = format!("{} {:?}", answer.code, answer.message);
                    if let Some(data) = &answer.data {
                        match data.get("session") {
                            Some(session) => {
                                let _ = write!(text, " {}", view(&checker::parse_view(session)));
                            }
                            None => {
                                let _ = write!(text, " {data}");
                            }
                        }
                    }
                    text
                }
                AttemptResult::TimedOut { .. } => "timed out".to_owned(),
                AttemptResult::ConnectionLost { .. } => "connection lost".to_owned(),
            };
            lines.push((
                attempt.ended(),
                format!("answer {} {} {answer}", operation.user, operation.event_id),
            ));
        }
    }
    for late in &history.late_answers {
        lines.push((
            late.answer.at,
            format!(
                "late answer {} {} {} {:?}",
                late.user, late.event_id, late.answer.code, late.answer.message
            ),
        ));
    }
    for probe in &history.probes {
        lines.push((
            probe.finished,
            format!(
                "probe serve {} sent {:.3} {} in {:?}",
                probe.process,
                probe.sent.as_secs_f64(),
                if probe.succeeded { "ok" } else { "FAILED" },
                probe.latency()
            ),
        ));
    }
    lines.push((history.workload_ended, "WORKLOAD ENDS".to_owned()));
    lines.push((history.final_reads_started, "FINAL READS BEGIN".to_owned()));
    lines.sort_by_key(|(at, _)| *at);
    let mut text = String::new();
    for (at, line) in lines {
        let _ = writeln!(text, "{:9.3} {line}", at.as_secs_f64());
    }
    std::fs::write(path, text)
}

/// How an attempt ended, for the tables: its code, `timeout` or `lost`.
fn attempt_label(result: &AttemptResult) -> String {
    match result {
        AttemptResult::Answered(answer) if answer.code == 503 => {
            if answer.message.contains("had no effect") {
                "503-none".to_owned()
            } else {
                "503-maybe".to_owned()
            }
        }
        AttemptResult::Answered(answer) => answer.code.to_string(),
        AttemptResult::TimedOut { .. } => "timeout".to_owned(),
        AttemptResult::ConnectionLost { .. } => "lost".to_owned(),
    }
}

/// Prints one seed's figures: operations by kind and code, faults, recoveries and
/// violations.
pub fn print_seed_report(result: &RunResult) {
    let history = &result.history;
    println!(
        "== seed {} — {} clients, {} serve processes, {:.0} s of workload, run took {:.1} s",
        result.config.seed,
        result.config.clients,
        result.config.processes,
        history.workload_ended.as_secs_f64(),
        result.elapsed.as_secs_f64()
    );
    let phases: Vec<String> = result
        .phases
        .iter()
        .map(|(phase, time)| format!("{phase} {:.1} s", time.as_secs_f64()))
        .collect();
    println!("phases: {}", phases.join(", "));
    let mut table: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for operation in &history.operations {
        for attempt in &operation.attempts {
            *table
                .entry(operation.kind.name())
                .or_default()
                .entry(attempt_label(&attempt.result))
                .or_default() += 1;
        }
    }
    println!(
        "operations: {} requests, {} attempts, {} pushes ({} resyncs), {} connections",
        history.operations.len(),
        history
            .operations
            .iter()
            .map(|operation| operation.attempts.len())
            .sum::<usize>(),
        history.pushes.len(),
        history
            .pushes
            .iter()
            .filter(|push| matches!(push.frame, history::PushFrame::Resync))
            .count(),
        history.connections.len()
    );
    for (kind, codes) in &table {
        let codes: Vec<String> = codes
            .iter()
            .map(|(code, count)| format!("{code}: {count}"))
            .collect();
        println!("  {kind:<14} {}", codes.join(", "));
    }
    let summary = result.summary();
    let (p50, p99, max) = summary.push_lag;
    println!(
        "push lag (answer of a change to the push showing it, {} owed pushes): p50 {:.3} s, p99 {:.3} s, max {:.3} s",
        result.report.push_lags.len(),
        p50.as_secs_f64(),
        p99.as_secs_f64(),
        max.as_secs_f64()
    );
    println!("faults:");
    for (index, fault) in history.faults.iter().enumerate() {
        let recovery = result
            .report
            .recoveries
            .iter()
            .find(|recovery| recovery.fault == index);
        println!(
            "  #{index} {:<17} {:>7.2} s – {:>7.2} s  {:<36} recovery per process: {}",
            fault.kind.name(),
            fault.started.as_secs_f64(),
            fault.ended.as_secs_f64(),
            fault.detail,
            recovery.map_or("-".to_owned(), checker::describe_recovery)
        );
    }
    if !history.exited_processes.is_empty() {
        println!(
            "serve processes that exited by themselves: {:?}",
            history.exited_processes
        );
    }
    let violations = &result.report.violations;
    println!("violations: {}", violations.len());
    let mut by_kind: BTreeMap<ViolationKind, Vec<&checker::Violation>> = BTreeMap::new();
    for violation in violations {
        by_kind.entry(violation.kind).or_default().push(violation);
    }
    for (kind, list) in by_kind {
        println!("  {} × {}", list.len(), kind.name());
        for violation in list.iter().take(15) {
            println!(
                "    {}{}{}{}",
                violation.at.map_or(String::new(), |at| format!(
                    "at {:.3} s: ",
                    at.as_secs_f64()
                )),
                violation
                    .session
                    .as_ref()
                    .map_or(String::new(), |session| format!("session {session}: ")),
                violation
                    .user
                    .as_ref()
                    .map_or(String::new(), |user| format!("user {user}: ")),
                violation.detail
            );
        }
        if list.len() > 15 {
            println!(
                "    … and {} more (all in violations.txt of the logs)",
                list.len() - 15
            );
        }
    }
    if !result.passed() {
        println!("database and server logs: {}", result.directory.display());
    }
}

/// Prints the table of every seed's figures.
pub fn print_summary(results: &[Summary]) {
    println!();
    println!(
        "{:>6} {:>8} {:>9} {:>9} {:>9} {:>7} {:>11}  {:<28} worst recovery: frozen / db kill / serve kill / burst",
        "seed",
        "clients",
        "requests",
        "attempts",
        "pushes",
        "faults",
        "violations",
        "push lag p50 / p99 / max"
    );
    for result in results {
        let worst = |kind: FaultKind| {
            let recoveries: Vec<_> = result
                .recoveries
                .iter()
                .filter(|recovery| recovery.kind == kind)
                .collect();
            if recoveries.is_empty() {
                return "-".to_owned();
            }
            match recoveries
                .iter()
                .map(|recovery| recovery.slowest())
                .collect::<Option<Vec<_>>>()
            {
                Some(times) => format!(
                    "{:.1} s",
                    times.into_iter().max().unwrap_or_default().as_secs_f64()
                ),
                None => "never".to_owned(),
            }
        };
        let (p50, p99, max) = result.push_lag;
        println!(
            "{:>6} {:>8} {:>9} {:>9} {:>9} {:>7} {:>11}  {:<28} {} / {} / {} / {}",
            result.seed,
            result.clients,
            result.requests,
            result.attempts,
            result.pushes,
            result.faults,
            result.violations,
            format!(
                "{:.2} / {:.2} / {:.2} s",
                p50.as_secs_f64(),
                p99.as_secs_f64(),
                max.as_secs_f64()
            ),
            worst(FaultKind::DatabaseFrozen),
            worst(FaultKind::DatabaseKilled),
            worst(FaultKind::ServeKilled),
            worst(FaultKind::Burst),
        );
    }
    let total: usize = results.iter().map(|result| result.violations).sum();
    let recoveries: Vec<Option<Duration>> = results
        .iter()
        .flat_map(|result| result.recoveries.iter().map(checker::Recovery::slowest))
        .collect();
    let p100 = recoveries
        .iter()
        .copied()
        .collect::<Option<Vec<_>>>()
        .map(|times| times.into_iter().max().unwrap_or_default());
    println!(
        "{} seeds, {} faults, {} violations, recovery p100 {}",
        results.len(),
        recoveries.len(),
        total,
        p100.map_or("not reached in some window".to_owned(), |time| format!(
            "{:.1} s",
            time.as_secs_f64()
        ))
    );
}
