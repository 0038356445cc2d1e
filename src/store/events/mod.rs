//! The `events` collection.

mod document;

use bson::{Document, doc};
use mongodb::options::ReturnDocument;

use super::{Query, Store, StoreResult, after_position};
use crate::domain::event::{Event, EventListing};
use crate::domain::ids::EventId;
use crate::domain::kinds::EventStatus;
use crate::domain::page::Stored;
use crate::domain::source::Source;
use crate::domain::time::Timestamp;

pub use self::document::COLLECTION;
pub(super) use self::document::indexes;
use self::document::{DELETING, EventDocument};

/// `filter`, restricted to events whose deletion has not begun.
fn live(mut filter: Document) -> Document {
    filter.insert(DELETING, doc! { "$exists": false });
    filter
}

impl Store {
    fn events(&self) -> mongodb::Collection<EventDocument> {
        self.database().collection(COLLECTION)
    }

    /// Runs an event query and reads all of it, under one deadline.
    async fn collect_events(&self, query: Query<'_, EventDocument>) -> StoreResult<Vec<Event>> {
        Ok(self
            .read_all(query)
            .await?
            .into_iter()
            .filter_map(EventDocument::into_event)
            .collect())
    }

    pub async fn insert_event(&self, event: &Event) -> StoreResult<()> {
        let document = EventDocument::from_event(event, event.revision)?;
        let written = self.write(self.events().insert_one(document)).await;
        self.event_cache.forget(&event.id);
        written?;
        Ok(())
    }

    /// Forgets this process's copy of an event: another process changed it, and the next
    /// read must see the change (the cache's own change stream may come later).
    pub fn forget_cached_event(&self, event_id: &EventId) {
        self.event_cache.forget(event_id);
    }

    /// The live event with this id, if any (see [`Store::find_events`]).
    pub async fn find_event(&self, event_id: &EventId) -> StoreResult<Option<Event>> {
        Ok(self.find_events(&[event_id]).await?.pop())
    }

    /// The live event with this id as the database has it now, past the event cache: for
    /// checks that must not miss another process's latest change.
    pub async fn find_event_uncached(&self, event_id: &EventId) -> StoreResult<Option<Event>> {
        let read = self
            .collect_events(self.events().find(live(doc! { "_id": event_id })))
            .await?;
        self.event_cache.forget(event_id);
        Ok(read.into_iter().next())
    }

