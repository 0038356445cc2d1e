//! MongoDB storage: the connection, the collections and their indexes.
//!
//! Documents stored in MongoDB are their own types, apart from the wire types; each
//! collection's queries live in its submodule. Every invariant is kept by single-document
//! atomic updates, so a standalone MongoDB works.

pub mod events;
pub mod memberships;
pub mod pushes;
pub mod sessions;
pub mod users;

use std::time::Duration;

use anyhow::Context;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database, IndexModel};

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
    pub async fn ping(&self) -> mongodb::error::Result<()> {
        self.database
            .run_command(bson::doc! { "ping": 1 })
            .await
            .map(drop)
    }

    /// Creates every index the queries rely on. Idempotent: safe at every start-up.
    pub async fn ensure_indexes(&self) -> anyhow::Result<()> {
        let plans: [(&str, Vec<IndexModel>); 5] = [
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

/// Reads every document of `cursor` that decodes as `T`. Documents of the wider platform
/// that do not (an unknown role, a field of the wrong type) are logged and left out, so
/// that one malformed document cannot fail every request that touches it.
pub(crate) async fn decode_lenient<T: serde::de::DeserializeOwned>(
    collection: &str,
    mut cursor: mongodb::Cursor<bson::Document>,
) -> mongodb::error::Result<Vec<T>> {
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

/// A fresh server-generated id: a UUID v7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
