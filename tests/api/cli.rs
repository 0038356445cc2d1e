//! The `social-events` binary's own checks, run as a person runs it: `serve` refuses a
//! bad address, an address in use and short secrets at once, before the embedded database
//! starts, and says in one line that it cannot reach its database; `token` signs only with
//! the secret of an existing server, says which one, and refuses user ids the service
//! refuses.

use std::path::Path;
use std::process::{Command, Output};

use social_events::token::TokenVerifier;

use crate::helpers::SECRET;

/// The binary with an environment of its own: none of the service's variables of the
/// machine running the tests, only `environment`.
fn social_events(arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_social-events"))
        .args(arguments)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .envs(environment.iter().copied())
        .output()
        .expect("the binary runs")
}

/// The standard error of a run that failed, checked to be one line.
#[track_caller]
fn one_line_failure(output: &Output) -> String {
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    stderr.trim_end().to_owned()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The project's Python environment of the embedded database, so that a `serve` that
/// wrongly started it would start it rather than install one.
fn venv() -> String {
    std::fs::canonicalize(".venv")
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn serve_refuses_an_address_in_use_before_it_starts_the_embedded_database() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let output = social_events(
        &["serve"],
        &[
            ("SOCIAL_BIND", &bind),
            ("SOCIAL_DATA_DIR", data_dir.to_str().unwrap()),
            ("SOCIAL_EMBEDDED_VENV", &venv()),
        ],
    );
    let message = one_line_failure(&output);
    assert_eq!(
        message,
        format!(
            "error: cannot listen on {bind}: the address is in use (another social-events \
             serve?); choose another with --bind or SOCIAL_BIND"
        )
    );
    assert!(
        !data_dir.exists(),
        "nothing was started or written: no database, no secret"
    );
}

#[test]
fn serve_refuses_a_bad_address_and_short_secrets_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let free = format!("127.0.0.1:{}", closed_port());
    let short = "31-bytes-is-one-byte-too-short!";
    for (variable, value, expected) in [
        (
            "SOCIAL_BIND",
            "localhost",
            "error: invalid bind address \"localhost\": expected HOST:PORT",
        ),
        (
            "SOCIAL_JWT_SECRET",
            short,
            "error: the JWT secret (--jwt-secret, SOCIAL_JWT_SECRET) must be at least 32 bytes",
        ),
        (
            "SOCIAL_INTERNAL_SECRET",
            short,
            "error: the internal secret (SOCIAL_INTERNAL_SECRET) must be at least 32 bytes",
        ),
        (
            "SOCIAL_CALENDAR_FEED_SECRET",
            short,
            "error: the calendar feed secret (SOCIAL_CALENDAR_FEED_SECRET) must be at least 32 \
             bytes",
        ),
    ] {
        let mut environment = vec![
            ("SOCIAL_BIND", free.as_str()),
            ("SOCIAL_DATA_DIR", data_dir.to_str().unwrap()),
        ];
        environment.push((variable, value));
        let venv = venv();
        environment.push(("SOCIAL_EMBEDDED_VENV", &venv));
        let output = social_events(&["serve"], &environment);
        let message = one_line_failure(&output);
        assert!(message.starts_with(expected), "{variable}: {message}");
        assert!(
            !data_dir.join("db").exists(),
            "{variable}: no database started"
        );
    }
}

#[test]
fn serve_says_in_one_line_that_it_cannot_reach_its_database_and_exits() {
    let port = closed_port();
    let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let output = social_events(
        &["serve"],
        &[
            ("MONGODB_URI", &uri),
            ("SOCIAL_JWT_SECRET", SECRET),
            ("SOCIAL_BIND", "127.0.0.1:0"),
            ("SOCIAL_DB_TIMEOUT", "1"),
        ],
    );
    assert_eq!(
        one_line_failure(&output),
        format!(
            "error: cannot reach the database at mongodb://127.0.0.1:{port} (connection refused)"
        )
    );
}

/// Runs `token` with `arguments` on `data_dir`.
fn token(data_dir: &Path, arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut line = vec!["token", "--data-dir", data_dir.to_str().unwrap()];
    line.extend_from_slice(arguments);
    social_events(&line, environment)
}

#[test]
fn token_never_makes_a_secret_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("elsewhere");
    let output = token(&data_dir, &["--user", "ada"], &[]);
    let message = one_line_failure(&output);
    assert!(
        message.starts_with(&format!(
            "error: no development secret at {}: no development server has started with the \
             data dir",
            data_dir.join("jwt-secret").display()
        )),
        "{message}"
    );
    assert!(output.stdout.is_empty(), "no token");
    assert!(!data_dir.exists(), "no secret was made");
}

#[test]
fn token_says_which_secret_it_signed_with() {
    let dir = tempfile::tempdir().unwrap();
    let secret = social_events::tools::token::development_secret(dir.path()).unwrap();
    let output = token(dir.path(), &["--user", "ada"], &[]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let path = dir.path().join("jwt-secret");
    assert!(
        stderr.starts_with(&format!(
            "signed with the development secret in {}\n",
            path.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: no development server runs on"),
        "{stderr}"
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    let claims = TokenVerifier::hs256(&secret)
        .unwrap()
        .verify(printed.trim())
        .expect("the server's secret verifies it");
    assert_eq!(claims.sub, "ada");

    let output = token(
        dir.path(),
        &["--user", "ada"],
        &[("SOCIAL_JWT_SECRET", SECRET)],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "signed with the configured secret (--jwt-secret / SOCIAL_JWT_SECRET)\n"
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        TokenVerifier::hs256(SECRET.as_bytes())
            .unwrap()
            .verify(printed.trim())
            .is_ok()
    );
}

#[test]
fn token_refuses_user_ids_and_lifetimes_the_service_refuses() {
    let dir = tempfile::tempdir().unwrap();
    social_events::tools::token::development_secret(dir.path()).unwrap();
    let long = "x".repeat(257);
    for (arguments, expected) in [
        (
            vec!["--user", ""],
            "error: --user must be 1 to 256 bytes long: the service refuses tokens for such a \
             user id",
        ),
        (
            vec!["--user", long.as_str()],
            "error: --user must be 1 to 256 bytes long",
        ),
        (
            vec!["--user", "ada\u{7}"],
            "error: --user must not contain control characters",
        ),
        (
            vec!["--user", "ada", "--ttl", "0"],
            "error: --ttl must be a positive number of seconds",
        ),
    ] {
        let output = token(dir.path(), &arguments, &[]);
        let message = one_line_failure(&output);
        assert!(message.starts_with(expected), "{arguments:?}: {message}");
        assert!(output.stdout.is_empty(), "{arguments:?}: no token");
    }
}