    /// The live events `user_id` owns, by id after `after`: of at most `limit` read, those
    /// that can be read as events, and — when `limit` were read — the id of the last one
    /// read, to read on after.
    pub async fn events_owned_by(
        &self,
        user_id: &str,
        after: Option<&EventId>,
        limit: i64,
    ) -> StoreResult<(Vec<Event>, Option<EventId>)> {
        let mut filter = doc! { "ownerId": user_id };
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after });
        }
        let documents = self
            .read_all(
                self.events()
                    .find(live(filter))
                    .sort(doc! { "_id": 1 })
                    .limit(limit),
            )
            .await?;
        let full = i64::try_from(documents.len()).unwrap_or(i64::MAX) >= limit;
        let last = documents
            .last()
            .filter(|_| full)
            .map(|document| document.id.clone());
        let events = documents
            .into_iter()
            .filter_map(EventDocument::into_event)
            .collect();
        Ok((events, last))
    }

    /// The ids of every event `user_id` owns — also those whose deletion began, and those
    /// that cannot be read as events: at most `limit`.
    pub async fn event_ids_owned_by(&self, user_id: &str, limit: i64) -> StoreResult<Vec<EventId>> {
        let collection = self.database().collection::<bson::Document>(COLLECTION);
        let documents = collection
            .find(doc! { "ownerId": user_id })
            .projection(doc! { "_id": 1 })
            .sort(doc! { "_id": 1 })
            .limit(limit);
        let found = self.read_all(documents).await?;
        Ok(found
            .iter()
            .filter_map(|document| document.get_str("_id").ok())
            .map(EventId::from)
            .collect())
    }

    /// The live events with these ids (missing ones are left out); from the event cache
    /// where it holds them (see `cache`).
    pub async fn find_events(&self, ids: &[&str]) -> StoreResult<Vec<Event>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let lookup = self.event_cache.lookup(ids);
        if lookup.missing.is_empty() {
            return Ok(lookup.found);
        }
        let collection = self
            .database()
            .collection_with_options::<EventDocument>(COLLECTION, super::cached_read_options());
        let read = self
            .collect_events(collection.find(live(doc! { "_id": { "$in": &lookup.missing } })))
            .await?;
        self.event_cache.keep(&lookup, &read, |event| &event.id);
        let mut events = lookup.found;
        events.extend(read);
        Ok(events)
    }

    /// Replaces the event when it is still at the revision it was read at (`event.revision`);
    /// answers false when another change came first.
    pub async fn replace_event_at_revision(&self, event: &Event) -> StoreResult<bool> {
        let next = EventDocument::from_event(event, event.revision + 1)?;
        let result = self
            .write(self.events().replace_one(
                live(doc! { "_id": &event.id, "revision": event.revision }),
                next,
            ))
            .await;
        // Changed, or found changed by another process: either way the copy kept is old.
        self.event_cache.forget(&event.id);
        Ok(result?.matched_count == 1)
    }

    /// Sets the status to published; answers the event after the change, or `None` when it
    /// was published already or is gone.
    pub async fn publish_event(
        &self,
        event_id: &EventId,
        now: Timestamp,
    ) -> StoreResult<Option<Event>> {
        // The sessions first: a failure in between leaves them listed, never hidden.
        self.mark_event_published(event_id).await?;
        let published = EventStatus::Published.code();
        let after = self
            .write(
                self.events()
                    .find_one_and_update(
                        live(doc! { "_id": event_id, "status": { "$ne": published } }),
                        doc! {
                            "$set": { "status": published, "updated": bson::DateTime::from(now) },
                            "$inc": { "revision": 1 },
                        },
                    )
                    .return_document(ReturnDocument::After),
            )
            .await;
        self.event_cache.forget(event_id);
        Ok(after?.and_then(EventDocument::into_event))
    }

    /// Begins the deletion of an event: marks it, so that it and its sessions are gone for
    /// every reader at once; answers whether this call marked it. The deletion is finished
    /// by deleting the sessions, then the event ([`Store::delete_event`]); a deletion
    /// interrupted part-way is found by [`Store::events_being_deleted`].
    pub async fn begin_event_deletion(
        &self,
        event_id: &EventId,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let result = self
            .write(self.events().update_one(
                live(doc! { "_id": event_id }),
                doc! { "$set": { DELETING: bson::DateTime::from(now) } },
            ))
            .await;
        self.event_cache.forget(event_id);
        let result = result?;
        Ok(result.modified_count == 1)
    }

    /// The ids of the events whose deletion began and is not finished.
    pub async fn events_being_deleted(&self) -> StoreResult<Vec<EventId>> {
        let ids = self
            .read(
                self.events()
                    .distinct("_id", doc! { DELETING: { "$exists": true } }),
            )
            .await?;
        Ok(ids
            .into_iter()
            .filter_map(|id| id.as_str().map(EventId::from))
            .collect())
    }

    /// Deletes the event document (live or being deleted); answers whether it existed.
    pub async fn delete_event(&self, event_id: &EventId) -> StoreResult<bool> {
        let result = self
            .write(self.events().delete_one(doc! { "_id": event_id }))
            .await;
        self.event_cache.forget(event_id);
        Ok(result?.deleted_count == 1)
    }

    /// At most `limit` events of one source, by `startDate` then `id`, after the position
    /// `after` when given; fewer when they pass [`MAX_PAGE_BYTES`] as stored (then one
    /// more, see [`crate::domain::page::fitting`]).
    pub async fn list_events(
        &self,
        source: &Source,
        listing: EventListing<'_>,
        after: Option<(Timestamp, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<Stored<Event>>> {
        let mut filter = live(doc! {
            "networkId": source.network_id(),
            "sourceType": source.source_type(),
            "sourcePk": source.source_pk(),
        });
        if let EventListing::PublishedOrOwnedBy(user_id) = listing {
            filter.insert(
                "$or",
                vec![
                    doc! { "status": EventStatus::Published.code() },
                    doc! { "ownerId": user_id },
                ],
            );
        }
        after_position(&mut filter, after);
        let found = self
            .read_page::<EventDocument>(COLLECTION, filter, limit)
            .await?;
        Ok(found
            .into_iter()
            .filter_map(|stored| {
                Some(Stored {
                    item: stored.item.into_event()?,
                    bytes: stored.bytes,
                })
            })
            .collect())
    }
}
