//! The `sessions` collection: sessions at room props, alone or within an event, with their
//! invitations and participants.
//!
//! Every change is one single-document atomic update (joining and the waitlist: `seats`).
//! Rewrites of the invitation list are guarded by `revision`. The stored shape is
//! `document`'s; reads are `reads`' and `viewers`' (and the reminder scan's, `upcoming`); writes are here.

mod document;
mod person;
mod reads;
mod seats;
mod upcoming;
mod viewers;

use bson::{Document, doc};
use mongodb::IndexModel;
use mongodb::options::ReturnDocument;

use self::document::{
    SessionDocument, counted, next_occurrence_fields, set_of, set_upcoming_start,
};
use self::reads::visible_to;
use crate::domain::ids::{EventId, SessionId};
use crate::domain::invitation::pending_attachment;
use crate::domain::reminder::Upcoming;
use crate::domain::retry::{Attempt, retry_stale};
use crate::domain::session::fields::SessionUpdate;
use crate::domain::session::{Audience, EventScope, Invitation, PendingContact, Prop, Session};
use crate::domain::time::Timestamp;
use crate::store::{Query, Store, StoreError, StoreResult};

pub use self::document::COLLECTION;
pub use self::person::NamedAs;
pub use self::reads::SessionStamp;

/// How often attaching a pending invitation is tried when other changes come first.
const ATTACH_ATTEMPTS: usize = 5;

pub(super) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "eventId": 1, "startDate": 1, "_id": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "roomId": 1, "propId": 1, "isRecurring": 1, "endDate": 1, "startDate": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "roomId": 1, "propId": 1, "isRecurring": 1, "nextStart": 1, "_id": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "invited.userId": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "ownerId": 1, "activeUntil": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "pendingContacts.keys": 1 })
            .build(),
        IndexModel::builder().keys(doc! { "joined": 1 }).build(),
        IndexModel::builder().keys(doc! { "waitlist": 1 }).build(),
        IndexModel::builder()
            .keys(doc! { "upcomingStart": 1 })
            .build(),
        IndexModel::builder().keys(doc! { "updated": 1 }).build(),
        IndexModel::builder().keys(doc! { "declined": 1 }).build(),
    ]
}

impl Store {
    fn sessions(&self) -> mongodb::Collection<SessionDocument> {
        self.database().collection(COLLECTION)
    }

    /// A stored session as read or written, its version noted (see `versions`).
    fn seen(&self, document: SessionDocument) -> Session {
        let session = document.into_session();
        self.session_versions.note(&session.id, session.version);
        session
    }

