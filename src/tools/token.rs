//! Tokens for development and QA: the development signing secret kept under the data dir,
//! and which secret a command signs with (the signer itself is [`crate::token`]).
//! Production tokens come from the platform's identity provider.
//!
//! `serve` makes the development secret on its first start; the commands that sign
//! tokens for a running server (`token`, `replay`) only read it, and say which secret they
//! used: a secret made anywhere else would sign tokens no server accepts.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::ExposeSecret;

use crate::config::{AuthArgs, DatabaseArgs};
use crate::token::MIN_SECRET_BYTES;

/// Name of the development secret's file inside the data dir.
const DEV_SECRET_FILE: &str = "jwt-secret";

/// The HS256 secret: the configured one, or — in development mode, with no
/// `MONGODB_URI` — the development secret under the data dir. Production mode has no
/// default secret.
pub fn signing_secret(auth: &AuthArgs, database: &DatabaseArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &auth.jwt_secret {
        return Ok(secret.expose_secret().as_bytes().to_vec());
    }
    if database.mongodb_uri.is_some() {
        bail!(
            "with MONGODB_URI set (production mode) a key is required: \
             set SOCIAL_JWT_SECRET or SOCIAL_JWT_PUBLIC_KEY"
        );
    }
    development_secret(&database.data_dir)
}

/// Which secret a command signs with, as the person running it names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `--jwt-secret` / `SOCIAL_JWT_SECRET`.
    Configured,
    /// The development secret in this file.
    Development(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Configured => {
                f.write_str("the configured secret (--jwt-secret / SOCIAL_JWT_SECRET)")
            }
            SecretSource::Development(path) => {
                write!(f, "the development secret in {}", path.display())
            }
        }
    }
}

/// The HS256 secret of a server that exists already, for the commands that sign tokens for
/// one (`token`, `replay`): the configured one, or the development secret that `serve`
/// made under the data dir — never a new one, which no server would accept; with where it
/// comes from.
pub fn existing_signing_secret(
    auth: &AuthArgs,
    database: &DatabaseArgs,
) -> anyhow::Result<(Vec<u8>, SecretSource)> {
    if auth.jwt_secret.is_some() || database.mongodb_uri.is_some() {
        return Ok((signing_secret(auth, database)?, SecretSource::Configured));
    }
    let path = std::path::absolute(database.data_dir.join(DEV_SECRET_FILE))
        .unwrap_or_else(|_| database.data_dir.join(DEV_SECRET_FILE));
    if !path.exists() {
        bail!(
            "no development secret at {}: no development server has started with the data dir \
             {}. Run this where `social-events serve` runs, or name its data dir \
             (--data-dir, SOCIAL_DATA_DIR), or give the server's --jwt-secret",
            path.display(),
            database.data_dir.display()
        );
    }
    let secret = development_secret(&database.data_dir)?;
    Ok((secret, SecretSource::Development(path)))
}

/// The development signing secret under `data_dir`, created once with 256 random bits.
pub fn development_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(DEV_SECRET_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let secret = text.trim().as_bytes().to_vec();
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "the development secret in {} is too short; delete it to make a new one",
            path.display()
        );
        return Ok(secret);
    }
    super::data_dir::private_dir(data_dir)?;
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    write_private_file(&path, secret.as_bytes())
        .with_context(|| format!("cannot write the development secret {}", path.display()))?;
    Ok(secret.into_bytes())
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The arguments of `token` with `arguments` added.
    fn token_args(arguments: &[&str]) -> (AuthArgs, DatabaseArgs) {
        let line = ["social-events", "token", "--user", "ada"]
            .into_iter()
            .chain(arguments.iter().copied());
        match crate::config::Cli::try_parse_from(line).unwrap().command {
            crate::config::Command::Token(args) => (args.auth, args.database),
            _ => unreachable!("a token command line"),
        }
    }

    #[test]
    fn the_tools_never_make_a_development_secret_and_say_which_one_they_use() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let (auth, database) = token_args(&["--data-dir", data_dir.to_str().unwrap()]);
        let error = existing_signing_secret(&auth, &database).unwrap_err();
        assert!(
            error.to_string().starts_with("no development secret at "),
            "{error}"
        );
        assert!(!data_dir.exists(), "nothing is made");
        let made = development_secret(&data_dir).unwrap();
        let (read, source) = existing_signing_secret(&auth, &database).unwrap();
        assert_eq!(read, made);
        assert_eq!(
            source,
            SecretSource::Development(data_dir.join(DEV_SECRET_FILE))
        );
        let configured = "a-configured-secret-of-32-bytes-or-more";
        let (auth, database) = token_args(&["--jwt-secret", configured]);
        let (read, source) = existing_signing_secret(&auth, &database).unwrap();
        assert_eq!(
            (read.as_slice(), source),
            (configured.as_bytes(), SecretSource::Configured)
        );
    }

    #[test]
    fn the_development_secret_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = development_secret(dir.path()).unwrap();
        let second = development_secret(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&dir.path().join(DEV_SECRET_FILE)), 0o600);
    }
}
