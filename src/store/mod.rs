//! MongoDB storage: the connection, the collections, their documents and indexes, and
//! every query. The only place that names a stored field.
//!
//! Documents are the store's own types: each collection's module keeps them in its
//! `document` (their fields, conversions from and to the domain's values, and indexes) and
//! its queries as methods of [`Store`], turning typed changes (patches, conditions) into
//! updates. Every invariant is kept by single-document atomic updates, so a standalone
//! MongoDB works. Here: the handle itself (connection, deadline, reads and writes).
//! Failures are [`StoreError`]s (`error`), mapped to the API's errors in one place
//! (`calls`, which also runs each call under its deadline and its turn at the `gate`).

mod calls;
mod error;
mod indexes;

pub mod cache;
pub mod calendar_feeds;
mod changes;
pub mod events;
pub mod gate;
pub mod json_bson;
pub mod lookups;
pub mod memberships;
pub mod person;
pub mod push_numbers;
pub mod pushes;
pub mod recent;
pub mod reminders;
pub mod request_answers;
pub mod sessions;
pub mod users;
pub mod versions;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bson::RawDocumentBuf;
use mongodb::options::{Acknowledgment, ClientOptions, WriteConcern};
use mongodb::{Client, Database};

use self::cache::{DocumentCache, MembershipNews, UserMemberships};
use self::calls::{Expected, WRITE_SENT, within, within_expecting};
use crate::domain::event::Event;
use crate::domain::page::{CursorKey, MAX_PAGE_BYTES, PAGE_READ_BATCH, Stored};
use crate::domain::people::User;
use crate::domain::time::Timestamp;

pub use self::calls::{answer_by_deadline, tracking_writes};
pub use self::error::{StoreError, StoreResult};

impl From<Timestamp> for bson::DateTime {
    fn from(instant: Timestamp) -> Self {
        bson::DateTime::from_millis(instant.millis())
    }
}

impl From<bson::DateTime> for Timestamp {
    fn from(instant: bson::DateTime) -> Self {
        Timestamp::saturating_from_millis(instant.timestamp_millis())
    }
}

/// The default deadline of one database call (`--db-timeout`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(3);

/// Membership news a slow listener may fall behind by before it misses some.
const MEMBERSHIP_NEWS_KEPT: usize = 256;

/// The service's handle to its database.
#[derive(Clone, Debug)]
pub struct Store {
    /// The database, through the client in use (see [`Store::replace_client_if_wedged`]).
    database: Arc<std::sync::RwLock<Database>>,
    /// What a fresh client is made from.
    client_options: Arc<ClientOptions>,
    /// How long one database call may take before it fails with [`StoreError::TimedOut`].
    deadline: Duration,
    /// The bound on this process's database calls in flight (see [`gate`]).
    gate: Arc<gate::Gate>,
    /// Profiles of users, shared by the clones of this store (see `cache`).
    profiles: Arc<DocumentCache<User>>,
    /// Live events (see `cache`).
    event_cache: Arc<DocumentCache<Event>>,
    /// Each user's memberships, by user id (see `memberships`).
    membership_cache: Arc<DocumentCache<UserMemberships>>,
    /// The newest version of each session seen by this process (see `versions`).
    session_versions: Arc<versions::SessionVersions>,
    /// Sessions as this process's writes recently left them (see `recent`).
    recent_sessions: Arc<recent::RecentSessions>,
    /// What the cache's change stream tells of memberships (see
    /// [`Store::membership_news`]).
    membership_news: tokio::sync::broadcast::Sender<MembershipNews>,
}

