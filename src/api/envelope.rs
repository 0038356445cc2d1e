//! The wire envelope: decoding request frames and encoding response and push frames.
//!
//! A frame's `data` stays raw JSON here; the endpoint registry turns it into the
//! endpoint's typed request once the endpoint is known.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::domain::time::Timestamp;
use crate::error::{ApiError, FieldPath, code};
use crate::push::PushFrame;

/// A decoded request frame.
#[derive(Debug)]
pub struct Request {
    pub endpoint: String,
    pub data: Map<String, Value>,
    /// The client's correlation id, echoed in the response.
    pub event_id: Option<String>,
}

/// A frame that could not be decoded, with whatever could be read of it for the answer.
#[derive(Debug)]
pub struct Undecodable {
    pub endpoint: String,
    pub event_id: Option<String>,
    pub error: ApiError,
}

/// Longest `endpoint`, in bytes.
pub const MAX_ENDPOINT_BYTES: usize = 64;
/// Longest `event.id`, in characters.
pub const MAX_EVENT_ID_CHARS: usize = 128;

/// Whether `endpoint` is a name the protocol allows: 1 to [`MAX_ENDPOINT_BYTES`] bytes of
/// `A-Z a-z 0-9 : _ . -`. Anything else is never echoed.
fn is_endpoint_name(endpoint: &str) -> bool {
    (1..=MAX_ENDPOINT_BYTES).contains(&endpoint.len())
        && endpoint
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b':' | b'_' | b'.' | b'-'))
}

/// Decodes one text frame.
pub fn decode(text: &str) -> Result<Request, Undecodable> {
    let fail = |endpoint: String, event_id: Option<String>, message: String| Undecodable {
        endpoint,
        event_id,
        error: ApiError::BadFrame(message),
    };
    let value: Value = serde_json::from_str(text).map_err(|error| {
        fail(
            String::new(),
            None,
            format!("frame is not valid JSON: {error}"),
        )
    })?;
    let Value::Object(mut frame) = value else {
        return Err(fail(
            String::new(),
            None,
            "frame must be a JSON object".to_owned(),
        ));
    };
    let endpoint_field = frame.remove("endpoint");
    let readable_endpoint = match &endpoint_field {
        Some(Value::String(endpoint)) if is_endpoint_name(endpoint) => endpoint.clone(),
        _ => String::new(),
    };
    let event_id = match frame.get("event") {
        None | Some(Value::Null) => None,
        Some(Value::Object(stamp)) => match stamp.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if id.chars().count() <= MAX_EVENT_ID_CHARS => Some(id.clone()),
            Some(Value::String(_)) => {
                let message =
                    format!("event.id: must be at most {MAX_EVENT_ID_CHARS} characters long");
                return Err(fail(readable_endpoint, None, message));
            }
            Some(_) => {
                let message = "event.id: must be a string".to_owned();
                return Err(fail(readable_endpoint, None, message));
            }
        },
        Some(_) => {
            let message = "event: must be an object".to_owned();
            return Err(fail(readable_endpoint, None, message));
        }
    };
    let endpoint = match endpoint_field {
        Some(Value::String(endpoint)) if is_endpoint_name(&endpoint) => endpoint,
        None | Some(Value::Null) => {
            return Err(fail(
                String::new(),
                event_id,
                "endpoint: is required".to_owned(),
            ));
        }
        // Empty, too long, other characters, or not a string at all.
        Some(_) => {
            return Err(fail(
                String::new(),
                event_id,
                format!(
                    "endpoint: invalid: must be a string of 1 to {MAX_ENDPOINT_BYTES} bytes of letters, digits and : _ . -"
                ),
            ));
        }
    };
    let data = match frame.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(data)) => data,
        Some(_) => {
            let error = ApiError::invalid(FieldPath::data(), "must be an object");
            return Err(Undecodable {
                endpoint,
                event_id,
                error,
            });
        }
    };
    Ok(Request {
        endpoint,
        data,
        event_id,
    })
}

/// Endpoint name of the frame sent when the caller's token expires while connected.
pub const TOKEN_EXPIRED_ENDPOINT: &str = "social:tokenExpired";

/// The `error` object present in every answer.
#[derive(Debug, Serialize)]
struct WireError {
    status: bool,
    code: u16,
    message: String,
}

/// The `event` stamp: the correlation id and the server's time.
#[derive(Debug, Serialize)]
struct EventStamp<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    date: Timestamp,
}

#[derive(Debug, Serialize)]
struct Frame<'a, D: Serialize + ?Sized> {
    endpoint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a D>,
    error: WireError,
    event: EventStamp<'a>,
}

