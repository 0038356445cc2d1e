//! MongoDB storage: the connection, the collections, their documents and indexes, and
//! every query. The only place that names a stored field.
//!
//! Documents are the store's own types: each collection's submodule converts them to and
//! from the domain's values and turns typed changes (patches, conditions) into updates.
//! Every invariant is kept by single-document atomic updates, so a standalone MongoDB
//! works. Failures are [`StoreError`]s, mapped to the API's errors in one place below.

pub mod cache;
pub mod calendar_feeds;
pub mod events;
pub mod gate;
pub mod json_bson;
pub mod lookups;
pub mod memberships;
pub mod push_numbers;
pub mod pushes;
pub mod request_answers;
pub mod seats;
pub mod sessions;
pub mod users;
pub mod versions;

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bson::RawDocumentBuf;
use mongodb::options::{Acknowledgment, ClientOptions, WriteConcern};
use mongodb::{Client, Database, IndexModel};

use crate::domain::event::Event;
use crate::domain::page::{CursorKey, MAX_PAGE_BYTES, PAGE_READ_BATCH, Stored};
use crate::domain::people::User;
use crate::domain::time::Timestamp;
use crate::error::{ApiError, Outcome};
use cache::DocumentCache;

/// A failed database operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The driver or the server refused or failed the operation.
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
    /// The database did not answer within the deadline (down, frozen or overloaded).
    #[error("the database did not answer within {0:?}")]
    TimedOut(Duration),
    /// The call waited for its turn (see [`gate`]) for the whole deadline and was never
    /// sent: the process has more database work than its connections can do.
    #[error("no database connection was free within {0:?}")]
    NoTurn(Duration),
    /// Not sent: the request was answered as having had no effect when an earlier call
    /// passed its deadline.
    #[error("the request was answered already (a database call passed its deadline)")]
    Withdrawn,
}

/// What a store operation answers.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A value that cannot be written as a document (a bug, never client input).
    fn unwritable(error: impl std::fmt::Display) -> Self {
        StoreError::Database(mongodb::error::Error::custom(error.to_string()))
    }

    /// Whether a write failed only because documents with the same unique key exist.
    pub fn is_duplicate_key(&self) -> bool {
        use mongodb::error::{ErrorKind, WriteFailure};
        const DUPLICATE_KEY: i32 = 11000;
        let StoreError::Database(error) = self else {
            return false;
        };
        match &*error.kind {
            ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
            ErrorKind::InsertMany(many) => {
                many.write_concern_error.is_none()
                    && many.write_errors.as_ref().is_some_and(|errors| {
                        errors.iter().all(|error| error.code == DUPLICATE_KEY)
                    })
            }
            _ => false,
        }
    }

    /// When an unordered `insert_many` failed only because some documents had the unique
    /// key of existing ones: the positions of those documents (the others were written).
    pub fn duplicate_positions(&self) -> Option<Vec<usize>> {
        use mongodb::error::ErrorKind;
        let StoreError::Database(error) = self else {
            return None;
        };
        match &*error.kind {
            ErrorKind::InsertMany(many) if self.is_duplicate_key() => Some(
                many.write_errors
                    .iter()
                    .flatten()
                    .map(|error| error.index)
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Whether the database could not be reached or did not answer: worth retrying later.
    pub fn is_unavailable(&self) -> bool {
        use mongodb::error::{ErrorKind, WriteFailure};
        /// Server codes of a server that is starting, stopping or stepping down, and of a
        /// write concern that timed out (64).
        const UNAVAILABLE_CODES: [i32; 8] = [91, 189, 10107, 11600, 11602, 13435, 13436, 64];
        let StoreError::Database(error) = self else {
            return true;
        };
        match &*error.kind {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. } => true,
            ErrorKind::Command(command) => UNAVAILABLE_CODES.contains(&command.code),
            ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => {
                UNAVAILABLE_CODES.contains(&concern.code)
            }
            _ => error.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR),
        }
    }

    /// Whether the operation certainly never reached the database (no server was found,
    /// or its turn never came).
    fn never_sent(&self) -> bool {
        match self {
            StoreError::NoTurn(_) | StoreError::Withdrawn => true,
            StoreError::Database(error) => matches!(
                *error.kind,
                mongodb::error::ErrorKind::ServerSelection { .. }
            ),
            StoreError::TimedOut(_) => false,
        }
    }
}