impl Store {
    /// Connects to `uri` and uses database `name`; every call gets at most `deadline`.
    /// Nothing is sent until the first operation.
    ///
    /// Writes are acknowledged by a majority of the replica set and journaled unless the
    /// URI says otherwise (`w=`, `journal=`): an answered write survives a crash of the
    /// database or of the service.
    pub async fn connect(uri: &str, name: &str, deadline: Duration) -> anyhow::Result<Store> {
        let mut options = ClientOptions::parse(uri)
            .await
            .context("invalid MongoDB connection string")?;
        options
            .app_name
            .get_or_insert_with(|| "social-events".to_owned());
        let concern = options
            .write_concern
            .get_or_insert_with(WriteConcern::default);
        concern.w.get_or_insert(Acknowledgment::Majority);
        if concern.w != Some(Acknowledgment::Nodes(0)) {
            concern.journal.get_or_insert(true);
        }
        // No wait for a server, a connection or a replica acknowledgement outlasts a call;
        // finding no server ends a little earlier, so that the answer can say for sure that
        // nothing was sent.
        options
            .server_selection_timeout
            .get_or_insert(deadline.mul_f64(0.8));
        options.connect_timeout.get_or_insert(deadline);
        concern.w_timeout.get_or_insert(deadline);
        // As many calls as the pool has connections for, besides the change streams and
        // the readiness probe, reach the driver; the others wait their turn in the gate.
        let pool_size = *options
            .max_pool_size
            .get_or_insert(gate::DEFAULT_CALLS_IN_FLIGHT + gate::UNGATED_CONNECTIONS);
        let client =
            Client::with_options(options.clone()).context("cannot create the MongoDB client")?;
        Ok(Store {
            database: Arc::new(std::sync::RwLock::new(client.database(name))),
            client_options: Arc::new(options),
            deadline,
            gate: Arc::new(gate::Gate::for_pool(pool_size)),
            profiles: Arc::default(),
            event_cache: Arc::default(),
            membership_cache: Arc::default(),
            session_versions: Arc::default(),
            recent_sessions: Arc::default(),
            membership_news: tokio::sync::broadcast::Sender::new(MEMBERSHIP_NEWS_KEPT),
        })
    }

    /// This process's ledger of session versions.
    pub fn session_versions(&self) -> &versions::SessionVersions {
        &self.session_versions
    }

    /// How long one database call may take.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Runs one database operation (a call, or a query and the reading of its cursor)
    /// under the deadline. Reads only: see [`Store::write`].
    async fn read<T, E: Into<StoreError>>(
        &self,
        operation: impl IntoFuture<Output = Result<T, E>>,
    ) -> StoreResult<T> {
        within(Some(&self.gate), self.deadline, operation).await
    }

    /// Runs one write under the deadline, noting for the request that it may have
    /// changed something unless the write certainly never left.
    async fn write<T, E: Into<StoreError>>(
        &self,
        operation: impl IntoFuture<Output = Result<T, E>>,
    ) -> StoreResult<T> {
        self.write_expecting(Expected::Success, operation).await
    }

    /// [`Store::write`] of an insert whose refusal as a duplicate key is an answer the
    /// caller handles (an idempotent claim, a record kept first by another request), not
    /// a database error.
    async fn insert_or_duplicate<T, E: Into<StoreError>>(
        &self,
        operation: impl IntoFuture<Output = Result<T, E>>,
    ) -> StoreResult<T> {
        self.write_expecting(Expected::SuccessOrDuplicateKey, operation)
            .await
    }

    async fn write_expecting<T, E: Into<StoreError>>(
        &self,
        expected: Expected,
        operation: impl IntoFuture<Output = Result<T, E>>,
    ) -> StoreResult<T> {
        let earlier = WRITE_SENT
            .try_with(|sent| sent.replace(true))
            .unwrap_or(true);
        let result = within_expecting(Some(&self.gate), self.deadline, expected, operation).await;
        if let Err(error) = &result
            && error.never_sent()
        {
            let _ = WRITE_SENT.try_with(|sent| sent.set(earlier));
        }
        result
    }

