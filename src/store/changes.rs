//! The change stream that keeps the caches (`cache`) true: it tells this process of every
//! change to the cached collections, whoever made it (the platform writes `users` and
//! `memberships`; other processes write `events`), and each change forgets that document
//! (for memberships: see `memberships`). The caches are emptied and switched off whenever
//! the stream fails, until it runs again. A change made elsewhere is therefore seen by
//! every process within the change stream's delay (milliseconds; at most one poll, 250 ms,
//! plus the database's own); this process's own writes forget what they change at once.
//! Where the database has no change streams (a standalone server) the caches stay off.

use std::time::Duration;

use bson::{Document, doc};
use mongodb::change_stream::ChangeStream;
use mongodb::change_stream::event::{ChangeStreamEvent, OperationType};
use tokio_util::sync::CancellationToken;

use super::cache::MembershipNews;
use super::calls::within;
use super::{Store, StoreResult, events, memberships, users};
use crate::backoff::Backoff;

/// Pause before the change stream is opened again after it failed.
const REOPEN_DELAY: Duration = Duration::from_millis(500);
/// Longest pause between two attempts to reopen it.
const MAX_REOPEN_DELAY: Duration = Duration::from_secs(2);
/// Longest wait of one change stream poll.
const POLL_WAIT: Duration = Duration::from_millis(250);

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
        let event = within(None, self.deadline + POLL_WAIT, stream.next_if_any()).await?;
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
