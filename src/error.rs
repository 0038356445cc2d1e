//! The one error type every endpoint returns, and its mapping to wire codes and messages.
//!
//! Client-actionable failures carry a message the client can act on; unexpected ones reach
//! the client as an opaque reference that is also written to the log with the full cause.
//! Each layer maps its own failures into this type at one place (the store's errors in
//! `store`, HTTP answers in `http`).

use std::fmt;

/// Wire codes of `error.code` (the README's "Error codes").
pub mod code {
    pub const OK: u16 = 0;
    pub const BAD_REQUEST: u16 = 400;
    pub const UNAUTHORIZED: u16 = 401;
    pub const FORBIDDEN: u16 = 403;
    pub const NOT_FOUND: u16 = 404;
    pub const CONFLICT: u16 = 409;
    pub const PAYLOAD_TOO_LARGE: u16 = 413;
    pub const TOO_MANY_REQUESTS: u16 = 429;
    pub const INTERNAL: u16 = 500;
    pub const UNAVAILABLE: u16 = 503;
}

/// A field path in a request, such as `data.event.endDate` or `data.usersToInvite[2].role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// The path of the request's `data` object; every field path starts here.
    pub fn data() -> Self {
        FieldPath("data".to_owned())
    }

    /// The path of a named field below this one.
    pub fn field(&self, name: &str) -> Self {
        FieldPath(format!("{}.{name}", self.0))
    }

    /// The path of an array element below this one.
    pub fn index(&self, index: usize) -> Self {
        FieldPath(format!("{}[{index}]", self.0))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field is missing, wrongly typed or has an invalid value.
    #[error("{path}: {message}")]
    InvalidField { path: FieldPath, message: String },
    /// The frame itself cannot be used (not JSON, binary, no endpoint).
    #[error("{0}")]
    BadFrame(String),
    /// The caller's token is no longer valid.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller can see the object but may not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown endpoint, or an object that is missing or not visible to the caller.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the object's state (full, taken, not published).
    #[error("{0}")]
    Conflict(String),
    /// The request would exceed a quota (sessions, invitations, contact look-ups): a 409
    /// that is also counted as a refusal.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The object changed under the request too often for it to be decided: a 409 that
    /// asks for a retry (and so is never kept for one, see `api::retries`).
    #[error("{0}")]
    Contended(String),
    /// The frame is larger than the configured limit.
    #[error("frame larger than the limit of {limit} bytes")]
    FrameTooLarge { limit: usize },
    /// The connection sent more requests than its rate limit allows.
    #[error("rate limit exceeded: at most {per_second} requests per second, bursts of {burst}")]
    RateLimited { per_second: u32, burst: u32 },
    /// The database cannot be reached or did not answer in time.
    #[error("database unavailable: {outcome}")]
    Unavailable {
        /// What the client can know of the request's effect.
        outcome: Outcome,
        #[source]
        cause: anyhow::Error,
    },
    /// The process has as much database work waiting as it may take: refused before it
    /// started (see `store::gate`).
    #[error("service busy, retry: {}", Outcome::NoEffect)]
    Overloaded,
    /// Anything else: a bug or an unexpected database answer.
    #[error("unexpected failure")]
    Unexpected(#[source] anyhow::Error),
}

/// What a client can know of a request the database failed to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was written: the request had no effect.
    NoEffect,
    /// A write was sent and its answer lost: the change may or may not have been made.
    Unknown,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Outcome::NoEffect => "the request had no effect and may be retried",
            Outcome::Unknown => {
                "the request may or may not have taken effect; it may be retried (read first \
                 where repeating it would matter)"
            }
        })
    }
}

/// A failure of a lower layer that a request answers as an [`ApiError`]: each layer
/// implements it once, for its own error type, where it knows what its failures mean (the
/// store: in `store::calls`), and `?` converts.
pub trait IntoApiError {
    /// The answer a request gives for this failure.
    fn into_api_error(self) -> ApiError;
}

impl<E: IntoApiError> From<E> for ApiError {
    fn from(failure: E) -> Self {
        failure.into_api_error()
    }
}

impl ApiError {
    /// A 400 naming the field path.
    pub fn invalid(path: FieldPath, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            path,
            message: message.into(),
        }
    }

    /// A 404 that does not reveal whether the object exists.
    pub fn not_found(kind: &str) -> Self {
        ApiError::NotFound(format!("{kind} not found"))
    }

    /// A 409 for an object that other requests kept changing while this one tried to.
    pub fn busy(what: &str) -> Self {
        ApiError::Conflict(format!(
            "{what} is being changed by others at the same time; retry"
        ))
    }

    /// Whether the same request may well succeed if sent again soon: the service failed,
    /// or the object was too busy.
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::Contended(_)) || self.code() >= 500
    }

    /// The wire code of this error.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::InvalidField { .. } | ApiError::BadFrame(_) => code::BAD_REQUEST,
            ApiError::Unauthorized(_) => code::UNAUTHORIZED,
            ApiError::Forbidden(_) => code::FORBIDDEN,
            ApiError::NotFound(_) => code::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::QuotaExceeded(_) | ApiError::Contended(_) => {
                code::CONFLICT
            }
            ApiError::FrameTooLarge { .. } => code::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => code::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } | ApiError::Overloaded => code::UNAVAILABLE,
            ApiError::Unexpected(_) => code::INTERNAL,
        }
    }

    /// The failure as the client is told of it — reported once per failed request, and
    /// the one place a failure is logged: an unexpected failure with its whole cause chain
    /// under a fresh reference (only the reference is sent), a database that did not
    /// answer as a warning.
    pub fn report(&self) -> WireFailure {
        let message = match self {
            ApiError::Unexpected(cause) => {
                let reference = uuid::Uuid::now_v7();
                tracing::error!(%reference, error = ?cause, "unexpected failure");
                format!("unexpected failure, reference {reference}")
            }
            ApiError::Unavailable { cause, .. } => {
                tracing::warn!(error = %cause, "database unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        WireFailure {
            code: self.code(),
            message,
        }
    }
}

/// A failure as the client is told of it (see [`ApiError::report`]): its code (a
/// [`code`]) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFailure {
    pub code: u16,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_carries_the_code_and_the_message_the_client_may_read() {
        let refused = ApiError::NotFound("session not found".to_owned());
        assert_eq!(
            refused.report(),
            WireFailure {
                code: code::NOT_FOUND,
                message: refused.to_string()
            }
        );
        let failed = ApiError::Unexpected(anyhow::anyhow!("secret detail"));
        let report = failed.report();
        assert_eq!(report.code, code::INTERNAL);
        assert!(report.message.starts_with("unexpected failure, reference "));
        assert!(!report.message.contains("secret detail"));
        // A fresh reference each time a failure is reported.
        assert_ne!(failed.report().message, report.message);
    }
}
