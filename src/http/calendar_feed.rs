//! The calendar feed of `GET /api/v0/resource/calendar/{feedToken}.ics`: the sessions its
//! user owns, is invited to (not declined) or joined and may see, as one `METHOD:PUBLISH`
//! calendar with the same UID and SEQUENCE as the invitation files, and the sessions that
//! left it in the last 30 days as `STATUS:CANCELLED`. The token is the only credential
//! and is never logged; an unknown or rotated one is 404.
//!
//! A feed stays small whatever its sessions hold: at most [`MAX_FEED_SESSIONS`] sessions,
//! each without attendees and with its description cut (`ics::Detail::Feed`),
//! so only their organizers are looked up.
//!
//! The file is the same bytes while nothing in it changed: `DTSTAMP` is the session's
//! `updated` (a cancellation's time for cancelled ones), so the `ETag` (a hash of the
//! file) answers `If-None-Match` with 304 until a listed session changes.
//!
//! A repeated GET is answered from the file this process rendered last, without building
//! it again, while the feed's fingerprint is the same: a hash of what the file is made
//! of, read in a few small queries — each listed session's id and version (not the
//! sessions themselves), their events' versions, the user's memberships, the feed's
//! cancellations and whether each has expired, the user's reminder lead time (the
//! alarm of every entry), and the organizers' names (events,
//! memberships and names from the process's caches where they hold them). Only a changed
//! fingerprint reads the sessions whole and renders the file again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::app::state::AppState;
use crate::domain::feed::{FeedEntry, reconcile};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::kinds::InvitationStatus;
use crate::domain::people::UserSimple;
use crate::domain::session::Session;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::ics::{
    Detail, FEED_DESCRIPTION_CHARS, Recipient, calendar_file, cancelled_event, session_events,
};

/// Most sessions one feed lists, the latest starting first.
pub const MAX_FEED_SESSIONS: i64 = 1000;

/// Most bytes of rendered feeds one process keeps for repeated GETs.
const MAX_KEPT_FEED_BYTES: usize = 32 * 1024 * 1024;

/// A rendered feed and its entity tag.
pub struct Feed {
    /// The file; shared, not copied, by the answers that send it.
    pub calendar: bytes::Bytes,
    /// A strong entity tag, quoted.
    pub etag: String,
}

/// The feeds this process rendered last, by token hash, with the fingerprints of what
/// they were made of: at most [`MAX_KEPT_FEED_BYTES`], the least recently rendered
/// forgotten first. And whose turn it is: the GETs of one feed are answered one after
/// the other, so that simultaneous GETs cost one rendering, not one each.
#[derive(Default)]
pub struct RenderedFeeds {
    kept: Mutex<KeptFeeds>,
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A GET's turn at its feed; the next waiting GET's turn comes when it is dropped.
pub struct FeedTurn<'a> {
    feeds: &'a RenderedFeeds,
    token_hash: String,
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for FeedTurn<'_> {
    fn drop(&mut self) {
        drop(self.turn.take());
        let mut turns = self
            .feeds
            .turns
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Forgotten when nobody else waits for it (only the map holds it).
        if turns
            .get(&self.token_hash)
            .is_some_and(|turn| Arc::strong_count(turn) == 1)
        {
            turns.remove(&self.token_hash);
        }
    }
}

#[derive(Default)]
struct KeptFeeds {
    /// By token hash: when it was kept (a counter), its fingerprint, the feed.
    feeds: HashMap<String, (u64, [u8; 32], Arc<Feed>)>,
    bytes: usize,
    kept: u64,
}

