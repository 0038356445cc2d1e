//! Tokens for development and QA: signing HS256 tokens (`social-events token`, the fixture
//! replayer, tests), the development signing secret kept under the data dir, and which
//! secret a command uses. Production tokens come from the platform's identity provider.

use std::path::Path;

use anyhow::{Context, bail};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;

use crate::config::{AuthArgs, DatabaseArgs};
use crate::http::auth::{Claims, MIN_SECRET_BYTES};

/// Name of the development secret's file inside the data dir.
const DEV_SECRET_FILE: &str = "jwt-secret";

/// Signs HS256 tokens; used by `social-events token`, the fixture replayer, the console in
/// development mode and tests.
#[derive(Clone)]
pub struct TokenSigner {
    key: EncodingKey,
    audience: Option<String>,
    issuer: Option<String>,
}

impl std::fmt::Debug for TokenSigner {
    /// Never shows the key.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TokenSigner")
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    pub fn hs256(secret: &[u8]) -> Self {
        TokenSigner {
            key: EncodingKey::from_secret(secret),
            audience: None,
            issuer: None,
        }
    }

    /// Tokens for users also carry this `aud` and `iss`, as the verifier may require.
    pub fn with_audience_and_issuer(
        mut self,
        audience: Option<String>,
        issuer: Option<String>,
    ) -> Self {
        self.audience = audience;
        self.issuer = issuer;
        self
    }

    /// A token for `claims`.
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .context("cannot sign the token")
    }

    /// A token for `user_id` that expires `ttl_seconds` from now.
    pub fn sign_for_user(&self, user_id: &str, ttl_seconds: i64) -> anyhow::Result<String> {
        self.sign(&Claims {
            sub: user_id.to_owned(),
            exp: chrono::Utc::now().timestamp() + ttl_seconds,
            aud: self.audience.clone(),
            iss: self.issuer.clone(),
            ..Claims::default()
        })
    }
}

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
    super::private_dir(data_dir)?;
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
    use crate::http::auth::TokenVerifier;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signed_token_verifies_and_carries_the_subject() {
        let token = TokenSigner::hs256(SECRET).sign_for_user("u1", 60).unwrap();
        let claims = TokenVerifier::hs256(SECRET)
            .unwrap()
            .verify(&token)
            .unwrap();
        assert_eq!(claims.sub, "u1");
    }

    #[test]
    fn expired_tokens_beyond_the_leeway_are_refused() {
        let token = TokenSigner::hs256(SECRET).sign_for_user("u1", -6).unwrap();
        let verifier = TokenVerifier::hs256(SECRET).unwrap();
        assert!(
            verifier
                .verify(&token)
                .unwrap_err()
                .contains("ExpiredSignature")
        );
        let token = TokenSigner::hs256(SECRET).sign_for_user("u1", -2).unwrap();
        assert!(verifier.verify(&token).is_ok(), "within the 5 s leeway");
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let token = TokenSigner::hs256(b"another secret, also 32 bytes long!")
            .sign_for_user("u1", 60)
            .unwrap();
        assert!(
            TokenVerifier::hs256(SECRET)
                .unwrap()
                .verify(&token)
                .is_err()
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
