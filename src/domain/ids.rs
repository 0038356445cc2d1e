//! Identifiers: the authenticated user behind a request, and fresh server-generated ids.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

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

/// A fresh server-generated id: a UUID v7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
