//! Tokens for development and QA: the development signing secret kept under the data dir,
//! and which secret a command signs with (the signer itself is [`crate::token`]).
//! Production tokens come from the platform's identity provider.

use std::path::Path;

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
