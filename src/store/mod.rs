//! MongoDB storage: the connection, the collections, their documents and indexes, and
//! every query. The only place that names a stored field.
//!
//! Documents are the store's own types: each collection's submodule converts them to and
//! from the domain's values and turns typed changes (patches, conditions) into updates.
//! Every invariant is kept by single-document atomic updates, so a standalone MongoDB
//! works. Failures are [`StoreError`]s, mapped to the API's errors in one place below.

pub mod events;
pub mod json_bson;
pub mod lookups;
pub mod memberships;
pub mod pushes;
pub mod sessions;
pub mod users;

use std::time::Duration;

use anyhow::Context;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database, IndexModel};

use crate::domain::page::CursorKey;
use crate::domain::time::Timestamp;
use crate::error::ApiError;

/// A failed database operation.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StoreError(#[from] mongodb::error::Error);

/// What a store operation answers.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A value that cannot be written as a document (a bug, never client input).
    fn unwritable(error: impl std::fmt::Display) -> Self {
        StoreError(mongodb::error::Error::custom(error.to_string()))
    }
}

impl From<StoreError> for ApiError {
    /// A database that cannot be reached is a 503 (the request had no effect); anything
    /// else is unexpected.
    fn from(StoreError(error): StoreError) -> Self {
        use mongodb::error::ErrorKind;
        let unreachable = matches!(
            *error.kind,
            ErrorKind::ServerSelection { .. }
                | ErrorKind::Io(_)
                | ErrorKind::ConnectionPoolCleared { .. }
                | ErrorKind::DnsResolve { .. }
        );
        if unreachable {
            ApiError::Unavailable(error.into())
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

/// How long an operation waits for a reachable server before answering 503.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// The service's handle to its database.
#[derive(Clone, Debug)]
pub struct Store {
    database: Database,
}

impl Store {
    /// Connects to `uri` and uses database `name`. Nothing is sent until the first operation.
    pub async fn connect(uri: &str, name: &str) -> anyhow::Result<Store> {
        let mut options = ClientOptions::parse(uri)
            .await
            .context("invalid MongoDB connection string")?;
        options
            .app_name
            .get_or_insert_with(|| "social-events".to_owned());
        options
            .server_selection_timeout
            .get_or_insert(SERVER_SELECTION_TIMEOUT);
        let client = Client::with_options(options).context("cannot create the MongoDB client")?;
        Ok(Store {
            database: client.database(name),
        })
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Answers when the database is reachable.
    pub async fn ping(&self) -> StoreResult<()> {
        self.database.run_command(bson::doc! { "ping": 1 }).await?;
        Ok(())
    }

    /// The key that signs page cursors: made once, kept in the database (`serviceKeys`) so
    /// that every process signs and checks alike.
    pub async fn cursor_key(&self) -> StoreResult<CursorKey> {
        let keys = self.database.collection::<bson::Document>("serviceKeys");
        let fresh: [u8; 32] = rand::random();
        let fresh = bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: fresh.to_vec(),
        };
        keys.update_one(
            bson::doc! { "_id": "cursor" },
            bson::doc! { "$setOnInsert": { "key": fresh } },
        )
        .upsert(true)
        .await?;
        let stored = keys
            .find_one(bson::doc! { "_id": "cursor" })
            .await?
            .and_then(|document| document.get_binary_generic("key").ok().cloned())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| StoreError::unwritable("the stored cursor key is not 32 bytes"))?;
        Ok(CursorKey::new(stored))
    }

    /// Creates every index the queries rely on. Idempotent: safe at every start-up.
    pub async fn ensure_indexes(&self) -> anyhow::Result<()> {
        let plans: [(&str, Vec<IndexModel>); 6] = [
            (lookups::COLLECTION, lookups::indexes()),
            (pushes::COLLECTION, pushes::indexes()),
            (users::COLLECTION, users::indexes()),
            (memberships::COLLECTION, memberships::indexes()),
            (events::COLLECTION, events::indexes()),
            (sessions::COLLECTION, sessions::indexes()),
        ];
        for (collection, indexes) in plans {
            self.database
                .collection::<bson::Document>(collection)
                .create_indexes(indexes)
                .await
                .with_context(|| format!("cannot create the indexes of {collection}"))?;
        }
        Ok(())
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

/// Reads every document of `cursor` that decodes as `T`. Documents of the wider platform
/// that do not (an unknown role, a field of the wrong type) are logged and left out, so
/// that one malformed document cannot fail every request that touches it.
async fn decode_lenient<T: serde::de::DeserializeOwned>(
    collection: &str,
    mut cursor: mongodb::Cursor<bson::Document>,
) -> StoreResult<Vec<T>> {
    use futures_util::TryStreamExt;
    let mut decoded = Vec::new();
    while let Some(document) = cursor.try_next().await? {
        match bson::from_document(document) {
            Ok(value) => decoded.push(value),
            Err(error) => tracing::warn!(collection, %error, "skipping a malformed document"),
        }
    }
    Ok(decoded)
}
