//! Comparing a received frame with a fixture's expectation.
//!
//! Every value listed in the expectation is compared; values the expectation leaves out
//! are not. Objects match when each listed key matches; arrays match element by element
//! and must have the same length; other values must be equal (`1` and `1.0` differ). A
//! string `{{…}}` is a matcher:
//!
//! | matcher | matches |
//! |---|---|
//! | `{{any}}` | any value, which must be present |
//! | `{{absent}}` | the key must be absent |
//! | `{{string}}`, `{{number}}`, `{{integer}}`, `{{bool}}`, `{{object}}`, `{{array}}` | a value of that type |
//! | `{{id}}` | a non-empty string |
//! | `{{timestamp}}` | an integer of milliseconds since the epoch (13 digits: seconds fail) |
//! | `{{capture NAME}}` | any present value, remembered as variable `NAME` |

use std::collections::BTreeMap;

use serde_json::Value;

/// Variables captured from earlier frames, by name.
pub type Variables = BTreeMap<String, Value>;

/// Compares `actual` with `expected`; answers the differences, one readable line each,
/// and records captures in `variables`.
pub fn compare(expected: &Value, actual: &Value, variables: &mut Variables) -> Vec<String> {
    let mut differences = Vec::new();
    compare_at("", expected, Some(actual), variables, &mut differences);
    differences
}

fn compare_at(
    path: &str,
    expected: &Value,
    actual: Option<&Value>,
    variables: &mut Variables,
    differences: &mut Vec<String>,
) {
    let shown_path = if path.is_empty() { "(frame)" } else { path };
    if let Some(matcher) = expected.as_str().and_then(matcher_of) {
        if let Err(problem) = apply_matcher(matcher, actual, variables) {
            differences.push(format!("{shown_path}: {problem}"));
        }
        return;
    }
    let Some(actual) = actual else {
        differences.push(format!(
            "{shown_path}: expected {expected}, but it is absent"
        ));
        return;
    };
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                compare_at(&child, value, actual.get(key), variables, differences);
            }
        }
        (Value::Array(expected), Value::Array(actual)) => {
            if expected.len() != actual.len() {
                differences.push(format!(
                    "{shown_path}: expected {} elements, got {}",
                    expected.len(),
                    actual.len()
                ));
                return;
            }
            for (index, (value, got)) in expected.iter().zip(actual).enumerate() {
                compare_at(
                    &format!("{path}[{index}]"),
                    value,
                    Some(got),
                    variables,
                    differences,
                );
            }
        }
        (expected, actual) if expected == actual => {}
        (expected, actual) => {
            differences.push(format!("{shown_path}: expected {expected}, got {actual}"));
        }
    }
}

fn matcher_of(text: &str) -> Option<&str> {
    text.strip_prefix("{{")?.strip_suffix("}}").map(str::trim)
}

fn apply_matcher(
    matcher: &str,
    actual: Option<&Value>,
    variables: &mut Variables,
) -> Result<(), String> {
    if matcher == "absent" {
        return match actual {
            None => Ok(()),
            Some(value) => Err(format!("expected no value, got {value}")),
        };
    }
    let Some(actual) = actual else {
        return Err(format!("expected {{{{{matcher}}}}}, but it is absent"));
    };
    if let Some(name) = matcher.strip_prefix("capture ") {
        variables.insert(name.trim().to_owned(), actual.clone());
        return Ok(());
    }
    let matched = match matcher {
        "any" => true,
        "string" => actual.is_string(),
        "number" => actual.is_number(),
        "integer" => actual.is_i64() || actual.is_u64(),
        // Milliseconds: from September 2001 to the year 2286.
        "timestamp" => actual
            .as_i64()
            .is_some_and(|millis| (1_000_000_000_000..10_000_000_000_000).contains(&millis)),
        "bool" => actual.is_boolean(),
        "object" => actual.is_object(),
        "array" => actual.is_array(),
        "id" => actual.as_str().is_some_and(|id| !id.is_empty()),
        unknown => return Err(format!("unknown matcher {{{{{unknown}}}}}")),
    };
    if matched {
        Ok(())
    } else {
        Err(format!("expected {{{{{matcher}}}}}, got {actual}"))
    }
}

