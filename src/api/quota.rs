//! The quotas of one user, each a 409 whose message names it: sessions that have not
//! ended per owner, and contacts looked up per inviter in 24 hours. (Invitations per
//! session are checked by `domain::invitation::merge`.) Checked before the write, so that
//! simultaneous requests of one user may pass a quota by the few that raced.

use crate::domain::invitation::{InviteEntry, new_contact_lookups};
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
        return Err(ApiError::Conflict(format!(
            "session quota exceeded: at most {MAX_ACTIVE_SESSIONS_PER_OWNER} sessions per owner \
             that have not ended; delete ended or unneeded ones"
        )));
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
    if entries.iter().all(|entry| entry.user_id.is_some()) {
        return Ok(());
    }
    let now = Timestamp::now();
    let window = i64::try_from(WINDOW.as_secs()).unwrap_or(i64::MAX);
    let recorded = store
        .contact_lookups_since(inviter_id, now.plus_seconds(-window))
        .await?;
    let new = new_contact_lookups(entries, &recorded)?;
    store.record_contact_lookups(inviter_id, &new, now).await?;
    Ok(())
}
