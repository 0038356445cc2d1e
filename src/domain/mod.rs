//! The rules of the service in plain Rust: who may see and change what, what a valid event,
//! session or invitation is, when a session takes place, and how people are shown.
//!
//! Nothing here knows MongoDB, BSON or HTTP: the store persists these values, the API layer
//! decodes requests into them, and every rule exists once, here, with its unit tests.

pub mod change;
pub mod client_object;
pub mod event;
pub mod feed;
pub mod ids;
pub mod invitation;
pub mod kinds;
pub mod occurrences;
pub mod page;
pub mod people;
pub mod recurrence;
pub mod reminder;
pub mod retry;
pub mod session;
pub mod source;
pub mod text;
pub mod time;
pub mod zone;