    /// The underlying database.
    pub fn database(&self) -> Database {
        self.database
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Answers when the database is reachable. Not counted by the gate: the readiness
    /// probe asks whether the database answers, not whether this process is busy.
    pub async fn ping(&self) -> StoreResult<()> {
        within(
            None,
            self.deadline,
            self.database().run_command(bson::doc! { "ping": 1 }),
        )
        .await?;
        Ok(())
    }

    /// Fails with one line that names where the database is and why it cannot be reached
    /// (`cannot reach the database at mongodb://db:27017 (connection refused)`) when it
    /// does not answer a ping within the deadline: the first call of a start-up.
    pub async fn ensure_reachable(&self) -> anyhow::Result<()> {
        self.ping().await.map_err(|error| {
            anyhow::anyhow!(
                "cannot reach the database at {} ({})",
                self.address(),
                error.reason()
            )
        })
    }

    /// Where the database is, without credentials or options: `mongodb://host:port`, the
    /// hosts separated by commas.
    pub fn address(&self) -> String {
        let hosts: Vec<String> = self
            .client_options
            .hosts
            .iter()
            .map(ToString::to_string)
            .collect();
        format!("mongodb://{}", hosts.join(","))
    }

    /// Replaces this process's database client by a fresh one when it is wedged: its ping
    /// is not answered within the deadline, a fresh client's is, and its own still is not
    /// right after (a pool that was only reconnecting, after a restart of the database,
    /// answers by then). Answers whether it replaced it; logged and counted
    /// (`social_db_clients_replaced_total`).
    ///
    /// A safety net: [`gate`] keeps the driver from the state this detects (its queue of
    /// calls waiting for a connection never served again).
    pub async fn replace_client_if_wedged(&self) -> bool {
        if answers_ping(self.database(), self.deadline).await {
            return false;
        }
        let fresh = match Client::with_options((*self.client_options).clone()) {
            Ok(client) => client.database(self.database().name()),
            Err(error) => {
                tracing::warn!(%error, "cannot create a fresh database client");
                return false;
            }
        };
        if !answers_ping(fresh.clone(), self.deadline).await
            || answers_ping(self.database(), self.deadline).await
        {
            return false;
        }
        *self
            .database
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        crate::metrics::db_client_replaced();
        tracing::warn!(
            "the database client stopped answering while a fresh one answers: replaced by it"
        );
        true
    }

    /// Looks every [`CLIENT_PROBE_INTERVAL`] whether the database client is wedged, and
    /// replaces it if so (see [`Store::replace_client_if_wedged`]), until `shutdown`.
    pub async fn keep_client_answering(self, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(CLIENT_PROBE_INTERVAL) => {}
            }
            self.replace_client_if_wedged().await;
        }
    }

    /// Whether a new request may start now, or the process is overloaded: as many
    /// database calls wait for their turn as may (see [`gate`]).
    pub fn admit_request(&self) -> Result<(), gate::Overloaded> {
        self.gate.admit()
    }

    /// How many of this process's database calls have their turn (see [`gate`]).
    pub fn calls_in_flight(&self) -> usize {
        self.gate.in_flight()
    }

    /// The key that signs page cursors: made once, kept in the database (`serviceKeys`) so
    /// that every process signs and checks alike.
    pub async fn cursor_key(&self) -> StoreResult<CursorKey> {
        let keys = self.database().collection::<bson::Document>("serviceKeys");
        let fresh: [u8; 32] = rand::random();
        let fresh = bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: fresh.to_vec(),
        };
        self.write(
            keys.update_one(
                bson::doc! { "_id": "cursor" },
                bson::doc! { "$setOnInsert": { "key": fresh } },
            )
            .upsert(true),
        )
        .await?;
        let stored = self
            .read(keys.find_one(bson::doc! { "_id": "cursor" }))
            .await?
            .and_then(|document| document.get_binary_generic("key").ok().cloned())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| StoreError::unwritable("the stored cursor key is not 32 bytes"))?;
        Ok(CursorKey::new(stored))
    }
}

