//! What the server is configured with: the limits of each connection, the settings
//! resolved from the command line, and the signer of the console's development tokens.

use std::time::Duration;

use poem::Request;
use secrecy::SecretString;

use crate::domain::feed::FeedKey;
use crate::token::{TokenSigner, TokenVerifier};

/// The header that carries this start's console key.
const CONSOLE_KEY_HEADER: &str = "x-console-key";

/// Limits applied to each WebSocket connection.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Largest accepted frame, in bytes; larger ones are answered 413 and the connection
    /// is closed with 1009.
    pub max_frame_bytes: usize,
    /// Sustained requests per second.
    pub requests_per_second: u32,
    /// Requests accepted in a burst.
    pub burst: u32,
    /// Requests of one user processed at the same time, over all of their connections.
    pub max_in_flight: usize,
    /// Frames waiting to be written to one connection.
    pub outgoing_queue: usize,
    /// Connections one user may hold open on this process; the next upgrade is refused
    /// with HTTP 429 and `Retry-After`.
    pub max_connections_per_user: usize,
    /// How long a new connection has to complete its first request (see `guarded`).
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_frame_bytes: 1024 * 1024,
            requests_per_second: 100,
            burst: 200,
            max_in_flight: 8,
            outgoing_queue: 256,
            max_connections_per_user: 32,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// Everything the server needs to run, resolved from the command line. Secrets print as
/// redacted.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// May carry credentials.
    pub mongodb_uri: SecretString,
    pub db_name: String,
    /// Deadline of one database call.
    pub db_timeout: Duration,
    pub tokens: TokenVerifier,
    /// Base URL of this service as clients reach it, without a trailing slash.
    pub public_url: String,
    /// Secret of the internal endpoints; `None` disables them.
    pub internal_secret: Option<SecretString>,
    pub connection: ConnectionLimits,
    /// Signs tokens for the console in development mode (`GET /console/token`); `None`
    /// everywhere else.
    pub development_tokens: Option<DevelopmentTokens>,
    /// Makes calendar feed URLs; `None`: calendar feeds are off.
    pub calendar_feed_key: Option<FeedKey>,
    /// Time between two scans for reminders due.
    pub reminder_tick: Duration,
}

/// What the console needs to sign development tokens.
#[derive(Clone)]
pub struct DevelopmentTokens {
    /// Signs with the development secret the service generated.
    pub signer: TokenSigner,
    /// This start's console key: printed in the log, asked of every token request.
    pub key: String,
}

impl std::fmt::Debug for DevelopmentTokens {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a credential: never in a log.
        formatter
            .debug_struct("DevelopmentTokens")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl DevelopmentTokens {
    /// Development tokens signed by `signer`, with a new random console key.
    pub fn new(signer: TokenSigner) -> DevelopmentTokens {
        let key: [u8; 16] = rand::random();
        DevelopmentTokens {
            signer,
            key: key.iter().map(|byte| format!("{byte:02x}")).collect(),
        }
    }

    /// Whether `request` carries this start's console key (compared in constant time).
    pub(super) fn is_keyed(&self, request: &Request) -> bool {
        let given = request
            .headers()
            .get(CONSOLE_KEY_HEADER)
            .map(|value| value.as_bytes())
            .unwrap_or_default();
        let expected = self.key.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0, |differ, (a, b)| differ | (a ^ b))
                == 0
    }
}
