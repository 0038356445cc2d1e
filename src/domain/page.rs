//! Paged lists (`getEvents`, `getSessions`): a page holds at most `limit` items in the
//! list's order (start, then id) and, when more follow, the opaque cursor of its last item
//! (`nextCursor`), which the next request sends as `after`.
//!
//! Cursors are positions, not snapshots: pages concatenate to the whole list in order with
//! no item twice or missing, also while items are added. A cursor names the list it was
//! made for — its kind, and the scope its request named (the source of `getEvents`, the
//! event of `getSessions`) — and carries a signature made with the service's cursor key
//! (kept in the database, shared by every process) over both; one of another list (of
//! the other kind, or of another source or event), or anything the server did not make,
//! is refused.

use std::marker::PhantomData;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::time::Timestamp;
use crate::error::{ApiError, FieldPath};

/// The key that signs cursors.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    pub fn new(bytes: [u8; 32]) -> CursorKey {
        CursorKey(bytes)
    }

    /// The signature of `text`, as 16 hex digits.
    fn sign(&self, text: &str) -> String {
        // HMAC takes keys of any length: 32 bytes always fit.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(text.as_bytes());
        mac.finalize().into_bytes()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// The most items one page holds, and the default.
pub const MAX_LIMIT: u32 = 500;

/// How many items a page holds: 1 to [`MAX_LIMIT`]; anything else is refused, never
/// clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Limit(u32);

impl Limit {
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

impl Default for Limit {
    fn default() -> Self {
        Limit(MAX_LIMIT)
    }
}

impl schemars::JsonSchema for Limit {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Limit".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT })
    }
}

impl TryFrom<i64> for Limit {
    type Error = &'static str;

    fn try_from(limit: i64) -> Result<Self, Self::Error> {
        u32::try_from(limit)
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .map(Limit)
            .ok_or("must be an integer from 1 to 500")
    }
}

/// A list that can be paged: the tag its cursors carry.
pub trait Listing {
    const TAG: &'static str;
}

/// The events of a source (`getEvents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventList {}

impl Listing for EventList {
    const TAG: &'static str = "e1";
}

/// The sessions of an event (`getSessions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionList {}

impl Listing for SessionList {
    const TAG: &'static str = "s1";
}

/// A position in a list of `L`: after the item with this start and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<L: Listing> {
    pub start: Timestamp,
    pub id: String,
    list: PhantomData<L>,
}

/// Longest id a cursor may name.
const MAX_CURSOR_ID_BYTES: usize = 64;

impl<L: Listing> Cursor<L> {
    /// The position after the item with this start and id.
    pub fn after(start: Timestamp, id: &str) -> Self {
        Cursor {
            start,
            id: id.to_owned(),
            list: PhantomData,
        }
    }

    /// The start and id this cursor is after.
    pub fn position(&self) -> (Timestamp, &str) {
        (self.start, &self.id)
    }

    /// The text clients hold: `{tag}.{start}.{id}.{signature}`, in characters that need no
    /// escaping; the signature also covers `scope`, which the text does not carry.
    pub fn encode(&self, key: &CursorKey, scope: &str) -> String {
        let position = format!("{}.{}.{}", L::TAG, self.start.millis(), self.id);
        let signature = key.sign(&signed_text(&position, scope));
        format!("{position}.{signature}")
    }

    /// Reads a cursor of this list in `scope` signed with `key`; `None` for anything else.
    pub fn decode(text: &str, key: &CursorKey, scope: &str) -> Option<Self> {
        let (position, signature) = text.rsplit_once('.')?;
        let expected = key.sign(&signed_text(position, scope));
        if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
            return None;
        }
        let mut parts = position.splitn(3, '.');
        let (tag, start, id) = (parts.next()?, parts.next()?, parts.next()?);
        let start = Timestamp::from_millis(start.parse().ok()?)?;
        let valid_id = !id.is_empty()
            && id.len() <= MAX_CURSOR_ID_BYTES
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
        (tag == L::TAG && valid_id).then(|| Cursor::after(start, id))
    }

    /// The cursor `after` of a request for the list in `scope`, or a 400 at `data.after`.
    pub fn from_request(
        after: Option<&str>,
        key: &CursorKey,
        scope: &str,
    ) -> Result<Option<Self>, ApiError> {
        after
            .map(|text| {
                Cursor::decode(text, key, scope).ok_or_else(|| {
                    ApiError::invalid(
                        FieldPath::data().field("after"),
                        "not a cursor of this list: send the nextCursor of the previous page",
                    )
                })
            })
            .transpose()
    }
}

/// What a cursor's signature covers: its position, then the scope of its list (a position
/// holds no line break).
fn signed_text(position: &str, scope: &str) -> String {
    format!("{position}\n{scope}")
}

/// One page: the items, and the cursor after the last one when more follow.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The most bytes of stored documents one page holds (at least one item): a page of
/// large items ends sooner, with a `nextCursor`.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Documents of a page are read in batches of this many, so that what is read past
/// [`MAX_PAGE_BYTES`] is at most one batch.
pub const PAGE_READ_BATCH: u32 = 16;

/// An item as read, with its size as stored.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub item: T,
    pub bytes: usize,
}

