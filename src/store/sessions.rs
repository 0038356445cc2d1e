//! The `sessions` collection: sessions at room props, alone or within an event, with their
//! invitations and participants.
//!
//! Every change is one single-document atomic update. Joining and booking are conditional
//! updates whose filter holds the capacity check, so limits hold under any number of
//! simultaneous joins. Rewrites of the invitation list are guarded by `revision`.

use std::num::NonZeroU64;

use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::IndexModel;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::Store;

pub const COLLECTION: &str = "sessions";
/// How often attaching a pending invitation is tried when other changes come first.
const ATTACH_ATTEMPTS: usize = 5;

/// A colour with components in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Color {
    pub r: f64,
    pub g: f64,
    pub b: f64,
    pub a: f64,
}

/// One invited user and their role. Whether they accepted or declined is derived from
/// `joined` and `declined`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub user_id: String,
    pub role: i32,
}

/// An invitation to contacts that matched no user yet. `keys` are `email:…`, `phone:…`
/// and `facebook:…`; the first user who appears with any of them is invited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingContact {
    pub keys: Vec<String>,
    pub role: i32,
}

/// A session as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDocument {
    #[serde(rename = "_id")]
    pub id: String,
    pub created: bson::DateTime,
    pub updated: bson::DateTime,
    /// Empty for a standalone session.
    pub event_id: String,
    pub owner_id: String,
    pub room_id: String,
    pub prop_id: String,
    /// 0 Public, 1 Private, 2 OpenSlot.
    pub session_type: i32,
    pub title: String,
    pub description: String,
    pub start_date: bson::DateTime,
    /// Seconds.
    pub duration: i64,
    /// End of the first occurrence (`startDate` + `duration`), for prop queries.
    pub end_date: bson::DateTime,
    pub is_recurring: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    pub color: Color,
    pub is_valid: bool,
    #[serde(default)]
    pub invited: Vec<Invitation>,
    /// Invited users who declined (they stay invited).
    #[serde(default)]
    pub declined: Vec<String>,
    /// Participants besides the owner.
    #[serde(default)]
    pub joined: Vec<String>,
    #[serde(default)]
    pub pending_contacts: Vec<PendingContact>,
    /// Grows with every `updateSession`: the calendar SEQUENCE.
    #[serde(default)]
    pub sequence: i64,
    /// Grows with every rewrite of `invited`.
    #[serde(default)]
    pub revision: i64,
}

impl SessionDocument {
    pub fn is_invited(&self, user_id: &str) -> bool {
        self.invited
            .iter()
            .any(|invitation| invitation.user_id == user_id)
    }

    pub fn has_joined(&self, user_id: &str) -> bool {
        self.joined.iter().any(|joined| joined == user_id)
    }
}

/// What must still hold, at the moment of the update, for a user to join a session.
#[derive(Debug, Clone, Copy)]
pub struct JoinCondition {
    /// Most participants besides the owner.
    pub capacity: Option<NonZeroU64>,
    /// The session type the decision was made for.
    pub session_type: i32,
    /// Only an invitee may join (Private sessions).
    pub invitation_required: bool,
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
            .keys(doc! { "invited.userId": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "pendingContacts.keys": 1 })
            .build(),
    ]
}

impl Store {
    fn sessions(&self) -> mongodb::Collection<SessionDocument> {
        self.database().collection(COLLECTION)
    }

    pub async fn insert_session(&self, session: &SessionDocument) -> mongodb::error::Result<()> {
        self.sessions().insert_one(session).await.map(drop)
    }

    pub async fn find_session(
        &self,
        session_id: &str,
    ) -> mongodb::error::Result<Option<SessionDocument>> {
        self.sessions().find_one(doc! { "_id": session_id }).await
    }

    /// The sessions of an event, by `startDate` then `id`.
    pub async fn sessions_of_event(
        &self,
        event_id: &str,
    ) -> mongodb::error::Result<Vec<SessionDocument>> {
        self.sessions()
            .find(doc! { "eventId": event_id })
            .sort(doc! { "startDate": 1, "_id": 1 })
            .await?
            .try_collect()
            .await
    }

