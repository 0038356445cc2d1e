//! The WebSocket protocol: the [`Endpoint`](endpoint::Endpoint) trait and its registry, the
//! envelope codec, dispatch of one frame to its endpoint, the state a request sees, the
//! loaders that apply the domain's visibility rules (404 for what a caller may not see),
//! the prelude that every module under `handlers/` imports, the AsyncAPI document
//! generated from the registry (with the pushes the service sends, described in
//! `pushes`), and the values the endpoints' examples share.

pub mod access;
pub mod asyncapi;
pub mod calendar_feed;
pub mod context;
mod decode;
pub mod deletion;
pub mod dispatch;
pub mod endpoint;
pub mod envelope;
pub mod examples;
pub mod prelude;
pub mod prop_sessions;
pub mod prop_watch;
pub mod pushes;
pub mod quota;
pub mod retries;
pub mod waitlist;
