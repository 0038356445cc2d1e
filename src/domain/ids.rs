//! Identifiers: the authenticated user behind a request, the ids of sessions and events,
//! and fresh server-generated ids. Each kind of id is a type of its own, so that a
//! function taking a session id and a user id cannot be given them the other way round:
//!
//! ```no_run
//! # use social_events::domain::ids::{SessionId, UserId};
//! # use social_events::domain::session::Session;
//! # use social_events::domain::session::viewer::JoinCondition;
//! # use social_events::domain::time::Timestamp;
//! # use social_events::store::Store;
//! async fn join(store: &Store, session: &Session, user: &UserId, condition: JoinCondition) {
//!     let _ = store.join_session(&session.id, user, condition, Timestamp::now()).await;
//! }
//! ```
//!
//! ```compile_fail
//! # use social_events::domain::ids::{SessionId, UserId};
//! # use social_events::domain::session::Session;
//! # use social_events::domain::session::viewer::JoinCondition;
//! # use social_events::domain::time::Timestamp;
//! # use social_events::store::Store;
//! async fn join(store: &Store, session: &Session, user: &UserId, condition: JoinCondition) {
//!     let _ = store.join_session(user, &session.id, condition, Timestamp::now()).await;
//! }
//! ```

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Most bytes of a user id.
pub const MAX_USER_ID_BYTES: usize = 256;

/// What is wrong with `id` as a user id (a token's `sub`, an invitee's `userId`), if
/// anything: a user id is 1 to [`MAX_USER_ID_BYTES`] bytes of text without control
/// characters (no NUL, ESC, CR or LF: ids end up in logs, calendar files and headers).
pub fn user_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() || id.len() > MAX_USER_ID_BYTES {
        return Some("must be 1 to 256 bytes long");
    }
    if id.chars().any(char::is_control) {
        return Some("must not contain control characters");
    }
    None
}

/// A user id: the subject of the user's token, and `_id` of their user document. Cheap to
/// clone, since every request and every open connection carries one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Arc<str>);

impl UserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> Self {
        UserId(id.into())
    }
}

impl From<String> for UserId {
    fn from(id: String) -> Self {
        UserId(id.into())
    }
}

impl From<UserId> for bson::Bson {
    fn from(id: UserId) -> Self {
        bson::Bson::String(id.0.as_ref().to_owned())
    }
}

impl Deref for UserId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// Hashes and compares as its text, so that maps keyed by user id are looked up by `&str`.
impl std::borrow::Borrow<str> for UserId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who sent a request: the authenticated user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
}

impl Caller {
    pub fn new(user_id: impl Into<UserId>) -> Self {
        Caller {
            user_id: user_id.into(),
        }
    }
}

/// A fresh server-generated id of any kind: a UUID v7, so ids sort by creation time.
pub fn new_id<Id: From<String>>() -> Id {
    Id::from(uuid::Uuid::now_v7().to_string())
}

/// A type for one kind of id, held as its text: serialized as a plain string, read as one
/// from requests, and used as `&str` where text is wanted (filters, logs, rendering).
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Default,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            Serialize,
            Deserialize,
            schemars::JsonSchema,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl From<$name> for bson::Bson {
            fn from(id: $name) -> Self {
                bson::Bson::String(id.0)
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id! {
    /// A session's id (`sessionId`).
    SessionId
}

text_id! {
    /// An event's id (`eventId`); empty where a session belongs
    /// to no event.
    EventId
}

/// A hash of `user_id` (SHA-256, hex) that names them without holding their id: the id of
/// their erasure, and how processes tell each other to close their connections.
pub fn user_hash(user_id: &str) -> String {
    hex_digest(user_id, 32)
}

/// The first `bytes` bytes (at most 32) of the SHA-256 of `text`, in hex: a key that
/// follows from `text` and does not show it.
pub fn hex_digest(text: &str, bytes: usize) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest
        .iter()
        .take(bytes)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
