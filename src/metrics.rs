//! The service's Prometheus metrics, served at `GET /metrics`: every name and label value
//! is defined here, so that label sets stay bounded (endpoint names come from the
//! registry, everything else from the enums below; never a user id or a client's text).
//!
//! Recording goes through the `metrics` facade to the recorder this module installs on
//! first use. A binary that installed a recorder of its own keeps it: the service's
//! series then go there, and `/metrics` shows only what this module's exporter holds.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Open WebSocket connections (gauge).
pub const CONNECTIONS: &str = "social_connections";
/// Frames answered, by `endpoint` and `code` (counter).
pub const FRAMES: &str = "social_frames_total";
/// Time from a frame's arrival to its answer, by `endpoint` (histogram).
pub const ANSWER_SECONDS: &str = "social_answer_seconds";
/// Push frames queued for a connection (counter).
pub const PUSHES_DELIVERED: &str = "social_pushes_delivered_total";
/// Push frames not delivered: the connection's queue was full or it had closed (counter).
pub const PUSHES_DROPPED: &str = "social_pushes_dropped_total";
/// Connections closed for reading their pushes too slowly (counter).
pub const CLIENTS_KICKED: &str = "social_clients_kicked_total";
/// Time from a push's writing to its delivery in this process (histogram).
pub const PUSH_LAG_SECONDS: &str = "social_push_lag_seconds";
/// Failed database calls, by `kind` (counter).
pub const DB_ERRORS: &str = "social_db_errors_total";
/// Requests and connections refused to protect the service, by `reason` (counter).
pub const REFUSALS: &str = "social_refusals_total";
/// Database clients replaced because they stopped answering while a fresh one answered
/// (counter).
pub const DB_CLIENTS_REPLACED: &str = "social_db_clients_replaced_total";

/// Database calls of this process sent and not yet answered (gauge).
pub const DB_CALLS_IN_FLIGHT: &str = "social_db_calls_in_flight";
/// Database calls of this process waiting for their turn (gauge); requests are refused
/// as busy while it is at its bound.
pub const DB_CALLS_WAITING: &str = "social_db_calls_waiting";

/// Props watched by this process's connections (`social:watchProp`) (gauge).
pub const PROP_WATCHES: &str = "social_prop_watches";
/// Looks of a watched prop taken again after a change or as time passed (counter).
pub const PROP_LOOKS: &str = "social_prop_looks_total";
/// Looks of a watched prop answered by a look another watch of the same user and prop
/// took meanwhile (counter).
pub const PROP_LOOKS_SHARED: &str = "social_prop_looks_shared_total";

/// The endpoint label of a frame whose endpoint is not registered.
pub const UNKNOWN_ENDPOINT: &str = "unknown";

/// Upper bounds of the latency histograms, in seconds.
const SECONDS_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Why something was refused (`social_refusals_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the rate limit (frames or connection attempts).
    Rate,
    /// Over a quota (sessions, invitations, contact look-ups).
    Quota,
    /// Too many connections of one user.
    Connections,
    /// A frame over the size limit.
    Size,
    /// A request or connection while the process had as much database work waiting as
    /// it may take.
    Busy,
    /// A new socket while as many sockets as may wait for their first answer.
    Unanswered,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::Rate => "rate",
            Refusal::Quota => "quota",
            Refusal::Connections => "connections",
            Refusal::Size => "size",
            Refusal::Busy => "busy",
            Refusal::Unanswered => "unanswered",
        }
    }
}

/// What kind of database failure (`social_db_errors_total{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbError {
    /// No answer within the deadline.
    Timeout,
    /// No server, a lost connection, a server stepping down.
    Unavailable,
    /// Any other refusal or failure of the database.
    Failed,
}

impl DbError {
    fn label(self) -> &'static str {
        match self {
            DbError::Timeout => "timeout",
            DbError::Unavailable => "unavailable",
            DbError::Failed => "failed",
        }
    }
}

/// The exporter of this process, installed as the global recorder on first use.
pub fn exporter() -> &'static PrometheusHandle {
    static EXPORTER: OnceLock<PrometheusHandle> = OnceLock::new();
    EXPORTER.get_or_init(install)
}

fn install() -> PrometheusHandle {
    let builder = [ANSWER_SECONDS, PUSH_LAG_SECONDS]
        .into_iter()
        .try_fold(PrometheusBuilder::new(), |builder, name| {
            builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), &SECONDS_BUCKETS)
        })
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "histogram buckets refused; latencies are summaries");
            PrometheusBuilder::new()
        });
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::info!(
            "a metrics recorder was installed already; /metrics shows none of its series"
        );
    }
    describe();
    handle
}

fn describe() {
    describe_gauge!(CONNECTIONS, "Open WebSocket connections.");
    describe_counter!(FRAMES, "Frames answered, by endpoint and answer code.");
    describe_histogram!(
        ANSWER_SECONDS,
        Unit::Seconds,
        "Time from a frame's arrival to its answer."
    );
    describe_counter!(PUSHES_DELIVERED, "Push frames queued for a connection.");
    describe_counter!(
        PUSHES_DROPPED,
        "Push frames not delivered (queue full or connection closed)."
    );
    describe_counter!(
        CLIENTS_KICKED,
        "Connections closed for reading their pushes too slowly."
    );
    describe_histogram!(
        PUSH_LAG_SECONDS,
        Unit::Seconds,
        "Time from a push's writing to its delivery."
    );
    describe_counter!(DB_ERRORS, "Failed database calls, by kind.");
    describe_counter!(
        DB_CLIENTS_REPLACED,
        "Database clients replaced: they stopped answering while a fresh one answered."
    );
    describe_gauge!(
        DB_CALLS_IN_FLIGHT,
        "Database calls sent and not yet answered."
    );
    describe_gauge!(
        DB_CALLS_WAITING,
        "Database calls waiting for a free connection."
    );
    describe_gauge!(PROP_WATCHES, "Props watched by this process's connections.");
    describe_counter!(
        PROP_LOOKS,
        "Looks of a watched prop taken again after a change or as time passed."
    );
    describe_counter!(
        PROP_LOOKS_SHARED,
        "Looks of a watched prop answered by a look of another watch of the same user."
    );
    describe_counter!(REFUSALS, "Requests and connections refused, by reason.");
}

