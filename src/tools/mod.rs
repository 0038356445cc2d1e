//! Off the request path: the embedded development database, and the developer and QA
//! commands (`token`, `import`, `replay`), which find the database and the signing key
//! from the same flags and environment variables as `serve`.

mod data_dir;
pub mod embedded;
pub mod import;
pub mod replay;
pub mod token;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;

use crate::config::DatabaseArgs;
use crate::store::Store;
use embedded::EmbeddedDatabase;

/// Starts the development server's embedded database under the data dir (off the async
/// workers: it blocks until the database accepts connections).
pub async fn start_embedded(database: &DatabaseArgs) -> anyhow::Result<EmbeddedDatabase> {
    let (venv, data_dir) = (database.embedded_venv.clone(), database.data_dir.clone());
    tokio::task::spawn_blocking(move || EmbeddedDatabase::start_in_data_dir(&venv, &data_dir))
        .await
        .context("the embedded database start-up failed")?
}

/// Whether a tool may start the embedded database when no server runs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenNoDatabase {
    /// Start it for the tool (import works on the stored data).
    Start,
    /// Fail: the tool needs the database of a running server (replay).
    Fail,
}

/// The database a tool works on: `MONGODB_URI`, else the embedded database of a
/// development server running on the same data dir, else (when allowed) an embedded
/// database started for the tool, returned so that the caller stops it when done.
pub async fn open_database(
    database: &DatabaseArgs,
    when_none: WhenNoDatabase,
) -> anyhow::Result<(Store, Option<EmbeddedDatabase>)> {
    let (uri, started) = match &database.mongodb_uri {
        Some(uri) => (uri.expose_secret().to_owned(), None),
        None => match EmbeddedDatabase::running_in_data_dir(&database.data_dir) {
            Some(uri) => (uri, None),
            None if when_none == WhenNoDatabase::Fail => bail!(
                "no development server runs on the data dir {}: start one, or set MONGODB_URI \
                 to the server's database",
                database.data_dir.display()
            ),
            None => {
                let started = start_embedded(database).await?;
                (started.uri().to_owned(), Some(started))
            }
        },
    };
    let store = Store::connect(&uri, &database.db_name, database.db_timeout).await?;
    store.ensure_reachable().await?;
    Ok((store, started))
}