/// Replaces `${NAME}` in every string of `value` by variable `NAME`: a string that is
/// exactly `${NAME}` becomes the variable's value (of any type); inside a longer string,
/// the variable's text is inserted. Unknown names are an error.
pub fn substitute(value: &Value, variables: &Variables) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => substitute_text(text, variables)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| substitute(item, variables))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let key = match substitute_text(key, variables)? {
                        Value::String(key) => key,
                        other => other.to_string(),
                    };
                    Ok((key, substitute(value, variables)?))
                })
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute_text(text: &str, variables: &Variables) -> Result<Value, String> {
    if let Some(name) = text
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        && !name.contains("${")
        && !name.contains('}')
    {
        return variables
            .get(name)
            .cloned()
            .ok_or_else(|| format!("unknown variable ${{{name}}}"));
    }
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        result.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed variable in {text:?}"))?;
        let name = &after[..end];
        match variables.get(name) {
            Some(Value::String(value)) => result.push_str(value),
            Some(value) => result.push_str(&value.to_string()),
            None => return Err(format!("unknown variable ${{{name}}}")),
        }
        rest = &after[end + 1..];
    }
    result.push_str(rest);
    Ok(Value::String(result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listed_values_are_compared_and_others_ignored() {
        let mut variables = Variables::new();
        let actual = json!({"data": {"event": {"id": "e1", "title": "T", "extra": 1}}, "error": {"code": 0}});
        assert!(
            compare(
                &json!({"data": {"event": {"title": "T"}}}),
                &actual,
                &mut variables
            )
            .is_empty()
        );
        let differences = compare(
            &json!({"data": {"event": {"title": "U"}}}),
            &actual,
            &mut variables,
        );
        assert_eq!(differences, [r#"data.event.title: expected "U", got "T""#]);
    }

    #[test]
    fn arrays_compare_every_element_and_their_length() {
        let mut variables = Variables::new();
        let differences = compare(
            &json!({"list": [1, 2]}),
            &json!({"list": [1, 2, 3]}),
            &mut variables,
        );
        assert_eq!(differences, ["list: expected 2 elements, got 3"]);
        let differences = compare(
            &json!([{"a": 1}]),
            &json!([{"a": 2, "b": 3}]),
            &mut variables,
        );
        assert_eq!(differences, ["[0].a: expected 1, got 2"]);
    }

    #[test]
    fn integers_and_floats_differ() {
        let mut variables = Variables::new();
        assert_eq!(
            compare(&json!({"price": 1}), &json!({"price": 1.0}), &mut variables).len(),
            1
        );
    }

    #[test]
    fn matchers_check_types_presence_and_absence() {
        let mut variables = Variables::new();
        let actual = json!({"id": "x", "date": 1_764_100_000_123_i64, "flag": true});
        let expected = json!({"id": "{{id}}", "date": "{{timestamp}}", "flag": "{{bool}}", "data": "{{absent}}"});
        assert!(compare(&expected, &actual, &mut variables).is_empty());
        let differences = compare(
            &json!({"id": "{{number}}", "missing": "{{any}}"}),
            &actual,
            &mut variables,
        );
        assert_eq!(differences.len(), 2, "{differences:?}");
        assert!(
            compare(&json!({"id": "{{absent}}"}), &actual, &mut variables)[0]
                .contains("expected no value")
        );
    }

    #[test]
    fn captures_feed_later_substitutions() {
        let mut variables = Variables::new();
        compare(
            &json!({"id": "{{capture eventId}}", "n": "{{capture count}}"}),
            &json!({"id": "e-9", "n": 3}),
            &mut variables,
        );
        let request = json!({"eventId": "${eventId}", "label": "event ${eventId} of ${count}", "n": "${count}"});
        assert_eq!(
            substitute(&request, &variables).unwrap(),
            json!({"eventId": "e-9", "label": "event e-9 of 3", "n": 3})
        );
        assert!(substitute(&json!("${nope}"), &variables).is_err());
    }
}