impl<'a, D: Serialize + ?Sized> Frame<'a, D> {
    fn success(endpoint: &'a str, event_id: Option<&'a str>, data: Option<&'a D>) -> Self {
        Frame {
            endpoint,
            data,
            error: WireError {
                status: false,
                code: code::OK,
                message: String::new(),
            },
            event: EventStamp {
                id: event_id,
                date: Timestamp::now(),
            },
        }
    }
}

/// Encodes a successful answer. `data` is omitted when `None`.
pub fn encode_success<D: Serialize + ?Sized>(
    endpoint: &str,
    event_id: Option<&str>,
    data: Option<&D>,
) -> String {
    encode(Frame::success(endpoint, event_id, data))
}

/// Encodes a push, stamped with the time it is written.
pub fn encode_push(push: &PushFrame) -> String {
    let data: &RawValue = &push.data;
    encode(Frame::success(
        push.endpoint,
        Some(&push.event_id),
        Some(data),
    ))
}

/// Encodes an answer recorded for the retries of its request (`api::retries`), stamped
/// now: its `data` (JSON text, sent as it is), or its failure's code and message.
pub fn encode_recorded(
    endpoint: &str,
    event_id: Option<&str>,
    answer: &crate::store::request_answers::RecordedAnswer,
) -> String {
    if answer.code != 0 {
        return encode(Frame::<Value> {
            endpoint,
            data: None,
            error: WireError {
                status: true,
                code: u16::try_from(answer.code).unwrap_or(code::INTERNAL),
                message: answer.message.clone(),
            },
            event: EventStamp {
                id: event_id,
                date: Timestamp::now(),
            },
        });
    }
    let data = answer
        .data
        .as_deref()
        .and_then(|text| RawValue::from_string(text.to_owned()).ok());
    encode(Frame::success(endpoint, event_id, data.as_deref()))
}

/// Encodes a failed answer: no `data`, `error.status` true.
pub fn encode_failure(endpoint: &str, event_id: Option<&str>, error: &ApiError) -> String {
    let failure = error.report();
    encode(Frame::<Value> {
        endpoint,
        data: None,
        error: WireError {
            status: true,
            code: failure.code,
            message: failure.message,
        },
        event: EventStamp {
            id: event_id,
            date: Timestamp::now(),
        },
    })
}

