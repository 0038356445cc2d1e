//! The prop board: what a user sees at a room prop (`sessions`), and the live watches of
//! one connection that push it again whenever it changes (`watches`), sharing their looks
//! (`looks`). Which process's watchers hear of a change at a prop is `push::board`'s work.

pub mod looks;
pub mod sessions;
pub mod watches;