impl RenderedFeeds {
    /// Waits for the turn of the feed whose token hash is `token_hash`.
    pub async fn turn(&self, token_hash: &str) -> FeedTurn<'_> {
        let turn = {
            let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(turns.entry(token_hash.to_owned()).or_default())
        };
        FeedTurn {
            feeds: self,
            token_hash: token_hash.to_owned(),
            turn: Some(turn.lock_owned().await),
        }
    }

    fn find(&self, token_hash: &str, fingerprint: &[u8; 32]) -> Option<Arc<Feed>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, kept_fingerprint, feed) = kept.feeds.get(token_hash)?;
        (kept_fingerprint == fingerprint).then(|| Arc::clone(feed))
    }

    fn keep(&self, token_hash: String, fingerprint: [u8; 32], feed: Arc<Feed>) {
        let size = feed.calendar.len();
        if size > MAX_KEPT_FEED_BYTES / 4 {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, old)) = kept.feeds.remove(&token_hash) {
            kept.bytes -= old.calendar.len();
        }
        while kept.bytes + size > MAX_KEPT_FEED_BYTES {
            let Some(oldest) = kept
                .feeds
                .iter()
                .min_by_key(|(_, (at, _, _))| *at)
                .map(|(hash, _)| hash.clone())
            else {
                break;
            };
            if let Some((_, _, old)) = kept.feeds.remove(&oldest) {
                kept.bytes -= old.calendar.len();
            }
        }
        kept.kept += 1;
        let at = kept.kept;
        kept.bytes += size;
        kept.feeds.insert(token_hash, (at, fingerprint, feed));
    }
}

/// A hash of everything `user_id`'s feed is made of but the sessions' contents, which
/// their versions stand for (see the module documentation).
async fn fingerprint(app: &AppState, user_id: &str) -> Result<[u8; 32], ApiError> {
    use std::fmt::Write;
    let store = &app.store;
    let stamps = store
        .session_stamps_of_person(user_id, MAX_FEED_SESSIONS)
        .await?;
    let mut event_ids: Vec<&str> = stamps
        .iter()
        .map(|stamp| stamp.event_id.as_str())
        .filter(|id| !id.is_empty())
        .collect();
    event_ids.sort_unstable();
    event_ids.dedup();
    let events = store.find_events(&event_ids).await?;
    let memberships = store.memberships_of(user_id).await?;
    let entries = store.feed_entries_of(user_id).await?;
    let people = store
        .people(stamps.iter().map(|stamp| stamp.owner_id.as_str()))
        .await?;
    let reminder = store.reminder_setting(user_id).await?;
    let now = Timestamp::now();
    let mut made_of = format!("r {:?}\n", reminder.minutes());
    let viewer = UserId::from(user_id);
    for stamp in &stamps {
        let owner = display_name(&people.render(&stamp.owner_id, &viewer));
        let _ = writeln!(made_of, "s {} {} {owner:?}", stamp.id, stamp.version);
    }
    for event in &events {
        let _ = writeln!(
            made_of,
            "e {} {} {}",
            event.id,
            event.revision,
            event.updated.millis()
        );
    }
    for membership in &memberships {
        let _ = writeln!(made_of, "m {membership:?}");
    }
    // The entries of listed sessions follow from the sessions (a build writes them);
    // cancellations stay in the file for 30 days after they were made.
    for entry in &entries {
        if let Some(cancelled_at) = entry.cancelled_at {
            let expired = entry.kept_until().is_some_and(|until| until <= now);
            let _ = writeln!(
                made_of,
                "c {} {} {expired}",
                entry.session_id,
                cancelled_at.millis()
            );
        }
    }
    Ok(Sha256::digest(made_of.as_bytes()).into())
}

/// The feed whose token hash is `hash`; `NotFound` for no such feed. Answered from the
/// file rendered last while its fingerprint is the same. Call it in the feed's turn
/// ([`RenderedFeeds::turn`]).
pub async fn render(
    app: &AppState,
    feeds: &RenderedFeeds,
    hash: &str,
) -> Result<Arc<Feed>, ApiError> {
    let store = &app.store;
    let hash = hash.to_owned();
    let user_id = store
        .feed_owner(&hash)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such calendar feed".to_owned()))?;
    let fingerprint = fingerprint(app, &user_id).await?;
    if let Some(feed) = feeds.find(&hash, &fingerprint) {
        return Ok(feed);
    }
    let feed = Arc::new(build(app, &user_id).await?);
    feeds.keep(hash, fingerprint, Arc::clone(&feed));
    Ok(feed)
}

