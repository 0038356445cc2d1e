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
        self.newest.write(session_id, |newest| {
            newest.map_or(version, |newest| version.max(*newest))
        });
    }

    /// Notes that `session_id` was deleted.
    pub fn note_deleted(&self, session_id: &str) {
        self.note(session_id, DELETED);
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
}
