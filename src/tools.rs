//! What the command-line tools (`token`, `import`, `replay`) share with `serve`: finding
//! the database and the signing key from the same flags and environment variables.

use anyhow::{Context, bail};

use crate::auth;
use crate::config::{AuthArgs, DatabaseArgs};
use crate::embedded::EmbeddedDatabase;
use crate::store::Store;

/// The HS256 secret: the configured one, or — in development mode, with no
/// `MONGODB_URI` — the development secret under the data dir. Production mode has no
/// default secret.
pub fn signing_secret(auth: &AuthArgs, database: &DatabaseArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &auth.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    if database.mongodb_uri.is_some() {
        bail!(
            "with MONGODB_URI set (production mode) a key is required: \
             set SOCIAL_JWT_SECRET or SOCIAL_JWT_PUBLIC_KEY"
        );
    }
    auth::development_secret(&database.data_dir)
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
        Some(uri) => (uri.clone(), None),
        None => match EmbeddedDatabase::running_in_data_dir(&database.data_dir) {
            Some(uri) => (uri, None),
            None if when_none == WhenNoDatabase::Fail => bail!(
                "no development server runs on the data dir {}: start one, or set MONGODB_URI \
                 to the server's database",
                database.data_dir.display()
            ),
            None => {
                let (venv, data_dir) = (database.embedded_venv.clone(), database.data_dir.clone());
                let started = tokio::task::spawn_blocking(move || {
                    EmbeddedDatabase::start_in_data_dir(&venv, &data_dir)
                })
                .await
                .context("the embedded database start-up failed")??;
                (started.uri().to_owned(), Some(started))
            }
        },
    };
    let store = Store::connect(&uri, &database.db_name).await?;
    Ok((store, started))
}
