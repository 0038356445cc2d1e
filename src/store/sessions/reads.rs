//! Reading sessions: the filters of who sees what (`visible_to`, `of_person`, `active_at`),
//! counts for quotas, and the lists of an event, a person and a prop.

use std::collections::HashMap;

use bson::{Document, doc};
use serde::Deserialize;

use super::document::{COLLECTION, SessionDocument};
use crate::domain::ids::EventId;
use crate::domain::kinds::SessionKind;
use crate::domain::page::{PAGE_READ_BATCH, Stored};
use crate::domain::session::{Audience, Prop, Session};
use crate::domain::time::Timestamp;
use crate::store::{Store, StoreResult, after_position};

/// The filter of the sessions `audience` may see (`domain::session::Viewer::may_see`),
/// or more: what it lets through is checked against the events, what it leaves out costs
/// nothing. Owners, invitees and participants see theirs; standalone sessions are seen
/// unless Private; admins of an event's source see all its sessions; everyone else sees
/// the Public and OpenSlot sessions of events they manage or may see published.
pub(super) fn visible_to(audience: &Audience) -> Document {
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

/// The sessions `user_id` owns, is invited to (not declined) or joined.
pub(super) fn of_person(user_id: &str) -> Document {
    doc! { "$or": [
        { "ownerId": user_id },
        { "joined": user_id },
        { "invited.userId": user_id, "declined": { "$ne": user_id } },
    ] }
}

/// The order of a person's sessions: the latest starting first.
pub(super) fn latest_first() -> Document {
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
pub(super) fn active_at(now: Timestamp) -> Document {
    let now = bson::DateTime::from(now);
    doc! { "$or": [
        { "activeUntil": { "$gt": now } },
        { "activeUntil": null, "isRecurring": true },
        { "activeUntil": { "$exists": false }, "endDate": { "$gt": now } },
    ] }
}

impl Store {
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

    /// The props at which an event has sessions, each once.
    pub async fn props_of_event(&self, event_id: &EventId) -> StoreResult<Vec<Prop>> {
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
    pub async fn sessions_of_event(&self, event_id: &EventId) -> StoreResult<Vec<Session>> {
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
        event_id: &EventId,
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
        prop: &Prop,
        audience: &Audience,
        now: Timestamp,
        skip: u64,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        self.collect_sessions(
            self.sessions()
                .find(doc! {
                    "roomId": &prop.room_id, "propId": &prop.prop_id, "isRecurring": false,
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
        prop: &Prop,
        audience: &Audience,
        now: Timestamp,
        skip: u64,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        self.collect_sessions(
            self.sessions()
                .find(doc! {
                    "roomId": &prop.room_id, "propId": &prop.prop_id, "isRecurring": true, "isValid": true,
                    "nextEnd": { "$gt": bson::DateTime::from(now) },
                    "$and": [visible_to(audience)],
                })
                .sort(doc! { "nextStart": 1, "_id": 1 })
                .skip(skip)
                .limit(limit),
        )
        .await
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
}
