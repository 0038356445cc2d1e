//! The calendar feed of `GET /api/v0/resource/calendar/{feedToken}.ics`: the sessions its
//! user owns, is invited to (not declined) or joined and may see, as one `METHOD:PUBLISH`
//! calendar with the same UID and SEQUENCE as the invitation files, and the sessions that
//! left it in the last 30 days as `STATUS:CANCELLED`. The token is the only credential
//! and is never logged; an unknown or rotated one is 404.
//!
//! The file is the same bytes while nothing in it changed: `DTSTAMP` is the session's
//! `updated` (a cancellation's time for cancelled ones), so the `ETag` (a hash of the
//! file) answers `If-None-Match` with 304 until a listed session changes.

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::invitation_file::{calendar_file, cancelled_event, session_event};
use super::server::ServerState;
use crate::domain::feed::{reconcile, token_hash};
use crate::domain::kinds::InvitationStatus;
use crate::domain::time::Timestamp;
use crate::error::ApiError;

/// Most sessions one feed lists, the latest starting first.
pub const MAX_FEED_SESSIONS: i64 = 2000;

/// A rendered feed and its entity tag.
pub struct Feed {
    pub calendar: String,
    /// A strong entity tag, quoted.
    pub etag: String,
}

/// The feed whose token is `token`; `NotFound` for no such feed.
pub async fn render(state: &ServerState, token: &str) -> Result<Feed, ApiError> {
    let store = &state.app.store;
    let not_found = || ApiError::NotFound("no such calendar feed".to_owned());
    let user_id = store
        .feed_owner(&token_hash(token))
        .await?
        .ok_or_else(not_found)?;
    let sessions = store
        .sessions_of_person(&user_id, MAX_FEED_SESSIONS)
        .await?;
    let viewer = store.viewer(&user_id, &sessions).await?;
    let mut listed: Vec<_> = sessions
        .into_iter()
        .filter(|session| {
            session.owner_id == user_id
                || session.joined.contains(&user_id)
                || (session.is_invited(&user_id)
                    && session.invitation_status_of(&user_id) != InvitationStatus::Declined)
        })
        .filter(|session| viewer.may_see(session))
        .collect();
    listed.sort_by(|a, b| (a.start_date, &a.id).cmp(&(b.start_date, &b.id)));
    let entries = store.feed_entries_of(&user_id).await?;
    let reconciled = reconcile(entries, &listed, Timestamp::now());
    store
        .put_feed_entries(&user_id, &reconciled.changed)
        .await?;

    let people = store
        .people(listed.iter().flat_map(|session| session.people()))
        .await?;
    let mut events = Vec::new();
    let mut zones = Vec::new();
    for session in &listed {
        events.push(session_event(
            session,
            viewer.event_of(session),
            &people,
            &user_id,
            &state.settings.public_url,
            session.updated.to_chrono(),
        ));
        zones.push((session.time_zone, session.start_date.to_chrono()));
    }
    for entry in &reconciled.cancelled {
        let cancelled_at = entry
            .cancelled_at
            .map_or_else(Utc::now, Timestamp::to_chrono);
        events.push(cancelled_event(entry, cancelled_at));
        zones.push((entry.time_zone, entry.start_date.to_chrono()));
    }
    let calendar = calendar_file(
        "PUBLISH",
        "-//social-events//Calendar feed//EN",
        Some("social-events"),
        events,
        &zones,
    );
    let digest = Sha256::digest(calendar.as_bytes());
    let etag = format!(
        "\"{}\"",
        digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    Ok(Feed { calendar, etag })
}

/// Whether an `If-None-Match` header value names `etag` (or is `*`).
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_names_the_tag_among_others_or_any() {
        let etag = "\"abc\"";
        assert!(matches("\"abc\"", etag));
        assert!(matches("\"x\", W/\"abc\"", etag));
        assert!(matches("*", etag));
        assert!(!matches("\"abd\"", etag));
        assert!(!matches("", etag));
    }
}
