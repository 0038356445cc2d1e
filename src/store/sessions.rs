//! The `sessions` collection: sessions at room props, alone or within an event, with their
//! invitations and participants.
//!
//! Every change is one single-document atomic update (joining and the waitlist: `seats`).
//! Rewrites of the invitation list are guarded by `revision`.

use std::collections::{HashMap, HashSet};

use bson::{Document, doc};
use mongodb::IndexModel;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::{Query, Store, StoreError, StoreResult, after_position};
use crate::domain::invitation::pending_attachment;
use crate::domain::kinds::SessionKind;
use crate::domain::page::{PAGE_READ_BATCH, Stored};
use crate::domain::retry::{Attempt, retry_stale};
use crate::domain::session::{
    Audience, Color, EventScope, Invitation, PendingContact, Prop, Session, SessionUpdate, Viewer,
};
use crate::domain::source::Membership;
use crate::domain::time::Timestamp;
use crate::domain::zone::TimeZone;

pub const COLLECTION: &str = "sessions";
/// How often attaching a pending invitation is tried when other changes come first.
const ATTACH_ATTEMPTS: usize = 5;

/// A session as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionDocument {
    #[serde(rename = "_id")]
    id: String,
    created: bson::DateTime,
    updated: bson::DateTime,
    event_id: String,
    owner_id: String,
    room_id: String,
    prop_id: String,
    session_type: SessionKind,
    title: String,
    description: String,
    start_date: bson::DateTime,
    duration: i64,
    /// End of the first occurrence (`startDate` + `duration`), for prop queries.
    end_date: bson::DateTime,
    is_recurring: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recurrence: Option<String>,
    /// Absent in sessions written before time zones: UTC.
    #[serde(default)]
    time_zone: TimeZone,
    color: Color,
    is_valid: bool,
    #[serde(default)]
    invited: Vec<Invitation>,
    #[serde(default)]
    declined: Vec<String>,
    #[serde(default)]
    joined: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    waitlist: Vec<String>,
    #[serde(default)]
    pending_contacts: Vec<PendingContact>,
    #[serde(default)]
    sequence: i64,
    /// Grows with every rewrite of `invited`.
    #[serde(default)]
    revision: i64,
    /// Grows with every write (see [`counted`]).
    #[serde(default)]
    version: i64,
    /// End of the last occurrence; `null` for a session that repeats without end. Missing
    /// in sessions written before it existed.
    #[serde(default, deserialize_with = "present_or_null")]
    active_until: Option<Option<bson::DateTime>>,
    /// What the session keeps of its event (`domain::session::EventScope`), for
    /// visibility in queries; absent for standalone sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_scope: Option<EventScope>,
    /// A recurring session's current or next occurrence as last worked out, what prop
    /// listings sort by (see [`Store::refresh_next_occurrences`]); `null` when none is left
    /// (and for single sessions), missing when it must be worked out again.
    #[serde(default)]
    next_start: Option<bson::DateTime>,
    #[serde(default)]
    next_end: Option<bson::DateTime>,
}

/// `update`, also counting one more write of the session in `version`: every update of a
/// stored session goes through here, so that a process can tell which of two values of a
/// session is the newer (see `push::bus`).
fn counted(mut update: Document) -> Document {
    match update.get_document_mut("$inc") {
        Ok(increments) => {
            increments.insert("version", 1_i64);
        }
        Err(_) => {
            update.insert("$inc", doc! { "version": 1_i64 });
        }
    }
    update
}

/// Tells a field stored as `null` (`Some(None)`) from a missing one (`None`).
fn present_or_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<bson::DateTime>>, D::Error> {
    Option::<bson::DateTime>::deserialize(deserializer).map(Some)
}

