//! `getPropSessions` with a prop full of the costliest recurring sessions the limits allow,
//! against a baseline prop of single sessions, measured in the same run on a real server
//! process and the embedded database.
//!
//! `cargo bench --bench prop_sessions` (release build). Prints, for each prop: answers per
//! second, p50 and p99 latency, and the server process's CPU time per call (read from
//! `/proc`), which is steady where wall-clock figures vary on a shared machine; then the
//! ratio of the worst prop to the baseline. `BENCH_CALLS` sets the calls per prop.

mod common;

use std::path::Path;

use common::{Server, measure, ok};
use serde_json::json;
use social_events::tools::embedded::EmbeddedDatabase;
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

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let storage = std::env::temp_dir().join(format!("social-events-bench-{}", std::process::id()));
    let database = EmbeddedDatabase::start(Path::new(".venv"), &storage, true)
        .expect("the embedded database starts (run from the repository root)");
    let calls = common::calls(200);
    runtime.block_on(async {
        let server = Server::start(database.uri(), "bench").await;
        let mut client = server.connect("bench-owner").await;
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
        println!("getPropSessions, {SESSIONS_PER_PROP} sessions per prop, {calls} calls each, one client, embedded SecantusDB (Python)");
        let at = |prop: &'static str| move |_| json!({"roomId": "bench-room", "propId": prop});
        let baseline = measure(&server, &mut client, "social:getPropSessions", calls, at("baseline")).await;
        baseline.print("baseline: single sessions");
        let worst = measure(&server, &mut client, "social:getPropSessions", calls, at("worst")).await;
        worst.print("worst recurring shapes");
        println!(
            "ratio worst/baseline: CPU/call {:.2}, p50 {:.2}",
            worst.cpu_per_call.as_secs_f64() / baseline.cpu_per_call.as_secs_f64().max(1e-9),
            worst.p50.as_secs_f64() / baseline.p50.as_secs_f64().max(1e-9),
        );
    });
}