fn encode<D: Serialize + ?Sized>(frame: Frame<'_, D>) -> String {
    // A frame of strings, integers and already-valid JSON values always serialises.
    serde_json::to_string(&frame).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_err(text: &str) -> Undecodable {
        decode(text).expect_err("frame should be refused")
    }

    #[test]
    fn a_full_request_is_decoded() {
        let request = decode(
            r#"{"endpoint":"social:getEvent","data":{"eventId":"e1"},"event":{"id":"c-17","date":1}}"#,
        )
        .unwrap();
        assert_eq!(request.endpoint, "social:getEvent");
        assert_eq!(request.event_id.as_deref(), Some("c-17"));
        assert_eq!(request.data["eventId"], "e1");
    }

    #[test]
    fn event_and_data_may_be_omitted() {
        let request = decode(r#"{"endpoint":"social:getEvents"}"#).unwrap();
        assert!(request.event_id.is_none());
        assert!(request.data.is_empty());
    }

    #[test]
    fn invalid_json_is_a_bad_frame_without_id() {
        let refused = decode_err("{not json");
        assert_eq!(refused.error.code(), 400);
        assert!(refused.event_id.is_none());
        assert_eq!(decode_err("[1,2]").error.code(), 400);
    }

    #[test]
    fn a_missing_endpoint_keeps_the_event_id_for_the_answer() {
        let refused = decode_err(r#"{"data":{},"event":{"id":"x1"}}"#);
        assert_eq!(refused.event_id.as_deref(), Some("x1"));
        assert_eq!(refused.error.to_string(), "endpoint: is required");
    }

    #[test]
    fn a_malformed_event_stamp_keeps_the_endpoint_for_the_answer() {
        let refused = decode_err(r#"{"endpoint":"social:getEvent","event":{"id":5}}"#);
        assert_eq!(refused.endpoint, "social:getEvent");
        assert_eq!(refused.error.to_string(), "event.id: must be a string");
    }

    #[test]
    fn endpoint_names_outside_the_allowed_set_are_refused_and_never_echoed() {
        let long = "x".repeat(65);
        for name in [long.as_str(), "social:get Event", "social:get\nEvent", "é"] {
            let frame = json!({"endpoint": name, "event": {"id": "e1"}}).to_string();
            let refused = decode_err(&frame);
            assert_eq!(refused.endpoint, "", "{name:?}");
            assert_eq!(refused.event_id.as_deref(), Some("e1"));
            assert!(refused.error.to_string().starts_with("endpoint: invalid"));
        }
        let longest = "a".repeat(64);
        assert!(decode(&json!({"endpoint": longest}).to_string()).is_ok());
    }

    #[test]
    fn an_event_id_longer_than_128_characters_is_refused_without_echo() {
        let frame = json!({"endpoint": "social:getEvent", "event": {"id": "é".repeat(129)}});
        let refused = decode_err(&frame.to_string());
        assert_eq!(refused.endpoint, "social:getEvent");
        assert!(refused.event_id.is_none());
        assert!(refused.error.to_string().starts_with("event.id: "));
        let frame = json!({"endpoint": "social:getEvent", "event": {"id": "é".repeat(128)}});
        assert_eq!(
            decode(&frame.to_string())
                .unwrap()
                .event_id
                .unwrap()
                .chars()
                .count(),
            128
        );
    }

    #[test]
    fn data_that_is_not_an_object_names_data() {
        let refused = decode_err(r#"{"endpoint":"social:getEvent","data":[1]}"#);
        assert_eq!(refused.endpoint, "social:getEvent");
        assert_eq!(refused.error.to_string(), "data: must be an object");
    }

    #[test]
    fn failures_have_no_data_and_a_status() {
        let frame = encode_failure("social:x", Some("c1"), &ApiError::not_found("event"));
        let frame: Value = serde_json::from_str(&frame).unwrap();
        assert!(frame.get("data").is_none());
        assert_eq!(
            frame["error"],
            json!({"status": true, "code": 404, "message": "event not found"})
        );
        assert_eq!(frame["event"]["id"], "c1");
        assert!(frame["event"]["date"].is_i64());
    }

    #[test]
    fn successes_without_data_omit_the_key() {
        let frame: Value =
            serde_json::from_str(&encode_success("social:x", None, None::<&Value>)).unwrap();
        assert!(frame.get("data").is_none());
        assert_eq!(
            frame["error"],
            json!({"status": false, "code": 0, "message": ""})
        );
        assert!(frame["event"].get("id").is_none());
    }
}

/// Properties over arbitrary frames (`PROPTEST_CASES` raises the case count).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The one answer a refused frame gets, as the connection sends it.
    fn answer(refused: &Undecodable) -> Value {
        let text = encode_failure(
            &refused.endpoint,
            refused.event_id.as_deref(),
            &refused.error,
        );
        serde_json::from_str(&text).expect("answers are JSON")
    }

    fn frame_like() -> impl Strategy<Value = String> {
        let endpoint = prop_oneof![
            Just(json!("social:getEvent")),
            ".{0,80}".prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            Just(Value::Null),
        ];
        let event = prop_oneof![
            Just(Value::Null),
            ".{0,140}".prop_map(|id| json!({"id": id})),
            any::<bool>().prop_map(|flag| json!({"id": flag})),
            Just(json!([])),
        ];
        let data = prop_oneof![
            Just(json!({})),
            Just(json!([1])),
            Just(json!("x")),
            Just(Value::Null)
        ];
        (endpoint, event, data).prop_map(|(endpoint, event, data)| {
            json!({"endpoint": endpoint, "event": event, "data": data}).to_string()
        })
    }

    proptest! {
        #[test]
        fn arbitrary_text_gets_a_request_or_one_400_answer(text in ".{0,300}") {
            if let Err(refused) = decode(&text) {
                prop_assert_eq!(refused.error.code(), 400);
                prop_assert_eq!(answer(&refused)["error"]["status"].clone(), json!(true));
            }
        }

        #[test]
        fn frames_get_a_bounded_request_or_a_400_that_echoes_only_what_is_allowed(text in frame_like()) {
            match decode(&text) {
                Ok(request) => {
                    prop_assert!(request.endpoint.len() <= MAX_ENDPOINT_BYTES);
                    prop_assert!(request.event_id.iter().all(|id| id.chars().count() <= MAX_EVENT_ID_CHARS));
                }
                Err(refused) => {
                    prop_assert_eq!(refused.error.code(), 400);
                    prop_assert!(refused.endpoint.is_empty() || is_endpoint_name(&refused.endpoint));
                    let answer = answer(&refused);
                    let echoed = answer["event"].get("id").and_then(Value::as_str).map(|id| id.chars().count());
                    prop_assert!(echoed.is_none_or(|length| length <= MAX_EVENT_ID_CHARS));
                }
            }
        }
    }
}
