//! Idempotent retries (extension): a request to an endpoint that changes data, sent again
//! by the same user with the same `event.id` within ten minutes, is not worked on again —
//! the first answer is sent again (with the new request's `event.date`); the same
//! `event.id` with another endpoint or other `data` is a 409. Kept in the database, so a
//! retry reaching another server process is answered alike: the request is claimed in
//! `store::request_answers` before it is worked on, and its answer is written with the
//! last push the request publishes (held until the answer is known; the push's id follows
//! from the claim, so a retry knows where to look) — a change costs no write of its own to
//! keep its answer. A request that publishes nothing, or whose push cannot be written,
//! keeps its answer in its claim instead.
//!
//! An answer is kept whole up to [`MAX_KEPT_ANSWER_BYTES`]: a larger one (a session with
//! a thousand invitees) keeps only which session or event it rendered, and a retry
//! answers that object as `social:getSession` / `social:getEvent` answers it then — what
//! is stored per write stays small whatever the object holds.
//!
//! A retry that arrives while the first request is still being worked on waits for its
//! answer (up to [`WAIT_FOR_FIRST`]). Answers that ask for a retry — the service failed
//! (500, 503), or the object changed too often to decide (a 409 saying "retry") — are not
//! kept: the retry is worked on afresh.
//!
//! The answer is kept before it is sent (or, when the database is slow, while it is sent:
//! the client does not wait longer than the deadline for it), and keeping it is tried
//! again with pauses until [`RECORD_PATIENCE`] after the claim: an overloaded or stalled
//! database delays the record but does not lose it, so a retry never works on a request
//! that was answered. A first request whose process died before it answered is taken
//! over by a retry after [`TAKE_OVER_AFTER`] (later than any record is still tried, so
//! that a slow record is never overtaken).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::endpoint::AnswerData;

use crate::domain::ids::{UserId, hex_digest};
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::push::bus::{Publication, Pushes};
use crate::store::Store;
use crate::store::request_answers::{Claimed, KEPT_FOR, RecordedAnswer, ShownObject};

/// Largest answer `data` (as JSON text) kept whole for retries.
pub const MAX_KEPT_ANSWER_BYTES: usize = 16 * 1024;
/// The objects a large answer may render, by their key in it: the endpoint that reads
/// one again, and the field of its request that names it.
const READ_AGAIN_BY: [(&str, &str, &str); 2] = [
    ("session", "social:getSession", "sessionId"),
    ("event", "social:getEvent", "eventId"),
];

/// The read that answers a retry of a request whose large answer showed `shown`: the
/// endpoint and its request's `data`.
pub fn read_again(shown: &ShownObject) -> Option<(&'static str, Map<String, Value>)> {
    let (_, endpoint, field) = READ_AGAIN_BY.iter().find(|(key, ..)| *key == shown.key)?;
    let mut data = Map::new();
    data.insert((*field).to_owned(), Value::String(shown.id.clone()));
    Some((endpoint, data))
}

/// The object `data` renders, when it is one object with an `id` under a key of
/// [`READ_AGAIN_BY`] (read without building the rest of it).
fn shown_object(data: &RawValue) -> Option<ShownObject> {
    #[derive(Deserialize)]
    struct Identified {
        id: String,
    }
    let object: BTreeMap<String, Identified> = serde_json::from_str(data.get()).ok()?;
    let mut objects = object.into_iter();
    let (key, shown) = objects.next()?;
    if objects.next().is_some() || !READ_AGAIN_BY.iter().any(|(known, ..)| *known == key) {
        return None;
    }
    Some(ShownObject { key, id: shown.id })
}

