//! The `social-events` binary: the command line of [`social_events::cli`].

use std::process::ExitCode;

/// A request allocates and frees many small buffers (frames, BSON, JSON) on every worker
/// thread; mimalloc's thread-local free lists cost less CPU per request than the system
/// allocator's (see the README's Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    social_events::cli::main()
}
