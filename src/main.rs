//! The `social-events` binary: the command line of [`social_events::cli`].

use std::ffi::c_long;
use std::process::ExitCode;

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// A request allocates and frees many small buffers (frames, BSON, JSON) on every worker
/// thread; mimalloc's thread-local free lists cost less CPU per request than the system
/// allocator's (see the README's Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (`include/mimalloc.h`; the
/// crate exports no constant for it): how long freed memory stays with the process
/// before it is given back to the system, in milliseconds.
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;
/// Freed memory goes back to the system at once. mimalloc's default (1 s) keeps a second
/// of a burst's large answers resident after they were sent: the peak memory one user
/// can cause was 3–5× higher with it, for no measurable CPU per request (see the
/// README's Performance section). `MIMALLOC_PURGE_DELAY` in the environment still decides.
const PURGE_DELAY_MS: c_long = 0;

/// Sets the allocator's options. Called first in `main`, before any other thread exists:
/// mimalloc's options are not set thread-safely.
#[allow(unsafe_code)]
fn configure_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain integer option, set while the process has one thread.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

fn main() -> ExitCode {
    configure_allocator();
    social_events::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;
    use libmimalloc_sys::mi_option_get;

    /// The purge delay mimalloc uses now.
    #[allow(unsafe_code)]
    fn purge_delay() -> c_long {
        // SAFETY: reads a plain integer option.
        unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }
    }

    #[test]
    fn the_option_number_names_the_purge_delay() {
        // mimalloc 3's default purge delay is 1000 ms, a value no neighbouring option has.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay(), 1000);
        }
        configure_allocator();
        let expected = std::env::var("MIMALLOC_PURGE_DELAY")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(PURGE_DELAY_MS);
        assert_eq!(purge_delay(), expected);
    }
}
