//! The `social-events` command line (`serve`, `token`, `import`, `replay`), as a library
//! function: the service's own binary is `fn main() { social_events::cli::main() }`, and
//! so is an integrator's binary that links crates of endpoints of its own (see the
//! README's "Endpoints of your own").

use std::process::ExitCode;

use crate::config::{
    AsyncapiArgs, AuthArgs, Cli, Command, DatabaseArgs, ImportArgs, ReplayArgs, ServeArgs,
    TokenArgs,
};
use crate::domain::feed::FeedKey;
use crate::domain::ids::user_id_problem;
use crate::http::internal::MIN_INTERNAL_SECRET_BYTES;
use crate::http::server::Application;
use crate::http::settings::{ConnectionLimits, DevelopmentTokens, Settings};
use crate::token::{MIN_SECRET_BYTES, TokenSigner, TokenVerifier};
use crate::tools::embedded::EmbeddedDatabase;
use crate::tools::replay::{Target, replay_file, scenario_files};
use crate::tools::token::{SecretSource, existing_signing_secret, signing_secret};
use crate::tools::{WhenNoDatabase, open_database, start_embedded};
use anyhow::{Context, bail};
use clap::Parser;
use secrecy::{ExposeSecret, SecretString};
use tracing_subscriber::EnvFilter;

/// Parses the command line and runs the command; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_json = cli.log_json;
    init_tracing(log_json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Token(args) => token(args),
        Command::Import(args) => runtime.block_on(import(args)),
        Command::Replay(args) => runtime.block_on(replay(args)),
        Command::Asyncapi(args) => print_asyncapi(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: a log line for JSON logs, else a plain sentence.
            if log_json {
                tracing::error!("{error:#}");
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn print_asyncapi(args: &AsyncapiArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let document = crate::api::asyncapi::document(args.public_url.trim_end_matches('/'));
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &document)?;
    writeln!(out)?;
    Ok(())
}

fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,mongodb=warn,poem=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        let _ = builder.json().with_current_span(true).try_init();
    } else {
        // A binary that set up its own subscriber keeps it.
        let _ = builder.try_init();
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // What can be checked at once is checked first, before the embedded database starts
    // (which takes many seconds on a first run): the address, then the keys.
    let listener = listen(&args.bind)?;
    let internal_secret = internal_secret(&args)?;
    let calendar_feed_key = calendar_feed_key(&args)?;
    let tokens = token_verifier(&args.auth, &args.database)?;
    let development_tokens = development_tokens(&args.auth, &args.database)?;
    let embedded = match &args.database.mongodb_uri {
        Some(_) => None,
        None => Some(start_embedded(&args.database).await?),
    };
    let mongodb_uri = match (&args.database.mongodb_uri, &embedded) {
        (Some(uri), _) => uri.clone(),
        (None, Some(database)) => SecretString::from(database.uri()),
        (None, None) => bail!("no database"),
    };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.bind))
        .trim_end_matches('/')
        .to_owned();
    let settings = Settings {
        bind: args.bind.clone(),
        mongodb_uri,
        db_name: args.database.db_name.clone(),
        db_timeout: args.database.db_timeout,
        tokens,
        public_url,
        internal_secret,
        connection: ConnectionLimits {
            max_frame_bytes: args.max_frame_bytes,
            requests_per_second: args.rate_limit,
            burst: args.rate_burst,
            max_connections_per_user: args.max_connections_per_user,
            header_timeout: args.header_timeout,
            ..ConnectionLimits::default()
        },
        development_tokens,
        calendar_feed_key,
        reminder_tick: args.reminder_tick,
    };
    let listener = tokio::net::TcpListener::from_std(listener)
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let application = Application::build_on(settings, listener).await?;
    let shutdown = application.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    let served = application.run().await;
    if let Some(database) = embedded {
        tokio::task::spawn_blocking(move || database.stop()).await?;
    }
    served.context("the server failed")
}

