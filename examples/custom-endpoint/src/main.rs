//! The integrator's binary: social-events, with this crate's endpoints linked in.

use std::process::ExitCode;

fn main() -> ExitCode {
    custom_endpoint::link();
    social_events::cli::main()
}
