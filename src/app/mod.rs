//! The work endpoints and routes share, on top of `store` and `push`: loading what a caller
//! may see (`access`), the state of a request (`state`, `context`), waitlist promotion,
//! crash-safe deletion of an event, occurrences changed one by one, reminders, a person's
//! data (export and erasure), quotas, calendar feed links and the prop board. No wire
//! protocol here: that is `api`'s.

pub mod access;
pub mod calendar_feed;
pub mod context;
pub mod deletion;
pub mod occurrences;
pub mod person_data;
pub mod prop_board;
pub mod quota;
pub mod reminders;
pub mod state;
pub mod waitlist;