/// How often the process looks whether its database client still answers.
const CLIENT_PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// Whether `database` answers a ping within `deadline`. The ping goes on in a task of its
/// own after that: a call is never abandoned (see [`gate`]).
async fn answers_ping(database: Database, deadline: Duration) -> bool {
    let ping = tokio::spawn(async move {
        within(
            None,
            deadline,
            database.run_command(bson::doc! { "ping": 1 }),
        )
        .await
    });
    matches!(tokio::time::timeout(deadline, ping).await, Ok(Ok(Ok(_))))
}

/// The part of a filter that keeps what sorts after `(start, id)` by `startDate`, then
/// `_id`: the position of a page cursor.
fn after_position(filter: &mut bson::Document, after: Option<(Timestamp, &str)>) {
    if let Some((start, id)) = after {
        let start = bson::DateTime::from(start);
        filter.insert(
            "$and",
            vec![bson::doc! { "$or": [
                { "startDate": { "$gt": start } },
                { "startDate": start, "_id": { "$gt": id } },
            ] }],
        );
    }
}

/// The options of reads whose results are cached: from the primary, and only what a
/// majority has (what the change stream reports), so that no write that a failover rolls
/// back is ever kept.
fn cached_read_options() -> mongodb::options::CollectionOptions {
    use mongodb::options::{ReadConcern, ReadPreference, SelectionCriteria};
    mongodb::options::CollectionOptions::builder()
        .read_concern(ReadConcern::majority())
        .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
        .build()
}

/// A query not yet sent: a `find` whose cursor yields `T`.
type Query<'a, T> = mongodb::action::Find<'a, T>;

impl Store {
    /// Runs `query` and reads all of its cursor, under one deadline.
    async fn read_all<T>(
        &self,
        query: impl IntoFuture<Output = mongodb::error::Result<mongodb::Cursor<T>>>,
    ) -> StoreResult<Vec<T>>
    where
        T: serde::de::DeserializeOwned + Send + Sync + Unpin,
    {
        use futures_util::TryStreamExt;
        self.read(async { query.await?.try_collect().await }).await
    }

