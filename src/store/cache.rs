//! Documents kept in memory: the profiles of users (a push to a thousand people renders a
//! thousand of them), events (every session answer checks its event) and each user's
//! memberships (every request checks them), so that they are not read from the database
//! for every request.
//!
//! The cache is only trusted while a change stream on those collections tells this process
//! of every change, whoever made it (the platform writes `users` and `memberships`; other
//! processes write `events`): each change forgets that document (for memberships: see
//! `memberships`), and the caches are emptied and switched
//! off whenever the stream fails, until it runs again. A change made elsewhere is therefore
//! seen by every process within the change stream's delay (milliseconds; at most one poll,
//! 250 ms, plus the database's own); this process's own writes forget what they change at
//! once. Where the database has no change streams (a standalone server) the caches stay off.
//!
//! A read that started before a change may finish after it with the old document; it is
//! only kept if no change was seen meanwhile (a generation counter), and any change seen
//! later forgets it anyway.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bson::{Document, doc};
use mongodb::change_stream::ChangeStream;
use mongodb::change_stream::event::{ChangeStreamEvent, OperationType};
use tokio_util::sync::CancellationToken;

use super::{Store, StoreResult, events, memberships, users};
use crate::backoff::Backoff;

/// Most documents kept by one cache; beyond it the cache starts again from empty.
const CAPACITY: usize = 200_000;
/// Pause before the change stream is opened again after it failed.
const REOPEN_DELAY: Duration = Duration::from_millis(500);
/// Longest pause between two attempts to reopen it.
const MAX_REOPEN_DELAY: Duration = Duration::from_secs(2);
/// Longest wait of one change stream poll.
const POLL_WAIT: Duration = Duration::from_millis(250);

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
    fn reset(&self, live: bool) {
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

/// The change stream of the cached collections.
type Changes = ChangeStream<ChangeStreamEvent<Document>>;

/// What one change means for the caches.
enum Change {
    /// One user or event changed.
    Document { collection: String, id: String },
    /// A membership of this user was added or replaced.
    MembershipOf { user_id: String },
    /// The membership with this `_id` was updated in place: whose it is must be read.
    MembershipUpdated { id: bson::Bson },
    /// A membership was removed; the change does not say whose.
    Memberships,
    /// A whole collection was dropped, renamed over or emptied: forget everything.
    Collection,
}

impl Change {
    fn of(event: ChangeStreamEvent<Document>) -> Change {
        let collection = event.ns.and_then(|namespace| namespace.coll);
        if collection.as_deref() == Some(memberships::COLLECTION) {
            // Inserts and replacements carry the document, an update only its `_id` (the
            // database is not asked to look up the document of every update it streams:
            // only those of memberships are looked up, here); a deletion carries only
            // its `_id` too.
            let changed_for = event
                .full_document
                .and_then(|document| document.get_str("userId").ok().map(str::to_owned));
            let key = event.document_key.and_then(|key| key.get("_id").cloned());
            return match (changed_for, event.operation_type, key) {
                (Some(user_id), ..) => Change::MembershipOf { user_id },
                (None, OperationType::Update, Some(id)) => Change::MembershipUpdated { id },
                _ => Change::Memberships,
            };
        }
        let id = event
            .document_key
            .and_then(|key| key.get_str("_id").ok().map(str::to_owned));
        match (collection, id) {
            (Some(collection), Some(id)) => Change::Document { collection, id },
            _ => Change::Collection,
        }
    }
}

impl Store {
    async fn watch_cached_collections(&self) -> StoreResult<Changes> {
        let collections = [
            users::COLLECTION,
            events::COLLECTION,
            memberships::COLLECTION,
        ];
        let collections = collections.as_slice();
        let stream = self
            .read(
                self.database()
                    .watch()
                    .pipeline([
                        // Changes to documents, and whatever replaces or removes a whole
                        // collection (drop, a rename onto it, a dropped database).
                        doc! { "$match": { "$or": [
                            { "ns.coll": { "$in": collections } },
                            { "to.coll": { "$in": collections } },
                            { "operationType": { "$in": ["dropDatabase", "invalidate"] } },
                        ] } },
                        doc! { "$project": {
                            "operationType": 1, "documentKey": 1, "ns": 1,
                            "fullDocument.userId": 1,
                        } },
                    ])
                    .max_await_time(POLL_WAIT),
            )
            .await?;
        Ok(stream)
    }

    /// The next change seen during one poll, if any.
    async fn next_change(&self, stream: &mut Changes) -> StoreResult<Option<Change>> {
        let event = super::within(None, self.deadline + POLL_WAIT, stream.next_if_any()).await?;
        Ok(event.map(Change::of))
    }

    fn reset_caches(&self, live: bool) {
        self.profiles.reset(live);
        self.event_cache.reset(live);
        self.membership_cache.reset(live);
    }

    /// The users whose memberships are added or changed from now on (anywhere on the
    /// platform), as this process's cache stream learns of them, and when some may have
    /// been missed; nothing where the database has no change streams. Removals are not
    /// told (the database does not say whose). A listener that falls behind by more than a
    /// few hundred misses some (and learns so from the channel).
    pub fn membership_news(&self) -> tokio::sync::broadcast::Receiver<MembershipNews> {
        self.membership_news.subscribe()
    }

    fn tell(&self, news: MembershipNews) {
        // Nobody listening is no failure.
        let _ = self.membership_news.send(news);
    }

    /// Keeps this process's caches true to the database until `shutdown`: runs the change
    /// stream of the cached collections, forgetting each changed document; the caches are
    /// on only while the stream runs. For databases with change streams only.
    pub async fn keep_caches_fresh(self, shutdown: CancellationToken) {
        let mut first = true;
        let mut backoff = Backoff::new(REOPEN_DELAY, MAX_REOPEN_DELAY);
        loop {
            match self.watch_cached_collections().await {
                Ok(mut stream) => {
                    backoff.reset();
                    self.reset_caches(true);
                    if !std::mem::replace(&mut first, false) {
                        // Opened afresh: what changed while it was away is not told.
                        self.tell(MembershipNews::Missed);
                    }
                    loop {
                        let change = tokio::select! {
                            () = shutdown.cancelled() => return,
                            change = self.next_change(&mut stream) => change,
                        };
                        match change {
                            Ok(Some(Change::Document { collection, id })) => {
                                if collection == users::COLLECTION {
                                    self.profiles.forget(&id);
                                } else {
                                    self.event_cache.forget(&id);
                                }
                            }
                            Ok(Some(Change::MembershipOf { user_id })) => {
                                self.membership_cache.forget(&user_id);
                                self.tell(MembershipNews::Of(user_id));
                            }
                            Ok(Some(Change::MembershipUpdated { id })) => {
                                match self.membership_owner(id).await {
                                    Ok(Some(user_id)) => {
                                        self.membership_cache.forget(&user_id);
                                        self.tell(MembershipNews::Of(user_id));
                                    }
                                    Ok(None) => self.membership_cache.reset(true),
                                    Err(error) => {
                                        tracing::warn!(%error, "cannot read whose membership changed");
                                        self.membership_cache.reset(true);
                                        self.tell(MembershipNews::Missed);
                                    }
                                }
                            }
                            Ok(Some(Change::Memberships)) => self.membership_cache.reset(true),
                            Ok(Some(Change::Collection)) => {
                                self.reset_caches(true);
                                self.tell(MembershipNews::Missed);
                            }
                            // The stream ended: start again.
                            Ok(None) if !stream.is_alive() => break,
                            Ok(None) => {}
                            Err(error) => {
                                tracing::warn!(%error, "the cache change stream failed; documents are read from the database until it runs again");
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot watch the cached collections"),
            }
            self.reset_caches(false);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = backoff.pause() => {}
            }
        }
    }
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
