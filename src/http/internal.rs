//! The platform's internal HTTP endpoints: a deleted room or prop makes its sessions
//! invalid (`isValid: false`), and each session that changes is pushed to its audience.
//!
//! They are authenticated with `Authorization: Bearer <internal secret>` (never a query
//! parameter, which proxies log), a secret of the platform's services of at least
//! [`MIN_INTERNAL_SECRET_BYTES`] bytes, never a user token. Without a configured secret they do not exist
//! (404).

use poem::Request;

use secrecy::ExposeSecret;

/// Shortest accepted internal secret, in bytes: the service refuses to start with less.
pub const MIN_INTERNAL_SECRET_BYTES: usize = 32;
use subtle::ConstantTimeEq;

use super::auth::bearer_token;
use super::state::ServerState;
use crate::domain::change::SessionChange;
use crate::domain::time::Timestamp;
use crate::error::ApiError;

/// Whether a request may use the internal routes.
pub enum InternalAccess {
    /// It carries the configured internal secret.
    Granted,
    /// No internal secret is configured: the routes do not exist.
    Absent,
    /// Its credential is missing or wrong.
    Refused,
}

/// Checks the request's `Authorization: Bearer` against the internal secret, in time
/// independent of where the credential differs.
pub fn internal_access(request: &Request, state: &ServerState) -> InternalAccess {
    let Some(secret) = &state.settings.internal_secret else {
        return InternalAccess::Absent;
    };
    let authorized = bearer_token(request).is_some_and(|token| {
        token
            .as_bytes()
            .ct_eq(secret.expose_secret().as_bytes())
            .into()
    });
    if authorized {
        InternalAccess::Granted
    } else {
        InternalAccess::Refused
    }
}

/// Marks the valid sessions of the room (or prop) invalid and pushes each one that
/// changed; a repeated call changes and pushes nothing. Answers how many changed.
pub async fn invalidate_sessions(
    state: &ServerState,
    room_id: &str,
    prop_id: Option<&str>,
) -> Result<usize, ApiError> {
    let app = &state.app;
    let mut changed = 0;
    for session in app.store.valid_sessions_in_room(room_id, prop_id).await? {
        let now = Timestamp::now();
        if let Some(invalid) = app.store.invalidate_session(&session.id, now).await? {
            app.pushes.publish(SessionChange::updated(&invalid)).await;
            changed += 1;
        }
    }
    Ok(changed)
}