/// Longest wait of a retry for the answer of a first request still being worked on.
pub const WAIT_FOR_FIRST: Duration = Duration::from_secs(5);
/// Age of an unanswered first request after which a retry works on it itself.
pub const TAKE_OVER_AFTER: Duration = Duration::from_secs(60);
/// How long after the claim keeping a request's answer is tried again.
pub const RECORD_PATIENCE: Duration = Duration::from_secs(50);
/// First pause before keeping an answer is tried again; each further pause doubles, up
/// to [`MAX_RECORD_PAUSE`].
const RECORD_PAUSE: Duration = Duration::from_millis(100);
const MAX_RECORD_PAUSE: Duration = Duration::from_secs(2);
/// First pause between two looks at a first request still being worked on; each
/// further pause doubles, up to [`MAX_POLL`].
const POLL: Duration = Duration::from_millis(25);
/// Longest pause between two looks at a first request still being worked on.
const MAX_POLL: Duration = Duration::from_millis(400);

/// What to do with a request that changes data and carries an `event.id`.
#[derive(Debug)]
pub enum Claim {
    /// Work on it (the first of its `event.id`, or one taken over, claimed at the time
    /// given); record its answer.
    Work(Timestamp),
    /// Send this answer again.
    Answered(RecordedAnswer),
}