impl From<&Session> for SessionDocument {
    fn from(session: &Session) -> Self {
        let next = session
            .is_recurring
            .then(|| session.next_occurrence(chrono::Utc::now()))
            .flatten();
        SessionDocument {
            id: session.id.clone(),
            created: session.created.into(),
            updated: session.updated.into(),
            event_id: session.event_id.clone(),
            owner_id: session.owner_id.clone(),
            room_id: session.room_id.clone(),
            prop_id: session.prop_id.clone(),
            session_type: session.session_type,
            title: session.title.clone(),
            description: session.description.clone(),
            start_date: session.start_date.into(),
            duration: session.duration,
            end_date: session.end_date.into(),
            is_recurring: session.is_recurring,
            recurrence: session.recurrence.clone(),
            time_zone: session.time_zone,
            color: session.color,
            is_valid: session.is_valid,
            invited: session.invited.clone(),
            declined: session.declined.clone(),
            joined: session.joined.clone(),
            waitlist: session.waitlist.clone(),
            pending_contacts: session.pending_contacts.clone(),
            sequence: session.sequence,
            revision: session.revision,
            version: session.version,
            active_until: Some(session.active_until.map(bson::DateTime::from)),
            event_scope: session.event_scope.clone(),
            next_start: next.map(|(start, _)| bson::DateTime::from_chrono(start)),
            next_end: next.map(|(_, end)| bson::DateTime::from_chrono(end)),
        }
    }
}

/// The `nextStart` and `nextEnd` of a recurring session at `now`: its current or next
/// occurrence, `null` when none is left.
fn next_occurrence_fields(session: &Session, now: Timestamp) -> Document {
    let next = session.next_occurrence(now.to_chrono());
    let date = |instant: Option<chrono::DateTime<chrono::Utc>>| {
        instant.map_or(bson::Bson::Null, |instant| {
            bson::DateTime::from_chrono(instant).into()
        })
    };
    doc! {
        "nextStart": date(next.map(|(start, _)| start)),
        "nextEnd": date(next.map(|(_, end)| end)),
    }
}

impl From<SessionDocument> for Session {
    fn from(document: SessionDocument) -> Self {
        Session {
            id: document.id,
            created: document.created.into(),
            updated: document.updated.into(),
            event_id: document.event_id,
            owner_id: document.owner_id,
            room_id: document.room_id,
            prop_id: document.prop_id,
            session_type: document.session_type,
            title: document.title,
            description: document.description,
            start_date: document.start_date.into(),
            duration: document.duration,
            end_date: document.end_date.into(),
            is_recurring: document.is_recurring,
            recurrence: document.recurrence,
            time_zone: document.time_zone,
            color: document.color,
            is_valid: document.is_valid,
            invited: document.invited,
            declined: document.declined,
            joined: document.joined,
            waitlist: document.waitlist,
            pending_contacts: document.pending_contacts,
            sequence: document.sequence,
            revision: document.revision,
            version: document.version,
            // Written before the field existed: a single session is active until its end,
            // a recurring one is taken to repeat without end.
            active_until: match document.active_until {
                Some(until) => until.map(Timestamp::from),
                None if document.is_recurring => None,
                None => Some(document.end_date.into()),
            },
            event_scope: document.event_scope,
        }
    }
}

/// The filter of the sessions `audience` may see (`domain::session::Viewer::may_see`),
/// or more: what it lets through is checked against the events, what it leaves out costs
/// nothing. Owners, invitees and participants see theirs; standalone sessions are seen
/// unless Private; admins of an event's source see all its sessions; everyone else sees
/// the Public and OpenSlot sessions of events they manage or may see published.
fn visible_to(audience: &Audience) -> Document {
    let user = &audience.user_id;
    let private = SessionKind::Private.code();
    let community_pairs = |pairs: &[(String, String)]| -> Vec<Document> {
        pairs
            .iter()
            .map(|(network, community)| {
                doc! { "eventScope.networkId": network, "eventScope.communityId": community }
            })
            .collect()
    };
    let mut shown = vec![
        doc! { "ownerId": user },
        doc! { "invited.userId": user },
        doc! { "joined": user },
        doc! { "eventId": "", "sessionType": { "$ne": private } },
        doc! { "eventScope.networkId": { "$in": &audience.admin_networks } },
        doc! { "sessionType": { "$ne": private }, "eventScope.ownerId": user },
        doc! {
            "sessionType": { "$ne": private },
            "eventScope.published": true,
            "eventScope.communityId": null,
            "eventScope.networkId": { "$in": &audience.member_networks },
        },
    ];
    if !audience.admin_communities.is_empty() {
        shown.push(doc! { "$or": community_pairs(&audience.admin_communities) });
    }
    if !audience.member_communities.is_empty() {
        shown.push(doc! {
            "sessionType": { "$ne": private },
            "eventScope.published": true,
            "$or": community_pairs(&audience.member_communities),
        });
    }
    doc! { "$or": shown }
}

