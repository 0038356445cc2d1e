//! User documents kept in memory, so that rendering a session (an answer, or a push to a
//! thousand people) does not read its people's profiles from the database every time.
//!
//! The platform writes `users`, so the cache is only trusted while a change stream on the
//! collection tells this process of every change: each change forgets that user, and the
//! cache is emptied and switched off whenever the stream fails (until it runs again). A
//! profile changed in the database is therefore seen by every process within the change
//! stream's delay (milliseconds; at most one poll, 250 ms, plus the database's own). Where
//! the database has no change streams (a standalone server) the cache stays off.
//!
//! A read that started before a change may finish after it with the old document; it is
//! only kept if no change was seen meanwhile (a generation counter), and any change seen
//! later forgets it anyway.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bson::{Document, doc};
use mongodb::change_stream::ChangeStream;
use mongodb::change_stream::event::ChangeStreamEvent;
use tokio_util::sync::CancellationToken;

use super::{Store, StoreResult, users};
use crate::domain::people::User;

/// Most profiles kept; beyond it the cache starts again from empty.
const CAPACITY: usize = 200_000;
/// Pause before the change stream is opened again after it failed.
const REOPEN_DELAY: Duration = Duration::from_millis(500);
/// Longest wait of one change stream poll.
const POLL_WAIT: Duration = Duration::from_millis(250);

/// The cached profiles of one process.
#[derive(Default)]
pub struct ProfileCache {
    state: Mutex<State>,
}

impl std::fmt::Debug for ProfileCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        formatter
            .debug_struct("ProfileCache")
            .field("users", &state.users.len())
            .field("live", &state.live)
            .finish()
    }
}

#[derive(Default)]
struct State {
    /// `None`: no (readable) document with that id.
    users: HashMap<String, Option<User>>,
    /// Counts the changes seen; a read keeps its result only when none came meanwhile.
    generation: u64,
    /// Whether the change stream runs (the cache is trusted).
    live: bool,
}

/// What the cache could answer for a read.
pub(super) struct Lookup<'a> {
    pub found: Vec<User>,
    pub missing: Vec<&'a str>,
    /// `None` when the cache is off: read everything, keep nothing.
    generation: Option<u64>,
}

impl ProfileCache {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached users among `ids`, and the ids to read from the database.
    pub(super) fn lookup<'a>(&self, ids: &[&'a str]) -> Lookup<'a> {
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
            match state.users.get(*id) {
                Some(Some(user)) => lookup.found.push(user.clone()),
                Some(None) => {}
                None => lookup.missing.push(id),
            }
        }
        lookup
    }

    /// Keeps what was read for `lookup` (`users`, and the absence of the other missing
    /// ids), unless a change was seen since the lookup.
    pub(super) fn keep(&self, lookup: &Lookup<'_>, users: &[User]) {
        let mut state = self.lock();
        if !state.live || lookup.generation != Some(state.generation) {
            return;
        }
        if state.users.len() + lookup.missing.len() > CAPACITY {
            state.users.clear();
        }
        for id in &lookup.missing {
            let read = users.iter().find(|user| user.id == *id).cloned();
            state.users.insert((*id).to_owned(), read);
        }
    }

    /// Forgets one user, after a change to their document.
    fn forget(&self, user_id: &str) {
        let mut state = self.lock();
        state.generation += 1;
        state.users.remove(user_id);
    }

    /// Empties the cache and turns it on or off.
    fn reset(&self, live: bool) {
        let mut state = self.lock();
        state.generation += 1;
        state.users.clear();
        state.live = live;
    }
}

/// The change stream of `users`, reduced to the changed documents' ids.
type UserChanges = ChangeStream<ChangeStreamEvent<Document>>;

impl Store {
    async fn watch_users(&self) -> StoreResult<UserChanges> {
        let stream = self
            .read(
                self.database()
                    .collection::<Document>(users::COLLECTION)
                    .watch()
                    .pipeline([doc! { "$project": { "documentKey": 1, "operationType": 1 } }])
                    .max_await_time(POLL_WAIT),
            )
            .await?;
        Ok(stream)
    }

    /// The id of the next changed user, `Ok(None)` when nothing changed during one poll.
    async fn next_user_change(&self, stream: &mut UserChanges) -> StoreResult<Option<String>> {
        let event = super::within(self.deadline + POLL_WAIT, stream.next_if_any()).await?;
        Ok(event.and_then(|event| {
            event
                .document_key
                .and_then(|key| key.get_str("_id").ok().map(str::to_owned))
        }))
    }

    /// Keeps this process's profile cache true to the database until `shutdown`: runs the
    /// change stream of `users`, forgetting each changed user; the cache is on only while
    /// the stream runs. For databases with change streams only.
    pub async fn keep_profiles_fresh(self, shutdown: CancellationToken) {
        loop {
            match self.watch_users().await {
                Ok(mut stream) => {
                    self.profiles.reset(true);
                    loop {
                        let change = tokio::select! {
                            () = shutdown.cancelled() => return,
                            change = self.next_user_change(&mut stream) => change,
                        };
                        match change {
                            Ok(Some(user_id)) => self.profiles.forget(&user_id),
                            // The stream ended (the collection was dropped): start again.
                            Ok(None) if !stream.is_alive() => break,
                            Ok(None) => {}
                            Err(error) => {
                                tracing::warn!(%error, "the users change stream failed; profiles are read from the database until it runs again");
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot watch the users collection"),
            }
            self.profiles.reset(false);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(REOPEN_DELAY) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, first_name: &str) -> User {
        serde_json::from_value(serde_json::json!({"id": id, "firstName": first_name})).unwrap()
    }

    #[test]
    fn an_off_cache_answers_nothing_and_keeps_nothing() {
        let cache = ProfileCache::default();
        let lookup = cache.lookup(&["a"]);
        assert_eq!(lookup.missing, ["a"]);
        cache.keep(&lookup, &[user("a", "Ada")]);
        cache.reset(true);
        assert_eq!(cache.lookup(&["a"]).missing, ["a"]);
    }

    #[test]
    fn kept_profiles_are_answered_until_their_user_changes() {
        let cache = ProfileCache::default();
        cache.reset(true);
        let lookup = cache.lookup(&["a", "b"]);
        cache.keep(&lookup, &[user("a", "Ada"), user("b", "Bo")]);
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
        cache.keep(&lookup, &[user("a", "Ada")]);
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
        cache.keep(&lookup, &[user("a", "Old")]);
        assert_eq!(cache.lookup(&["a"]).missing, ["a"]);
    }

    #[test]
    fn a_failed_stream_turns_the_cache_off_and_empties_it() {
        let cache = ProfileCache::default();
        cache.reset(true);
        let lookup = cache.lookup(&["a"]);
        cache.keep(&lookup, &[user("a", "Ada")]);
        cache.reset(false);
        cache.reset(true);
        assert_eq!(cache.lookup(&["a"]).missing, ["a"]);
    }
}