/// `user_id`'s feed, read and rendered whole.
async fn build(app: &AppState, user_id: &str) -> Result<Feed, ApiError> {
    let store = &app.store;
    let user_id = UserId::from(user_id);
    // Only the start of a description is shown (see `Detail::Feed`): one character more
    // is kept, so that a longer one is still seen to be longer.
    let found = store
        .sessions_of_person(&user_id, MAX_FEED_SESSIONS, |mut session| {
            if let Some((cut, _)) = session
                .description
                .char_indices()
                .nth(FEED_DESCRIPTION_CHARS + 1)
            {
                // A new string: truncating would keep the whole one's memory.
                session.description = session.description[..cut].to_owned();
            }
            session
        })
        .await?;
    let at_limit = found.len() as i64 >= MAX_FEED_SESSIONS;
    let viewer = store.viewer(&user_id, &found).await?;
    let mut listed: Vec<Session> = found
        .into_iter()
        .filter(|session| viewer.may_see(session))
        .collect();
    listed.sort_by(|a, b| (a.start_date, &a.id).cmp(&(b.start_date, &b.id)));
    let entries = store.feed_entries_of(&user_id).await?;
    let known: HashSet<SessionId> = entries
        .iter()
        .map(|entry| entry.session_id.clone())
        .collect();
    // A feed at its size may leave out sessions that are still the user's: only those
    // confirmed gone are cancelled.
    let kept = if at_limit {
        still_listable(app, &user_id, &entries, &listed).await?
    } else {
        HashSet::new()
    };
    // A feed lists no attendees: only organizers are shown.
    let people = store
        .people(listed.iter().map(|session| session.owner_id.as_str()))
        .await?;
    let organizers: Vec<(&Session, String)> = listed
        .iter()
        .map(|session| {
            let owner = people.render(&session.owner_id, &user_id);
            (session, display_name(&owner))
        })
        .collect();
    let reconciled = reconcile(entries, &organizers, &kept, Timestamp::now());
    store
        .put_feed_entries(&user_id, &reconciled.changed, &known)
        .await?;

    let public_url = &app.public_url;
    let recipient = Recipient {
        user_id: &user_id,
        reminder: store.reminder_setting(user_id.as_str()).await?,
    };
    let mut events = Vec::new();
    let mut zones = Vec::new();
    for (session, entry) in listed.iter().zip(&reconciled.listed) {
        let mut published = session.clone();
        published.sequence = entry.sequence;
        events.extend(session_events(
            &published,
            viewer.event_of(session),
            &people,
            recipient,
            public_url,
            session.updated.to_chrono(),
            Detail::Feed,
        ));
        zones.push((session.time_zone, session.start_date.to_chrono()));
    }
    for entry in &reconciled.cancelled {
        let cancelled_at = entry
            .cancelled_at
            .map_or_else(Utc::now, Timestamp::to_chrono);
        events.push(cancelled_event(entry, cancelled_at, public_url));
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
    Ok(Feed {
        calendar: calendar.into(),
        etag,
    })
}

/// The ids of stored, listed entries that the feed left out but that are still the
/// user's to list (beyond the feed's size).
async fn still_listable(
    app: &AppState,
    user_id: &str,
    entries: &[FeedEntry],
    listed: &[Session],
) -> Result<HashSet<SessionId>, ApiError> {
    let store = &app.store;
    let shown: HashSet<&str> = listed.iter().map(|session| session.id.as_str()).collect();
    let missing: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.cancelled_at.is_none() && !shown.contains(entry.session_id.as_str()))
        .map(|entry| entry.session_id.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(HashSet::new());
    }
    let sessions = store.sessions_by_ids(&missing).await?;
    let viewer = store.viewer(user_id, &sessions).await?;
    Ok(sessions
        .iter()
        .filter(|session| {
            let theirs = session.owner_id == user_id
                || session.has_joined(user_id)
                || (session.is_invited(user_id)
                    && session.invitation_status_of(user_id) != InvitationStatus::Declined);
            theirs && viewer.may_see(session)
        })
        .map(|session| session.id.clone())
        .collect())
}

/// A person's name as calendar files show it.
fn display_name(person: &UserSimple) -> String {
    format!("{} {}", person.first_name, person.last_name)
        .trim()
        .to_owned()
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
