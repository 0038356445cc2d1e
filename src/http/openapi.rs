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
    /// The browser console of the WebSocket API (for people trying the API out).
    Console,
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

/// The credentials the HTTP routes accept, as OpenAPI security schemes.
fn security_schemes() -> serde_json::Value {
    serde_json::json!({
        "userToken": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The user's token, as on the WebSocket: `Authorization: Bearer <token>`.",
        },
        "userTokenQuery": {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "The user's token as `?token=<token>`, for links a browser or a \
                            calendar app opens.",
        },
        "internalSecret": {
            "type": "http",
            "scheme": "bearer",
            "description": "The internal secret shared with the platform's other services \
                            (`--internal-secret`): `Authorization: Bearer <secret>`.",
        },
    })
}

/// How each operation is authenticated, by operation id: the schemes it accepts (any one
/// of them), or none — open routes, and the calendar feed, whose secret URL is its only
/// credential.
const OPERATION_SECURITY: [(&str, &[&str]); 15] = [
    ("checkHealth", &[]),
    ("checkReadiness", &[]),
    ("getAsyncApi", &[]),
    ("getMetrics", &[]),
    ("getSessionInvitation", &["userToken", "userTokenQuery"]),
    ("getCalendarFeed", &[]),
    ("roomDeleted", &["internalSecret"]),
    ("propDeleted", &["internalSecret"]),
    ("exportUserData", &["internalSecret"]),
    ("eraseUserData", &["internalSecret"]),
    ("userErasure", &["internalSecret"]),
    ("getConsole", &[]),
    ("getConsoleScript", &[]),
    ("getConsoleStyle", &[]),
    ("getDevelopmentToken", &[]),
];

/// The OpenAPI document `spec` (as poem-openapi writes it) with the security schemes and
/// each operation's security requirement, which poem-openapi cannot express for routes
/// that read their credential themselves. An operation missing from
/// [`OPERATION_SECURITY`] is left without one (the OpenAPI lint test names it).
pub fn with_security(spec: &str) -> serde_json::Value {
    let mut document: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
    if let Some(paths) = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    {
        let operations = paths
            .values_mut()
            .filter_map(serde_json::Value::as_object_mut)
            .flat_map(|path| path.values_mut());
        for operation in operations {
            let id = operation
                .get("operationId")
                .and_then(serde_json::Value::as_str);
            let Some((_, schemes)) = OPERATION_SECURITY
                .iter()
                .find(|(known, _)| Some(*known) == id)
            else {
                continue;
            };
            let requirement: Vec<serde_json::Value> = schemes
                .iter()
                .map(|scheme| serde_json::json!({ *scheme: [] }))
                .collect();
            operation["security"] = requirement.into();
        }
    }
    document["components"]["securitySchemes"] = security_schemes();
    document
}
