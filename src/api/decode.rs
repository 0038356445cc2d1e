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
            DecodeError::Invalid(format!(
                "invalid type: expected {}, got {}",
                json_type(&expected.to_string()),
                json_value(&unexpected)
            ))
        }
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        DecodeError::Invalid(format!(
            "invalid value: expected {}, got {}",
            json_range(&expected.to_string()),
            json_value(&unexpected)
        ))
    }

    fn invalid_length(length: usize, expected: &dyn de::Expected) -> Self {
        DecodeError::Invalid(format!(
            "invalid length {length}: expected {}",
            json_type(&expected.to_string())
        ))
    }
}

/// What serde calls the Rust type a value was decoded into (`i64`, `a sequence`,
/// `struct EventFields`), as a JavaScript developer calls the JSON value it takes
/// (`an integer`, `an array`, `an object`). Descriptions of the service's own types
/// (`milliseconds since the Unix epoch or an RFC 3339 string`) pass as they are.
fn json_type(expected: &str) -> String {
    let json = match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "u8" | "u16" | "u32" | "u64" | "u128" => {
            "an integer"
        }
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "a boolean",
        "a string" | "a borrowed string" | "a character" | "char" | "string" => "a string",
        "a sequence" | "byte array" => "an array",
        "a map" => "an object",
        "unit" => "null",
        other if other.starts_with("struct ") => "an object",
        other if other.starts_with("a tuple") || other.starts_with("tuple ") => "an array",
        other => return other.to_owned(),
    };
    json.to_owned()
}

/// [`json_type`], with the range of an integer type: what a number out of range needed.
fn json_range(expected: &str) -> String {
    fn between(low: impl fmt::Display, high: impl fmt::Display) -> String {
        format!("an integer from {low} to {high}")
    }
    match expected {
        "i8" => between(i8::MIN, i8::MAX),
        "i16" => between(i16::MIN, i16::MAX),
        "i32" => between(i32::MIN, i32::MAX),
        "i64" => between(i64::MIN, i64::MAX),
        "u8" => between(0, u8::MAX),
        "u16" => between(0, u16::MAX),
        "u32" => between(0, u32::MAX),
        "u64" => between(0, u64::MAX),
        other => json_type(other),
    }
}

/// A value the client sent, named as JSON names it: `the string "10"`, `the number 1.5`.
fn json_value(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(flag) => format!("the boolean {flag}"),
        Unexpected::Unsigned(number) => format!("the number {number}"),
        Unexpected::Signed(number) => format!("the number {number}"),
        Unexpected::Float(number) => format!("the number {number:?}"),
        Unexpected::Char(character) => format!("the string {:?}", character.to_string()),
        Unexpected::Str(text) => format!("the string {}", Value::String((*text).to_owned())),
        Unexpected::Unit | Unexpected::Option => "null".to_owned(),
        Unexpected::Seq => "an array".to_owned(),
        Unexpected::Map | Unexpected::StructVariant => "an object".to_owned(),
        other => other.to_string(),
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
            "data.items[1].role: invalid type: expected an integer, got the string \"x\""
        );
        assert_eq!(error.code(), 400);
    }

    #[test]
    fn numbers_out_of_range_and_floats_are_refused() {
        let error =
            decode(serde_json::json!({"eventId": "e", "limit": 3_000_000_000_u64})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "data.limit: invalid value: expected an integer from -2147483648 to 2147483647, \
             got the number 3000000000"
        );
        let error = decode(serde_json::json!({"eventId": "e", "limit": 1.5})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "data.limit: invalid type: expected an integer, got the number 1.5"
        );
    }

    #[test]
    fn types_are_named_as_json_names_them() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Typed {
            count: Option<u64>,
            small: Option<i32>,
            price: Option<f64>,
            flag: Option<bool>,
            name: Option<String>,
            list: Option<Vec<String>>,
            object: Option<Map<String, Value>>,
            item: Option<Item>,
        }
        let cases = [
            (
                "count",
                serde_json::json!("10"),
                "expected an integer, got the string \"10\"",
            ),
            (
                "small",
                serde_json::json!(true),
                "expected an integer, got the boolean true",
            ),
            (
                "price",
                serde_json::json!("1.5"),
                "expected a number, got the string \"1.5\"",
            ),
            (
                "flag",
                serde_json::json!(1),
                "expected a boolean, got the number 1",
            ),
            (
                "name",
                serde_json::json!(2.0),
                "expected a string, got the number 2.0",
            ),
            (
                "list",
                serde_json::json!({}),
                "expected an array, got an object",
            ),
            (
                "object",
                serde_json::json!([1]),
                "expected an object, got an array",
            ),
            (
                "item",
                serde_json::json!("x"),
                "expected an object, got the string \"x\"",
            ),
        ];
        for (field, value, message) in cases {
            let mut data = Map::new();
            data.insert(field.to_owned(), value);
            let error = decode_data::<Typed>(data).unwrap_err().to_string();
            assert_eq!(error, format!("data.{field}: invalid type: {message}"));
        }
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
