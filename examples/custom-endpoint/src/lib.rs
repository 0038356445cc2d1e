//! Endpoints of an integrator's own, served by social-events beside its `social:*` ones.
//!
//! Each module implements [`Endpoint`](social_events::api::prelude::Endpoint) and submits
//! its registration with `inventory`, exactly as the service's own handlers do; the
//! binary that links this crate routes, counts and documents them like the others.

mod ping;

/// Links this crate into a binary. `inventory` collects the registrations of the crates
/// a binary links, and a crate nothing in the binary refers to is not linked: calling this
/// from `main` is that reference.
pub fn link() {}