/// The `$set` of an update: the fields `update` changes, as stored.
fn set_of(update: &SessionUpdate, now: Timestamp) -> StoreResult<Document> {
    let mut set = doc! { "updated": bson::DateTime::from(now) };
    let mut put = |name: &str, value: Option<bson::Bson>| {
        if let Some(value) = value {
            set.insert(name, value);
        }
    };
    let date = |value: Option<Timestamp>| value.map(|instant| bson::DateTime::from(instant).into());
    put("roomId", update.room_id.clone().map(Into::into));
    put("propId", update.prop_id.clone().map(Into::into));
    put(
        "sessionType",
        update.session_type.map(|kind| kind.code().into()),
    );
    put("title", update.title.clone().map(Into::into));
    put("description", update.description.clone().map(Into::into));
    put("startDate", date(update.start_date));
    put("duration", update.duration.map(Into::into));
    put("endDate", date(update.end_date));
    put("isRecurring", update.is_recurring.map(Into::into));
    put(
        "recurrence",
        update
            .recurrence
            .clone()
            .map(|rule| rule.map_or(bson::Bson::Null, Into::into)),
    );
    put("timeZone", update.time_zone.map(|zone| zone.name().into()));
    put(
        "activeUntil",
        update.active_until.map(|until| {
            until.map_or(bson::Bson::Null, |until| bson::DateTime::from(until).into())
        }),
    );
    let color = match &update.color {
        Some(color) => Some(bson::to_bson(color).map_err(StoreError::unwritable)?),
        None => None,
    };
    put("color", color);
    Ok(set)
}

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
    ]
}

/// The sessions `user_id` owns, is invited to (not declined) or joined.
fn of_person(user_id: &str) -> Document {
    doc! { "$or": [
        { "ownerId": user_id },
        { "joined": user_id },
        { "invited.userId": user_id, "declined": { "$ne": user_id } },
    ] }
}

/// The order of a person's sessions: the latest starting first.
fn latest_first() -> Document {
    doc! { "startDate": -1, "_id": 1 }
}

/// A session reduced to what tells whether it changed: see
/// [`Store::session_stamps_of_person`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionStamp {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub version: i64,
    pub owner_id: String,
    #[serde(default)]
    pub event_id: String,
}

/// The sessions that have not ended at `now` (see `Session::is_active_at`; sessions
/// written before `activeUntil` existed count while their first occurrence has not ended,
/// or always when they recur).
fn active_at(now: Timestamp) -> Document {
    let now = bson::DateTime::from(now);
    doc! { "$or": [
        { "activeUntil": { "$gt": now } },
        { "activeUntil": null, "isRecurring": true },
        { "activeUntil": { "$exists": false }, "endDate": { "$gt": now } },
    ] }
}

impl Store {
    fn sessions(&self) -> mongodb::Collection<SessionDocument> {
        self.database().collection(COLLECTION)
    }

    /// A stored session as read or written, its version noted (see `versions`).
    fn seen(&self, document: SessionDocument) -> Session {
        let session = Session::from(document);
        self.session_versions.note(&session.id, session.version);
        session
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
        let after = self
            .write(
                self.sessions()
                    .find_one_and_update(filter, counted(update))
                    .return_document(ReturnDocument::After),
            )
            .await?;
        Ok(after.map(|document| self.seen(document)))
    }

    pub async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        self.write(self.sessions().insert_one(SessionDocument::from(session)))
            .await?;
        self.session_versions.note(&session.id, session.version);
        Ok(())
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

    pub async fn find_session(&self, session_id: &str) -> StoreResult<Option<Session>> {
        let found = self
            .read(self.sessions().find_one(doc! { "_id": session_id }))
            .await?;
        Ok(found.map(|document| self.seen(document)))
    }

    /// How many sessions of `owner_id` have not ended at `now` (see
    /// `Session::is_active_at`; sessions written before `activeUntil` existed count while
    /// their first occurrence has not ended, or always when they recur).
    pub async fn count_active_sessions(&self, owner_id: &str, now: Timestamp) -> StoreResult<u64> {
        let mut filter = active_at(now);
        filter.insert("ownerId", owner_id);
        let count = self.read(self.sessions().count_documents(filter)).await?;
        Ok(count)
    }

