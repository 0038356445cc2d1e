//! The service's Prometheus metrics, served at `GET /metrics`: every name and label value
//! is defined here, so that label sets stay bounded (endpoint names come from the
//! registry, HTTP routes are their templates, everything else comes from the enums below;
//! never a user id, a secret of a URL or a client's text).
//!
//! Every series exists from the start, at 0, so that an operator's alerts and `rate()`s
//! see the first event too: the recorder's install registers the series whose label
//! values this module knows (the unlabelled ones, every `kind` and `reason`, the build
//! information), and the server registers, before it serves, those whose values the
//! layers above know ([`register_endpoints`]: every endpoint name and `unknown`;
//! [`register_http_routes`]: every route template with the statuses it documents).
//! `social_frames_total` starts with the codes an operator alerts on — `0`, `500` and
//! `503` for every endpoint, `400` and `404` for `unknown` — and gains other codes as
//! they are answered.
//!
//! Recording goes through the `metrics` facade to the recorder this module installs on
//! first use. A binary that installed a recorder of its own keeps it: the service's
//! series then go there, and `/metrics` shows only what this module's exporter holds.
//! The process's own figures (CPU time, memory, file descriptors, start time, threads)
//! follow the service's series under their conventional `process_*` names, read at each
//! scrape ([`process`]).

pub mod process;

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
/// Reminders (`social:sessionStarting`) this process wrote (counter).
pub const REMINDERS_SENT: &str = "social_reminders_sent_total";
/// Messages compressed (permessage-deflate) for the sockets that agreed on it: a push
/// once however many sockets receive it (counter).
pub const MESSAGES_COMPRESSED: &str = "social_messages_compressed_total";

/// HTTP requests answered, by `route` (the route's template) and `status` (counter).
pub const HTTP_REQUESTS: &str = "social_http_requests_total";
/// Time from an HTTP request's arrival to its answer, by `route` (histogram).
pub const HTTP_ANSWER_SECONDS: &str = "social_http_answer_seconds";
/// Always 1, labelled with the running `version` (gauge).
pub const BUILD_INFO: &str = "social_build_info";

/// The endpoint label of a frame whose endpoint is not registered.
pub const UNKNOWN_ENDPOINT: &str = "unknown";
/// The route label of an HTTP request that no route serves.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The answer codes every endpoint's `social_frames_total` starts with: success, and the
/// service's own failures (unexpected, database unavailable or busy).
pub const PREREGISTERED_CODES: [u16; 3] = [0, 500, 503];
/// The answer codes `social_frames_total{endpoint="unknown"}` starts with: a malformed
/// frame, an unknown endpoint.
pub const PREREGISTERED_UNKNOWN_CODES: [u16; 2] = [400, 404];

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
    /// Every reason, for registering their series at start.
    pub const ALL: [Refusal; 6] = [
        Refusal::Rate,
        Refusal::Quota,
        Refusal::Connections,
        Refusal::Size,
        Refusal::Busy,
        Refusal::Unanswered,
    ];

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
    /// Every kind, for registering their series at start.
    pub const ALL: [DbError; 3] = [DbError::Timeout, DbError::Unavailable, DbError::Failed];

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

/// The exporter's builder: the latencies are histograms with [`SECONDS_BUCKETS`].
fn builder() -> Result<PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    [ANSWER_SECONDS, PUSH_LAG_SECONDS, HTTP_ANSWER_SECONDS]
        .into_iter()
        .try_fold(PrometheusBuilder::new(), |builder, name| {
            builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), &SECONDS_BUCKETS)
        })
}

