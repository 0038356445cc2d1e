//! Documents kept in memory: the profiles of users (a push to a thousand people renders a
//! thousand of them), events (every session answer checks its event) and each user's
//! memberships (every request checks them), so that they are not read from the database
//! for every request.
//!
//! A cache is only trusted while the change stream (`changes`) tells this process of every
//! change; it is emptied and switched off whenever the stream fails, until it runs again.
//! A read that started before a change may finish after it with the old document; it is
//! only kept if no change was seen meanwhile (a generation counter), and any change seen
//! later forgets it anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::domain::source::Membership;

/// Most documents kept by one cache; beyond it the cache starts again from empty.
const CAPACITY: usize = 200_000;

/// The cached documents of one collection, by id.
pub struct DocumentCache<V> {
    state: Mutex<State<V>>,
}

impl<V> Default for DocumentCache<V> {
    fn default() -> Self {
        DocumentCache {
            state: Mutex::new(State {
                documents: HashMap::new(),
                generation: 0,
                live: false,
            }),
        }
    }
}

impl<V> std::fmt::Debug for DocumentCache<V> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        formatter
            .debug_struct("DocumentCache")
            .field("documents", &state.documents.len())
            .field("live", &state.live)
            .finish()
    }
}

struct State<V> {
    /// `None`: no (readable) document with that id.
    documents: HashMap<String, Option<V>>,
    /// Counts the changes seen; a read keeps its result only when none came meanwhile.
    generation: u64,
    /// Whether the change stream runs (the cache is trusted).
    live: bool,
}

/// What the cache could answer for a read.
pub(super) struct Lookup<'a, V> {
    pub found: Vec<V>,
    pub missing: Vec<&'a str>,
    /// `None` when the cache is off: read everything, keep nothing.
    generation: Option<u64>,
}

impl<V: Clone> DocumentCache<V> {
    fn lock(&self) -> MutexGuard<'_, State<V>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached users among `ids`, and the ids to read from the database.
    pub(super) fn lookup<'a>(&self, ids: &[&'a str]) -> Lookup<'a, V> {
        let state = self.lock();
        if !state.live {
            return Lookup {
                found: Vec::new(),
                missing: ids.to_vec(),
                generation: None,
            };
        }
        let mut lookup = Lookup {
            found: Vec::new(),
            missing: Vec::new(),
            generation: Some(state.generation),
        };
        for id in ids {
            match state.documents.get(*id) {
                Some(Some(document)) => lookup.found.push(document.clone()),
                Some(None) => {}
                None => lookup.missing.push(id),
            }
        }
        lookup
    }

    /// Keeps what was read for `lookup` (`read`, whose ids `id_of` tells, and the absence
    /// of the other missing ids), unless a change was seen since the lookup.
    pub(super) fn keep(&self, lookup: &Lookup<'_, V>, read: &[V], id_of: impl Fn(&V) -> &str) {
        let mut state = self.lock();
        if !state.live || lookup.generation != Some(state.generation) {
            return;
        }
        if state.documents.len() + lookup.missing.len() > CAPACITY {
            state.documents.clear();
        }
        let read: HashMap<&str, &V> = read
            .iter()
            .map(|document| (id_of(document), document))
            .collect();
        for id in &lookup.missing {
            let found = read.get(id).map(|document| (*document).clone());
            state.documents.insert((*id).to_owned(), found);
        }
    }

    /// Forgets one document, after a change to it.
    pub(super) fn forget(&self, id: &str) {
        let mut state = self.lock();
        state.generation += 1;
        state.documents.remove(id);
    }

    /// Empties the cache and turns it on or off.
    pub(super) fn reset(&self, live: bool) {
        let mut state = self.lock();
        state.generation += 1;
        state.documents.clear();
        state.live = live;
    }
}

/// What the cache's change stream tells of memberships (see [`Store::membership_news`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipNews {
    /// This user's memberships were added to or changed.
    Of(String),
    /// Some changes may have been missed (the stream started again, or a whole collection
    /// changed).
    Missed,
}

/// All memberships of one user, as the cache keeps them.
#[derive(Debug, Clone)]
pub(super) struct UserMemberships {
    pub(super) user_id: String,
    pub(super) memberships: Arc<[Membership]>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::people::User;

    type ProfileCache = DocumentCache<User>;

    fn user(id: &str, first_name: &str) -> User {
        serde_json::from_value(serde_json::json!({"id": id, "firstName": first_name})).unwrap()
    }

    fn id_of(user: &User) -> &str {
        &user.id
    }

    #[test]
    fn an_off_cache_answers_nothing_and_keeps_nothing() {
        let cache = ProfileCache::default();
        let lookup = cache.lookup(&["a"]);
        assert_eq!(lookup.missing, ["a"]);
        cache.keep(&lookup, &[user("a", "Ada")], id_of);
        cache.reset(true);
        assert_eq!(cache.lookup(&["a"]).missing, ["a"]);
    }

    #[test]
    fn kept_profiles_are_answered_until_their_user_changes() {
        let cache = ProfileCache::default();
        cache.reset(true);
        let lookup = cache.lookup(&["a", "b"]);
        cache.keep(&lookup, &[user("a", "Ada"), user("b", "Bo")], id_of);
        let again = cache.lookup(&["a", "b", "c"]);
        assert_eq!(again.found.len(), 2);
        assert_eq!(again.missing, ["c"]);
        cache.forget("a");
        let after = cache.lookup(&["a", "b"]);
        assert_eq!(after.missing, ["a"]);
        assert_eq!(after.found[0].first_name, "Bo");
    }

    #[test]
    fn a_user_without_a_document_is_remembered_as_absent_until_one_appears() {
        let cache = ProfileCache::default();
        cache.reset(true);
        let lookup = cache.lookup(&["a", "ghost"]);
        cache.keep(&lookup, &[user("a", "Ada")], id_of);
        let again = cache.lookup(&["a", "ghost"]);
        assert_eq!((again.found.len(), again.missing.len()), (1, 0));
        cache.forget("ghost");
        assert_eq!(cache.lookup(&["ghost"]).missing, ["ghost"]);
    }

    #[test]
    fn a_read_that_overlapped_a_change_is_not_kept() {
        let cache = ProfileCache::default();
        cache.reset(true);
        let lookup = cache.lookup(&["a"]);
        cache.forget("a");
        cache.keep(&lookup, &[user("a", "Old")], id_of);
        assert_eq!(cache.lookup(&["a"]).missing, ["a"]);
    }

    #[test]
    fn a_failed_stream_turns_the_cache_off_and_empties_it() {
        let cache = ProfileCache::default();
        cache.reset(true);
        let lookup = cache.lookup(&["a"]);
        cache.keep(&lookup, &[user("a", "Ada")], id_of);
        cache.reset(false);
        cache.reset(true);
        assert_eq!(cache.lookup(&["a"]).missing, ["a"]);
    }
}
