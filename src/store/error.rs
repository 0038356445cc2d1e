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
            // An upserting findAndModify whose filter missed an existing document.
            ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
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

    /// Why the database could not be used, in one line without the driver's dump of its
    /// topology: `connection refused`, `failed to lookup address information: …`,
    /// `authentication failed: …`, `no answer within 3s`.
    pub fn reason(&self) -> String {
        use mongodb::error::ErrorKind;
        let StoreError::Database(error) = self else {
            return self.to_string();
        };
        match &*error.kind {
            ErrorKind::ServerSelection { message, .. } => server_selection_reason(message),
            ErrorKind::Io(io) => plain_io_error(&io.to_string()),
            ErrorKind::Authentication { message, .. } => {
                format!("authentication failed: {message}")
            }
            ErrorKind::DnsResolve { message, .. } => format!("cannot resolve its name: {message}"),
            ErrorKind::Command(command) => {
                format!("it refused: {} ({})", command.message, command.code_name)
            }
            other => {
                let text = other.to_string();
                text.split(", labels:").next().unwrap_or(&text).to_owned()
            }
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

/// Why no server was selected: the driver's message lists each server it tried with
/// that server's error.
fn server_selection_reason(message: &str) -> String {
    let errors: Vec<String> = message
        .split("Error: Kind: ")
        .skip(1)
        .map(|server| {
            let server = server.split(", labels:").next().unwrap_or(server);
            plain_io_error(server.strip_prefix("I/O error: ").unwrap_or(server))
        })
        .collect();
    if errors.is_empty() {
        "no suitable server answered (is it a MongoDB server, of the replica set the \
         connection string names?)"
            .to_owned()
    } else {
        errors.join("; ")
    }
}

/// An I/O error as a person reads it: `Connection refused (os error 111)` → `connection
/// refused`.
fn plain_io_error(text: &str) -> String {
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text,
    };
    let mut characters = text.trim().chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_selection_failure_reads_as_each_server_s_error() {
        let message = "No available servers. Topology: { Type: Unknown, Servers: [ { Address: \
            127.0.0.1:1, Type: Unknown, Error: Kind: I/O error: Connection refused (os error \
            111), labels: {\"RetryableError\"}, source: None, server response: None } ] }, \
            labels: {}, source: None, server response: None";
        assert_eq!(server_selection_reason(message), "connection refused");
        let lookup = message.replace(
            "I/O error: Connection refused (os error 111)",
            "I/O error: failed to lookup address information: Name or service not known",
        );
        assert_eq!(
            server_selection_reason(&lookup),
            "failed to lookup address information: Name or service not known"
        );
        assert!(server_selection_reason("No available servers.").starts_with("no suitable"));
        assert_eq!(
            StoreError::TimedOut(std::time::Duration::from_secs(3)).reason(),
            "the database did not answer within 3s"
        );
    }
}