/// How many of `found` (in order) a page of at most `limit` items and [`MAX_PAGE_BYTES`]
/// holds: every item that starts within the bytes, at least one.
pub fn fitting<T>(found: &[Stored<T>], limit: usize) -> usize {
    let mut bytes = 0;
    let within = found
        .iter()
        .take_while(|stored| {
            let starts_within = bytes < MAX_PAGE_BYTES;
            bytes += stored.bytes;
            starts_within
        })
        .count();
    within.clamp(1, limit.max(1))
}

impl<T> Page<T> {
    /// The page of `limit` items out of `found`, which holds one more item than the page
    /// when more follow, of the list in `scope`; `position` gives an item's start and id.
    pub fn of<L: Listing>(
        mut found: Vec<T>,
        limit: usize,
        key: &CursorKey,
        scope: &str,
        position: impl Fn(&T) -> (Timestamp, &str),
    ) -> Page<T> {
        let more = found.len() > limit;
        found.truncate(limit);
        let next = more.then(|| found.last()).flatten().map(|last| {
            let (start, id) = position(last);
            Cursor::<L>::after(start, id).encode(key, scope)
        });
        Page { items: found, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(sizes: &[usize]) -> Vec<Stored<usize>> {
        sizes
            .iter()
            .enumerate()
            .map(|(item, &bytes)| Stored { item, bytes })
            .collect()
    }

    #[test]
    fn a_page_holds_the_items_that_start_within_its_bytes_and_at_least_one() {
        let mib = MAX_PAGE_BYTES;
        assert_eq!(
            fitting(&stored(&[100; 10]), 500),
            10,
            "small items: the limit"
        );
        assert_eq!(fitting(&stored(&[100; 10]), 4), 4);
        assert_eq!(fitting(&stored(&[mib / 2, mib / 2, 1]), 500), 2);
        assert_eq!(
            fitting(&stored(&[mib / 2, mib / 2 - 1, 1, 1]), 500),
            3,
            "the item that passes the bytes is the last"
        );
        assert_eq!(fitting(&stored(&[3 * mib, 1]), 500), 1, "one item at least");
        assert_eq!(fitting::<usize>(&[], 500), 1);
    }

    #[test]
    fn limits_from_1_to_500_are_accepted_and_others_refused() {
        assert_eq!(Limit::try_from(1).unwrap().get(), 1);
        assert_eq!(Limit::try_from(500).unwrap().get(), 500);
        for refused in [0, -1, 501, i64::MAX] {
            assert!(Limit::try_from(refused).is_err(), "{refused}");
        }
        assert!(serde_json::from_str::<Limit>("1.5").is_err());
        assert!(serde_json::from_str::<Limit>("\"5\"").is_err());
        assert_eq!(Limit::default().get(), 500);
    }

    const SCOPE: &str = "network:n1";

    fn key() -> CursorKey {
        CursorKey::new([7; 32])
    }

    #[test]
    fn cursors_round_trip_and_name_their_list() {
        let id = "0193a5c0-7f3e-7c2a-9d1b-2f4e5a6b7c8d";
        let cursor = Cursor::<EventList>::after(Timestamp::from_millis(-5).unwrap(), id);
        let text = cursor.encode(&key(), SCOPE);
        assert_eq!(
            Cursor::<EventList>::decode(&text, &key(), SCOPE),
            Some(cursor)
        );
        assert!(
            Cursor::<SessionList>::decode(&text, &key(), SCOPE).is_none(),
            "another list's cursor"
        );
        assert!(
            Cursor::<EventList>::decode(&text, &key(), "network:n2").is_none(),
            "a cursor of the same kind of list in another scope"
        );
        for forged in [
            "",
            "e1",
            "e1.x.id",
            "e1.5.",
            "e1.5.a b",
            "e1.5.{\"$gt\":1}",
            "x1.5.id",
        ] {
            assert!(
                Cursor::<EventList>::decode(forged, &key(), SCOPE).is_none(),
                "{forged:?}"
            );
        }
    }

    #[test]
    fn a_cursor_changed_or_signed_with_another_key_is_refused() {
        let cursor = Cursor::<EventList>::after(Timestamp::from_millis(5).unwrap(), "a-1");
        let text = cursor.encode(&key(), SCOPE);
        let tampered = text.replacen(".5.", ".6.", 1);
        assert!(Cursor::<EventList>::decode(&tampered, &key(), SCOPE).is_none());
        assert!(Cursor::<EventList>::decode(&text, &CursorKey::new([8; 32]), SCOPE).is_none());
        let error = Cursor::<EventList>::from_request(Some(&tampered), &key(), SCOPE).unwrap_err();
        assert!(error.to_string().starts_with("data.after: "), "{error}");
    }

    #[test]
    fn a_page_carries_a_cursor_exactly_when_more_items_follow() {
        fn position(item: &(i64, String)) -> (Timestamp, &str) {
            (Timestamp::from_millis(item.0).unwrap(), item.1.as_str())
        }
        let items = |count: i64| {
            (0..count)
                .map(|index| (index, format!("id{index}")))
                .collect::<Vec<_>>()
        };
        let full = Page::of::<EventList>(items(3), 2, &key(), SCOPE, position);
        assert_eq!(full.items.len(), 2);
        let next =
            Cursor::<EventList>::decode(full.next.as_deref().unwrap(), &key(), SCOPE).unwrap();
        assert_eq!((next.start.millis(), next.id.as_str()), (1, "id1"));
        let last = Page::of::<EventList>(items(2), 2, &key(), SCOPE, position);
        assert_eq!((last.items.len(), last.next), (2, None));
    }
}
