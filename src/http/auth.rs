//! Access tokens: verification of user tokens, shared by the WebSocket upgrade and the
//! invitation file through the [`Authenticated`] extractor.

use std::sync::Arc;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use poem::{FromRequest, IntoResponse, Request, RequestBody};
use serde::{Deserialize, Serialize};

use super::server::ServerState;
use crate::domain::ids::{Caller, user_id_problem};
use crate::domain::people::FirstSeen;
use crate::error::ApiError;

/// Most seconds of clock skew accepted on `exp`.
pub const MAX_LEEWAY_SECONDS: u64 = 5;
/// Shortest accepted HS256 secret, in bytes (RFC 7518 section 3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// The claims this service reads. `sub` is the user id; the profile claims fill a new user
/// document on first connect (`email` only when `email_verified` is true).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    /// Not valid before (Unix seconds), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
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
        // `nbf`, when present, is enforced like `exp`, with the same leeway.
        validation.validate_nbf = true;
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
        if let Some(problem) = user_id_problem(&claims.sub) {
            return Err(format!("invalid token: sub {problem}"));
        }
        Ok(claims)
    }
}

impl Claims {
    /// The caller these claims authenticate.
    pub fn caller(&self) -> Caller {
        Caller::new(self.sub.as_str())
    }

    /// What the claims say of a user seen for the first time.
    pub fn first_seen(&self) -> FirstSeen {
        FirstSeen {
            user_id: self.sub.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            picture: self.picture.clone(),
            verified_email: self
                .email
                .clone()
                .filter(|_| self.email_verified == Some(true)),
        }
    }
}

/// The verified claims of the user token a request carries (header or query). As an
/// extractor, a missing or invalid token answers 401 before the route runs.
pub struct Authenticated(pub Claims);

impl<'a> FromRequest<'a> for Authenticated {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let refuse = |error: ApiError| poem::Error::from_response(error.into_response());
        let state = request.data::<Arc<ServerState>>().ok_or_else(|| {
            refuse(ApiError::Unexpected(anyhow::anyhow!(
                "the server state is not attached to the routes"
            )))
        })?;
        let token = token_from_request(request)
            .ok_or_else(|| refuse(ApiError::Unauthorized("missing token".to_owned())))?;
        state
            .settings
            .tokens
            .verify(&token)
            .map(Authenticated)
            .map_err(|message| refuse(ApiError::Unauthorized(message)))
    }
}

/// The user token a request carries: `Authorization: Bearer <token>`, or, for browser
/// clients that cannot set headers, `?token=<token>`.
pub fn token_from_request(request: &Request) -> Option<String> {
    if request
        .headers()
        .contains_key(poem::http::header::AUTHORIZATION)
    {
        return bearer_token(request);
    }
    let query = request.uri().query()?;
    url_query_value(query, "token")
}

/// The credential of an `Authorization: Bearer <credential>` header; never the query.
pub fn bearer_token(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The percent-decoded value of `name` in a URL query string.
pub(crate) fn url_query_value(query: &str, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn tokens_without_exp_are_refused() {
        let token = token_with(serde_json::json!({"sub": "u1"}));
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
    fn tokens_not_yet_valid_beyond_the_leeway_are_refused() {
        let now = chrono::Utc::now().timestamp();
        let verifier = TokenVerifier::hs256(SECRET).unwrap();
        let early = token_with(serde_json::json!({"sub": "u1", "exp": now + 600, "nbf": now + 60}));
        assert!(
            verifier
                .verify(&early)
                .unwrap_err()
                .contains("ImmatureSignature")
        );
        let within = token_with(serde_json::json!({"sub": "u1", "exp": now + 600, "nbf": now + 2}));
        assert!(verifier.verify(&within).is_ok(), "within the 5 s leeway");
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
}
