//! Checks and updates shared by the event and session fields: required fields, text
//! lengths, titles, and copying the fields a request carries.

use crate::error::{ApiError, FieldPath};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest reference to another object (room, resource), in characters.
pub const MAX_REFERENCE_CHARS: usize = 256;

/// A 400 at `path` unless `title` has visible characters and fits [`MAX_TITLE_CHARS`].
pub fn check_title(title: &str, path: &FieldPath) -> Result<(), ApiError> {
    if title.trim().is_empty() {
        return Err(ApiError::invalid(path.clone(), "must not be empty"));
    }
    check_max_chars(title, MAX_TITLE_CHARS, path)
}

/// The text checks events and sessions share: the title, the description, and references
/// to other objects (`(field name, value)`), each when present; `path` is the object's path.
pub fn check_texts(
    path: &FieldPath,
    title: &Option<String>,
    description: &Option<String>,
    references: &[(&str, Option<&str>)],
) -> Result<(), ApiError> {
    if let Some(title) = title {
        check_title(title, &path.field("title"))?;
    }
    if let Some(description) = description {
        check_max_chars(
            description,
            MAX_DESCRIPTION_CHARS,
            &path.field("description"),
        )?;
    }
    for (name, value) in references {
        if let Some(value) = value {
            check_max_chars(value, MAX_REFERENCE_CHARS, &path.field(name))?;
        }
    }
    Ok(())
}

/// A 400 naming the first of `fields` (`(name, present)`, below `path`) that is absent.
pub fn require_present(path: &FieldPath, fields: &[(&str, bool)]) -> Result<(), ApiError> {
    match fields.iter().find(|(_, present)| !present) {
        Some((name, _)) => Err(ApiError::invalid(path.field(name), "is required")),
        None => Ok(()),
    }
}

/// The fields of a request's object (`event`, `session`) that an update may leave out
/// but creating needs: what [`Creating`] describes.
pub trait CreateShape: schemars::JsonSchema {
    /// The name of the shape a create request sends (`NewSession`).
    const CREATE_SCHEMA_NAME: &'static str;
    /// The fields creating requires, by their names on the wire.
    const REQUIRED_TO_CREATE: &'static [&'static str];
    /// What the shape a create request sends is.
    const CREATE_DESCRIPTION: &'static str;
}

/// The schema of the object `F` as a create request sends it: `F`'s fields with
/// [`CreateShape::REQUIRED_TO_CREATE`] required (and not `null`). Used as
/// `#[schemars(with = "Creating<SessionFields>")]` on the field that carries it.
pub struct Creating<F>(std::marker::PhantomData<F>);

impl<F: CreateShape> schemars::JsonSchema for Creating<F> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        F::CREATE_SCHEMA_NAME.into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = F::json_schema(generator);
        if let Some(properties) = schema
            .get_mut("properties")
            .and_then(serde_json::Value::as_object_mut)
        {
            for name in F::REQUIRED_TO_CREATE {
                if let Some(property) = properties.get_mut(*name) {
                    drop_null(property);
                }
            }
        }
        schema.insert("required".into(), F::REQUIRED_TO_CREATE.into());
        schema.insert("description".into(), F::CREATE_DESCRIPTION.into());
        schema
    }
}

/// `schema` without its `null` alternative: `{"type": ["string", "null"]}` becomes
/// `{"type": "string"}`, `{"anyOf": [S, {"type": "null"}]}` becomes `S` (keeping the
/// description).
fn drop_null(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = object.get("type") {
        let kept: Vec<Value> = types
            .iter()
            .filter(|kind| *kind != "null")
            .cloned()
            .collect();
        let kept = match <[Value; 1]>::try_from(kept) {
            Ok([only]) => only,
            Err(kept) => Value::Array(kept),
        };
        object.insert("type".into(), kept);
        if let Some(Value::Array(values)) = object.get_mut("enum") {
            values.retain(|value| !value.is_null());
        }
    }
    if let Some(Value::Array(alternatives)) = object.get("anyOf") {
        let kept: Vec<&Value> = alternatives
            .iter()
            .filter(|alternative| alternative.get("type") != Some(&Value::from("null")))
            .collect();
        if let [only] = kept[..]
            && let Value::Object(only) = only.clone()
        {
            object.remove("anyOf");
            for (key, value) in only {
                object.entry(key).or_insert(value);
            }
        }
    }
}

/// A 400 at `path` when `text` is longer than `max` characters.
pub fn check_max_chars(text: &str, max: usize, path: &FieldPath) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::invalid(
            path.clone(),
            format!("must be at most {max} characters long"),
        ));
    }
    Ok(())
}

/// Copies a field that the request carries onto the stored value; an absent one leaves it.
pub fn set_if_present<T: Clone>(slot: &mut T, value: &Option<T>) {
    if let Some(value) = value {
        *slot = value.clone();
    }
}
