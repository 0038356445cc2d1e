//! Calendar feeds: the secret URL token of a user's feed. A token is the HMAC of the user
//! id and a random salt under the service's feed key, so that the same URL comes back on
//! every call until the salt is rotated; the database keeps the salt and the token's
//! SHA-256 only, so that reading the database does not give the URLs away without the
//! key (which lives in the configuration, never in the database).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::ids::SessionId;
use super::session::Session;
use super::time::Timestamp;
use super::zone::TimeZone;

/// Days a session that left a feed stays in it as `STATUS:CANCELLED`.
pub const CANCELLED_KEPT_DAYS: i64 = 30;

/// The key that makes feed tokens.
#[derive(Clone)]
pub struct FeedKey([u8; 32]);

impl std::fmt::Debug for FeedKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("FeedKey(..)")
    }
}

impl FeedKey {
    /// The feed key derived from a configured secret (its own, or the token-signing one).
    pub fn derive(secret: &[u8]) -> FeedKey {
        FeedKey(mac(secret, b"social-events calendar feed key"))
    }

    /// The token of `user_id`'s feed with `salt`: 64 hex digits (256 bits).
    pub fn token(&self, user_id: &str, salt: &str) -> String {
        // The user id's length first: no two (user, salt) pairs make the same message.
        let mut message = Vec::with_capacity(8 + user_id.len() + salt.len());
        message.extend_from_slice(&(user_id.len() as u64).to_be_bytes());
        message.extend_from_slice(user_id.as_bytes());
        message.extend_from_slice(salt.as_bytes());
        hex(&mac(&self.0, &message))
    }
}

/// A fresh random salt: 128 bits as 32 hex digits.
pub fn fresh_salt() -> String {
    let bytes: [u8; 16] = rand::random();
    hex(&bytes)
}

/// What the database keeps of a token: its SHA-256, as hex.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What a feed last listed of one session: enough to cancel it once the session has left
/// the feed (deleted, declined, uninvited, out of sight), with a SEQUENCE above the last
/// one calendars saw.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub session_id: SessionId,
    pub title: String,
    pub start_date: Timestamp,
    pub duration: i64,
    pub time_zone: TimeZone,
    /// The SEQUENCE the feed last published for the session.
    pub sequence: i64,
    /// The organizer as the feed showed them: user id and display name.
    pub organizer_id: String,
    pub organizer_name: String,
    /// When the session left the feed; `None` while it is listed.
    pub cancelled_at: Option<Timestamp>,
}

impl FeedEntry {
    /// The entry of a listed session, published with `sequence`, organized by the
    /// person shown as `organizer_name`.
    pub fn of(session: &Session, sequence: i64, organizer_name: &str) -> FeedEntry {
        FeedEntry {
            session_id: session.id.clone(),
            title: session.title.clone(),
            start_date: session.start_date,
            duration: session.duration,
            time_zone: session.time_zone,
            sequence,
            organizer_id: session.owner_id.clone(),
            organizer_name: organizer_name.to_owned(),
            cancelled_at: None,
        }
    }

    /// Until when a cancelled entry stays in the feed.
    pub fn kept_until(&self) -> Option<Timestamp> {
        self.cancelled_at
            .map(|at| at.plus_seconds(CANCELLED_KEPT_DAYS * 24 * 3600))
    }
}

/// A feed's entries brought up to date with the sessions it lists now.
#[derive(Debug, Default, PartialEq)]
pub struct Reconciled {
    /// Entries to store: new or changed listed sessions, and newly cancelled ones.
    pub changed: Vec<FeedEntry>,
    /// The listed sessions' entries, in the order listed: the SEQUENCE to publish each
    /// with is its entry's.
    pub listed: Vec<FeedEntry>,
    /// Cancelled entries the feed shows (within [`CANCELLED_KEPT_DAYS`] of leaving).
    pub cancelled: Vec<FeedEntry>,
}