tokio::task_local! {
    /// Whether the request being worked on has sent a write (see [`tracking_writes`]).
    static WRITE_SENT: Cell<bool>;
    /// Where the request being worked on is answered as soon as one of its calls passes
    /// its deadline (see [`answer_by_deadline`]).
    static AT_DEADLINE: RefCell<Answering>;
}

/// Where a request stands with its answer (see [`answer_by_deadline`]).
enum Answering {
    /// Not answered yet: the answer goes here when a call passes its deadline.
    Waiting(tokio::sync::oneshot::Sender<ApiError>),
    /// Answered as having had no effect: none of its calls may be sent any more.
    Withdrawn,
    /// Answered as having perhaps had an effect: it goes on to its end.
    Answered,
}

/// Runs one request, noting whether it sends a write to the database, so that a failure
/// can tell the client whether the request may have had an effect.
pub async fn tracking_writes<F: Future>(request: F) -> F::Output {
    WRITE_SENT.scope(Cell::new(false), request).await
}

/// Runs one request's `work` in a task of its own and answers what it answers — or, as
/// soon as one of its database calls passes its deadline, what `at_deadline` makes of
/// that call's failure: the client hears within the deadline, and the work (whose calls
/// are never abandoned, see [`within`]) ends in the background, pushing and recording
/// what really happened. Nothing that drops the returned future (a client that went
/// away) cuts the work short either.
pub async fn answer_by_deadline<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
    at_deadline: impl FnOnce(ApiError) -> T,
) -> T {
    let (answer, deadline_passed) = tokio::sync::oneshot::channel();
    let work = AT_DEADLINE.scope(RefCell::new(Answering::Waiting(answer)), work);
    let mut work = tokio::spawn(tracing::Instrument::in_current_span(work));
    tokio::select! {
        biased;
        done = &mut work => match done.map_err(tokio::task::JoinError::try_into_panic) {
            Ok(done) => done,
            Err(Ok(panic)) => std::panic::resume_unwind(panic),
            // Only a runtime shutting down cancels it.
            Err(Err(_)) => at_deadline(ApiError::Unexpected(anyhow::anyhow!(
                "the request's work was cancelled"
            ))),
        },
        Ok(error) = deadline_passed => at_deadline(error),
    }
}

/// Tells the request being worked on, if any, that `error` is its answer. A request
/// answered as having had no effect sends no further call (see [`withdrawn`]).
fn answer_at_deadline(error: StoreError) {
    let _ = AT_DEADLINE.try_with(|answering| {
        let mut answering = answering.borrow_mut();
        if !matches!(*answering, Answering::Waiting(_)) {
            return;
        }
        let error = ApiError::from(error);
        let next = match error {
            ApiError::Unavailable {
                outcome: Outcome::NoEffect,
                ..
            } => Answering::Withdrawn,
            _ => Answering::Answered,
        };
        if let Answering::Waiting(answer) = std::mem::replace(&mut *answering, next) {
            let _ = answer.send(error);
        }
    });
}

/// Whether the request being worked on was answered as having had no effect: then none
/// of its calls may be sent any more, so that the answer stays true.
fn withdrawn() -> bool {
    AT_DEADLINE
        .try_with(|answering| matches!(*answering.borrow(), Answering::Withdrawn))
        .unwrap_or(false)
}

/// Whether the current request may have changed something. Outside a request: perhaps.
fn write_sent() -> bool {
    WRITE_SENT.try_with(Cell::get).unwrap_or(true)
}

impl From<StoreError> for ApiError {
    /// A database that cannot be reached or does not answer in time is a 503 saying
    /// whether the request may have had an effect; anything else is unexpected.
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            let outcome = if write_sent() {
                Outcome::Unknown
            } else {
                Outcome::NoEffect
            };
            ApiError::Unavailable {
                outcome,
                cause: error.into(),
            }
        } else {
            ApiError::Unexpected(error.into())
        }
    }
}

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

