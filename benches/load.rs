//! The load tool: real `serve` processes under load from real WebSocket clients, beside the
//! raw MongoDB driver doing the queries each answer needs, in the same run.
//!
//! `cargo bench --bench load [-- MODE...]`, modes (all by default):
//! - `requests`: `getSession`, `getPropSessions`, `joinSession` and `updateSession` at 1, 16
//!   and 64 clients: answers per second, p50/p99, the server's CPU per request (`/proc`),
//!   database round trips per request (the database server's own request counter,
//!   `serverStatus.network.numRequests`, less its background rate measured before), and
//!   the raw driver's p50 and answers per second for the same work as the baseline ratio.
//!   `getSession (deflate)` repeats the `getSession` series with clients that agreed on
//!   permessage-deflate: what compressing the answers costs.
//! - `fanout`: one session with a 1,000-person audience (the owner and 999 invitees, each
//!   connected; 1 % of the sockets never read), updated every 300 ms, twice — the
//!   invitees' sockets without compression, then offering permessage-deflate (a fresh
//!   server each) — printed side by side: delay from the update request to each push's
//!   arrival (the first, p50/p99/max), pushes missing, bytes on the wire per delivered
//!   push (frame bytes the readers received ÷ pushes delivered), server CPU per delivered
//!   push and per update, the load tool's own CPU per update (its readers share the
//!   server's cores), server memory, and compressions per update (the server's
//!   `social_messages_compressed_total`), checked to be one per update: each push is
//!   compressed once, not once per socket.
//! - `idle`: authenticated idle sockets (`BENCH_IDLE_SOCKETS`, 100,000 by default; 2,000
//!   and 10,000 first) on one server, opened with the tool's own client
//!   (`load/raw_client.rs`) from as many loopback addresses as their ports need: server
//!   memory per socket (over all, and since the last checkpoint) and upgrades per second;
//!   then `BENCH_IDLE_COMPRESSED` sockets (10,000) that agreed on compression, on a fresh
//!   server. The tool raises its limit of open files for them, which the server inherits
//!   (up to the hard limit, or past it with CAP_SYS_RESOURCE); fewer sockets are opened
//!   when the limit cannot be raised far enough, and it says so.
//! - `cross`: two `serve` processes on one database; a client on the second hears of
//!   changes made on the first: its delay beside a bare change-stream watcher's.
//! - `board`: 200 connections watch one prop (`social:watchProp`) while a session there is
//!   updated every 600 ms: delay to each `social:propSessionsUpdated`, and the server CPU
//!   and round trips each watcher costs per change, against one `getPropSessions` (the
//!   look a watcher takes) measured in the same run.
//!
//! The embedded SecantusDB (Python) is used unless `BENCH_MONGODB_URI` names another
//! database server (`?directConnection=true` for a single node; a replica set for `cross`).
//! `BENCH_CALLS` (requests per series, default 300), `BENCH_FANOUT_UPDATES` (20),
//! `BENCH_IDLE_SOCKETS` (100000) and `BENCH_IDLE_COMPRESSED` (10000) scale the runs;
//! `BENCH_ENDPOINTS` (for example `getSession,updateSession`) limits `requests` to those
//! endpoints.

mod common;
#[path = "load/driving.rs"]
mod driving;
#[path = "load/pushes.rs"]
mod pushes;
#[path = "load/raw_client.rs"]
mod raw_client;
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
