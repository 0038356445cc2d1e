//! What durable writes cost: the same writes through two server processes on one database
//! server, one with the default journaled majority write concern and one with the old
//! unjournaled `w:1` (an answer that a database crash could take back), side by side.
//!
//! `cargo bench --bench write_concern` (release build). Prints, for `createSession` and
//! `updateSession` under each write concern: answers per second, p50 and p99 latency and
//! the server's CPU time per call; then the ratios durable/unjournaled. `BENCH_CALLS` sets
//! the calls per series; `BENCH_MONGODB_URI` measures another database server (a replica
//! set member, `?directConnection=true` for a single node) instead of the embedded one.

mod common;

use std::path::Path;

use common::{Figures, Server, measure, ok};
use serde_json::json;
use social_events::tools::embedded::EmbeddedDatabase;

fn session(title: String) -> serde_json::Value {
    json!({"session": {
        "roomId": "bench-room", "propId": "stage", "title": title,
        "startDate": chrono::Utc::now().timestamp_millis() + 3_600_000, "duration": 60,
    }})
}

/// `createSession` then `updateSession` on `server`.
async fn series(server: &Server, calls: usize) -> (Figures, Figures) {
    let mut client = server.connect("bench-owner").await;
    let created = measure(server, &mut client, "social:createSession", calls, |call| {
        session(format!("talk {call}"))
    })
    .await;
    let target = ok(
        &mut client,
        "social:createSession",
        session("updated".into()),
    )
    .await;
    let id = target["session"]["id"].clone();
    let updated = measure(
        server,
        &mut client,
        "social:updateSession",
        calls,
        |call| json!({"session": {"id": id, "title": format!("take {call}")}}),
    )
    .await;
    (created, updated)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let calls = common::calls(300);
    let (database, base_uri, measured_on) = match std::env::var("BENCH_MONGODB_URI") {
        Ok(uri) => (None, uri, "the database server at BENCH_MONGODB_URI"),
        Err(_) => {
            let storage =
                std::env::temp_dir().join(format!("social-events-bench-{}", std::process::id()));
            let database = EmbeddedDatabase::start(Path::new(".venv"), &storage, true)
                .expect("the embedded database starts (run from the repository root)");
            let uri = database.uri().to_owned();
            (Some(database), uri, "embedded SecantusDB (Python)")
        }
    };
    let separator = if base_uri.contains('?') { '&' } else { '?' };
    let unjournaled = format!("{base_uri}{separator}w=1&journal=false");
    runtime.block_on(async {
        let durable_server = Server::start(&base_uri, "bench_durable").await;
        let unjournaled_server = Server::start(&unjournaled, "bench_unjournaled").await;
        println!("{calls} calls per series, one client, {measured_on}");
        let (fast_create, fast_update) = series(&unjournaled_server, calls).await;
        let (durable_create, durable_update) = series(&durable_server, calls).await;
        fast_create.print("createSession, w:1 unjournaled");
        durable_create.print("createSession, majority journaled");
        fast_update.print("updateSession, w:1 unjournaled");
        durable_update.print("updateSession, majority journaled");
        for (name, fast, durable) in [
            ("createSession", &fast_create, &durable_create),
            ("updateSession", &fast_update, &durable_update),
        ] {
            println!(
                "{name} durable/unjournaled: answers per second {:.2}, p50 {:.2}, CPU/call {:.2}",
                durable.per_second / fast.per_second,
                durable.p50.as_secs_f64() / fast.p50.as_secs_f64().max(1e-9),
                durable.cpu_per_call.as_secs_f64() / fast.cpu_per_call.as_secs_f64().max(1e-9),
            );
        }
    });
    drop(database);
}
