//! Decoding a request's `data` into the endpoint's typed request. A failure is a 400 that
//! names the field path; a missing field and a `null` where a value is required both read
//! "is required".
//!
//! The JSON value is read through a small deserializer of our own whose error type keeps
//! what went wrong as data (a missing field, a `null`, anything else with its message), so
//! that no answer depends on the wording of another library's messages.

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Unexpected, Visitor};
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldPath};

/// Decodes a request's `data` into a typed value; a failure names the field path.
pub fn decode_data<T: DeserializeOwned>(data: Map<String, Value>) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(JsonValue(Value::Object(data))).map_err(|error| {
        let mut path = FieldPath::data();
        for segment in error.path().iter() {
            path = match segment {
                serde_path_to_error::Segment::Seq { index } => path.index(*index),
                serde_path_to_error::Segment::Map { key } => path.field(key),
                serde_path_to_error::Segment::Enum { variant } => path.field(variant),
                serde_path_to_error::Segment::Unknown => path.field("?"),
            };
        }
        match error.into_inner() {
            DecodeError::MissingField(field) => ApiError::invalid(path.field(field), "is required"),
            // `null` counts as absent, also where a value is required.
            DecodeError::Null => ApiError::invalid(path, "is required"),
            DecodeError::Invalid(message) => ApiError::invalid(path, message),
        }
    })
}

/// What went wrong while decoding, as data.
#[derive(Debug)]
enum DecodeError {
    /// A required field is absent.
    MissingField(&'static str),
    /// `null` where a value is required.
    Null,
    /// Anything else, with serde's message.
    Invalid(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::MissingField(field) => write!(f, "missing field `{field}`"),
            DecodeError::Null => f.write_str("is required"),
            DecodeError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DecodeError::Invalid(message.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        DecodeError::MissingField(field)
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        // A JSON `null` reaches a visitor that wants a value as the unit value.
        if unexpected == Unexpected::Unit {
            DecodeError::Null
        } else {
            DecodeError::Invalid(format!("invalid type: {unexpected}, expected {expected}"))
        }
    }
}

/// A JSON value as a serde deserializer with [`DecodeError`] as its error.
struct JsonValue(Value);

impl<'de> IntoDeserializer<'de, DecodeError> for JsonValue {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for JsonValue {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(flag) => visitor.visit_bool(flag),
            Value::Number(number) => {
                if let Some(integer) = number.as_i64() {
                    visitor.visit_i64(integer)
                } else if let Some(integer) = number.as_u64() {
                    visitor.visit_u64(integer)
                } else {
                    visitor.visit_f64(number.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(text) => visitor.visit_string(text),
            Value::Array(items) => {
                let mut items = SeqDeserializer::new(items.into_iter().map(JsonValue));
                let value = visitor.visit_seq(&mut items)?;
                items.end()?;
                Ok(value)
            }
            Value::Object(object) => {
                let mut entries = MapDeserializer::new(
                    object
                        .into_iter()
                        .map(|(key, value)| (key, JsonValue(value))),
                );
                let value = visitor.visit_map(&mut entries)?;
                entries.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(JsonValue(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::String(variant) => visitor.visit_enum(variant.into_deserializer()),
            other => JsonValue(other).deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        event_id: String,
        items: Option<Vec<Item>>,
        limit: Option<i32>,
        custom: Option<Map<String, Value>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        role: i32,
    }

    fn decode(value: Value) -> Result<Sample, ApiError> {
        decode_data(value.as_object().unwrap().clone())
    }

    #[test]
    fn missing_fields_are_named_with_their_path() {
        let error = decode(serde_json::json!({})).unwrap_err();
        assert_eq!(error.to_string(), "data.eventId: is required");
        let error = decode(serde_json::json!({"eventId": "e", "items": [{}]})).unwrap_err();
        assert_eq!(error.to_string(), "data.items[0].role: is required");
    }

    #[test]
    fn wrong_types_inside_arrays_name_the_index() {
        let error =
            decode(serde_json::json!({"eventId": "e", "items": [{"role": 1}, {"role": "x"}]}))
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "data.items[1].role: invalid type: string \"x\", expected i32"
        );
        assert_eq!(error.code(), 400);
    }

    #[test]
    fn numbers_out_of_range_and_floats_are_refused() {
        let error =
            decode(serde_json::json!({"eventId": "e", "limit": 3_000_000_000_u64})).unwrap_err();
        assert!(
            error.to_string().starts_with("data.limit: invalid value"),
            "{error}"
        );
        let error = decode(serde_json::json!({"eventId": "e", "limit": 1.5})).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("data.limit: invalid type: floating point"),
            "{error}"
        );
    }

    #[test]
    fn null_in_a_required_field_reads_as_missing_and_as_absent_in_an_optional_one() {
        let error = decode(serde_json::json!({"eventId": null})).unwrap_err();
        assert_eq!(error.to_string(), "data.eventId: is required");
        let sample = decode(serde_json::json!({"eventId": "e", "items": null})).unwrap();
        assert!(sample.items.is_none());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert!(
            decode(serde_json::json!({"eventId": "e", "newerField": [1, {"x": null}]})).is_ok()
        );
    }

    #[test]
    fn client_objects_keep_their_numbers_and_key_order() {
        let sent =
            serde_json::json!({"z": 1, "a": 1.0, "big": u64::MAX, "n": -5, "o": {"k": [null]}});
        let sample = decode(serde_json::json!({"eventId": "e", "custom": sent.clone()})).unwrap();
        assert_eq!(
            serde_json::to_string(&sample.custom.unwrap()).unwrap(),
            serde_json::to_string(&sent).unwrap()
        );
    }
}
