//! Test harness: one embedded database per test run, one server per test on a fresh
//! database name (`app`), a WebSocket client that speaks the envelope (`client`), what
//! tests create through it (`data`), `serve` processes of their own (`process`), and
//! scrapes of their metrics (`scrape`).

mod app;
mod client;
mod data;
mod process;
mod scrape;

pub use self::app::*;
pub use self::client::*;
pub use self::data::*;
pub use self::process::*;
pub use self::scrape::*;