/// The listening socket of `bind` (`HOST:PORT`), bound at once: an address that is not
/// one, or one in use, stops the start before anything else.
fn listen(bind: &str) -> anyhow::Result<std::net::TcpListener> {
    use std::net::ToSocketAddrs;
    let addresses: Vec<std::net::SocketAddr> = bind
        .to_socket_addrs()
        .with_context(|| {
            format!("invalid bind address {bind:?}: expected HOST:PORT, such as 127.0.0.1:8080")
        })?
        .collect();
    let listener = std::net::TcpListener::bind(addresses.as_slice()).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "cannot listen on {bind}: the address is in use (another social-events serve?); \
                 choose another with --bind or SOCIAL_BIND"
            )
        } else {
            anyhow::anyhow!("cannot listen on {bind}: {error}")
        }
    })?;
    listener
        .set_nonblocking(true)
        .with_context(|| format!("cannot listen on {bind}"))?;
    Ok(listener)
}

/// The internal secret, when one is set: at least 32 bytes.
fn internal_secret(args: &ServeArgs) -> anyhow::Result<Option<SecretString>> {
    let secret = args
        .internal_secret
        .clone()
        .filter(|secret| !secret.expose_secret().is_empty());
    if let Some(secret) = &secret {
        anyhow::ensure!(
            secret.expose_secret().len() >= MIN_INTERNAL_SECRET_BYTES,
            "the internal secret (SOCIAL_INTERNAL_SECRET) must be at least {} bytes long",
            MIN_INTERNAL_SECRET_BYTES
        );
    }
    Ok(secret)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot watch SIGTERM; only SIGINT stops the server");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The verifier for the configured key. Without one, the embedded (development) mode uses
/// the development secret; production mode refuses to start.
fn token_verifier(auth: &AuthArgs, database: &DatabaseArgs) -> anyhow::Result<TokenVerifier> {
    let mut verifier = match &auth.jwt_public_key {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read the JWT public key {}", path.display()))?;
            TokenVerifier::rs256_pem(&pem)?
        }
        None => TokenVerifier::hs256(&signing_secret(auth, database)?)?,
    };
    if let Some(audience) = &auth.jwt_audience {
        verifier = verifier.with_audience(audience);
    }
    if let Some(issuer) = &auth.jwt_issuer {
        verifier = verifier.with_issuer(issuer);
    }
    Ok(verifier)
}

/// The key of calendar feed URLs: from its own secret, else from the HS256 signing
/// secret; none (feeds off) with RS256 tokens and no feed secret.
fn calendar_feed_key(args: &ServeArgs) -> anyhow::Result<Option<FeedKey>> {
    if let Some(secret) = args
        .calendar_feed_secret
        .as_ref()
        .filter(|secret| !secret.expose_secret().is_empty())
    {
        anyhow::ensure!(
            secret.expose_secret().len() >= MIN_SECRET_BYTES,
            "the calendar feed secret (SOCIAL_CALENDAR_FEED_SECRET) must be at least {} bytes long",
            MIN_SECRET_BYTES
        );
        return Ok(Some(FeedKey::derive(secret.expose_secret().as_bytes())));
    }
    if args.auth.jwt_public_key.is_some() {
        tracing::warn!(
            "calendar feeds are off: with RS256 tokens they need SOCIAL_CALENDAR_FEED_SECRET"
        );
        return Ok(None);
    }
    Ok(Some(FeedKey::derive(&signing_secret(
        &args.auth,
        &args.database,
    )?)))
}

/// The console's token signer in development mode: the embedded database and HS256 tokens
/// signed with the development secret the service generated (never a configured secret).
fn development_tokens(
    auth: &AuthArgs,
    database: &DatabaseArgs,
) -> anyhow::Result<Option<DevelopmentTokens>> {
    if database.mongodb_uri.is_some() || auth.jwt_public_key.is_some() || auth.jwt_secret.is_some()
    {
        return Ok(None);
    }
    let signer = signer(&signing_secret(auth, database)?, auth);
    Ok(Some(DevelopmentTokens::new(signer)))
}