fn install() -> PrometheusHandle {
    let builder = builder().unwrap_or_else(|error| {
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
    register_known();
    handle
}

/// The counters without labels.
const UNLABELLED_COUNTERS: [&str; 8] = [
    PUSHES_DELIVERED,
    PUSHES_DROPPED,
    CLIENTS_KICKED,
    DB_CLIENTS_REPLACED,
    PROP_LOOKS,
    PROP_LOOKS_SHARED,
    MESSAGES_COMPRESSED,
    REMINDERS_SENT,
];
/// The gauges without labels (the build information has its own).
const UNLABELLED_GAUGES: [&str; 4] = [
    CONNECTIONS,
    DB_CALLS_IN_FLIGHT,
    DB_CALLS_WAITING,
    PROP_WATCHES,
];

/// Registers at 0 every series whose label values this module knows, and the build
/// information.
fn register_known() {
    for name in UNLABELLED_COUNTERS {
        counter!(name).increment(0);
    }
    for name in UNLABELLED_GAUGES {
        gauge!(name).increment(0.0);
    }
    // Registering a histogram is enough: it renders, with empty buckets, at once.
    let _ = histogram!(PUSH_LAG_SECONDS);
    for kind in DbError::ALL {
        counter!(DB_ERRORS, "kind" => kind.label()).increment(0);
    }
    for reason in Refusal::ALL {
        counter!(REFUSALS, "reason" => reason.label()).increment(0);
    }
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
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
    describe_counter!(
        MESSAGES_COMPRESSED,
        "Messages compressed for sockets that agreed on permessage-deflate (a push once)."
    );
    describe_counter!(
        REMINDERS_SENT,
        "Reminders (social:sessionStarting) sent by this process, one per person and occurrence."
    );
    describe_counter!(REFUSALS, "Requests and connections refused, by reason.");
    describe_gauge!(BUILD_INFO, "Always 1, labelled with the running version.");
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template and status."
    );
    describe_histogram!(
        HTTP_ANSWER_SECONDS,
        Unit::Seconds,
        "Time from an HTTP request's arrival to its answer, by route template."
    );
}

/// Registers at 0 the series of every endpoint in `endpoints` (the registered names) and
/// of [`UNKNOWN_ENDPOINT`]: their answer times, and their frames answered with the codes
/// an operator alerts on ([`PREREGISTERED_CODES`], [`PREREGISTERED_UNKNOWN_CODES`]).
pub fn register_endpoints(endpoints: impl IntoIterator<Item = &'static str>) {
    exporter();
    register_endpoint_series(endpoints);
}

fn register_endpoint_series(endpoints: impl IntoIterator<Item = &'static str>) {
    for endpoint in endpoints {
        for code in PREREGISTERED_CODES {
            counter!(FRAMES, "endpoint" => endpoint, "code" => code.to_string()).increment(0);
        }
        let _ = histogram!(ANSWER_SECONDS, "endpoint" => endpoint);
    }
    for code in PREREGISTERED_UNKNOWN_CODES {
        counter!(FRAMES, "endpoint" => UNKNOWN_ENDPOINT, "code" => code.to_string()).increment(0);
    }
    let _ = histogram!(ANSWER_SECONDS, "endpoint" => UNKNOWN_ENDPOINT);
}

/// The text of `GET /metrics` (Prometheus exposition format 0.0.4): the service's series,
/// then the process's figures.
pub fn render() -> String {
    let mut text = exporter().render();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&process::text());
    text
}

/// Registers at 0 the series of every route in `routes` (a route template and the
/// statuses it may answer): its answer times, and its requests answered with each of
/// those statuses.
pub fn register_http_routes<'a>(routes: impl IntoIterator<Item = (&'a str, &'a [u16])>) {
    exporter();
    register_http_route_series(routes);
}

fn register_http_route_series<'a>(routes: impl IntoIterator<Item = (&'a str, &'a [u16])>) {
    for (route, statuses) in routes {
        for status in statuses {
            counter!(HTTP_REQUESTS, "route" => route.to_owned(), "status" => status.to_string())
                .increment(0);
        }
        let _ = histogram!(HTTP_ANSWER_SECONDS, "route" => route.to_owned());
    }
}