/// A hash of `data` that does not depend on the order of its keys.
pub fn data_hash(data: &Map<String, Value>) -> String {
    fn canonical(value: &Value, out: &mut String) {
        match value {
            Value::Object(object) => {
                let mut keys: Vec<&String> = object.keys().collect();
                keys.sort();
                out.push('{');
                for (index, key) in keys.into_iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    canonical(&object[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(&Value::Object(data.clone()), &mut text);
    hex_digest(&text, 32)
}

/// Claims request `event_id` of `user_id` to `endpoint` with `data`.
pub async fn claim(
    store: &Store,
    user_id: &UserId,
    event_id: &str,
    endpoint: &str,
    data: &Map<String, Value>,
) -> Result<Claim, ApiError> {
    let hash = data_hash(data);
    let waited_since = tokio::time::Instant::now();
    let mut backoff = crate::backoff::Backoff::new(POLL, MAX_POLL);
    loop {
        if waited_since.elapsed() > WAIT_FOR_FIRST {
            return Err(ApiError::Conflict(format!(
                "the first request with event.id {event_id:?} is still being answered; retry \
                 it later"
            )));
        }
        let now = Timestamp::now();
        let recorded = match store
            .claim_request(user_id, event_id, endpoint, &hash, now)
            .await?
        {
            Claimed::Claimed => return Ok(Claim::Work(now)),
            Claimed::Gone => continue,
            Claimed::Recorded(recorded) => recorded,
        };
        // Older than kept (the database removes expired records within a minute or so):
        // a new request.
        if now.millis() - recorded.claimed_at.millis() > KEPT_FOR.as_millis() as i64 {
            store
                .forget_request(user_id, event_id, recorded.claimed_at)
                .await?;
            continue;
        }
        if recorded.endpoint != endpoint || recorded.data_hash != hash {
            return Err(ApiError::Conflict(format!(
                "event.id {event_id:?} was used for another request in the last 10 minutes: \
                 a retry repeats its first request exactly; a new request needs a new event.id"
            )));
        }
        if let Some(answer) = recorded.answer {
            return Ok(Claim::Answered(answer));
        }
        let carried_by = answer_push_id(user_id, event_id, recorded.claimed_at);
        if let Some(answer) = store.answer_in_push(&carried_by).await? {
            return Ok(Claim::Answered(answer));
        }
        let abandoned =
            now.millis() - recorded.claimed_at.millis() > TAKE_OVER_AFTER.as_millis() as i64;
        if abandoned
            && store
                .take_over_request(user_id, event_id, recorded.claimed_at, now)
                .await?
        {
            return Ok(Claim::Work(now));
        }
        backoff.pause().await;
    }
}

/// The answer kept for the retries of a request that got `result` (a success's `data`
/// only when `keeps_data`, see `Endpoint::KEEPS_ANSWER_DATA`): `None` for an answer that
/// asks for a retry (the service failed, or the object was too busy).
fn kept_answer(result: &Result<AnswerData, ApiError>, keeps_data: bool) -> Option<RecordedAnswer> {
    match result {
        Ok(data) => {
            let data = data.as_deref().filter(|_| keeps_data);
            // Too large to keep: which object it showed is enough to answer again.
            let shows = data
                .filter(|data| data.get().len() > MAX_KEPT_ANSWER_BYTES)
                .and_then(shown_object);
            Some(RecordedAnswer {
                data: data
                    .filter(|_| shows.is_none())
                    .map(|data| data.get().to_owned()),
                code: 0,
                message: String::new(),
                withheld: !keeps_data || shows.is_some(),
                shows,
            })
        }
        Err(error) if error.is_transient() => None,
        Err(error) => Some(RecordedAnswer {
            data: None,
            code: i32::from(error.code()),
            // Only failures that are the request's are kept: none is logged.
            message: error.to_string(),
            withheld: false,
            shows: None,
        }),
    }
}

/// The id of the push that carries the answer of request `event_id` of `user_id` claimed
/// at `claimed_at`: a retry that finds the claim knows where to look.
fn answer_push_id(user_id: &UserId, event_id: &str, claimed_at: Timestamp) -> String {
    let key = format!("{user_id}\u{0}{event_id}\u{0}{}", claimed_at.millis());
    format!("answer-{}", hex_digest(&key, 16))
}

/// Sends what a request claimed at `claimed_at` published (`publications`, held until
/// its answer was known) and keeps the answer it got, `result`, for its retries: carried
/// by its last push when it published anything (no write of its own), otherwise — or
/// when that push could not be written — in `requestAnswers` (see [`record`]).
#[allow(clippy::too_many_arguments)]
pub async fn publish_and_record(
    store: &Store,
    pushes: &Pushes,
    user_id: &UserId,
    event_id: &str,
    claimed_at: Timestamp,
    result: &Result<AnswerData, ApiError>,
    keeps_data: bool,
    publications: Vec<Publication>,
) {
    let answer = kept_answer(result, keeps_data);
    let carrying = answer
        .clone()
        .filter(|_| !publications.is_empty())
        .map(|answer| (answer_push_id(user_id, event_id, claimed_at), answer));
    if pushes.publish_all(publications, carrying).await {
        return;
    }
    keep(
        store,
        user_id,
        event_id,
        claimed_at,
        answer,
        store.deadline(),
    )
    .await;
}

/// Keeps the answer of a request claimed at `claimed_at` that got `result` in
/// `requestAnswers`, for its retries, as [`kept_answer`] makes it (an answer that asks
/// for a retry forgets the request instead, so that a retry is worked on afresh). Waits
/// until it is kept, at most `wait`; keeping it goes on in the background after that,
/// tried again with pauses until [`RECORD_PATIENCE`] after the claim. Giving up is
/// logged.
pub async fn record(
    store: &Store,
    user_id: &UserId,
    event_id: &str,
    claimed_at: Timestamp,
    result: &Result<AnswerData, ApiError>,
    keeps_data: bool,
    wait: Duration,
) {
    let answer = kept_answer(result, keeps_data);
    keep(store, user_id, event_id, claimed_at, answer, wait).await;
}

/// Keeps `answer` as [`record`] does (`None` forgets the request).
async fn keep(
    store: &Store,
    user_id: &UserId,
    event_id: &str,
    claimed_at: Timestamp,
    answer: Option<RecordedAnswer>,
    wait: Duration,
) {
    let (store, user_id, event_id) = (store.clone(), user_id.to_owned(), event_id.to_owned());
    // A task of its own: the record is no call of the request (which may have been
    // answered at a deadline already) and outlives a client that went away.
    let keeping = tokio::spawn(async move {
        let give_up_at = claimed_at.millis() + RECORD_PATIENCE.as_millis() as i64;
        let mut backoff = crate::backoff::Backoff::new(RECORD_PAUSE, MAX_RECORD_PAUSE);
        loop {
            let kept = match &answer {
                Some(answer) => store
                    .record_answer(&user_id, &event_id, claimed_at, answer)
                    .await
                    .map(drop),
                None => store.forget_request(&user_id, &event_id, claimed_at).await,
            };
            let Err(error) = kept else { return };
            let pause = backoff.next_pause();
            if Timestamp::now().millis() + pause.as_millis() as i64 > give_up_at {
                tracing::warn!(
                    %error,
                    "cannot keep the answer of a request for its retries; giving up"
                );
                return;
            }
            tokio::time::sleep(pause).await;
        }
    });
    let _ = tokio::time::timeout(wait, keeping).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&value).unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(object) => object,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn answers_that_ask_for_a_retry_are_not_kept() {
        let kept = kept_answer(&Ok(Some(raw(json!({"session": {"id": "s"}})))), true).unwrap();
        assert_eq!(kept.data.as_deref(), Some(r#"{"session":{"id":"s"}}"#));
        let full = kept_answer(
            &Err(ApiError::Conflict("the session is full".to_owned())),
            true,
        );
        assert_eq!(full.map(|answer| answer.code), Some(409));
        let busy = ApiError::Contended("busy; retry".to_owned());
        assert!(kept_answer(&Err(busy), true).is_none());
        let bug = ApiError::Unexpected(anyhow::anyhow!("bug"));
        assert!(kept_answer(&Err(bug), true).is_none());
        assert_eq!(
            kept_answer(&Ok(None), true).map(|answer| answer.data),
            Some(None)
        );
    }

    #[test]
    fn a_large_answer_keeps_which_object_it_showed_and_a_small_one_is_kept_whole() {
        let large =
            json!({"session": {"id": "s1", "description": "x".repeat(MAX_KEPT_ANSWER_BYTES)}});
        let kept = kept_answer(&Ok(Some(raw(large))), true).unwrap();
        assert!(kept.withheld && kept.data.is_none());
        let shown = kept.shows.expect("the object it showed");
        let (endpoint, data) = read_again(&shown).unwrap();
        assert_eq!(endpoint, "social:getSession");
        assert_eq!(Value::Object(data), json!({"sessionId": "s1"}));
        let small = kept_answer(&Ok(Some(raw(json!({"event": {"id": "e1"}})))), true).unwrap();
        assert!(!small.withheld && small.shows.is_none() && small.data.is_some());
        // A large answer of another shape is kept whole.
        let list = json!({"sessions": ["x".repeat(MAX_KEPT_ANSWER_BYTES)]});
        assert!(!kept_answer(&Ok(Some(raw(list))), true).unwrap().withheld);
    }

    #[test]
    fn a_withheld_answer_keeps_that_it_succeeded_and_nothing_of_its_data() {
        let secret = json!({"url": "https://social.example/calendar/secret-token.ics"});
        let kept = kept_answer(&Ok(Some(raw(secret))), false).unwrap();
        assert_eq!((kept.code, kept.data, kept.withheld), (0, None, true));
        let failed = kept_answer(&Err(ApiError::NotFound("no".to_owned())), false).unwrap();
        assert!(
            !failed.withheld,
            "failures carry no credential and are kept whole"
        );
    }

    #[test]
    fn the_hash_of_data_ignores_key_order_but_not_values() {
        let one = object(json!({"a": 1, "b": {"c": [1, 2], "d": "x"}}));
        let same = object(json!({"b": {"d": "x", "c": [1, 2]}, "a": 1}));
        let other = object(json!({"a": 1, "b": {"c": [2, 1], "d": "x"}}));
        assert_eq!(data_hash(&one), data_hash(&same));
        assert_ne!(data_hash(&one), data_hash(&other));
        assert_ne!(
            data_hash(&object(json!({"a": "1"}))),
            data_hash(&object(json!({"a": 1})))
        );
    }
}
