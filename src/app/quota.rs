//! The quotas of one user, each a 409 whose message names it: sessions that have not
//! ended per owner, contacts looked up and users invited per inviter in 24 hours, and
//! open invitations per invitee. (Invitations per session are checked by
//! `domain::invitation::merge`.) Each is counted after its use is
//! recorded, and the use taken back when over: simultaneous requests of one user cannot
//! pass a quota together (they may be refused together).

use crate::domain::invitation::{
    InviteEntry, Resolution, check_contact_lookups, check_new_invitees, check_open_invitations,
    contact_lookups, new_invitees,
};
use crate::domain::session::{MAX_ACTIVE_SESSIONS_PER_OWNER, Session};
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::store::Store;
use crate::store::lookups::{LookupKind, WINDOW};

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
    count_in_window(
        store,
        inviter_id,
        LookupKind::Contact,
        &keys,
        check_contact_lookups,
    )
    .await
}

/// Checks the users `resolution` newly invites to `session` (see
/// [`new_invitees`]): none may hold the most open invitations already, and they count
/// against `inviter_id`'s budget of invitees; or answers the 409 that names the limit.
pub async fn count_new_invitees(
    store: &Store,
    inviter_id: &str,
    session: &Session,
    resolution: &Resolution,
) -> Result<(), ApiError> {
    let new = new_invitees(session, resolution);
    if new.is_empty() {
        return Ok(());
    }
    let open = store.open_invitations(&new, Timestamp::now()).await?;
    for user_id in &new {
        check_open_invitations(user_id, open.get(*user_id).copied().unwrap_or(0))?;
    }
    let keys: Vec<String> = new
        .iter()
        .map(|user_id| format!("user:{user_id}"))
        .collect();
    count_in_window(
        store,
        inviter_id,
        LookupKind::Invitee,
        &keys,
        check_new_invitees,
    )
    .await
}

/// Records `keys` of `kind` for `inviter_id` and checks the distinct keys of the last 24
/// hours with `check`; a refused request's new keys are taken back.
async fn count_in_window(
    store: &Store,
    inviter_id: &str,
    kind: LookupKind,
    keys: &[String],
    check: fn(u64) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    if keys.is_empty() {
        return Ok(());
    }
    let now = Timestamp::now();
    let window = i64::try_from(WINDOW.as_secs()).unwrap_or(i64::MAX);
    let since = now.plus_seconds(-window);
    let new = store
        .record_lookups(inviter_id, kind, keys, since, now)
        .await?;
    let counted = store.count_lookups(inviter_id, kind, since).await?;
    if let Err(refused) = check(counted) {
        store.forget_lookups(inviter_id, &new).await?;
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
