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
