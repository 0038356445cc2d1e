//! The platform's internal HTTP endpoints: a deleted room or prop makes its sessions
//! invalid (`isValid: false`), and each session that changes is pushed to its audience.
//!
//! They are authenticated with `Authorization: Bearer <internal secret>`, a secret of the
//! platform's services, never a user token. Without a configured secret they do not exist
//! (404).

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{IntoResponse, Request, Response, handler};

use crate::auth::token_from_request;
use crate::error::ApiError;
use crate::pushes::SessionChange;
use crate::state::AppState;
use crate::time::Timestamp;

/// `POST /api/v0/internal/rooms/{roomId}/deleted`
#[handler]
pub async fn room_deleted(
    request: &Request,
    Path(room_id): Path<String>,
    state: Data<&Arc<AppState>>,
) -> Response {
    invalidate(request, &state, &room_id, None).await
}

/// `POST /api/v0/internal/rooms/{roomId}/props/{propId}/deleted`
#[handler]
pub async fn prop_deleted(
    request: &Request,
    Path((room_id, prop_id)): Path<(String, String)>,
    state: Data<&Arc<AppState>>,
) -> Response {
    invalidate(request, &state, &room_id, Some(&prop_id)).await
}

async fn invalidate(
    request: &Request,
    state: &AppState,
    room_id: &str,
    prop_id: Option<&str>,
) -> Response {
    let Some(secret) = &state.settings.internal_secret else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let authorized = token_from_request(request)
        .is_some_and(|token| constant_time_eq(token.as_bytes(), secret.as_bytes()));
    if !authorized {
        return (StatusCode::UNAUTHORIZED, "invalid internal credential").into_response();
    }
    match invalidate_sessions(state, room_id, prop_id).await {
        Ok(count) => {
            tracing::info!(room_id, prop_id, sessions = count, "sessions invalidated");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// Marks the valid sessions of the room (or prop) invalid and pushes each one that
/// changed; a repeated call changes and pushes nothing.
async fn invalidate_sessions(
    state: &AppState,
    room_id: &str,
    prop_id: Option<&str>,
) -> Result<usize, ApiError> {
    let mut changed = 0;
    for session in state.store.valid_sessions_in_room(room_id, prop_id).await? {
        let now = Timestamp::now().into();
        if let Some(invalid) = state.store.invalidate_session(&session.id, now).await? {
            state.pushes.publish(SessionChange::updated(&invalid)).await;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_when_every_byte_is_equal() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret!"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
