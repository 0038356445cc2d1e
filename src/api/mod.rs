//! The WebSocket protocol: the [`Endpoint`](endpoint::Endpoint) trait and its registry, the
//! envelope codec, dispatch of one frame to its endpoint (decoding its `data`, and refusing
//! a known field sent in the wrong object: `placement`), the prelude that every module
//! under `handlers/` imports, the AsyncAPI document generated from the registry (with the
//! pushes the service sends, described in `pushes`), and the values the endpoints'
//! examples share. The work endpoints share is `app`'s.

pub mod asyncapi;
mod decode;
pub mod dispatch;
pub mod endpoint;
pub mod envelope;
pub mod examples;
mod placement;
pub mod prelude;
pub mod pushes;
pub mod retries;
