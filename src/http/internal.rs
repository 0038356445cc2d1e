//! The platform's internal HTTP endpoints: a deleted room or prop makes its sessions
//! invalid (`isValid: false`), and each session that changes is pushed to its audience.
//!
//! They are authenticated with `Authorization: Bearer <internal secret>` (never a query
//! parameter, which proxies log), a secret of the platform's services of at least
//! [`MIN_INTERNAL_SECRET_BYTES`] bytes, never a user token. Without a configured secret they do not exist
//! (404).

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{IntoResponse, Request, Response, handler};

use secrecy::ExposeSecret;

/// Shortest accepted internal secret, in bytes: the service refuses to start with less.
pub const MIN_INTERNAL_SECRET_BYTES: usize = 32;
use subtle::ConstantTimeEq;

use super::auth::bearer_token;
use super::server::ServerState;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::push::SessionChange;

/// `POST /api/v0/internal/rooms/{roomId}/deleted`
#[handler]
pub async fn room_deleted(
    request: &Request,
    Path(room_id): Path<String>,
    state: Data<&Arc<ServerState>>,
) -> Response {
    invalidate(request, &state, &room_id, None).await
}

/// `POST /api/v0/internal/rooms/{roomId}/props/{propId}/deleted`
#[handler]
pub async fn prop_deleted(
    request: &Request,
    Path((room_id, prop_id)): Path<(String, String)>,
    state: Data<&Arc<ServerState>>,
) -> Response {
    invalidate(request, &state, &room_id, Some(&prop_id)).await
}

async fn invalidate(
    request: &Request,
    state: &ServerState,
    room_id: &str,
    prop_id: Option<&str>,
) -> Response {
    let Some(secret) = &state.settings.internal_secret else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Compared in time independent of where the credential differs.
    let authorized = bearer_token(request).is_some_and(|token| {
        token
            .as_bytes()
            .ct_eq(secret.expose_secret().as_bytes())
            .into()
    });
    if !authorized {
        return (StatusCode::UNAUTHORIZED, "invalid internal credential").into_response();
    }
    match invalidate_sessions(state, room_id, prop_id).await {
        Ok(count) => {
            tracing::info!(?room_id, ?prop_id, sessions = count, "sessions invalidated");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// Marks the valid sessions of the room (or prop) invalid and pushes each one that
/// changed; a repeated call changes and pushes nothing.
async fn invalidate_sessions(
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
