//! What the described HTTP operations share: the tags that group them in the OpenAPI
//! document, and their failures — an [`ApiError`] answered with its code as the status
//! and its message as plain text.

use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, Tags};

use crate::error::{ApiError, WireFailure, code};

#[derive(Tags)]
pub enum Area {
    /// Whether the process and its database answer, and what it counts.
    Operation,
    /// Calendar files of sessions.
    Calendar,
    /// Notifications from the platform's other services, with the internal secret.
    Internal,
}

/// A failure of a request, as its status and message (plain text).
#[derive(ApiResponse)]
pub enum Failure {
    /// The request is malformed.
    #[oai(status = 400)]
    BadRequest(PlainText<String>),
    /// No valid credential.
    #[oai(status = 401)]
    Unauthorized(PlainText<String>),
    /// The credential may not do this.
    #[oai(status = 403)]
    Forbidden(PlainText<String>),
    /// Missing, or not visible to the caller (the two are not told apart).
    #[oai(status = 404)]
    NotFound(PlainText<String>),
    /// The request conflicts with the object's state.
    #[oai(status = 409)]
    Conflict(PlainText<String>),
    /// The request is larger than allowed.
    #[oai(status = 413)]
    TooLarge(PlainText<String>),
    /// Over the rate limit.
    #[oai(status = 429)]
    TooMany(PlainText<String>),
    /// The database did not answer; the message says whether anything changed.
    #[oai(status = 503)]
    Unavailable(PlainText<String>),
    /// Anything else; the message holds a reference to the logged cause.
    #[oai(status = 500)]
    Failed(PlainText<String>),
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        let WireFailure { code, message } = error.report();
        let message = PlainText(message);
        match code {
            code::BAD_REQUEST => Failure::BadRequest(message),
            code::UNAUTHORIZED => Failure::Unauthorized(message),
            code::FORBIDDEN => Failure::Forbidden(message),
            code::NOT_FOUND => Failure::NotFound(message),
            code::CONFLICT => Failure::Conflict(message),
            code::PAYLOAD_TOO_LARGE => Failure::TooLarge(message),
            code::TOO_MANY_REQUESTS => Failure::TooMany(message),
            code::UNAVAILABLE => Failure::Unavailable(message),
            _ => Failure::Failed(message),
        }
    }
}

/// A failure that is the server's, not the request's.
#[derive(ApiResponse)]
pub enum ServerFailure {
    /// The database did not answer; the message says whether anything changed.
    #[oai(status = 503)]
    Unavailable(PlainText<String>),
    /// Anything else; the message holds a reference to the logged cause.
    #[oai(status = 500)]
    Failed(PlainText<String>),
}

impl From<ApiError> for ServerFailure {
    fn from(error: ApiError) -> Self {
        let WireFailure { code, message } = error.report();
        let message = PlainText(message);
        match code {
            code::UNAVAILABLE => ServerFailure::Unavailable(message),
            _ => ServerFailure::Failed(message),
        }
    }
}