/// The text of `GET /metrics` (Prometheus exposition format 0.0.4).
pub fn render() -> String {
    exporter().render()
}

/// Drains what the histograms hold between scrapes; run every few seconds.
pub fn run_upkeep() {
    exporter().run_upkeep();
}

/// A frame was answered with `code` (`endpoint`: a registered name or
/// [`UNKNOWN_ENDPOINT`]).
pub fn frame_answered(endpoint: &'static str, code: u16) {
    counter!(FRAMES, "endpoint" => endpoint, "code" => code.to_string()).increment(1);
}

/// A frame dispatched to `endpoint` was answered `elapsed` after it arrived.
pub fn answer_time(endpoint: &'static str, elapsed: Duration) {
    histogram!(ANSWER_SECONDS, "endpoint" => endpoint).record(elapsed.as_secs_f64());
}

/// Something was refused for `reason`.
pub fn refused(reason: Refusal) {
    counter!(REFUSALS, "reason" => reason.label()).increment(1);
}

/// `delta` database calls more (or fewer) are in flight.
pub fn db_calls_in_flight(delta: f64) {
    gauge!(DB_CALLS_IN_FLIGHT).increment(delta);
}

/// `delta` database calls more (or fewer) wait for their turn.
pub fn db_calls_waiting(delta: f64) {
    gauge!(DB_CALLS_WAITING).increment(delta);
}

/// A database call failed.
pub fn db_error(kind: DbError) {
    counter!(DB_ERRORS, "kind" => kind.label()).increment(1);
}

/// The database client was replaced by a fresh one.
pub fn db_client_replaced() {
    counter!(DB_CLIENTS_REPLACED).increment(1);
}

/// A push frame was queued for a connection.
pub fn push_delivered() {
    counter!(PUSHES_DELIVERED).increment(1);
}

/// A push frame was not delivered.
pub fn push_dropped() {
    counter!(PUSHES_DROPPED).increment(1);
}

/// A connection was closed for being too slow.
pub fn client_kicked() {
    counter!(CLIENTS_KICKED).increment(1);
}

/// A push written `lag` ago is being delivered.
pub fn push_lag(lag: Duration) {
    histogram!(PUSH_LAG_SECONDS).record(lag.as_secs_f64());
}

/// A watched prop was looked at again.
pub fn prop_looked_at() {
    counter!(PROP_LOOKS).increment(1);
}

/// A watched prop's look was answered by one another watch of its user took.
pub fn prop_look_shared() {
    counter!(PROP_LOOKS_SHARED).increment(1);
}

/// One more (`1.0`) or one fewer (`-1.0`) watched prop.
pub fn prop_watches_changed(by: f64) {
    gauge!(PROP_WATCHES).increment(by);
}

/// Counts one open connection while it lives.
#[derive(Debug)]
pub struct OpenConnection(());

impl OpenConnection {
    pub fn new() -> OpenConnection {
        gauge!(CONNECTIONS).increment(1.0);
        OpenConnection(())
    }
}

impl Default for OpenConnection {
    fn default() -> Self {
        OpenConnection::new()
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        gauge!(CONNECTIONS).decrement(1.0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs `record` against a recorder of its own and answers what it exported while
    /// the value `record` answered still lived.
    pub(crate) fn exported<T>(record: impl FnOnce() -> T) -> String {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(ANSWER_SECONDS.to_owned()), &SECONDS_BUCKETS)
            .unwrap()
            .build_recorder();
        let handle = recorder.handle();
        let kept = metrics::with_local_recorder(&recorder, record);
        let text = handle.render();
        drop(kept);
        text
    }

    #[test]
    fn an_open_connection_counts_while_it_lives() {
        let one_open = exported(|| {
            let first = OpenConnection::new();
            let second = OpenConnection::new();
            drop(first);
            second
        });
        assert!(one_open.contains("social_connections 1\n"), "{one_open}");
        let all_closed = exported(|| drop((OpenConnection::new(), OpenConnection::new())));
        assert!(
            all_closed.contains("social_connections 0\n"),
            "{all_closed}"
        );
    }

    #[test]
    fn each_answer_and_refusal_is_counted_once_under_bounded_labels() {
        let text = exported(|| {
            frame_answered("social:getSession", 0);
            frame_answered("social:getSession", 0);
            frame_answered(UNKNOWN_ENDPOINT, 404);
            answer_time("social:getSession", Duration::from_millis(3));
            refused(Refusal::Quota);
            db_error(DbError::Timeout);
        });
        for line in [
            r#"social_frames_total{endpoint="social:getSession",code="0"} 2"#,
            r#"social_frames_total{endpoint="unknown",code="404"} 1"#,
            r#"social_answer_seconds_bucket{endpoint="social:getSession",le="0.005"} 1"#,
            r#"social_answer_seconds_bucket{endpoint="social:getSession",le="0.0025"} 0"#,
            r#"social_refusals_total{reason="quota"} 1"#,
            r#"social_db_errors_total{kind="timeout"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }
}
