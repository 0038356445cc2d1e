//! social-events: the social layer of a virtual-events platform. Events in networks and
//! communities, sessions at room props, invitations, live pushes and calendar invitations,
//! over a WebSocket API backed by MongoDB.

pub mod access;
pub mod auth;
pub mod config;
pub mod connection;
pub mod embedded;
pub mod endpoint;
pub mod envelope;
pub mod error;
pub mod events;
pub mod fields;
pub mod import;
pub mod internal;
pub mod invitation_file;
pub mod invitations;
pub mod json_bson;
pub mod people;
pub mod prelude;
pub mod pushes;
pub mod recurrence;
pub mod replay;
pub mod server;
pub mod sessions;
pub mod state;
pub mod store;
pub mod time;
pub mod tools;

/// One module per `social:*` endpoint; each registers itself with the endpoint registry.
#[path = "../handlers/mod.rs"]
pub mod handlers;
