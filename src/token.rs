//! Access tokens: the claims this service reads, their verifier (an HS256 shared secret
//! or an RS256 public key, with a bounded leeway) and the HS256 signer of development and
//! QA tokens. A leaf below `http` (which verifies the tokens requests carry) and `tools`
//! (which signs them for development).

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{Caller, user_id_problem};
use crate::domain::people::FirstSeen;

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
            "the JWT secret (--jwt-secret, SOCIAL_JWT_SECRET) must be at least \
             {MIN_SECRET_BYTES} bytes long"
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

    /// Verifies a token's signature, algorithm and expiry and returns its claims. A
    /// refusal is a sentence the token's holder can act on (see [`TokenVerifier::explain`]).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|error| format!("invalid token: {}", self.explain(&error, token)))?;
        let claims = data.claims;
        if let Some(problem) = user_id_problem(&claims.sub) {
            return Err(format!(
                "invalid token: its subject (sub, the user id) {problem}"
            ));
        }
        Ok(claims)
    }

    /// The algorithm this verifier accepts.
    fn algorithm(&self) -> Algorithm {
        self.validation
            .algorithms
            .first()
            .copied()
            .unwrap_or(Algorithm::HS256)
    }

    /// Why `token` was refused with `error`, in words: what is wrong and what to do.
    fn explain(&self, error: &jsonwebtoken::errors::Error, token: &str) -> String {
        use jsonwebtoken::errors::ErrorKind;
        let key = match self.algorithm() {
            Algorithm::HS256 => "this service's secret",
            _ => "this service's public key",
        };
        match error.kind() {
            ErrorKind::InvalidSignature => format!(
                "its signature does not match {key}: it was signed with another key (another \
                 service's, or another development secret) or changed after signing"
            ),
            ErrorKind::ExpiredSignature => match signed_times(token).exp {
                Some(exp) => format!(
                    "it expired at {} (more than {} seconds ago): get a new token",
                    utc(exp),
                    self.validation.leeway
                ),
                None => "it has expired: get a new token".to_owned(),
            },
            ErrorKind::ImmatureSignature => match signed_times(token).nbf {
                Some(nbf) => format!(
                    "it is not valid before {} (nbf): check the clock of the machine that made it",
                    utc(nbf)
                ),
                None => "it is not valid yet (nbf)".to_owned(),
            },
            ErrorKind::InvalidAlgorithm => {
                let signed_with = jsonwebtoken::decode_header(token)
                    .map(|header| format!("{:?}", header.alg))
                    .unwrap_or_else(|_| "another algorithm".to_owned());
                format!(
                    "it is signed with {signed_with}, and this service accepts {:?} tokens only",
                    self.algorithm()
                )
            }
            ErrorKind::MissingRequiredClaim(claim) => {
                format!("it has no `{claim}` claim, which this service requires")
            }
            ErrorKind::InvalidAudience => "its audience (aud) is not the one this service \
                 requires (SOCIAL_JWT_AUDIENCE)"
                .to_owned(),
            ErrorKind::InvalidIssuer => "its issuer (iss) is not the one this service requires \
                 (SOCIAL_JWT_ISSUER)"
                .to_owned(),
            ErrorKind::Json(cause) if jsonwebtoken::decode_header(token).is_ok() => {
                // serde's words, without the position in the decoded claims.
                let cause = cause.to_string();
                let cause = cause.split(" at line ").next().unwrap_or_default();
                match cause
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                {
                    Some(claim) => {
                        format!("it has no `{claim}` claim, which this service requires")
                    }
                    None => format!("its claims cannot be read: {cause}"),
                }
            }
            ErrorKind::InvalidToken
            | ErrorKind::Base64(_)
            | ErrorKind::Json(_)
            | ErrorKind::Utf8(_) => "it is not a well-formed JWT (three base64url parts \
                 separated by dots: a JSON header naming a supported algorithm, JSON claims, \
                 a signature)"
                .to_owned(),
            _ => format!("it cannot be verified ({error})"),
        }
    }
}

