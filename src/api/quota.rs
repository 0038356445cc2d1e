//! The quotas of one user, each a 409 whose message names it: sessions that have not
//! ended per owner, and contacts looked up per inviter in 24 hours. (Invitations per
//! session are checked by `domain::invitation::merge`.) Each is counted after its use is
//! recorded, and the use taken back when over: simultaneous requests of one user cannot
//! pass a quota together (they may be refused together).

use crate::domain::invitation::{InviteEntry, check_contact_lookups, contact_lookups};
use crate::domain::session::{MAX_ACTIVE_SESSIONS_PER_OWNER, Session};
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::store::Store;
use crate::store::lookups::WINDOW;

/// A 409 when `session`, about to be written by its owner, would be one active session
/// more than [`MAX_ACTIVE_SESSIONS_PER_OWNER`]. `was_active`: the session counted already.
pub async fn check_active_sessions(
    store: &Store,
    session: &Session,
    was_active: bool,
) -> Result<(), ApiError> {
    let now = Timestamp::now();
    if was_active || !session.is_active_at(now) {
        return Ok(());
    }
    let active = store.count_active_sessions(&session.owner_id, now).await?;
    if active >= MAX_ACTIVE_SESSIONS_PER_OWNER {
        return Err(session_quota_exceeded());
    }
    Ok(())
}

/// Counts the contacts of `entries` against `inviter_id`'s look-up quota, or answers the
/// 409 that names it.
pub async fn count_contact_lookups(
    store: &Store,
    inviter_id: &str,
    entries: &[InviteEntry],
) -> Result<(), ApiError> {
    let keys = contact_lookups(entries);
    if keys.is_empty() {
        return Ok(());
    }
    let now = Timestamp::now();
    let window = i64::try_from(WINDOW.as_secs()).unwrap_or(i64::MAX);
    let since = now.plus_seconds(-window);
    let new = store
        .record_contact_lookups(inviter_id, &keys, since, now)
        .await?;
    let looked_up = store.count_contact_lookups(inviter_id, since).await?;
    if let Err(refused) = check_contact_lookups(looked_up) {
        store.forget_contact_lookups(inviter_id, &new).await?;
        return Err(refused);
    }
    Ok(())
}

/// After `session` was written: a 409 (and the session deleted again) when its owner now
/// has more active sessions than [`MAX_ACTIVE_SESSIONS_PER_OWNER`], as when several were
/// created at the same moment.
pub async fn recheck_active_sessions(store: &Store, session: &Session) -> Result<(), ApiError> {
    let active = store
        .count_active_sessions(&session.owner_id, Timestamp::now())
        .await?;
    if active > MAX_ACTIVE_SESSIONS_PER_OWNER {
        store.delete_session(&session.id).await?;
        return Err(session_quota_exceeded());
    }
    Ok(())
}

fn session_quota_exceeded() -> ApiError {
    ApiError::QuotaExceeded(format!(
        "session quota exceeded: at most {MAX_ACTIVE_SESSIONS_PER_OWNER} sessions per owner \
         that have not ended; delete ended or unneeded ones"
    ))
}
