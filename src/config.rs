//! Command-line and environment configuration, in one place (`clap`).
//!
//! Every flag has an environment variable; the README's configuration table lists them.
//! Secrets (signing secrets, the MongoDB URI, which may carry credentials) are held as
//! [`SecretString`]s: they print as redacted.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

/// A positive duration in seconds, fractions allowed (`0.5`).
fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("not a number of seconds: {text}"))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Reads a secret flag or variable.
fn secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

#[derive(Debug, Parser)]
#[command(
    name = "social-events",
    version,
    about = "Social events and sessions service"
)]
pub struct Cli {
    /// Write logs as JSON lines instead of human-readable text.
    #[arg(long, env = "SOCIAL_LOG_JSON", global = true)]
    pub log_json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the WebSocket API, the ICS download and the health checks.
    Serve(ServeArgs),
    /// Print a token for a user, signed with the configured (or development) secret.
    Token(TokenArgs),
    /// Load users and memberships from a JSON file into the database.
    Import(ImportArgs),
    /// Replay QA fixture scenarios against a running server.
    Replay(ReplayArgs),
    /// Print the AsyncAPI document of the WebSocket API (as served at /asyncapi.json).
    Asyncapi(AsyncapiArgs),
}

/// What `asyncapi` describes.
#[derive(Debug, Clone, Args)]
pub struct AsyncapiArgs {
    /// The service's public base URL, for the document's server.
    #[arg(
        long,
        env = "SOCIAL_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// MongoDB connection string. Unset: start the embedded development database.
    #[arg(long, env = "MONGODB_URI", hide_env_values = true, value_parser = secret)]
    pub mongodb_uri: Option<SecretString>,

    /// Database name.
    #[arg(long = "db", env = "SOCIAL_DB", default_value = "social")]
    pub db_name: String,

    /// Directory for the embedded database's files and the development secret.
    #[arg(long, env = "SOCIAL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Deadline of one database call, in seconds: a database that is down or frozen gives
    /// a 503 within it.
    #[arg(long, env = "SOCIAL_DB_TIMEOUT", default_value = "3", value_parser = seconds)]
    pub db_timeout: Duration,

    /// Python virtual environment that holds the embedded database (created when missing).
    #[arg(long, env = "SOCIAL_EMBEDDED_VENV", default_value = "./.venv")]
    pub embedded_venv: PathBuf,
}

/// How tokens are verified.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// HS256 shared secret (at least 32 bytes).
    #[arg(
        long,
        env = "SOCIAL_JWT_SECRET",
        hide_env_values = true,
        conflicts_with = "jwt_public_key",
        value_parser = secret
    )]
    pub jwt_secret: Option<SecretString>,

    /// RS256 public key, a PEM file.
    #[arg(long, env = "SOCIAL_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,

    /// Required `aud` of tokens (unset: not checked).
    #[arg(long, env = "SOCIAL_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Required `iss` of tokens (unset: not checked).
    #[arg(long, env = "SOCIAL_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub auth: AuthArgs,

    /// Address to listen on.
    #[arg(long, env = "SOCIAL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Public base URL of this service, used in calendar invitations.
    /// Default: `http://` followed by the bind address.
    #[arg(long, env = "SOCIAL_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Secret of the platform's internal endpoints (room and prop deletion).
    /// Unset: those endpoints answer 404.
    #[arg(long, env = "SOCIAL_INTERNAL_SECRET", hide_env_values = true, value_parser = secret)]
    pub internal_secret: Option<SecretString>,

    /// Secret that calendar feed URLs are made with (at least 32 bytes). Unset: derived
    /// from the HS256 signing secret (so rotating that one changes every feed URL); with
    /// RS256 tokens and no feed secret, calendar feeds are off.
    #[arg(long, env = "SOCIAL_CALENDAR_FEED_SECRET", hide_env_values = true, value_parser = secret)]
    pub calendar_feed_secret: Option<SecretString>,

    /// Largest accepted WebSocket frame, in bytes.
    #[arg(long, env = "SOCIAL_MAX_FRAME_BYTES", default_value_t = 1024 * 1024)]
    pub max_frame_bytes: usize,

    /// Frames per second one user may send, all of their connections on this process
    /// together.
    #[arg(long, env = "SOCIAL_RATE_LIMIT", default_value_t = 100)]
    pub rate_limit: u32,

    /// Frames one user may send in a burst.
    #[arg(long, env = "SOCIAL_RATE_BURST", default_value_t = 200)]
    pub rate_burst: u32,

    /// Connections one user may hold open on this process.
    #[arg(long, env = "SOCIAL_MAX_CONNECTIONS_PER_USER", default_value_t = 32)]
    pub max_connections_per_user: usize,

    /// Seconds a new connection has to complete its first request before it is closed.
    #[arg(long, env = "SOCIAL_HEADER_TIMEOUT", default_value = "10", value_parser = seconds)]
    pub header_timeout: Duration,

    /// Seconds between two scans for reminders due (`social:sessionStarting`): how late a
    /// reminder may be.
    #[arg(long, env = "SOCIAL_REMINDER_TICK", default_value = "1", value_parser = seconds)]
    pub reminder_tick: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub auth: AuthArgs,

    /// The user id (the token's subject).
    #[arg(long)]
    pub user: String,

    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: i64,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// A JSON file `{"users": [...], "memberships": [...]}`.
    pub file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub auth: AuthArgs,

    /// WebSocket URL of the running server.
    #[arg(long, env = "SOCIAL_REPLAY_URL", default_value = "ws://127.0.0.1:8080")]
    pub url: String,

    /// Scenario files, or folders searched for `*.json`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults_match_the_documentation() {
        let cli = Cli::try_parse_from(["social-events", "serve"]).unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(serve.bind, "127.0.0.1:8080");
        assert_eq!(serve.database.db_name, "social");
        assert_eq!(serve.max_frame_bytes, 1_048_576);
        assert_eq!((serve.rate_limit, serve.rate_burst), (100, 200));
        assert_eq!(serve.max_connections_per_user, 32);
        assert_eq!(serve.database.db_timeout, Duration::from_secs(3));
    }

    #[test]
    fn database_deadlines_are_positive_seconds() {
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        for refused in ["0", "-1", "NaN", "inf", "3s", "99999"] {
            assert!(seconds(refused).is_err(), "{refused}");
        }
    }
}
