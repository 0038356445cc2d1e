//! Exact conversion between client JSON objects (`customData`, `formSchema`) and native
//! BSON sub-documents.
//!
//! The conversions of the `bson` crate read Extended JSON, so a client key such as `$oid`
//! or `$numberLong` would change meaning, and they widen every integer to 64 bits. Here a
//! value comes back exactly as sent: same keys in the same order, integers stay integers
//! (`Int32` when they fit, `Int64` otherwise), floats stay floats (`1.0` stays `1.0`), and
//! keys containing `.` or starting with `$` are stored as plain keys.

use bson::{Bson, Document, RawBsonRef, RawDocument, RawDocumentBuf};
use serde_json::{Map, Number, Value};

/// Converts a client object into a BSON document. The object was checked against the
/// limits of `domain::client_object` when the request was decoded.
///
/// The result is a raw document: stored and read back byte for byte, it is never passed
/// through a decoder that could read a `$`-key as Extended JSON.
pub fn object_to_document(object: &Map<String, Value>) -> Result<RawDocumentBuf, bson::raw::Error> {
    RawDocumentBuf::from_document(&convert_object(object))
}

fn convert_object(object: &Map<String, Value>) -> Document {
    object
        .iter()
        .map(|(key, value)| (key.clone(), convert_value(value)))
        .collect()
}

fn convert_value(value: &Value) -> Bson {
    match value {
        Value::Null => Bson::Null,
        Value::Bool(flag) => Bson::Boolean(*flag),
        Value::String(text) => Bson::String(text.clone()),
        Value::Number(number) => convert_number(number),
        Value::Array(items) => Bson::Array(items.iter().map(convert_value).collect()),
        Value::Object(object) => Bson::Document(convert_object(object)),
    }
}

/// `Int32` when the integer fits, `Int64` otherwise, `Double` for every other number.
fn convert_number(number: &Number) -> Bson {
    match number.as_i64() {
        Some(integer) => match i32::try_from(integer) {
            Ok(small) => Bson::Int32(small),
            Err(_) => Bson::Int64(integer),
        },
        None => Bson::Double(number.as_f64().unwrap_or(f64::NAN)),
    }
}

/// Converts a stored document back into the JSON object the client sent.
pub fn document_to_object(document: &RawDocument) -> Map<String, Value> {
    document
        .iter()
        .filter_map(Result::ok)
        .map(|(key, value)| (key.to_owned(), raw_to_value(value)))
        .collect()
}

fn raw_to_value(value: RawBsonRef<'_>) -> Value {
    match value {
        RawBsonRef::Null | RawBsonRef::Undefined => Value::Null,
        RawBsonRef::Boolean(flag) => Value::Bool(flag),
        RawBsonRef::String(text) => Value::String(text.to_owned()),
        RawBsonRef::Int32(integer) => Value::from(integer),
        RawBsonRef::Int64(integer) => Value::from(integer),
        RawBsonRef::Double(float) => Number::from_f64(float).map_or(Value::Null, Value::Number),
        RawBsonRef::Array(items) => Value::Array(
            items
                .into_iter()
                .filter_map(Result::ok)
                .map(raw_to_value)
                .collect(),
        ),
        RawBsonRef::Document(document) => Value::Object(document_to_object(document)),
        // Only values written by `object_to_document` are expected; anything else that an
        // operator put into the database is shown in relaxed Extended JSON.
        other => Bson::try_from(other).map_or(Value::Null, Bson::into_relaxed_extjson),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client_object;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        let Value::Object(object) = value else {
            panic!("test input must be an object")
        };
        object
    }

    #[test]
    fn values_come_back_exactly_as_sent() {
        let sent = json!({
            "z": 1, "a": [1, [2, [3.5]], {"k": null}],
            "big": 9_007_199_254_740_993_i64, "neg": -3_000_000_000_i64,
            "one": 1.0, "tiny": 1e-300, "text": "é 😀 中文", "empty": {}, "list": [],
            "a.b": true, "$x": {"$oid": "not an id"}, "$numberLong": "7"
        });
        let document = object_to_document(&object(sent.clone())).unwrap();
        let back = Value::Object(document_to_object(&document));
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&sent).unwrap()
        );
    }

    #[test]
    fn integers_are_stored_as_integers_and_floats_as_doubles() {
        let sent = json!({"small": 5, "large": 5_000_000_000_i64, "float": 1.0});
        let document = object_to_document(&object(sent)).unwrap();
        assert_eq!(document.get("small").unwrap(), Some(RawBsonRef::Int32(5)));
        assert_eq!(
            document.get("large").unwrap(),
            Some(RawBsonRef::Int64(5_000_000_000))
        );
        assert_eq!(
            document.get("float").unwrap(),
            Some(RawBsonRef::Double(1.0))
        );
    }

    #[test]
    fn the_size_limit_counts_the_bytes_actually_stored() {
        let samples = [
            json!({}),
            json!({"a": 1, "b": 5_000_000_000_i64, "c": 2.5, "d": null, "e": true}),
            json!({"text": "é 😀 中文", "list": [1, "x", [null, {"k": []}]], "$x": {"a.b": {}}}),
            json!({"many": (0..120).collect::<Vec<_>>(), "neg": -3_000_000_000_i64}),
        ];
        for sample in samples {
            let sample = object(sample);
            let stored = object_to_document(&sample).unwrap().as_bytes().len();
            assert_eq!(
                client_object::stored_size(&sample).unwrap(),
                stored,
                "{sample:?}"
            );
        }
    }
}

/// Properties over arbitrary client objects (`PROPTEST_CASES` raises the case count).
#[cfg(test)]
mod properties {
    use super::*;
    use crate::domain::client_object;
    use crate::error::FieldPath;
    use proptest::prelude::*;

    /// Any JSON value a client can send, nested a few levels.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (i64::MAX as u64..=u64::MAX).prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON numbers are finite", |float| float.is_finite())
                .prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((".{0,8}", inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn json_object() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec((".{0,8}", json_value()), 0..8)
            .prop_map(|entries| entries.into_iter().collect())
    }

    proptest! {
        #[test]
        fn accepted_objects_round_trip_exactly_and_refused_ones_name_a_field(object in json_object()) {
            match client_object::check(&object, &FieldPath::data().field("customData")) {
                Ok(()) => {
                    let stored = object_to_document(&object).expect("an accepted object is stored");
                    prop_assert_eq!(client_object::stored_size(&object).unwrap(), stored.as_bytes().len());
                    let back = document_to_object(&stored);
                    prop_assert_eq!(
                        serde_json::to_string(&back).unwrap(),
                        serde_json::to_string(&object).unwrap()
                    );
                }
                Err(error) => {
                    prop_assert_eq!(error.code(), 400);
                    prop_assert!(error.to_string().starts_with("data.customData"));
                }
            }
        }
    }
}