/// The `exp` and `nbf` of a token whose signature was verified (its claims are checked
/// after its signature), read again to say when it expired or becomes valid.
#[derive(Debug, Default, Deserialize)]
struct SignedTimes {
    exp: Option<i64>,
    nbf: Option<i64>,
}

fn signed_times(token: &str) -> SignedTimes {
    jsonwebtoken::dangerous::insecure_decode::<SignedTimes>(token)
        .map(|data| data.claims)
        .unwrap_or_default()
}

/// Unix seconds as an RFC 3339 UTC time.
fn utc(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || format!("{seconds} (Unix seconds)"),
        |time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let refused = verifier.verify(&early).unwrap_err();
        assert!(
            refused.starts_with("invalid token: it is not valid before 20"),
            "{refused}"
        );
        let within = token_with(serde_json::json!({"sub": "u1", "exp": now + 600, "nbf": now + 2}));
        assert!(verifier.verify(&within).is_ok(), "within the 5 s leeway");
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenVerifier::hs256(b"short").is_err());
    }

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
        let refused = verifier.verify(&token).unwrap_err();
        assert!(
            refused.starts_with("invalid token: it expired at 20")
                && refused.ends_with("(more than 5 seconds ago): get a new token"),
            "{refused}"
        );
        let token = TokenSigner::hs256(SECRET).sign_for_user("u1", -2).unwrap();
        assert!(verifier.verify(&token).is_ok(), "within the 5 s leeway");
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let token = TokenSigner::hs256(b"another secret, also 32 bytes long!")
            .sign_for_user("u1", 60)
            .unwrap();
        let refused = TokenVerifier::hs256(SECRET)
            .unwrap()
            .verify(&token)
            .unwrap_err();
        assert!(
            refused
                .starts_with("invalid token: its signature does not match this service's secret"),
            "{refused}"
        );
    }

    #[test]
    fn each_refusal_says_what_is_wrong_in_words() {
        let verifier = TokenVerifier::hs256(SECRET).unwrap();
        let exp = chrono::Utc::now().timestamp() + 600;
        let refusal = |token: &str| verifier.verify(token).unwrap_err();
        assert!(refusal("not-a-jwt").starts_with("invalid token: it is not a well-formed JWT"));
        // `alg: none`, unsigned.
        let unsigned =
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1IiwiZXhwIjo0MTAyNDQ0ODAwfQ.";
        assert!(refusal(unsigned).starts_with("invalid token: it is not a well-formed JWT"));
        let no_subject = token_with(serde_json::json!({"exp": exp}));
        assert_eq!(
            refusal(&no_subject),
            "invalid token: it has no `sub` claim, which this service requires"
        );
        let empty_subject = token_with(serde_json::json!({"sub": "", "exp": exp}));
        assert_eq!(
            refusal(&empty_subject),
            "invalid token: its subject (sub, the user id) must be 1 to 256 bytes long"
        );
        let numeric_subject = token_with(serde_json::json!({"sub": 7, "exp": exp}));
        assert!(
            refusal(&numeric_subject).starts_with("invalid token: its claims cannot be read: "),
            "{}",
            refusal(&numeric_subject)
        );
        let rs256 = format!(
            "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{}.c2ln",
            token_with(serde_json::json!({"sub": "u", "exp": exp}))
                .split('.')
                .nth(1)
                .unwrap()
        );
        assert_eq!(
            refusal(&rs256),
            "invalid token: it is signed with RS256, and this service accepts HS256 tokens only"
        );
        let other = verifier.clone().with_audience("app");
        let wrong_audience = token_with(serde_json::json!({"sub": "u", "exp": exp, "aud": "x"}));
        assert!(
            other
                .verify(&wrong_audience)
                .unwrap_err()
                .starts_with("invalid token: its audience (aud) is not the one"),
        );
        for refused in [
            refusal("not-a-jwt"),
            refusal(unsigned),
            refusal(&no_subject),
            refusal(&rs256),
        ] {
            assert!(
                !refused.contains("Invalid") && !refused.contains("Error"),
                "{refused}"
            );
        }
    }
}
