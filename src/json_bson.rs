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

use crate::error::{ApiError, FieldPath};

/// Limits applied to a client-defined object.
#[derive(Debug, Clone, Copy)]
pub struct ObjectLimits {
    /// Largest size of the stored BSON document, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of objects and arrays; the object itself is level 1.
    pub max_depth: usize,
}

/// The limits of `customData` and `formSchema` (PRODUCT.md, "Events").
pub const CLIENT_OBJECT_LIMITS: ObjectLimits = ObjectLimits {
    max_bytes: 64 * 1024,
    max_depth: 32,
};

/// Converts a client object into a BSON document, checking the limits.
///
/// The result is a raw document: stored and read back byte for byte, it is never passed
/// through a decoder that could read a `$`-key as Extended JSON.
pub fn object_to_document(
    object: &Map<String, Value>,
    limits: ObjectLimits,
    path: &FieldPath,
) -> Result<RawDocumentBuf, ApiError> {
    let document = convert_object(object, 1, limits.max_depth, path)?;
    let raw = RawDocumentBuf::from_document(&document)
        .map_err(|error| ApiError::invalid(path.clone(), format!("cannot be stored: {error}")))?;
    let size = raw.as_bytes().len();
    if size > limits.max_bytes {
        return Err(ApiError::invalid(
            path.clone(),
            format!(
                "is {size} bytes as BSON, more than the limit of {}",
                limits.max_bytes
            ),
        ));
    }
    Ok(raw)
}

fn convert_object(
    object: &Map<String, Value>,
    depth: usize,
    max_depth: usize,
    path: &FieldPath,
) -> Result<Document, ApiError> {
    if depth > max_depth {
        return Err(ApiError::invalid(
            path.clone(),
            format!("nested deeper than {max_depth} levels"),
        ));
    }
    let mut document = Document::new();
    for (key, value) in object {
        let child = path.field(key);
        if key.contains('\0') {
            return Err(ApiError::invalid(
                child,
                "keys must not contain NUL characters",
            ));
        }
        document.insert(key.clone(), convert_value(value, depth, max_depth, &child)?);
    }
    Ok(document)
}

fn convert_value(
    value: &Value,
    depth: usize,
    max_depth: usize,
    path: &FieldPath,
) -> Result<Bson, ApiError> {
    Ok(match value {
        Value::Null => Bson::Null,
        Value::Bool(flag) => Bson::Boolean(*flag),
        Value::String(text) => Bson::String(text.clone()),
        Value::Number(number) => convert_number(number, path)?,
        Value::Array(items) => {
            if depth + 1 > max_depth {
                return Err(ApiError::invalid(
                    path.clone(),
                    format!("nested deeper than {max_depth} levels"),
                ));
            }
            let converted = items
                .iter()
                .enumerate()
                .map(|(index, item)| convert_value(item, depth + 1, max_depth, &path.index(index)))
                .collect::<Result<Vec<_>, _>>()?;
            Bson::Array(converted)
        }
        Value::Object(object) => {
            Bson::Document(convert_object(object, depth + 1, max_depth, path)?)
        }
    })
}

fn convert_number(number: &Number, path: &FieldPath) -> Result<Bson, ApiError> {
    if let Some(integer) = number.as_i64() {
        return Ok(match i32::try_from(integer) {
            Ok(small) => Bson::Int32(small),
            Err(_) => Bson::Int64(integer),
        });
    }
    if number.is_u64() {
        return Err(ApiError::invalid(
            path.clone(),
            "integer out of range (at most 9223372036854775807)",
        ));
    }
    number
        .as_f64()
        .map(Bson::Double)
        .ok_or_else(|| ApiError::invalid(path.clone(), "not a representable number"))
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
    use serde_json::json;

    fn round_trip(value: Value) -> Value {
        let Value::Object(object) = value else {
            panic!("test input must be an object")
        };
        let document =
            object_to_document(&object, CLIENT_OBJECT_LIMITS, &FieldPath::data()).unwrap();
        Value::Object(document_to_object(&document))
    }

    #[test]
    fn values_come_back_exactly_as_sent() {
        let sent = json!({
            "z": 1, "a": [1, [2, [3.5]], {"k": null}],
            "big": 9_007_199_254_740_993_i64, "neg": -3_000_000_000_i64,
            "one": 1.0, "tiny": 1e-300, "text": "é 😀 中文", "empty": {}, "list": [],
            "a.b": true, "$x": {"$oid": "not an id"}, "$numberLong": "7"
        });
        let back = round_trip(sent.clone());
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&sent).unwrap()
        );
    }

    #[test]
    fn integers_are_stored_as_integers_and_floats_as_doubles() {
        let object = json!({"small": 5, "large": 5_000_000_000_i64, "float": 1.0});
        let document = object_to_document(
            object.as_object().unwrap(),
            CLIENT_OBJECT_LIMITS,
            &FieldPath::data(),
        )
        .unwrap();
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

    /// An object nested `levels` deep: `{"d": 1}` is one level.
    fn nested(levels: usize) -> Map<String, Value> {
        let mut value = json!(1);
        for _ in 0..levels {
            value = json!({ "d": value });
        }
        value.as_object().unwrap().clone()
    }

    #[test]
    fn thirty_two_levels_are_accepted() {
        assert!(object_to_document(&nested(32), CLIENT_OBJECT_LIMITS, &FieldPath::data()).is_ok());
    }

    #[test]
    fn thirty_three_levels_are_rejected_naming_the_field() {
        let path = FieldPath::data().field("customData");
        let error = object_to_document(&nested(33), CLIENT_OBJECT_LIMITS, &path).unwrap_err();
        assert!(
            error.to_string().starts_with("data.customData.d.d"),
            "{error}"
        );
        assert!(error.to_string().contains("deeper than 32"), "{error}");
    }

    #[test]
    fn oversized_objects_are_rejected() {
        let object = json!({ "blob": "x".repeat(70_000) });
        let error = object_to_document(
            object.as_object().unwrap(),
            CLIENT_OBJECT_LIMITS,
            &FieldPath::data().field("formSchema"),
        )
        .unwrap_err();
        assert!(
            error.to_string().starts_with("data.formSchema: is "),
            "{error}"
        );
    }

    #[test]
    fn nul_in_keys_and_unsigned_overflow_are_rejected() {
        let object = json!({ "a\u{0}b": 1 });
        assert!(
            object_to_document(
                object.as_object().unwrap(),
                CLIENT_OBJECT_LIMITS,
                &FieldPath::data()
            )
            .is_err()
        );
        let object = json!({ "n": u64::MAX });
        let error = object_to_document(
            object.as_object().unwrap(),
            CLIENT_OBJECT_LIMITS,
            &FieldPath::data(),
        )
        .unwrap_err();
        assert!(error.to_string().starts_with("data.n:"), "{error}");
    }
}