    /// Valid single (non-recurring) sessions at a prop that end after `now`, by start time,
    /// then id; `skip` and `limit` page through them.
    pub async fn single_sessions_at_prop(
        &self,
        room_id: &str,
        prop_id: &str,
        now: bson::DateTime,
        skip: u64,
        limit: i64,
    ) -> mongodb::error::Result<Vec<SessionDocument>> {
        self.sessions()
            .find(doc! {
                "roomId": room_id, "propId": prop_id, "isRecurring": false,
                "endDate": { "$gt": now }, "isValid": true,
            })
            .sort(doc! { "startDate": 1, "_id": 1 })
            .skip(skip)
            .limit(limit)
            .await?
            .try_collect()
            .await
    }

    /// Valid recurring sessions at a prop, at most `limit` (the earliest started).
    pub async fn recurring_sessions_at_prop(
        &self,
        room_id: &str,
        prop_id: &str,
        limit: i64,
    ) -> mongodb::error::Result<Vec<SessionDocument>> {
        self.sessions()
            .find(
                doc! { "roomId": room_id, "propId": prop_id, "isRecurring": true, "isValid": true },
            )
            .sort(doc! { "startDate": 1, "_id": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await
    }

    /// Sets the given fields and counts one more calendar revision, when the session is
    /// still at `expected_sequence`; answers the session after the change, or `None` when
    /// another update came first (or the session is gone).
    pub async fn update_session_fields(
        &self,
        session_id: &str,
        expected_sequence: i64,
        mut set: Document,
        now: bson::DateTime,
    ) -> mongodb::error::Result<Option<SessionDocument>> {
        set.insert("updated", now);
        self.sessions()
            .find_one_and_update(
                doc! { "_id": session_id, "sequence": expected_sequence },
                doc! { "$set": set, "$inc": { "sequence": 1 } },
            )
            .return_document(ReturnDocument::After)
            .await
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
        now: bson::DateTime,
    ) -> mongodb::error::Result<Option<SessionDocument>> {
        let invited = bson::to_bson(invited).map_err(mongodb::error::Error::custom)?;
        let pending = bson::to_bson(pending).map_err(mongodb::error::Error::custom)?;
        self.sessions()
            .find_one_and_update(
                doc! { "_id": session_id, "revision": revision },
                doc! {
                    "$set": { "invited": invited, "pendingContacts": pending, "updated": now },
                    "$pull": { "declined": { "$in": reinvited } },
                    "$inc": { "revision": 1 },
                },
            )
            .return_document(ReturnDocument::After)
            .await
    }

    /// Removes the invitations of `user_ids` (and, with `also_leave`, their participation).
    pub async fn remove_invitations(
        &self,
        session_id: &str,
        user_ids: &[String],
        also_leave: bool,
        now: bson::DateTime,
    ) -> mongodb::error::Result<Option<SessionDocument>> {
        let mut pull = doc! {
            "invited": { "userId": { "$in": user_ids } },
            "declined": { "$in": user_ids },
        };
        if also_leave {
            pull.insert("joined", doc! { "$in": user_ids });
        }
        self.sessions()
            .find_one_and_update(
                doc! { "_id": session_id },
                doc! { "$pull": pull, "$set": { "updated": now }, "$inc": { "revision": 1 } },
            )
            .return_document(ReturnDocument::After)
            .await
    }

    /// Adds `user_id` to the participants when `condition` still holds and they are not
    /// there yet. A declined invitation becomes accepted. Answers the session after the
    /// change, or `None` when the condition did not hold.
    pub async fn join_session(
        &self,
        session_id: &str,
        user_id: &str,
        condition: JoinCondition,
        now: bson::DateTime,
    ) -> mongodb::error::Result<Option<SessionDocument>> {
        let mut filter = doc! {
            "_id": session_id,
            "joined": { "$ne": user_id },
            "isValid": true,
            "sessionType": condition.session_type,
        };
        if let Some(capacity) = condition.capacity {
            // Fewer than `capacity` participants: no element at index `capacity - 1`.
            let last = capacity.get() - 1;
            filter.insert(format!("joined.{last}"), doc! { "$exists": false });
        }
        if condition.invitation_required {
            filter.insert("invited.userId", user_id);
        }
        self.sessions()
            .find_one_and_update(
                filter,
                doc! {
                    "$push": { "joined": user_id },
                    "$pull": { "declined": user_id },
                    "$set": { "updated": now },
                },
            )
            .return_document(ReturnDocument::After)
            .await
    }

    /// Removes `user_id` from the participants; with `decline`, also marks their
    /// invitation declined. Answers the session after the change.
    pub async fn leave_session(
        &self,
        session_id: &str,
        user_id: &str,
        decline: bool,
        now: bson::DateTime,
    ) -> mongodb::error::Result<Option<SessionDocument>> {
        let mut update = doc! {
            "$pull": { "joined": user_id },
            "$set": { "updated": now },
        };
        if decline {
            update.insert("$addToSet", doc! { "declined": user_id });
        }
        self.sessions()
            .find_one_and_update(doc! { "_id": session_id }, update)
            .return_document(ReturnDocument::After)
            .await
    }

    /// Deletes one session; answers whether it existed.
    pub async fn delete_session(&self, session_id: &str) -> mongodb::error::Result<bool> {
        let result = self
            .sessions()
            .delete_one(doc! { "_id": session_id })
            .await?;
        Ok(result.deleted_count == 1)
    }

    /// The valid sessions in a room, or at one prop of it.
    pub async fn valid_sessions_in_room(
        &self,
        room_id: &str,
        prop_id: Option<&str>,
    ) -> mongodb::error::Result<Vec<SessionDocument>> {
        let mut filter = doc! { "roomId": room_id, "isValid": true };
        if let Some(prop_id) = prop_id {
            filter.insert("propId", prop_id);
        }
        self.sessions().find(filter).await?.try_collect().await
    }

    /// Marks a session invalid (its room or prop was deleted); answers the session after
    /// the change, or `None` when it was already invalid or is gone.
    pub async fn invalidate_session(
        &self,
        session_id: &str,
        now: bson::DateTime,
    ) -> mongodb::error::Result<Option<SessionDocument>> {
        self.sessions()
            .find_one_and_update(
                doc! { "_id": session_id, "isValid": true },
                doc! { "$set": { "isValid": false, "updated": now } },
            )
            .return_document(ReturnDocument::After)
            .await
    }

    /// Turns contact invitations matching any of `keys` into invitations of `user_id`;
    /// answers the sessions that changed.
    pub async fn attach_pending_invitations(
        &self,
        user_id: &str,
        keys: &[String],
    ) -> mongodb::error::Result<Vec<SessionDocument>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let waiting: Vec<SessionDocument> = self
            .sessions()
            .find(doc! { "pendingContacts.keys": { "$in": keys } })
            .await?
            .try_collect()
            .await?;
        let mut changed = Vec::new();
        for waiting in waiting {
            let mut session = Some(waiting);
            // Guarded by the revision; another invitation change coming first means reading
            // the session again.
            for _ in 0..ATTACH_ATTEMPTS {
                let Some(current) = session.take() else { break };
                let Some(role) = current
                    .pending_contacts
                    .iter()
                    .find(|pending| pending.keys.iter().any(|key| keys.contains(key)))
                    .map(|pending| pending.role)
                else {
                    break;
                };
                let pull = doc! { "pendingContacts": { "keys": { "$in": keys } } };
                let mut update = doc! { "$pull": pull, "$inc": { "revision": 1 } };
                if current.owner_id != user_id && !current.is_invited(user_id) {
                    update.insert(
                        "$push",
                        doc! { "invited": { "userId": user_id, "role": role } },
                    );
                }
                let filter = doc! { "_id": &current.id, "revision": current.revision };
                match self
                    .sessions()
                    .find_one_and_update(filter, update)
                    .return_document(ReturnDocument::After)
                    .await?
                {
                    Some(after) => changed.push(after),
                    None => session = self.find_session(&current.id).await?,
                }
            }
        }
        Ok(changed)
    }
}