/// The entries to store, publish and show cancelled, given the stored `entries`, the
/// sessions `listed` now (each with its organizer's display name), and `kept`: sessions
/// not listed (beyond the feed's size) that have not left it, at `now`.
///
/// A listed session is published with its own SEQUENCE, the invitation file's — or, when
/// it comes back after the feed cancelled it, one above the cancellation's, so that
/// calendars take it back.
pub fn reconcile(
    entries: Vec<FeedEntry>,
    listed: &[(&Session, String)],
    kept: &std::collections::HashSet<SessionId>,
    now: Timestamp,
) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let mut stored: std::collections::HashMap<SessionId, FeedEntry> = entries
        .into_iter()
        .map(|entry| (entry.session_id.clone(), entry))
        .collect();
    for (session, organizer_name) in listed {
        let previous = stored.remove(&session.id);
        let sequence = match &previous {
            Some(entry) if entry.cancelled_at.is_some() => session.sequence.max(entry.sequence + 1),
            Some(entry) => session.sequence.max(entry.sequence),
            None => session.sequence,
        };
        let entry = FeedEntry::of(session, sequence, organizer_name);
        if previous.as_ref() != Some(&entry) {
            reconciled.changed.push(entry.clone());
        }
        reconciled.listed.push(entry);
    }
    let mut gone: Vec<FeedEntry> = stored
        .into_values()
        .filter(|entry| !kept.contains(&entry.session_id))
        .collect();
    gone.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    for mut entry in gone {
        if entry.cancelled_at.is_none() {
            entry.cancelled_at = Some(now);
            entry.sequence += 1;
            reconciled.changed.push(entry.clone());
        }
        if entry.kept_until().is_some_and(|until| until > now) {
            reconciled.cancelled.push(entry);
        }
    }
    reconciled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::SessionKind;

    fn session(id: &str, sequence: i64) -> Session {
        let mut session = Session::new(
            id.into(),
            "owner",
            None,
            Timestamp::from_millis(1_000).unwrap(),
        );
        session.title = format!("Session {id}");
        session.session_type = SessionKind::Public;
        session.sequence = sequence;
        session
    }

    fn entry(id: &str, sequence: i64) -> FeedEntry {
        FeedEntry::of(&session(id, sequence), sequence, "Olga Owner")
    }

    fn listing(sessions: &[Session]) -> Vec<(&Session, String)> {
        sessions
            .iter()
            .map(|session| (session, "Olga Owner".to_owned()))
            .collect()
    }

    fn nothing_kept() -> std::collections::HashSet<SessionId> {
        std::collections::HashSet::new()
    }

    #[test]
    fn listed_sessions_are_stored_once_and_again_when_they_change() {
        let now = Timestamp::from_millis(10_000).unwrap();
        let first = reconcile(
            Vec::new(),
            &listing(&[session("a", 0)]),
            &nothing_kept(),
            now,
        );
        assert_eq!(first.changed, vec![entry("a", 0)]);
        assert_eq!(first.listed, vec![entry("a", 0)]);
        assert!(first.cancelled.is_empty());
        let same = reconcile(
            first.changed.clone(),
            &listing(&[session("a", 0)]),
            &nothing_kept(),
            now,
        );
        assert!(same.changed.is_empty());
        let updated = reconcile(
            first.changed,
            &listing(&[session("a", 1)]),
            &nothing_kept(),
            now,
        );
        assert_eq!(updated.changed, vec![entry("a", 1)]);
    }

    #[test]
    fn a_session_that_left_is_cancelled_with_a_higher_sequence_for_thirty_days() {
        let left_at = Timestamp::from_millis(10_000).unwrap();
        let left = reconcile(vec![entry("a", 4)], &[], &nothing_kept(), left_at);
        assert_eq!(left.changed.len(), 1);
        assert_eq!(left.changed[0].sequence, 5);
        assert_eq!(left.changed[0].cancelled_at, Some(left_at));
        assert_eq!(left.cancelled, left.changed);
        // Shown, unchanged, until thirty days have passed.
        let later = left_at.plus_seconds(CANCELLED_KEPT_DAYS * 24 * 3600 - 1);
        let kept = reconcile(left.changed.clone(), &[], &nothing_kept(), later);
        assert!(kept.changed.is_empty());
        assert_eq!(kept.cancelled, left.changed);
        let expired = reconcile(
            left.changed.clone(),
            &[],
            &nothing_kept(),
            later.plus_seconds(1),
        );
        assert!(expired.changed.is_empty() && expired.cancelled.is_empty());
        // Back in the feed (invited again): listed above the cancellation's SEQUENCE.
        let back = reconcile(
            left.changed,
            &listing(&[session("a", 4)]),
            &nothing_kept(),
            later,
        );
        assert_eq!(back.listed[0].sequence, 6);
        assert_eq!(back.listed[0].cancelled_at, None);
        assert!(back.cancelled.is_empty());
    }

    #[test]
    fn sessions_beyond_the_feeds_size_are_not_cancelled() {
        let now = Timestamp::from_millis(10_000).unwrap();
        let kept: std::collections::HashSet<SessionId> = [SessionId::from("a")].into();
        let reconciled = reconcile(vec![entry("a", 0), entry("b", 0)], &[], &kept, now);
        assert_eq!(reconciled.cancelled.len(), 1);
        assert_eq!(reconciled.cancelled[0].session_id, "b");
    }
    #[test]
    fn a_token_depends_on_key_user_and_salt() {
        let key = FeedKey::derive(b"secret");
        let token = key.token("ada", "salt-1");
        assert_eq!(token.len(), 64);
        assert_eq!(token, key.token("ada", "salt-1"));
        assert_ne!(token, key.token("ada", "salt-2"));
        assert_ne!(token, key.token("grace", "salt-1"));
        assert_ne!(token, FeedKey::derive(b"other").token("ada", "salt-1"));
        // The user id and the salt cannot trade characters.
        assert_ne!(key.token("a", "b\0c"), key.token("a\0b", "c"));
        assert_eq!(token_hash(&token).len(), 64);
        assert_ne!(token_hash(&token), token);
        assert_ne!(fresh_salt(), fresh_salt());
    }
}
