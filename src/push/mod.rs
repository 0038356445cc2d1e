//! Live pushes: `social:sessionUpdated` and `social:sessionDeleted` to every open
//! connection of a session's audience, on whichever server process it lives, reminders
//! (`social:sessionStarting`) to one person's connections, the wake-ups of the live prop
//! board, and the end of an erased user's connections on every process.
//!
//! - [`hub`]: this process's open connections, by user, with their bounded queues;
//! - [`bus`]: the outbox (the `pushes` collection) and the change stream that carries each
//!   change to every process, which renders it for its own recipients;
//! - [`written`]: sessions as this process's writes left them, until their pushes return;
//! - [`board`]: the props this process's connections watch (`social:watchProp`), woken
//!   by every push that names them.
//!
//! Who hears of a change is `domain::change`; the numbers of pushes are
//! `store::push_numbers`; how pushes are described to clients is `api::pushes`.

pub mod board;
pub mod bus;
pub mod hub;
pub mod written;

pub use bus::{PushMode, Pushes};
pub use hub::{ConnectionHub, HubRegistration, Outgoing, Outlet, PushFrame};
