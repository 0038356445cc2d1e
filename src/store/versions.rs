//! The newest `version` of each session this process has seen: read, written, or named by
//! a push (its deletion counts as newer than any version). A session value is known to be
//! current for this process's clients only when no newer version has passed through it;
//! `push::written` relies on this before it pushes a session as a write left it.
//!
//! Entries are forgotten a minute after they were last noted (see `aging`); a value that
//! is checked against this ledger must be at most a few seconds old, so a forgotten
//! version can only be older than it.

use std::time::Duration;

use crate::aging::AgingMap;

/// How long a noted version is remembered after it was last noted.
pub const REMEMBERED_FOR: Duration = Duration::from_secs(60);
/// The version noted for a deleted session.
const DELETED: i64 = i64::MAX;
/// The version noted for a session that may have changed unseen: newer than any value.
const UNKNOWN: i64 = i64::MAX - 1;

/// Newest version seen of each session.
#[derive(Debug)]
pub struct SessionVersions {
    newest: AgingMap<i64>,
}

impl Default for SessionVersions {
    fn default() -> Self {
        SessionVersions {
            newest: AgingMap::new(REMEMBERED_FOR),
        }
    }
}

impl SessionVersions {
    /// Notes that `version` of `session_id` was seen.
    pub fn note(&self, session_id: &str, version: i64) {
        self.newest.write(session_id, |newest| match newest {
            // A value seen after a change that may have been made unseen is the newest
            // known again.
            Some(&UNKNOWN) | None => version,
            Some(newest) => version.max(*newest),
        });
    }

    /// Notes that `session_id` was deleted.
    pub fn note_deleted(&self, session_id: &str) {
        self.note(session_id, DELETED);
    }

    /// Notes that `session_id` may have changed without this process learning its new
    /// version (a write whose answer was lost): no value of it seen so far is known to be
    /// the newest, until one is seen again (read or written).
    pub fn note_unknown(&self, session_id: &str) {
        self.newest.write(session_id, |newest| {
            if newest == Some(&DELETED) {
                DELETED
            } else {
                UNKNOWN
            }
        });
    }

    /// Whether `version` is at least the newest version of `session_id` seen (and the
    /// session was not seen deleted).
    pub fn is_newest(&self, session_id: &str, version: i64) -> bool {
        self.newest
            .read(session_id, |newest| *newest <= version)
            .unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_newest_until_a_newer_one_or_the_deletion_is_seen() {
        let versions = SessionVersions::default();
        assert!(versions.is_newest("s", 0));
        versions.note("s", 5);
        assert!(versions.is_newest("s", 5));
        assert!(!versions.is_newest("s", 4));
        versions.note("s", 3);
        assert!(
            !versions.is_newest("s", 4),
            "an older version seen later changes nothing"
        );
        assert!(versions.is_newest("t", 0), "other sessions do not matter");
        versions.note_deleted("s");
        assert!(!versions.is_newest("s", 6));
    }

    #[test]
    fn no_value_is_newest_once_a_change_may_have_been_made_unseen() {
        let versions = SessionVersions::default();
        versions.note("s", 5);
        versions.note_unknown("s");
        assert!(!versions.is_newest("s", 5));
        assert!(
            !versions.is_newest("s", 6),
            "nor any later one not seen yet"
        );
        versions.note("s", 6);
        assert!(
            versions.is_newest("s", 6),
            "a value seen since is the newest known"
        );
        assert!(!versions.is_newest("s", 5));
        versions.note_deleted("s");
        versions.note_unknown("s");
        assert!(!versions.is_newest("s", 7), "still deleted");
    }
}