    /// How many invitations each of `user_ids` holds to sessions that have not ended at
    /// `now` and that they did not decline, in two reads (a user who declined a session
    /// they waited for without an invitation counts one less).
    pub async fn open_invitations(
        &self,
        user_ids: &[&str],
        now: Timestamp,
    ) -> StoreResult<HashMap<String, u64>> {
        let count_in = |array: &str, field: &str| {
            let mut filter = active_at(now);
            filter.insert(field, doc! { "$in": user_ids });
            [
                doc! { "$match": filter },
                doc! { "$unwind": format!("${array}") },
                doc! { "$match": { field: { "$in": user_ids } } },
                doc! { "$group": { "_id": format!("${field}"), "count": { "$sum": 1 } } },
            ]
        };
        let invited = self
            .count_groups(count_in("invited", "invited.userId"))
            .await?;
        let declined = self.count_groups(count_in("declined", "declined")).await?;
        Ok(invited
            .into_iter()
            .map(|(user_id, count)| {
                let declined = declined.get(&user_id).copied().unwrap_or(0);
                (user_id, count.saturating_sub(declined))
            })
            .collect())
    }

    /// The counts of an aggregation whose documents are `{_id: <user id>, count}`.
    async fn count_groups(
        &self,
        pipeline: impl IntoIterator<Item = Document>,
    ) -> StoreResult<HashMap<String, u64>> {
        use futures_util::TryStreamExt;
        let groups: Vec<Document> = self
            .read(async {
                self.sessions()
                    .aggregate(pipeline)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        Ok(groups
            .into_iter()
            .filter_map(|group| {
                let user_id = group.get_str("_id").ok()?.to_owned();
                let count = match group.get("count")? {
                    bson::Bson::Int32(count) => i64::from(*count),
                    bson::Bson::Int64(count) => *count,
                    _ => return None,
                };
                Some((user_id, u64::try_from(count).unwrap_or(0)))
            })
            .collect())
    }

    /// Marks the sessions of `event_id` as belonging to a published event (see
    /// `EventScope`); done before the event itself is published, so that a failure in
    /// between leaves them listed, never hidden.
    pub async fn mark_event_published(&self, event_id: &str) -> StoreResult<()> {
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
            let until = schedule
                .last_end()
                .map(|end| bson::DateTime::from_millis(end.timestamp_millis()));
            self.write(self.sessions().update_one(
                doc! { "_id": &session.id },
                counted(doc! {
                    "$set": { "activeUntil": until.map_or(bson::Bson::Null, Into::into) },
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
            let Some(event) = self.find_event(event_id).await? else {
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

    /// What `user_id` may see and do with `sessions`: loads their events and the user's
    /// memberships in those events' networks, in two queries.
    pub async fn viewer(&self, user_id: &str, sessions: &[Session]) -> StoreResult<Viewer> {
        let events = self.events_of(sessions).await?;
        let mut networks: Vec<&str> = events
            .iter()
            .map(|event| event.source.network_id())
            .collect();
        networks.sort_unstable();
        networks.dedup();
        let memberships = self.memberships_in_networks(user_id, &networks).await?;
        Ok(Viewer::new(user_id, events, memberships))
    }

    /// Those of `users` who hear of `session` only as someone waiting for a seat (see
    /// [`Session::is_only_waiting`]) and may not see it now (see [`Viewer::may_see`]):
    /// pushes of it are not for them. Everyone else among `users` is not looked at.
    pub async fn waiting_out_of_sight<'a>(
        &self,
        session: &Session,
        users: impl IntoIterator<Item = &'a str>,
    ) -> StoreResult<HashSet<&'a str>> {
        let waiting: Vec<&str> = users
            .into_iter()
            .filter(|user_id| session.is_only_waiting(user_id))
            .collect();
        if waiting.is_empty() {
            return Ok(HashSet::new());
        }
        let events = self.events_of(std::slice::from_ref(session)).await?;
        let mut memberships = self.memberships_of_users(&waiting).await?;
        Ok(waiting
            .into_iter()
            .filter(|user_id| {
                let memberships = memberships.remove(*user_id).unwrap_or_default();
                !Viewer::new(user_id, events.clone(), memberships).may_see(session)
            })
            .collect())
    }

    /// Like [`Store::viewer`], for a caller whose memberships are loaded already (all of
    /// them, as `memberships_of` answers): one query, for the events.
    pub async fn viewer_with<'a>(
        &self,
        user_id: &str,
        sessions: impl IntoIterator<Item = &'a Session>,
        memberships: &[Membership],
    ) -> StoreResult<Viewer> {
        let events = self.events_of(sessions).await?;
        Ok(Viewer::new(user_id, events, memberships.to_vec()))
    }

    /// The existing events of `sessions`.
    async fn events_of<'a>(
        &self,
        sessions: impl IntoIterator<Item = &'a Session>,
    ) -> StoreResult<Vec<crate::domain::event::Event>> {
        let mut event_ids: Vec<&str> = sessions
            .into_iter()
            .map(|session| session.event_id.as_str())
            .filter(|id| !id.is_empty())
            .collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        self.find_events(&event_ids).await
    }

    /// The props at which an event has sessions, each once.
    pub async fn props_of_event(&self, event_id: &str) -> StoreResult<Vec<Prop>> {
        let mut props = self
            .read_all(
                self.database()
                    .collection::<Prop>(COLLECTION)
                    .find(doc! { "eventId": event_id })
                    .projection(doc! { "_id": 0, "roomId": 1, "propId": 1 }),
            )
            .await?;
        props.sort_unstable();
        props.dedup();
        Ok(props)
    }

    /// The sessions of an event, by `startDate` then `id`.
    pub async fn sessions_of_event(&self, event_id: &str) -> StoreResult<Vec<Session>> {
        self.collect_sessions(
            self.sessions()
                .find(doc! { "eventId": event_id })
                .sort(doc! { "startDate": 1, "_id": 1 }),
        )
        .await
    }

    /// Sessions of an event for a page, by `startDate` then `id`, after the position
    /// `after` when given, only those `audience` may see (see [`visible_to`]): at most
    /// `limit`, fewer when they pass [`MAX_PAGE_BYTES`] as stored (then one more, see
    /// [`crate::domain::page::fitting`]).
    pub async fn page_of_event_sessions(
        &self,
        event_id: &str,
        audience: &Audience,
        after: Option<(Timestamp, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<Stored<Session>>> {
        let mut filter = doc! { "eventId": event_id };
        after_position(&mut filter, after);
        let found = self
            .read_page::<SessionDocument>(
                COLLECTION,
                doc! { "$and": [filter, visible_to(audience)] },
                limit,
            )
            .await?;
        Ok(found
            .into_iter()
            .map(|stored| Stored {
                item: self.seen(stored.item),
                bytes: stored.bytes,
            })
            .collect())
    }

    /// The sessions `user_id` owns, is invited to (not declined) or joined: at most
    /// `limit`, the latest starting first; each passed through `shrink` as it is read, so
    /// that only what `shrink` keeps of them is held at once (a calendar feed keeps the
    /// start of each description).
    pub async fn sessions_of_person(
        &self,
        user_id: &str,
        limit: i64,
        shrink: impl Fn(Session) -> Session + Send,
    ) -> StoreResult<Vec<Session>> {
        use futures_util::TryStreamExt;
        self.read(async {
            let mut cursor = self
                .sessions()
                .find(of_person(user_id))
                .sort(latest_first())
                .limit(limit)
                .batch_size(PAGE_READ_BATCH)
                .await?;
            let mut sessions = Vec::new();
            while let Some(document) = cursor.try_next().await? {
                sessions.push(shrink(self.seen(document)));
            }
            Ok::<_, mongodb::error::Error>(sessions)
        })
        .await
    }

    /// The ids of the sessions of whose audience `user_id` may be (owns, is invited to,
    /// joined or waits for a seat at), for finding the pushes they may have missed; `None`
    /// when there are more than `limit`.
    pub async fn audience_session_ids(
        &self,
        user_id: &str,
        limit: usize,
    ) -> StoreResult<Option<Vec<String>>> {
        /// A session's id alone.
        #[derive(serde::Deserialize)]
        struct Id {
            #[serde(rename = "_id")]
            id: String,
        }
        let ids = self
            .read_all(
                self.database()
                    .collection::<Id>(COLLECTION)
                    .find(doc! { "$or": [
                        { "ownerId": user_id },
                        { "joined": user_id },
                        { "invited.userId": user_id },
                        { "waitlist": user_id },
                    ] })
                    .projection(doc! { "_id": 1 })
                    .limit(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1)),
            )
            .await?;
        Ok((ids.len() <= limit).then(|| ids.into_iter().map(|id| id.id).collect()))
    }

    /// What [`Store::sessions_of_person`] would list (the same sessions, in the same
    /// order), each as its id, version, owner and event only: a few bytes a session.
    pub async fn session_stamps_of_person(
        &self,
        user_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SessionStamp>> {
        self.read_all(
            self.database()
                .collection::<SessionStamp>(COLLECTION)
                .find(of_person(user_id))
                .projection(doc! { "_id": 1, "version": 1, "ownerId": 1, "eventId": 1 })
                .sort(latest_first())
                .limit(limit),
        )
        .await
    }

    /// The existing sessions among `ids`.
    pub async fn sessions_by_ids(&self, ids: &[&str]) -> StoreResult<Vec<Session>> {
        self.collect_sessions(self.sessions().find(doc! { "_id": { "$in": ids } }))
            .await
    }

    /// Valid single (non-recurring) sessions at a prop that end after `now`, by start time,
    /// then id; `skip` and `limit` page through them.
    pub async fn single_sessions_at_prop(
        &self,
        room_id: &str,
        prop_id: &str,
        audience: &Audience,
        now: Timestamp,
        skip: u64,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        self.collect_sessions(
            self.sessions()
                .find(doc! {
                    "roomId": room_id, "propId": prop_id, "isRecurring": false,
                    "endDate": { "$gt": bson::DateTime::from(now) }, "isValid": true,
                    "$and": [visible_to(audience)],
                })
                .sort(doc! { "startDate": 1, "_id": 1 })
                .skip(skip)
                .limit(limit),
        )
        .await
    }

    /// Valid recurring sessions at a prop that `audience` may see, by their current or next
    /// occurrence as last worked out (`nextStart`, see [`Store::refresh_next_occurrences`]):
    /// the first `limit` after `skip`, ongoing ones first (they started before the others).
    pub async fn recurring_sessions_at_prop(
        &self,
        room_id: &str,
        prop_id: &str,
        audience: &Audience,
        now: Timestamp,
        skip: u64,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        self.collect_sessions(
            self.sessions()
                .find(doc! {
                    "roomId": room_id, "propId": prop_id, "isRecurring": true, "isValid": true,
                    "nextEnd": { "$gt": bson::DateTime::from(now) },
                    "$and": [visible_to(audience)],
                })
                .sort(doc! { "nextStart": 1, "_id": 1 })
                .skip(skip)
                .limit(limit),
        )
        .await
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
        room_id: &str,
        prop_id: &str,
        audience: &Audience,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<()> {
        let stale = self
            .collect_sessions(
                self.sessions()
                    .find(doc! {
                        "roomId": room_id, "propId": prop_id, "isRecurring": true, "isValid": true,
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
    /// at `expected_sequence`; answers the session after the change, or `None` when another
    /// update came first (or the session is gone).
    ///
    /// `leaving_waitlist` (users waiting who may no longer see it) leave its waitlist in
    /// the same update, unless one of them was invited meanwhile (then `None`: look again).
    pub async fn update_session(
        &self,
        session_id: &str,
        expected_sequence: i64,
        update: &SessionUpdate,
        leaving_waitlist: &[String],
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let mut filter = doc! { "_id": session_id, "sequence": expected_sequence };
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
        session_id: &str,
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
        session_id: &str,
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
    pub async fn delete_session(&self, session_id: &str) -> StoreResult<bool> {
        let result = self
            .write(self.sessions().delete_one(doc! { "_id": session_id }))
            .await?;
        self.session_versions.note_deleted(session_id);
        Ok(result.deleted_count == 1)
    }

    /// The valid sessions in a room, or at one prop of it.
    pub async fn valid_sessions_in_room(
        &self,
        room_id: &str,
        prop_id: Option<&str>,
    ) -> StoreResult<Vec<Session>> {
        let mut filter = doc! { "roomId": room_id, "isValid": true };
        if let Some(prop_id) = prop_id {
            filter.insert("propId", prop_id);
        }
        self.collect_sessions(self.sessions().find(filter)).await
    }

    /// Marks a session invalid (its room or prop was deleted); answers the session after
    /// the change, or `None` when it was already invalid or is gone.
    pub async fn invalidate_session(
        &self,
        session_id: &str,
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
            let (keys, session_id) = (&keys, waiting.id.as_str());
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
