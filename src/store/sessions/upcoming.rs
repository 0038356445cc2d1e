//! The sessions the reminder scan looks at (`app::reminders`): by the start of their next
//! occurrence not begun yet (`upcomingStart`), those written lately, and those whose
//! stored one has begun or was never worked out, to be worked out again.

use bson::doc;

use super::document::set_upcoming_start;
use crate::domain::ids::SessionId;
use crate::domain::session::Session;
use crate::domain::time::Timestamp;
use crate::store::{Store, StoreResult};

impl Store {
    /// Valid sessions whose next occurrence starts within one of `ranges` (each after its
    /// first instant, up to its second), by id after `after`: at most `limit`.
    pub async fn sessions_starting_within(
        &self,
        ranges: &[(Timestamp, Timestamp)],
        after: Option<&SessionId>,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let within: Vec<bson::Document> = ranges
            .iter()
            .map(|(from, to)| {
                doc! { "upcomingStart": {
                    "$gt": bson::DateTime::from(*from),
                    "$lte": bson::DateTime::from(*to),
                } }
            })
            .collect();
        let filter = doc! { "isValid": true, "$or": within };
        self.session_page(filter, after, limit).await
    }

    /// Valid sessions `user_id` takes part in (owner, joined or invited) whose next
    /// occurrence starts after `from`, up to `to`: at most `limit`.
    pub async fn sessions_of_starting_within(
        &self,
        user_id: &str,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        let filter = doc! {
            "isValid": true,
            "upcomingStart": { "$gt": bson::DateTime::from(from), "$lte": bson::DateTime::from(to) },
            "$or": [{ "ownerId": user_id }, { "joined": user_id }, { "invited.userId": user_id }],
        };
        self.collect_sessions(
            self.sessions()
                .find(filter)
                .sort(doc! { "upcomingStart": 1 })
                .limit(limit),
        )
        .await
    }

    /// Valid sessions written after `since` whose next occurrence starts after `from`,
    /// up to `to`: at most `limit`, by id after `after`.
    pub async fn sessions_written_since(
        &self,
        since: Timestamp,
        (from, to): (Timestamp, Timestamp),
        after: Option<&SessionId>,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        let filter = doc! {
            "isValid": true,
            "updated": { "$gt": bson::DateTime::from(since) },
            "upcomingStart": { "$gt": bson::DateTime::from(from), "$lte": bson::DateTime::from(to) },
        };
        self.session_page(filter, after, limit).await
    }

    /// Sessions whose stored next occurrence has begun by `now`: at most `limit`.
    pub async fn sessions_to_look_ahead(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        let filter = doc! { "upcomingStart": { "$lte": bson::DateTime::from(now) } };
        self.collect_sessions(self.sessions().find(filter).limit(limit))
            .await
    }

    /// Sessions written before their next occurrence was kept: at most `limit`.
    pub async fn sessions_without_upcoming(&self, limit: i64) -> StoreResult<Vec<Session>> {
        let filter = doc! { "upcomingStart": { "$exists": false } };
        self.collect_sessions(self.sessions().find(filter).limit(limit))
            .await
    }

    /// Keeps `start` as the next occurrence not begun of `session`, while it is that
    /// version. Not a change of the session (its `version` stays).
    pub async fn keep_upcoming_start(
        &self,
        session: &Session,
        start: Option<Timestamp>,
    ) -> StoreResult<()> {
        self.write(self.sessions().update_one(
            doc! { "_id": &session.id, "version": session.version },
            doc! { "$set": set_upcoming_start(start) },
        ))
        .await?;
        Ok(())
    }
}