/// An HTTP request to `route` (a route template, or [`UNMATCHED_ROUTE`]) was answered with
/// `status`, `elapsed` after it arrived.
pub fn http_answered(route: &str, status: u16, elapsed: Duration) {
    counter!(HTTP_REQUESTS, "route" => route.to_owned(), "status" => status.to_string())
        .increment(1);
    histogram!(HTTP_ANSWER_SECONDS, "route" => route.to_owned()).record(elapsed.as_secs_f64());
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

/// `count` reminders were sent (each to one person, once across processes).
pub fn reminders_sent(count: usize) {
    counter!(REMINDERS_SENT).increment(u64::try_from(count).unwrap_or(u64::MAX));
}

/// A message was compressed (once for all the sockets it goes to).
pub fn message_compressed() {
    counter!(MESSAGES_COMPRESSED).increment(1);
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
        let recorder = builder().unwrap().build_recorder();
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

    #[test]
    fn every_series_starts_at_zero_with_each_label_value_known() {
        let text = exported(|| {
            register_known();
            register_endpoint_series(["social:getSession", "social:joinSession"]);
        });
        for line in [
            "social_connections 0\n",
            "social_pushes_delivered_total 0\n",
            "social_pushes_dropped_total 0\n",
            "social_clients_kicked_total 0\n",
            "social_db_clients_replaced_total 0\n",
            "social_db_calls_in_flight 0\n",
            "social_db_calls_waiting 0\n",
            "social_prop_watches 0\n",
            "social_prop_looks_total 0\n",
            "social_prop_looks_shared_total 0\n",
            "social_push_lag_seconds_count 0\n",
            r#"social_push_lag_seconds_bucket{le="0.0005"} 0"#,
            r#"social_db_errors_total{kind="timeout"} 0"#,
            r#"social_db_errors_total{kind="unavailable"} 0"#,
            r#"social_db_errors_total{kind="failed"} 0"#,
            r#"social_refusals_total{reason="rate"} 0"#,
            r#"social_refusals_total{reason="quota"} 0"#,
            r#"social_refusals_total{reason="connections"} 0"#,
            r#"social_refusals_total{reason="size"} 0"#,
            r#"social_refusals_total{reason="busy"} 0"#,
            r#"social_refusals_total{reason="unanswered"} 0"#,
            r#"social_frames_total{endpoint="social:getSession",code="0"} 0"#,
            r#"social_frames_total{endpoint="social:getSession",code="500"} 0"#,
            r#"social_frames_total{endpoint="social:joinSession",code="503"} 0"#,
            r#"social_frames_total{endpoint="unknown",code="400"} 0"#,
            r#"social_frames_total{endpoint="unknown",code="404"} 0"#,
            r#"social_answer_seconds_count{endpoint="social:joinSession"} 0"#,
            r#"social_answer_seconds_bucket{endpoint="unknown",le="10"} 0"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        let version = format!(
            "social_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&version), "{version} in:\n{text}");
        assert!(
            !text.contains(r#"code="409""#),
            "only the codes an operator alerts on start at 0:\n{text}"
        );
    }

    #[test]
    fn http_requests_are_counted_by_route_template_and_status_from_zero() {
        let route = "/api/v0/resource/calendar/{feed}";
        let text = exported(|| {
            register_http_route_series([(route, &[200, 304, 404][..])]);
            http_answered(route, 200, Duration::from_millis(2));
            http_answered(UNMATCHED_ROUTE, 404, Duration::from_millis(1));
        });
        for line in [
            r#"social_http_requests_total{route="/api/v0/resource/calendar/{feed}",status="200"} 1"#,
            r#"social_http_requests_total{route="/api/v0/resource/calendar/{feed}",status="304"} 0"#,
            r#"social_http_requests_total{route="/api/v0/resource/calendar/{feed}",status="404"} 0"#,
            r#"social_http_requests_total{route="unmatched",status="404"} 1"#,
            r#"social_http_answer_seconds_bucket{route="/api/v0/resource/calendar/{feed}",le="0.0025"} 1"#,
            r#"social_http_answer_seconds_bucket{route="/api/v0/resource/calendar/{feed}",le="0.001"} 0"#,
            r#"social_http_answer_seconds_count{route="unmatched"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }
}
