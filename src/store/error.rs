//! What a failed database operation is, and what kind of failure it was: a duplicate
//! key, an unavailable database, a call that was never sent.

use std::time::Duration;

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
    pub(super) fn unwritable(error: impl std::fmt::Display) -> Self {
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
    pub(super) fn never_sent(&self) -> bool {
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
