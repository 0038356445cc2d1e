//! Seats of the `sessions` collection: joining, waiting for a seat, taking a freed seat
//! from the waitlist and leaving. Each is a conditional update whose filter holds the
//! capacity check (one [`seat_filter`]), so limits and waitlist ranks hold under any
//! number of simultaneous joins.

use bson::{Document, doc};

use crate::domain::ids::{SessionId, UserId};
use crate::domain::session::Session;
use crate::domain::session::viewer::JoinCondition;
use crate::domain::time::Timestamp;
use crate::store::{Store, StoreResult};

impl Store {
    /// Adds `user_id` to the participants when `condition` still holds and they are not
    /// there yet. A declined invitation becomes accepted. Answers the session after the
    /// change, or `None` when the condition did not hold.
    pub async fn join_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        condition: JoinCondition,
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let mut filter = seat_filter(session_id, user_id, &condition, Seats::Free);
        if condition.capacity.is_some() {
            // Nobody waiting, whose the free seat would be.
            filter.insert("waitlist.0", doc! { "$exists": false });
        }
        let now = bson::DateTime::from(now);
        self.update_one_session(
            filter,
            doc! {
                "$push": { "joined": user_id },
                "$pull": { "declined": user_id },
                "$set": { "updated": now },
            },
        )
        .await
    }

    /// Puts `user_id` last on the waitlist of a session that is still full for
    /// `condition` (and that they have neither joined nor are waiting for). Answers the
    /// session after the change, or `None` when the condition did not hold.
    pub async fn wait_for_seat(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        condition: JoinCondition,
    ) -> StoreResult<Option<Session>> {
        if condition.capacity.is_none() {
            return Ok(None);
        }
        let mut filter = seat_filter(session_id, user_id, &condition, Seats::Full);
        filter.insert("waitlist", doc! { "$ne": user_id });
        self.update_one_session(filter, doc! { "$push": { "waitlist": user_id } })
            .await
    }

    /// Moves `user_id`, first on the waitlist, to the participants while a seat of
    /// `capacity` is free. Answers the session after the change, or `None` when they are
    /// no longer first or no seat is free.
    pub async fn promote_from_waitlist(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        condition: JoinCondition,
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let mut filter = seat_filter(session_id, user_id, &condition, Seats::Free);
        filter.insert("waitlist.0", user_id);
        self.update_one_session(
            filter,
            doc! {
                "$pop": { "waitlist": -1 },
                "$push": { "joined": user_id },
                "$pull": { "declined": user_id },
                "$set": { "updated": bson::DateTime::from(now) },
            },
        )
        .await
    }

    /// Takes `user_id` off the head of the waitlist (they may no longer join). Answers
    /// the session after the change, or `None` when they were not first.
    pub async fn drop_waitlist_head(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
    ) -> StoreResult<Option<Session>> {
        self.update_one_session(
            doc! { "_id": session_id, "waitlist.0": user_id },
            doc! { "$pop": { "waitlist": -1 } },
        )
        .await
    }

    /// Removes `user_id` from the participants and the waitlist; with `decline`, also
    /// marks their invitation declined. Answers the session after the change.
    pub async fn leave_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        decline: bool,
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let mut update = doc! {
            "$pull": { "joined": user_id, "waitlist": user_id },
            "$set": { "updated": bson::DateTime::from(now) },
        };
        if decline {
            update.insert("$addToSet", doc! { "declined": user_id });
        }
        self.update_one_session(doc! { "_id": session_id }, update)
            .await
    }
}

/// Whether a session must have a seat free or be full (see [`seat_filter`]).
#[derive(Clone, Copy)]
enum Seats {
    Free,
    Full,
}

/// The filter of session `session_id` that `user_id` may take a seat of (or wait for one)
/// under `condition`, as it was decided: still valid and of the same kind, `user_id` not
/// a participant yet, invited where an invitation is required, and — when the condition
/// has a capacity — with a seat free (no participant at index `capacity - 1`) or full.
fn seat_filter(
    session_id: &SessionId,
    user_id: &UserId,
    condition: &JoinCondition,
    seats: Seats,
) -> Document {
    let mut filter = doc! {
        "_id": session_id,
        "joined": { "$ne": user_id },
        "isValid": true,
        "sessionType": condition.session_type.code(),
    };
    if condition.invitation_required {
        filter.insert("invited.userId", user_id);
    }
    if let Some(capacity) = condition.capacity {
        filter.insert(
            format!("joined.{}", capacity.get() - 1),
            doc! { "$exists": matches!(seats, Seats::Full) },
        );
    }
    filter
}
