//! Live pushes: `social:sessionUpdated` and `social:sessionDeleted` to every open
//! connection of a session's audience, on whichever server process it lives, and the
//! wake-ups of the live prop board.
//!
//! - [`change`]: who hears of a change to a session;
//! - [`hub`]: this process's open connections, by user, with their bounded queues;
//! - [`bus`]: the outbox (the `pushes` collection) and the change stream that carries each
//!   change to every process, which renders it for its own recipients;
//! - [`number`]: the numbers of pushes, places in the database's change history;
//! - [`written`]: sessions as this process's writes left them, until their pushes return;
//! - [`board`]: the props this process's connections watch (`social:watchProp`), woken
//!   by every push that names them.

pub mod board;
pub mod bus;
pub mod change;
pub mod hub;
pub mod number;
pub mod written;

pub use bus::{PushMode, Pushes};
pub use change::SessionChange;
pub use hub::{ConnectionHub, HubRegistration, Outgoing, Outlet, PushFrame};
