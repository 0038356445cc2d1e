//! The sessions that name one person, a page at a time by id: what an export of their
//! data lists, and what an erasure of it changes.

use bson::doc;

use super::document::counted;

use crate::domain::ids::SessionId;
use crate::domain::session::Session;
use crate::store::{Store, StoreResult};

/// How a session names a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedAs {
    /// Owner.
    Owner,
    /// Invitee (declined or not).
    Invitee,
    /// Participant (joined).
    Participant,
    /// Who declined (an invitee, or a participant who left).
    Decliner,
    /// Waiting for a seat.
    Waiting,
}

impl NamedAs {
    fn field(self) -> &'static str {
        match self {
            NamedAs::Owner => "ownerId",
            NamedAs::Invitee => "invited.userId",
            NamedAs::Participant => "joined",
            NamedAs::Decliner => "declined",
            NamedAs::Waiting => "waitlist",
        }
    }
}

impl Store {
    /// The sessions that name `user_id` as `named`, by id after `after`: at most `limit`.
    pub async fn sessions_naming(
        &self,
        user_id: &str,
        named: NamedAs,
        after: Option<&SessionId>,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        let filter = doc! { named.field(): user_id };
        self.session_page(filter, after, limit).await
    }
}

impl Store {
    /// Removes `user_id` from session `session_id` wherever it names them but as its owner
    /// (invitations, participants, declines, waitlist) at `now`: answers the session after
    /// the change, `None` when it no longer named them (or is gone).
    pub async fn remove_person(
        &self,
        session_id: &SessionId,
        user_id: &str,
        now: crate::domain::time::Timestamp,
    ) -> StoreResult<Option<Session>> {
        self.update_one_session(
            doc! { "_id": session_id, "$or": [
                { "invited.userId": user_id },
                { "joined": user_id },
                { "declined": user_id },
                { "waitlist": user_id },
            ] },
            doc! {
                "$pull": {
                    "invited": { "userId": user_id },
                    "joined": user_id,
                    "declined": user_id,
                    "waitlist": user_id,
                },
                "$set": { "updated": bson::DateTime::from(now) },
                "$inc": { "revision": 1 },
            },
        )
        .await
    }

    /// Removes the pending invitations that would go to the person with the contact keys
    /// `keys` (e-mail addresses, phone numbers) from every session: answers how many
    /// sessions changed.
    pub async fn remove_pending_contacts(&self, keys: &[String]) -> StoreResult<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let result = self
            .write(self.sessions().update_many(
                doc! { "pendingContacts.keys": { "$in": keys } },
                counted(doc! {
                    "$pull": { "pendingContacts": { "keys": { "$in": keys } } },
                    "$inc": { "revision": 1 },
                }),
            ))
            .await?;
        Ok(result.modified_count)
    }
}
