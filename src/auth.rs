//! Access tokens: verification at the WebSocket upgrade and the ICS download, minting for
//! development and QA, and the development signing secret kept under the data dir.

use std::path::Path;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use serde::{Deserialize, Serialize};

/// Most seconds of clock skew accepted on `exp`.
pub const MAX_LEEWAY_SECONDS: u64 = 5;
/// Longest accepted user id (the token's subject).
const MAX_SUBJECT_LENGTH: usize = 256;
/// Shortest accepted HS256 secret, in bytes (RFC 7518 section 3.2).
pub const MIN_SECRET_BYTES: usize = 32;
/// Name of the development secret's file inside the data dir.
const DEV_SECRET_FILE: &str = "jwt-secret";

/// The claims this service reads. `sub` is the user id; the profile claims fill a new user
/// document on first connect (`email` only when `email_verified` is true).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// Verifies tokens with one configured key: an HS256 shared secret or an RS256 public key.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("leeway", &self.validation.leeway)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier for HS256 tokens signed with `secret`.
    pub fn hs256(secret: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "the JWT secret must be at least {MIN_SECRET_BYTES} bytes long"
        );
        Ok(Self::new(
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
        ))
    }

    /// A verifier for RS256 tokens, from a PEM-encoded RSA public key.
    pub fn rs256_pem(pem: &[u8]) -> anyhow::Result<Self> {
        let key =
            DecodingKey::from_rsa_pem(pem).context("the JWT public key is not an RSA PEM key")?;
        Ok(Self::new(key, Algorithm::RS256))
    }

    fn new(key: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = MAX_LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // Checked only when configured: tokens of identity providers carry an `aud`.
        validation.validate_aud = false;
        TokenVerifier { key, validation }
    }

    /// Also requires `aud` to name `audience`.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self.validation.validate_aud = true;
        self.validation
            .required_spec_claims
            .insert("aud".to_owned());
        self
    }

    /// Also requires `iss` to be `issuer`.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self.validation
            .required_spec_claims
            .insert("iss".to_owned());
        self
    }

    /// The same verifier with another leeway, capped at [`MAX_LEEWAY_SECONDS`].
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.validation.leeway = seconds.min(MAX_LEEWAY_SECONDS);
        self
    }

    /// The leeway applied to `exp`, in seconds.
    pub fn leeway(&self) -> u64 {
        self.validation.leeway
    }

    /// Verifies a token's signature, algorithm and expiry and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|error| format!("invalid token: {error}"))?;
        let claims = data.claims;
        if claims.sub.is_empty() || claims.sub.len() > MAX_SUBJECT_LENGTH {
            return Err(format!(
                "invalid token: sub must be 1 to {MAX_SUBJECT_LENGTH} bytes long"
            ));
        }
        Ok(claims)
    }
}

/// Signs HS256 tokens; used by `social-events token`, the fixture replayer and tests.
pub struct TokenSigner {
    key: EncodingKey,
    audience: Option<String>,
    issuer: Option<String>,
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

/// The claims of the user token a request carries (header or query); a missing or
/// invalid token is a 401.
pub fn authenticate(
    request: &Request,
    verifier: &TokenVerifier,
) -> Result<Claims, crate::error::ApiError> {
    let token = token_from_request(request)
        .ok_or_else(|| crate::error::ApiError::Unauthorized("missing token".to_owned()))?;
    verifier
        .verify(&token)
        .map_err(crate::error::ApiError::Unauthorized)
}

/// The token a request carries: `Authorization: Bearer <token>`, or `?token=<token>`.
pub fn token_from_request(request: &Request) -> Option<String> {
    if let Some(header) = request.headers().get(poem::http::header::AUTHORIZATION) {
        let value = header.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    let query = request.uri().query()?;
    url_query_value(query, "token")
}

/// The percent-decoded value of `name` in a URL query string.
fn url_query_value(query: &str, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
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
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
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
    fn tokens_without_exp_are_refused() {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "u1"}),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(
            TokenVerifier::hs256(SECRET)
                .unwrap()
                .verify(&token)
                .is_err()
        );
    }

    fn token_with(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[test]
    fn an_audience_is_accepted_unless_one_is_configured_and_differs() {
        let exp = chrono::Utc::now().timestamp() + 60;
        let token =
            token_with(serde_json::json!({"sub": "u1", "exp": exp, "aud": "app", "iss": "idp"}));
        let verifier = TokenVerifier::hs256(SECRET).unwrap();
        assert!(verifier.verify(&token).is_ok(), "no audience configured");
        assert!(
            verifier
                .clone()
                .with_audience("app")
                .with_issuer("idp")
                .verify(&token)
                .is_ok()
        );
        assert!(
            verifier
                .clone()
                .with_audience("other")
                .verify(&token)
                .is_err()
        );
        assert!(
            verifier
                .clone()
                .with_issuer("other")
                .verify(&token)
                .is_err()
        );
        let without = token_with(serde_json::json!({"sub": "u1", "exp": exp}));
        assert!(verifier.with_audience("app").verify(&without).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenVerifier::hs256(b"short").is_err());
    }

    #[test]
    fn query_tokens_are_percent_decoded() {
        assert_eq!(
            url_query_value("a=1&token=x%2By", "token").as_deref(),
            Some("x+y")
        );
        assert_eq!(url_query_value("a=1", "token"), None);
    }

    #[test]
    fn the_development_secret_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = development_secret(dir.path()).unwrap();
        let second = development_secret(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
    }
}