/// How long the start-up waits for the indexes to be built.
const INDEX_BUILD_DEADLINE: Duration = Duration::from_secs(600);
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
    membership_cache: Arc<DocumentCache<memberships::UserMemberships>>,
    /// The newest version of each session seen by this process (see `versions`).
    session_versions: Arc<versions::SessionVersions>,
    /// What the cache's change stream tells of memberships (see
    /// [`Store::membership_news`]).
    membership_news: tokio::sync::broadcast::Sender<cache::MembershipNews>,
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
            membership_news: tokio::sync::broadcast::Sender::new(MEMBERSHIP_NEWS_KEPT),
        })
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
        let earlier = WRITE_SENT
            .try_with(|sent| sent.replace(true))
            .unwrap_or(true);
        let result = self.read(operation).await;
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

    /// Creates every index the queries rely on. Idempotent: safe at every start-up.
    pub async fn ensure_indexes(&self) -> anyhow::Result<()> {
        let plans: [(&str, Vec<IndexModel>); 10] = [
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

/// Least time a call that passed its deadline is still driven before it is dropped.
const LEAST_FINISHING_TIME: Duration = Duration::from_secs(30);

/// Runs `operation` as one database call: after its turn at `gate` (none: a call the
/// gate does not count, see [`gate::UNGATED_CONNECTIONS`]), and failing with
/// [`StoreError::TimedOut`] (or [`StoreError::NoTurn`]) when it is not done within
/// `deadline`.
///
/// A call that passed its deadline is not dropped: the request it serves is answered at
/// once (see [`answer_by_deadline`]), and the call is driven on until it ends (for ten
/// deadlines, at least 30 s), so that it never leaves an abandoned entry in the driver's
/// queue of calls waiting for a connection (see [`gate`]); when it ends in that time its
/// own result is returned, so that what the request does next (a push, the record of its
/// answer) follows what really happened.
async fn within<T, E: Into<StoreError>>(
    gate: Option<&gate::Gate>,
    deadline: Duration,
    operation: impl IntoFuture<Output = Result<T, E>>,
) -> StoreResult<T> {
    let result = call_within(gate, deadline, operation).await;
    let kind = match &result {
        // Counted when it passed its deadline; a call never sent is no database error.
        Ok(_) | Err(StoreError::TimedOut(_) | StoreError::Withdrawn) => None,
        Err(StoreError::NoTurn(_)) => Some(crate::metrics::DbError::Timeout),
        Err(error) if error.is_unavailable() => Some(crate::metrics::DbError::Unavailable),
        Err(StoreError::Database(_)) => Some(crate::metrics::DbError::Failed),
    };
    if let Some(kind) = kind {
        crate::metrics::db_error(kind);
    }
    result
}

async fn call_within<T, E: Into<StoreError>>(
    gate: Option<&gate::Gate>,
    deadline: Duration,
    operation: impl IntoFuture<Output = Result<T, E>>,
) -> StoreResult<T> {
    if withdrawn() {
        return Err(StoreError::Withdrawn);
    }
    let until = tokio::time::Instant::now() + deadline;
    let _turn = match gate {
        Some(gate) => match tokio::time::timeout_at(until, gate.enter()).await {
            Ok(turn) => Some(turn),
            Err(_) => return Err(StoreError::NoTurn(deadline)),
        },
        None => None,
    };
    let operation = operation.into_future();
    tokio::pin!(operation);
    if let Ok(result) = tokio::time::timeout_at(until, &mut operation).await {
        return result.map_err(Into::into);
    }
    crate::metrics::db_error(crate::metrics::DbError::Timeout);
    answer_at_deadline(StoreError::TimedOut(deadline));
    let finishing_time = (deadline * 10).max(LEAST_FINISHING_TIME);
    match tokio::time::timeout(finishing_time, &mut operation).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => {
            tracing::warn!(
                ?finishing_time,
                "a database call did not end long after its deadline; dropping it"
            );
            Err(StoreError::TimedOut(deadline))
        }
    }
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

    #[tokio::test]
    async fn a_call_that_outlasts_the_deadline_is_unavailable() {
        let store = unreachable_store().await;
        let error = store.read(never_answers()).await.unwrap_err();
        assert!(matches!(error, StoreError::TimedOut(_)));
        assert!(error.is_unavailable());
    }

    #[tokio::test]
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

    #[tokio::test]
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
