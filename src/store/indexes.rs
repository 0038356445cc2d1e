//! The indexes of every collection, created at start-up: the one place that lists the
//! collections and the indexes their queries rely on.

use std::time::Duration;

use anyhow::Context;
use mongodb::IndexModel;

use super::calls::within;
use super::{
    Store, calendar_feeds, events, lookups, memberships, person, pushes, reminders,
    request_answers, sessions, users,
};

/// How long the start-up waits for the indexes to be built.
const INDEX_BUILD_DEADLINE: Duration = Duration::from_secs(600);

impl Store {
    /// Creates every index the queries rely on. Idempotent: safe at every start-up.
    pub async fn ensure_indexes(&self) -> anyhow::Result<()> {
        let plans: [(&str, Vec<IndexModel>); 13] = [
            (lookups::COLLECTION, lookups::indexes()),
            (pushes::COLLECTION, pushes::indexes()),
            (pushes::PROP_PUSHES, pushes::prop_push_indexes()),
            (users::COLLECTION, users::indexes()),
            (memberships::COLLECTION, memberships::indexes()),
            (events::COLLECTION, events::indexes()),
            (sessions::COLLECTION, sessions::indexes()),
            (calendar_feeds::FEEDS, calendar_feeds::feed_indexes()),
            (calendar_feeds::ENTRIES, calendar_feeds::entry_indexes()),
            (request_answers::COLLECTION, request_answers::indexes()),
            (reminders::SETTINGS, reminders::settings_indexes()),
            (reminders::CLAIMS, reminders::claim_indexes()),
            (person::ERASURES, person::erasure_indexes()),
        ];
        for (collection, indexes) in plans {
            let collection_handle = self.database().collection::<bson::Document>(collection);
            // Building an index on a large existing collection takes longer than a call.
            within(
                None,
                INDEX_BUILD_DEADLINE,
                collection_handle.create_indexes(indexes),
            )
            .await
            .with_context(|| format!("cannot create the indexes of {collection}"))?;
        }
        Ok(())
    }
}
