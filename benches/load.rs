//! The load tool: real `serve` processes under load from real WebSocket clients, beside the
//! raw MongoDB driver doing the queries each answer needs, in the same run.
//!
//! `cargo bench --bench load [-- MODE...]`, modes (all by default):
//! - `requests`: `getSession`, `getPropSessions`, `joinSession` and `updateSession` at 1, 16
//!   and 64 clients: answers per second, p50/p99, the server's CPU per request (`/proc`),
//!   database round trips per request (the database server's own request counter,
//!   `serverStatus.network.numRequests`, less its background rate measured before), and
//!   the raw driver's p50 and answers per second for the same work as the baseline ratio.
//! - `fanout`: one session with a 1,000-person audience (the owner and 999 invitees, each
//!   connected; 1 % of the sockets never read), updated every 300 ms: delay from the update
//!   request to each push's arrival (p50/p99/max), pushes missing, server CPU and memory.
//! - `idle`: 10,000 authenticated idle sockets (2,000 first): server memory per socket.
//! - `cross`: two `serve` processes on one database; a client on the second hears of
//!   changes made on the first: its delay beside a bare change-stream watcher's.
//! - `board`: 200 connections watch one prop (`social:watchProp`) while a session there is
//!   updated every 600 ms: delay to each `social:propSessionsUpdated`, and the server CPU
//!   and round trips each watcher costs per change, against one `getPropSessions` (the
//!   look a watcher takes) measured in the same run.
//!
//! The embedded SecantusDB (Python) is used unless `BENCH_MONGODB_URI` names another
//! database server (`?directConnection=true` for a single node; a replica set for `cross`).
//! `BENCH_CALLS` (requests per series, default 300), `BENCH_FANOUT_UPDATES` (20) and
//! `BENCH_IDLE_SOCKETS` (10000) scale the runs; `BENCH_ENDPOINTS` (for example
//! `getSession,updateSession`) limits `requests` to those endpoints.

mod common;
#[path = "load/driving.rs"]
mod driving;
#[path = "load/pushes.rs"]
mod pushes;
#[path = "load/requests.rs"]
mod requests;

use common::{Chosen, Database};

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let chosen = Chosen::from_args();
    let database = Database::open();
    runtime.block_on(async {
        println!(
            "machine: {} cores",
            std::thread::available_parallelism().map_or(0, |cores| cores.get())
        );
        if chosen.wants("requests") {
            requests::requests_mode(&database).await;
        }
        if chosen.wants("fanout") {
            pushes::fanout_mode(&database).await;
        }
        if chosen.wants("idle") {
            pushes::idle_mode(&database).await;
        }
        if chosen.wants("cross") {
            pushes::cross_mode(&database).await;
        }
        if chosen.wants("board") {
            pushes::board_mode(&database).await;
        }
    });
}
