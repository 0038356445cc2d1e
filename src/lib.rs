//! social-events: the social layer of a virtual-events platform. Events in networks and
//! communities, sessions at room props, invitations, live pushes and calendar invitations,
//! over a WebSocket API backed by MongoDB.
//!
//! # Layout
//!
//! Each layer uses only the layers above it in this list; nothing points back up.
//!
//! - [`error`]: the one error type of a request and its wire codes. Used by every layer.
//! - [`metrics`]: the Prometheus series and the functions that record them. Used by
//!   every layer.
//! - [`aging`]: a map whose entries age out. Used by every layer.
//! - [`backoff`]: growing pauses between failed attempts of background work. Used by
//!   every layer.
//! - [`websocket`]: the WebSocket protocol's parts that do no IO — frames and the
//!   permessage-deflate extension. Used by `push` and `http`.
//! - [`domain`]: the rules in plain Rust — ids, kinds, time and recurrence, text checks,
//!   people, sources and access, events, sessions, invitations. No MongoDB, no HTTP.
//! - [`ics`]: iCalendar files (RFC 5545) — a session's `VEVENT`, its zone's `VTIMEZONE`,
//!   the calendar file. Uses only `domain`.
//! - [`token`]: access tokens — the claims this service reads, their verifier, and the
//!   signer of development tokens. Used by `http` and `tools`.
//! - [`store`]: MongoDB — collections, documents, indexes, queries, typed updates; the
//!   only place that names a stored field. (Records stored as their serde shape — the
//!   platform's users and memberships, a colour, an invitation — derive it in `domain`.)
//! - [`push`]: who hears of a change, the connections of this process, and the bus that
//!   carries changes to every process.
//! - [`app`]: the work endpoints and routes share — loading what a caller may see, the
//!   state of a request, waitlists, deletion of an event, quotas, calendar feed links, the
//!   prop board.
//! - [`api`]: the WebSocket protocol — the `Endpoint` trait, registry, envelope, dispatch,
//!   the AsyncAPI document, and the prelude of the endpoint modules in [`handlers`].
//! - [`handlers`]: one module per `social:*` endpoint, importing only `api::prelude`.
//! - [`http`]: poem — the server, the connection loop, authentication, rate limits, and
//!   the HTTP routes (internal routes, the invitation file).
//! - [`config`]: the command line and environment (arguments only; it uses no other
//!   module), read by `main` and the `tools` it runs.
//! - [`tools`]: off the request path — embedded database, import, tokens, fixture replay.
//! - [`cli`]: the commands themselves, for the service's binary and integrators' binaries.

#![forbid(unsafe_code)]

pub mod aging;
pub mod api;
pub mod app;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod ics;
pub mod metrics;
pub mod push;
pub mod store;
pub mod token;
pub mod tools;
pub mod websocket;

/// One module per `social:*` endpoint; each registers itself with the endpoint registry.
#[path = "../handlers/mod.rs"]
pub mod handlers;
