//! Test harness: one embedded database per test run, one server per test on a fresh
//! database name (`app`), a WebSocket client that speaks the envelope (`client`), what
//! tests create through it (`data`), and `serve` processes of their own (`process`).

mod app;
mod client;
mod data;
mod process;

pub use self::app::*;
pub use self::client::*;
pub use self::data::*;
pub use self::process::*;