/// Prints a token for `--user`, signed with the secret of the server it is for (never a
/// new one), and says on standard error which secret that is.
fn token(args: TokenArgs) -> anyhow::Result<()> {
    if args.auth.jwt_public_key.is_some() {
        bail!("RS256 tokens are issued by your identity provider; `token` signs HS256 tokens only");
    }
    if let Some(problem) = user_id_problem(&args.user) {
        bail!("--user {problem}: the service refuses tokens for such a user id");
    }
    anyhow::ensure!(
        args.ttl > 0,
        "--ttl must be a positive number of seconds (the token would be expired)"
    );
    let (secret, source) = existing_signing_secret(&args.auth, &args.database)?;
    let token = signer(&secret, &args.auth).sign_for_user(&args.user, args.ttl)?;
    eprintln!("signed with {source}");
    if matches!(source, SecretSource::Development(_))
        && EmbeddedDatabase::running_in_data_dir(&args.database.data_dir).is_none()
    {
        eprintln!(
            "note: no development server runs on {} now; the token is for the one that starts \
             there",
            args.database.data_dir.display()
        );
    }
    println!("{token}");
    Ok(())
}

async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let file = crate::tools::import::parse(&text)?;
    let (store, embedded) = open_database(&args.database, WhenNoDatabase::Start).await?;
    let imported = crate::tools::import::import(&store, &file).await;
    if let Some(embedded) = embedded {
        tokio::task::spawn_blocking(move || embedded.stop()).await?;
    }
    let imported = imported?;
    println!(
        "imported {} users and {} memberships into {}",
        imported.users, imported.memberships, args.database.db_name
    );
    Ok(())
}

/// Replays scenarios; prints one line per scenario (and the details of failures) and a
/// closing count. Fails when any scenario fails.
async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let (secret, _) = existing_signing_secret(&args.auth, &args.database)?;
    let (store, _) = open_database(&args.database, WhenNoDatabase::Fail).await?;
    let target = Target {
        url: args.url.clone(),
        store,
        signer: signer(&secret, &args.auth),
    };
    let files = scenario_files(&args.paths)?;
    if files.is_empty() {
        bail!("no scenario files (*.json) in the given paths");
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let outcome = replay_file(&target, file).await;
        println!("{}", outcome.report());
        if outcome.passed() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("replay: {passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} of {} scenarios failed", files.len());
    }
    Ok(())
}

/// Signs tokens that the configured verifier accepts.
fn signer(secret: &[u8], auth: &AuthArgs) -> TokenSigner {
    TokenSigner::hs256(secret)
        .with_audience_and_issuer(auth.jwt_audience.clone(), auth.jwt_issuer.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Command;

    /// The `serve` arguments of a command line.
    fn serve_args(arguments: &[&str]) -> ServeArgs {
        let line = ["social-events", "serve"].iter().chain(arguments);
        match Cli::try_parse_from(line).unwrap().command {
            Command::Serve(args) => args,
            _ => unreachable!("a serve command line"),
        }
    }

    #[test]
    fn a_calendar_feed_secret_shorter_than_32_bytes_is_refused() {
        let short = serve_args(&["--calendar-feed-secret", "only-31-bytes-long-secret-text!"]);
        let Err(error) = calendar_feed_key(&short) else {
            panic!("a short calendar feed secret was accepted");
        };
        assert!(error.to_string().contains("at least 32 bytes"), "{error}");
        let long = serve_args(&["--calendar-feed-secret", "a-feed-secret-of-32-bytes-length"]);
        assert!(calendar_feed_key(&long).unwrap().is_some());
    }

    #[test]
    fn development_tokens_are_signed_on_the_embedded_database_only() {
        let data_dir = tempfile::tempdir().unwrap();
        let data_dir = data_dir.path().to_str().unwrap();
        let secret = "a-production-secret-of-32-bytes-at-least";
        let development = serve_args(&["--data-dir", data_dir]);
        assert!(
            development_tokens(&development.auth, &development.database)
                .unwrap()
                .is_some()
        );
        for production in [
            serve_args(&[
                "--mongodb-uri",
                "mongodb://db.example",
                "--jwt-secret",
                secret,
            ]),
            serve_args(&["--data-dir", data_dir, "--jwt-public-key", "/etc/key.pem"]),
            // A configured secret is a real one: no tokens for anyone who asks.
            serve_args(&["--data-dir", data_dir, "--jwt-secret", secret]),
        ] {
            assert!(
                development_tokens(&production.auth, &production.database)
                    .unwrap()
                    .is_none(),
                "{production:?}"
            );
        }
    }
}