    /// The documents of `collection` matching `filter` for a page, by `startDate` then
    /// `_id`, decoded as `T` with their sizes as stored: at most `limit`, and once those
    /// read reach [`MAX_PAGE_BYTES`] one more and no further (so that the reader knows
    /// whether more follow; see [`crate::domain::page::fitting`]). Read in batches of
    /// [`PAGE_READ_BATCH`] under one deadline: what a page costs is bounded by bytes, not
    /// only by count.
    async fn read_page<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        filter: bson::Document,
        limit: usize,
    ) -> StoreResult<Vec<Stored<T>>> {
        use futures_util::TryStreamExt;
        self.read(async {
            let mut cursor = self
                .database()
                .collection::<RawDocumentBuf>(collection)
                .find(filter)
                .sort(bson::doc! { "startDate": 1, "_id": 1 })
                .limit(i64::try_from(limit).unwrap_or(i64::MAX))
                .batch_size(PAGE_READ_BATCH)
                .await?;
            let (mut found, mut bytes) = (Vec::new(), 0);
            while bytes < MAX_PAGE_BYTES
                && let Some(raw) = cursor.try_next().await?
            {
                bytes += raw.as_bytes().len();
                found.push(Stored {
                    item: bson::from_slice(raw.as_bytes())?,
                    bytes: raw.as_bytes().len(),
                });
            }
            if bytes >= MAX_PAGE_BYTES
                && let Some(raw) = cursor.try_next().await?
            {
                found.push(Stored {
                    item: bson::from_slice(raw.as_bytes())?,
                    bytes: raw.as_bytes().len(),
                });
            }
            Ok::<_, mongodb::error::Error>(found)
        })
        .await
    }

    /// Runs `query` and reads every document that decodes as `T`, under one deadline.
    /// Documents of the wider platform that do not (an unknown role, a field of the wrong
    /// type) are logged and left out, so that one malformed document cannot fail every
    /// request that touches it.
    async fn read_lenient<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        query: impl IntoFuture<Output = mongodb::error::Result<mongodb::Cursor<bson::Document>>>,
    ) -> StoreResult<Vec<T>> {
        use futures_util::TryStreamExt;
        self.read(async {
            let mut cursor = query.await?;
            let mut decoded = Vec::new();
            while let Some(document) = cursor.try_next().await? {
                match bson::from_document(document) {
                    Ok(value) => decoded.push(value),
                    Err(error) => {
                        tracing::warn!(collection, %error, "skipping a malformed document")
                    }
                }
            }
            Ok::<_, mongodb::error::Error>(decoded)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, Outcome};

    /// A store whose server is never reached: every call below is a stand-in that never
    /// answers, so each runs into the deadline.
    async fn unreachable_store() -> Store {
        Store::connect(
            "mongodb://127.0.0.1:9/?directConnection=true",
            "unit",
            Duration::from_millis(200),
        )
        .await
        .unwrap()
    }

    fn never_answers() -> std::future::Pending<mongodb::error::Result<()>> {
        std::future::pending()
    }

    // Paused time: a call that is never answered is waited for (30 s) without waiting.
    #[tokio::test(start_paused = true)]
    async fn a_call_that_outlasts_the_deadline_is_unavailable() {
        let store = unreachable_store().await;
        let error = store.read(never_answers()).await.unwrap_err();
        assert!(matches!(error, StoreError::TimedOut(_)));
        assert!(error.is_unavailable());
    }

    // Paused time: a call that is never answered is waited for (30 s) without waiting.
    #[tokio::test(start_paused = true)]
    async fn a_request_whose_reads_failed_had_no_effect() {
        let store = unreachable_store().await;
        let error = tracking_writes(async {
            ApiError::from(store.read(never_answers()).await.unwrap_err())
        })
        .await;
        assert!(matches!(
            error,
            ApiError::Unavailable {
                outcome: Outcome::NoEffect,
                ..
            }
        ));
        assert_eq!(error.code(), crate::error::code::UNAVAILABLE);
    }

    // Paused time: a call that is never answered is waited for (30 s) without waiting.
    #[tokio::test(start_paused = true)]
    async fn a_request_whose_write_went_unanswered_may_have_had_an_effect() {
        let store = unreachable_store().await;
        let error = tracking_writes(async {
            let _ = store.write(never_answers()).await;
            // A later read fails too: the earlier write still decides.
            ApiError::from(store.read(never_answers()).await.unwrap_err())
        })
        .await;
        assert!(matches!(
            error,
            ApiError::Unavailable {
                outcome: Outcome::Unknown,
                ..
            }
        ));
        assert!(
            error
                .to_string()
                .contains("may or may not have taken effect")
        );
    }

    #[tokio::test]
    async fn a_write_that_found_no_server_was_never_sent() {
        let store = unreachable_store().await;
        let error = tracking_writes(async {
            let database = store.database();
            let unreachable = database.run_command(bson::doc! { "ping": 1 });
            ApiError::from(store.write(unreachable).await.unwrap_err())
        })
        .await;
        assert!(
            matches!(
                error,
                ApiError::Unavailable {
                    outcome: Outcome::NoEffect,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn writes_are_journaled_and_acknowledged_by_a_majority_unless_the_uri_says_otherwise() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let concern = |uri: &str| {
            runtime.block_on(async {
                let store = Store::connect(uri, "unit", DEFAULT_DEADLINE).await.unwrap();
                store
                    .database()
                    .write_concern()
                    .cloned()
                    .unwrap_or_default()
            })
        };
        let default = concern("mongodb://127.0.0.1:9/");
        assert_eq!(default.w, Some(Acknowledgment::Majority));
        assert_eq!(default.journal, Some(true));
        let chosen = concern("mongodb://127.0.0.1:9/?w=1&journal=false");
        assert_eq!(chosen.w, Some(Acknowledgment::Nodes(1)));
        assert_eq!(chosen.journal, Some(false));
        let unacknowledged = concern("mongodb://127.0.0.1:9/?w=0");
        assert_eq!(unacknowledged.journal, None);
    }
}
