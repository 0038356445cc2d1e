//! Client-defined objects (`customData`, `formSchema`): JSON objects the service stores
//! natively and gives back exactly as sent, within limits on size and depth.
//!
//! The size limit applies to the object as it is stored: BSON, with integers as `Int32`
//! when they fit and `Int64` otherwise and every other number as a `Double` (the store's
//! conversion, `store::json_bson`, follows the same rule and its tests check that both
//! agree on every size).

use serde_json::{Map, Number, Value};

use crate::error::{ApiError, FieldPath};

/// Largest size of the stored object, in bytes of BSON.
pub const MAX_STORED_BYTES: usize = 64 * 1024;
/// Deepest nesting of objects and arrays; the object itself is level 1.
pub const MAX_DEPTH: usize = 32;

/// A 400 naming the offending field when `object` cannot be stored as sent: nested deeper
/// than [`MAX_DEPTH`], a key with a NUL character, an integer beyond the signed 64-bit
/// range, or more than [`MAX_STORED_BYTES`] as stored.
pub fn check(object: &Map<String, Value>, path: &FieldPath) -> Result<(), ApiError> {
    let size = object_size(object, 1, path)?;
    if size > MAX_STORED_BYTES {
        return Err(ApiError::invalid(
            path.clone(),
            format!("is {size} bytes as BSON, more than the limit of {MAX_STORED_BYTES}"),
        ));
    }
    Ok(())
}

/// The size of `object` stored as a BSON document; a 400 when it cannot be stored. The
/// store's tests compare it with the documents it writes.
#[cfg(test)]
pub(crate) fn stored_size(object: &Map<String, Value>) -> Result<usize, ApiError> {
    object_size(object, 1, &FieldPath::data())
}

/// The size of `object` stored as a BSON document at nesting level `depth`.
fn object_size(
    object: &Map<String, Value>,
    depth: usize,
    path: &FieldPath,
) -> Result<usize, ApiError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    let mut size = DOCUMENT_FRAME;
    for (key, value) in object {
        let child = path.field(key);
        if key.contains('\0') {
            return Err(ApiError::invalid(
                child,
                "keys must not contain NUL characters",
            ));
        }
        size += element_size(key.len(), value, depth, &child)?;
    }
    Ok(size)
}

/// Length prefix and terminating NUL of a BSON document.
const DOCUMENT_FRAME: usize = 5;

/// The size of one BSON element: type byte, key with its NUL, value.
fn element_size(
    key_bytes: usize,
    value: &Value,
    depth: usize,
    path: &FieldPath,
) -> Result<usize, ApiError> {
    let value_size = match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::String(text) => 4 + text.len() + 1,
        Value::Number(number) => number_size(number, path)?,
        Value::Array(items) => {
            if depth + 1 > MAX_DEPTH {
                return Err(too_deep(path));
            }
            let mut size = DOCUMENT_FRAME;
            for (index, item) in items.iter().enumerate() {
                size += element_size(index.to_string().len(), item, depth + 1, &path.index(index))?;
            }
            size
        }
        Value::Object(object) => object_size(object, depth + 1, path)?,
    };
    Ok(1 + key_bytes + 1 + value_size)
}

fn number_size(number: &Number, path: &FieldPath) -> Result<usize, ApiError> {
    if let Some(integer) = number.as_i64() {
        return Ok(if i32::try_from(integer).is_ok() { 4 } else { 8 });
    }
    if number.is_u64() {
        return Err(ApiError::invalid(
            path.clone(),
            "integer out of range (at most 9223372036854775807)",
        ));
    }
    Ok(8)
}

fn too_deep(path: &FieldPath) -> ApiError {
    ApiError::invalid(
        path.clone(),
        format!("nested deeper than {MAX_DEPTH} levels"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert!(check(&nested(32), &FieldPath::data()).is_ok());
    }

    #[test]
    fn thirty_three_levels_are_rejected_naming_the_field() {
        let path = FieldPath::data().field("customData");
        let error = check(&nested(33), &path).unwrap_err();
        assert!(
            error.to_string().starts_with("data.customData.d.d"),
            "{error}"
        );
        assert!(error.to_string().contains("deeper than 32"), "{error}");
    }

    #[test]
    fn oversized_objects_are_rejected() {
        let object = json!({ "blob": "x".repeat(70_000) });
        let error = check(
            object.as_object().unwrap(),
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
        assert!(check(object.as_object().unwrap(), &FieldPath::data()).is_err());
        let object = json!({ "n": u64::MAX });
        let error = check(object.as_object().unwrap(), &FieldPath::data()).unwrap_err();
        assert!(error.to_string().starts_with("data.n:"), "{error}");
    }
}