    /// A page of the sessions matching `filter`, by id after `after`: at most `limit`.
    pub(super) async fn session_page(
        &self,
        mut filter: Document,
        after: Option<&SessionId>,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after });
        }
        self.collect_sessions(
            self.sessions()
                .find(filter)
                .sort(doc! { "_id": 1 })
                .limit(limit),
        )
        .await
    }

    /// Runs a session query and reads all of it, under one deadline.
    async fn collect_sessions(
        &self,
        query: Query<'_, SessionDocument>,
    ) -> StoreResult<Vec<Session>> {
        Ok(self
            .read_all(query)
            .await?
            .into_iter()
            .map(|document| self.seen(document))
            .collect())
    }

    /// Runs a `findOneAndUpdate` and answers the session after the change, or `None` when
    /// no session matched `filter`.
    pub(super) async fn update_one_session(
        &self,
        filter: Document,
        update: Document,
    ) -> StoreResult<Option<Session>> {
        let session_id = filter.get_str("_id").map(str::to_owned);
        let after = self
            .write(
                self.sessions()
                    .find_one_and_update(filter, counted(update))
                    .return_document(ReturnDocument::After),
            )
            .await
            .inspect_err(|error| {
                // The write may have been made though its answer was lost: what this
                // process holds of the session is no longer known to be the newest (its
                // pushes render the session as it is then; see `versions`).
                if let (true, Ok(session_id)) = (error.is_unavailable(), &session_id) {
                    self.session_versions.note_unknown(session_id);
                }
            })?;
        let after = after.map(|document| self.seen(document));
        if let Some(session) = &after {
            self.recent_sessions.keep(session);
        }
        Ok(after)
    }

    pub async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        self.write(self.sessions().insert_one(SessionDocument::from(session)))
            .await?;
        self.session_versions.note(&session.id, session.version);
        self.recent_sessions.keep(session);
        Ok(())
    }

    /// The session as this process's last write of it left it, a few seconds ago at most,
    /// when no newer version of it has passed through this process since: a starting point
    /// for a conditional write, never an answer (see `store::recent`).
    pub fn recent_session(&self, session_id: &SessionId) -> Option<Session> {
        let session = self.recent_sessions.get(session_id)?;
        self.session_versions
            .is_newest(&session.id, session.version)
            .then(|| Session::clone(&session))
    }

    /// Writes many new sessions at once (seeding for QA).
    pub async fn insert_sessions(&self, sessions: &[Session]) -> StoreResult<()> {
        if sessions.is_empty() {
            return Ok(());
        }
        self.write(
            self.sessions()
                .insert_many(sessions.iter().map(SessionDocument::from)),
        )
        .await?;
        Ok(())
    }

    pub async fn find_session(&self, session_id: &SessionId) -> StoreResult<Option<Session>> {
        let found = self
            .read(self.sessions().find_one(doc! { "_id": session_id }))
            .await?;
        Ok(found.map(|document| self.seen(document)))
    }

    /// Marks the sessions of `event_id` as belonging to a published event (see
    /// `EventScope`); done before the event itself is published, so that a failure in
    /// between leaves them listed, never hidden.
    pub async fn mark_event_published(&self, event_id: &EventId) -> StoreResult<()> {
        self.write(self.sessions().update_many(
            doc! { "eventId": event_id, "eventScope.published": false },
            counted(doc! { "$set": { "eventScope.published": true } }),
        ))
        .await?;
        Ok(())
    }

    /// Works out again when the recurring sessions of `event` end, after its `endDate`
    /// changed (repetitions stop at the event's end).
    pub async fn refresh_session_ends(
        &self,
        event: &crate::domain::event::Event,
    ) -> StoreResult<()> {
        let recurring = self
            .collect_sessions(
                self.sessions()
                    .find(doc! { "eventId": &event.id, "isRecurring": true }),
            )
            .await?;
        for session in recurring {
            let Ok(schedule) = session.fresh_schedule(Some(event)) else {
                continue;
            };
            let last_end = schedule.last_end();
            let until = last_end.map(|end| bson::DateTime::from_millis(end.timestamp_millis()));
            let mut ended = session.clone();
            ended.active_until =
                last_end.map(|end| Timestamp::saturating_from_millis(end.timestamp_millis()));
            let mut set = set_upcoming_start(Upcoming::start_of(&ended, Timestamp::now()));
            set.insert("activeUntil", until.map_or(bson::Bson::Null, Into::into));
            self.write(self.sessions().update_one(
                doc! { "_id": &session.id },
                counted(doc! {
                    "$set": set,
                    "$unset": { "nextStart": "", "nextEnd": "" },
                }),
            ))
            .await?;
        }
        Ok(())
    }

    /// Gives sessions written before `eventScope` existed the scope of their event.
    /// Idempotent; run at start-up.
    pub async fn backfill_event_scopes(&self) -> StoreResult<()> {
        let event_ids = self
            .read(self.sessions().distinct(
                "eventId",
                doc! { "eventId": { "$ne": "" }, "eventScope": { "$exists": false } },
            ))
            .await?;
        for event_id in event_ids.iter().filter_map(|id| id.as_str()) {
            let Some(event) = self.find_event(&EventId::from(event_id)).await? else {
                continue;
            };
            let scope = bson::to_bson(&EventScope::of(&event)).map_err(StoreError::unwritable)?;
            self.write(self.sessions().update_many(
                doc! { "eventId": event_id, "eventScope": { "$exists": false } },
                counted(doc! { "$set": { "eventScope": scope } }),
            ))
            .await?;
        }
        Ok(())
    }

    /// Works out again the current or next occurrence (`nextStart`, `nextEnd`) of at most
    /// `limit` recurring sessions at a prop that `audience` may see and whose stored one is
    /// over (or unknown: written before it was kept, or a rescheduling whose follow-up
    /// write failed), those over longest first. A new or rescheduled session has its
    /// occurrence from its write, so only the passing of time makes one stale here — and
    /// sessions others cannot see take nothing from a viewer's bound. Not a change of the
    /// session (its `version` stays): only what prop listings sort by.
    pub async fn refresh_next_occurrences(
        &self,
        prop: &Prop,
        audience: &Audience,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<()> {
        let stale = self
            .collect_sessions(
                self.sessions()
                    .find(doc! {
                        "roomId": &prop.room_id, "propId": &prop.prop_id, "isRecurring": true, "isValid": true,
                        "$and": [
                            visible_to(audience),
                            { "$or": [
                                { "nextEnd": { "$exists": false } },
                                { "nextEnd": { "$lte": bson::DateTime::from(now) } },
                            ] },
                        ],
                    })
                    .sort(doc! { "nextEnd": 1, "_id": 1 })
                    .limit(limit),
            )
            .await?;
        // Walking a long recurrence is CPU work: keep it off the async workers.
        let refreshed = tokio::task::spawn_blocking(move || {
            stale
                .into_iter()
                .map(|session| {
                    let fields = next_occurrence_fields(&session, now);
                    (session.id, session.version, fields)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(StoreError::unwritable)?;
        for (session_id, version, fields) in refreshed {
            // Only while the session is the one worked from.
            self.write(self.sessions().update_one(
                doc! { "_id": &session_id, "version": version },
                doc! { "$set": fields },
            ))
            .await?;
        }
        Ok(())
    }

    /// Applies `update` and counts one more calendar revision, when the session is still
    /// at `expected_sequence` (and, when given, at `expected_version`: no change at all came
    /// since); answers the session after the change, or `None` when another update came
    /// first (or the session is gone).
    ///
    /// `leaving_waitlist` (users waiting who may no longer see it) leave its waitlist in
    /// the same update, unless one of them was invited meanwhile (then `None`: look again).
    pub async fn update_session(
        &self,
        session_id: &SessionId,
        expected_sequence: i64,
        expected_version: Option<i64>,
        update: &SessionUpdate,
        leaving_waitlist: &[String],
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let mut filter = doc! { "_id": session_id, "sequence": expected_sequence };
        if let Some(version) = expected_version {
            filter.insert("version", version);
        }
        let mut change = doc! { "$set": set_of(update, now)?, "$inc": { "sequence": 1 } };
        let reschedules = update.changes_schedule();
        if reschedules {
            // Worked out again below (or, should that fail, by the next prop listing).
            change.insert("$unset", doc! { "nextStart": "", "nextEnd": "" });
        }
        if !leaving_waitlist.is_empty() {
            filter.insert("invited.userId", doc! { "$nin": leaving_waitlist });
            change.insert("$pull", doc! { "waitlist": { "$in": leaving_waitlist } });
        }
        let updated = self.update_one_session(filter, change).await?;
        if let Some(session) = updated
            .as_ref()
            .filter(|session| reschedules && session.is_recurring)
            && let Err(error) = self.store_next_occurrence(session, now).await
        {
            tracing::warn!(%error, session = %session.id, "cannot keep a session's next occurrence");
        }
        Ok(updated)
    }

    /// Keeps `session`'s current or next occurrence at `now`, while it is that version.
    async fn store_next_occurrence(&self, session: &Session, now: Timestamp) -> StoreResult<()> {
        self.write(self.sessions().update_one(
            doc! { "_id": &session.id, "version": session.version },
            doc! { "$set": next_occurrence_fields(session, now) },
        ))
        .await?;
        Ok(())
    }

    /// Replaces the invitations when the session is still at `revision`; invitees in
    /// `reinvited` lose their declined state. Answers the session after the change, or
    /// `None` when another change came first (or the session is gone).
    pub async fn replace_invitations(
        &self,
        session_id: &SessionId,
        revision: i64,
        invited: &[Invitation],
        pending: &[PendingContact],
        reinvited: &[String],
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let invited = bson::to_bson(invited).map_err(StoreError::unwritable)?;
        let pending = bson::to_bson(pending).map_err(StoreError::unwritable)?;
        let now = bson::DateTime::from(now);
        self.update_one_session(
            doc! { "_id": session_id, "revision": revision },
            doc! {
                "$set": { "invited": invited, "pendingContacts": pending, "updated": now },
                "$pull": { "declined": { "$in": reinvited } },
                "$inc": { "revision": 1 },
            },
        )
        .await
    }

    /// Removes the invitations of `user_ids` (and, with `also_leave`, their participation).
    pub async fn remove_invitations(
        &self,
        session_id: &SessionId,
        user_ids: &[String],
        also_leave: bool,
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let mut pull = doc! {
            "invited": { "userId": { "$in": user_ids } },
            "declined": { "$in": user_ids },
            "waitlist": { "$in": user_ids },
        };
        if also_leave {
            pull.insert("joined", doc! { "$in": user_ids });
        }
        let now = bson::DateTime::from(now);
        self.update_one_session(
            doc! { "_id": session_id },
            doc! { "$pull": pull, "$set": { "updated": now }, "$inc": { "revision": 1 } },
        )
        .await
    }

    /// Deletes one session; answers whether it existed.
    pub async fn delete_session(&self, session_id: &SessionId) -> StoreResult<bool> {
        let result = self
            .write(self.sessions().delete_one(doc! { "_id": session_id }))
            .await?;
        self.session_versions.note_deleted(session_id);
        Ok(result.deleted_count == 1)
    }

    /// Marks a session invalid (its room or prop was deleted); answers the session after
    /// the change, or `None` when it was already invalid or is gone.
    pub async fn invalidate_session(
        &self,
        session_id: &SessionId,
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        self.update_one_session(
            doc! { "_id": session_id, "isValid": true },
            doc! { "$set": { "isValid": false, "updated": bson::DateTime::from(now) } },
        )
        .await
    }

    /// Turns the pending contact invitations that match the contacts of `user_id` into
    /// invitations of the user; answers the sessions that changed. Called when a user
    /// connects and when users are imported.
    pub async fn attach_pending_invitations(&self, user_id: &str) -> StoreResult<Vec<Session>> {
        let Some(user) = self.find_user(user_id).await? else {
            return Ok(Vec::new());
        };
        let keys = user.contact_keys();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let waiting = self
            .collect_sessions(
                self.sessions()
                    .find(doc! { "pendingContacts.keys": { "$in": &keys } }),
            )
            .await?;
        let mut changed = Vec::new();
        for waiting in waiting {
            let (keys, session_id) = (&keys, &waiting.id);
            let attached = retry_stale(ATTACH_ATTEMPTS, || async move {
                // Read again at every attempt: another invitation change may have come first.
                let Some(session) = self.find_session(session_id).await? else {
                    return Ok(Attempt::Done(None));
                };
                let Some(attachment) = pending_attachment(&session, user_id, keys) else {
                    return Ok(Attempt::Done(None));
                };
                let pull = doc! { "pendingContacts": { "keys": { "$in": keys } } };
                let mut update = doc! { "$pull": pull, "$inc": { "revision": 1 } };
                if attachment.add_invitee {
                    let role = attachment.role.code();
                    update.insert(
                        "$push",
                        doc! { "invited": { "userId": user_id, "role": role } },
                    );
                }
                // Guarded by the revision the decision was made on.
                let filter = doc! { "_id": &session.id, "revision": session.revision };
                let after = self.update_one_session(filter, update).await?;
                Ok::<_, StoreError>(
                    after.map_or(Attempt::Stale, |after| Attempt::Done(Some(after))),
                )
            })
            .await?;
            changed.extend(attached.flatten());
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_update_counts_one_more_write_beside_its_own_increments() {
        assert_eq!(
            counted(doc! { "$set": { "title": "t" } }),
            doc! { "$set": { "title": "t" }, "$inc": { "version": 1_i64 } }
        );
        assert_eq!(
            counted(doc! { "$set": { "title": "t" }, "$inc": { "sequence": 1 } }),
            doc! { "$set": { "title": "t" }, "$inc": { "sequence": 1, "version": 1_i64 } }
        );
    }
}
