//! Known fields sent in the wrong object. Unknown fields of a request are ignored (a
//! client may be newer than the server), but a field that this request knows one level
//! up or down — `title` beside `event` instead of inside it, `usersToInvite` inside
//! `session` — is a client's mistake that would otherwise be dropped without a word: it is
//! a 400 that names where the field belongs.
//!
//! What is known where is read from the request's JSON Schema (the one the AsyncAPI
//! document shows): the fields of `data`, and the fields of each object among them
//! (`event`, `session`). Client-defined objects (`customData`, `formSchema`) list no
//! fields, so nothing inside them is ever taken for a misplaced field. A field known in
//! both places (`formSchema` of `createEvent` and `updateEvent`) is not misplaced in
//! either.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use schemars::Schema;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldPath};

/// Where the fields of one request belong.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The fields of `data`.
    top: BTreeSet<String>,
    /// The fields of each object-valued field of `data`, by that field.
    nested: BTreeMap<String, BTreeSet<String>>,
}

/// The placement of each endpoint's request, by endpoint name, read from its schema at
/// the endpoint's first request.
static BY_ENDPOINT: LazyLock<RwLock<BTreeMap<&'static str, Arc<Placement>>>> =
    LazyLock::new(RwLock::default);

impl Placement {
    /// The placement of the request of endpoint `name`, whose `data` has the schema
    /// `schema` makes.
    pub fn of_endpoint(name: &'static str, schema: fn() -> Schema) -> Arc<Placement> {
        if let Some(known) = BY_ENDPOINT
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Arc::clone(known);
        }
        let placement = Arc::new(Placement::of(&schema()));
        BY_ENDPOINT
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, Arc::clone(&placement));
        placement
    }

    /// The placement of the fields of a request whose `data` has `schema`.
    pub fn of(schema: &Schema) -> Placement {
        let root = properties(schema.as_value());
        let nested = root
            .iter()
            .filter_map(|(name, field)| {
                let inner = properties(field);
                (!inner.is_empty()).then(|| (name.clone(), inner.into_keys().collect()))
            })
            .collect();
        Placement {
            top: root.into_keys().collect(),
            nested,
        }
    }

    /// A 400 naming the first known field of `data` that was sent in the wrong object, and
    /// where it belongs.
    pub fn check(&self, data: &Map<String, Value>) -> Result<(), ApiError> {
        let data_path = FieldPath::data();
        for key in data.keys().filter(|key| !self.top.contains(*key)) {
            let homes: Vec<&str> = self
                .nested
                .iter()
                .filter(|(_, fields)| fields.contains(key))
                .map(|(home, _)| home.as_str())
                .collect();
            if let Some(home) = homes.first() {
                let right = data_path.field(home).field(key);
                return Err(ApiError::invalid(
                    data_path.field(key),
                    format!("belongs inside data.{home}: send it as {right}"),
                ));
            }
        }
        for (home, fields) in &self.nested {
            let Some(Value::Object(object)) = data.get(home) else {
                continue;
            };
            if let Some(key) = object
                .keys()
                .find(|key| !fields.contains(*key) && self.top.contains(*key))
            {
                return Err(ApiError::invalid(
                    data_path.field(home).field(key),
                    format!(
                        "belongs beside data.{home}, not inside it: send it as {}",
                        data_path.field(key)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The properties a schema names, with their schemas: its own and those of the schemas
/// it combines (`anyOf`, `oneOf`, `allOf`: an optional object is "that object or null").
fn properties(schema: &Value) -> BTreeMap<String, Value> {
    let mut found = BTreeMap::new();
    if let Some(Value::Object(own)) = schema.get("properties") {
        found.extend(
            own.iter()
                .map(|(name, field)| (name.clone(), field.clone())),
        );
    }
    for combined in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(parts)) = schema.get(combined) {
            for part in parts {
                for (name, field) in properties(part) {
                    found.entry(name).or_insert(field);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Request {
        event_id: String,
        event: Option<Fields>,
        form_schema: Option<Map<String, Value>>,
        custom_data: Option<Map<String, Value>>,
    }

    #[derive(Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Fields {
        title: Option<String>,
        form_schema: Option<Map<String, Value>>,
    }

    fn placement() -> Placement {
        let mut settings = schemars::generate::SchemaSettings::draft2020_12();
        settings.inline_subschemas = true;
        Placement::of(&settings.into_generator().into_root_schema_for::<Request>())
    }

    fn check(data: Value) -> Result<(), String> {
        let Value::Object(data) = data else {
            unreachable!("an object")
        };
        placement().check(&data).map_err(|error| error.to_string())
    }

    #[test]
    fn a_field_of_the_inner_object_sent_beside_it_names_where_it_belongs() {
        assert_eq!(
            check(json!({"eventId": "e", "title": "Launch"})).unwrap_err(),
            "data.title: belongs inside data.event: send it as data.event.title"
        );
    }

    #[test]
    fn a_field_of_data_sent_inside_an_inner_object_names_where_it_belongs() {
        assert_eq!(
            check(json!({"event": {"eventId": "e"}})).unwrap_err(),
            "data.event.eventId: belongs beside data.event, not inside it: send it as \
             data.eventId"
        );
    }

    #[test]
    fn unknown_fields_fields_known_in_both_places_and_client_objects_pass() {
        check(json!({
            "eventId": "e",
            "newerField": 1,
            "formSchema": {},
            "event": {"title": "t", "formSchema": {}, "newerInner": true},
            // Client-defined objects hold anything, known names included.
            "customData": {"title": "x", "eventId": "y"},
        }))
        .unwrap();
        // A field inside an object that is not one (a client's object, a string) is not
        // looked into.
        check(json!({"eventId": "e", "event": null})).unwrap();
    }
}
