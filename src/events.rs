//! Events: the wire shapes shared by the event endpoints, their validation, and who may
//! see and change an event.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::access::{Access, Source};
use crate::endpoint::Caller;
use crate::error::{ApiError, FieldPath};
use crate::fields::{check_texts, set_if_present};
use crate::json_bson::{CLIENT_OBJECT_LIMITS, document_to_object, object_to_document};
use crate::store::Store;
use crate::store::events::{EventDocument, status};
use crate::time::Timestamp;

/// The `event` object of `createEvent` and `updateEvent`. Every field is optional here;
/// `createEvent` requires some of them, `updateEvent` changes only those present.
/// `null` counts as absent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub start_date: Option<Timestamp>,
    pub end_date: Option<Timestamp>,
    pub preview_resource_id: Option<String>,
    pub room_id: Option<String>,
    pub participant_limit: Option<i64>,
    pub price: Option<f64>,
    pub custom_data: Option<Map<String, Value>>,
}

impl EventFields {
    /// Checks each field that is present on its own; `path` is the `event` object's path.
    pub fn validate(&self, path: &FieldPath) -> Result<(), ApiError> {
        check_texts(
            path,
            &self.title,
            &self.description,
            &[
                ("roomId", &self.room_id),
                ("previewResourceId", &self.preview_resource_id),
            ],
        )?;
        if self.participant_limit.is_some_and(|limit| limit < 0) {
            return Err(ApiError::invalid(
                path.field("participantLimit"),
                "must not be negative",
            ));
        }
        if self
            .price
            .is_some_and(|price| !price.is_finite() || price < 0.0)
        {
            return Err(ApiError::invalid(
                path.field("price"),
                "must be a finite number not below 0",
            ));
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date)
            && end < start
        {
            return Err(ApiError::invalid(
                path.field("endDate"),
                "must not be before startDate",
            ));
        }
        Ok(())
    }

    /// Copies the present fields onto `event` (and `formSchema`, which the reference puts
    /// beside `event`), then checks the dates of the result, naming the field that was sent.
    pub fn apply_to(
        &self,
        form_schema: Option<&Map<String, Value>>,
        event: &mut EventDocument,
    ) -> Result<(), ApiError> {
        let path = FieldPath::data().field("event");
        if let Some(custom_data) = &self.custom_data {
            event.custom_data =
                object_to_document(custom_data, CLIENT_OBJECT_LIMITS, &path.field("customData"))?;
        }
        if let Some(form_schema) = form_schema {
            event.form_schema = object_to_document(
                form_schema,
                CLIENT_OBJECT_LIMITS,
                &FieldPath::data().field("formSchema"),
            )?;
        }
        set_if_present(&mut event.title, &self.title);
        set_if_present(&mut event.description, &self.description);
        if let Some(start) = self.start_date {
            event.start_date = start.into();
        }
        if let Some(end) = self.end_date {
            event.end_date = end.into();
        }
        set_if_present(&mut event.preview_resource_id, &self.preview_resource_id);
        set_if_present(&mut event.room_id, &self.room_id);
        set_if_present(&mut event.participant_limit, &self.participant_limit);
        set_if_present(&mut event.price, &self.price);
        if event.end_date < event.start_date {
            return Err(if self.end_date.is_some() {
                ApiError::invalid(path.field("endDate"), "must not be before startDate")
            } else {
                ApiError::invalid(path.field("startDate"), "must not be after endDate")
            });
        }
        Ok(())
    }
}

/// An event as the reference renders it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub source_string: String,
    pub source_type: String,
    pub source_pk: String,
    pub network_id: String,
    pub title: String,
    pub description: String,
    pub start_date: Timestamp,
    pub end_date: Timestamp,
    pub preview_resource_id: String,
    pub room_id: String,
    pub participant_limit: i64,
    pub price: f64,
    pub custom_data: Map<String, Value>,
    pub status: i32,
    pub form_schema: Map<String, Value>,
}

impl From<&EventDocument> for EventView {
    fn from(event: &EventDocument) -> Self {
        EventView {
            id: event.id.clone(),
            created: event.created.into(),
            updated: event.updated.into(),
            source_string: event.source_string.clone(),
            source_type: event.source_type.clone(),
            source_pk: event.source_pk.clone(),
            network_id: event.network_id.clone(),
            title: event.title.clone(),
            description: event.description.clone(),
            start_date: event.start_date.into(),
            end_date: event.end_date.into(),
            preview_resource_id: event.preview_resource_id.clone(),
            room_id: event.room_id.clone(),
            participant_limit: event.participant_limit,
            price: event.price,
            custom_data: document_to_object(&event.custom_data),
            status: event.status,
            form_schema: document_to_object(&event.form_schema),
        }
    }
}

/// `{"event": {...}}`, the answer of the endpoints that return one event.
#[derive(Debug, Serialize)]
pub struct EventEnvelope {
    pub event: EventView,
}

impl From<&EventDocument> for EventEnvelope {
    fn from(event: &EventDocument) -> Self {
        EventEnvelope {
            event: event.into(),
        }
    }
}

/// An event together with what the caller may do with it.
pub struct EventAccess {
    pub event: EventDocument,
    pub source: Source,
    pub access: Access,
    caller_id: String,
}

impl EventAccess {
    /// Loads the event when the caller may see it: a published event to members of its
    /// source, a draft to its creator and the source's admins. Otherwise 404, so that the
    /// existence of a hidden event is never revealed.
    pub async fn load_visible(
        store: &Store,
        caller: &Caller,
        event_id: &str,
    ) -> Result<EventAccess, ApiError> {
        let event = store
            .find_event(event_id)
            .await?
            .ok_or_else(|| ApiError::not_found("event"))?;
        let source = Source::from_stored(&event.source_type, &event.network_id, &event.source_pk)
            .ok_or_else(|| {
            ApiError::Unexpected(anyhow::anyhow!(
                "event {} has an unknown source type {:?}",
                event.id,
                event.source_type
            ))
        })?;
        let access = Access::load(store, &caller.user_id, &source).await?;
        let loaded = EventAccess {
            event,
            source,
            access,
            caller_id: caller.user_id.to_string(),
        };
        if loaded.is_visible() {
            Ok(loaded)
        } else {
            Err(ApiError::not_found("event"))
        }
    }

    fn is_visible(&self) -> bool {
        if self.event.status == status::PUBLISHED {
            self.may_manage() || self.access.can_see_into(&self.source)
        } else {
            self.may_manage()
        }
    }

    /// The creator and the source's admins may change, publish and delete the event.
    pub fn may_manage(&self) -> bool {
        self.event.owner_id == self.caller_id || self.access.is_admin_of(&self.source)
    }

    /// 403 unless the caller may manage the event.
    pub fn ensure_may_manage(&self) -> Result<(), ApiError> {
        if self.may_manage() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the event's creator or an admin of its source may do this".to_owned(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: serde_json::Value) -> EventFields {
        serde_json::from_value(json).unwrap()
    }

    fn stored() -> EventDocument {
        EventDocument {
            id: "e".into(),
            created: bson::DateTime::from_millis(0),
            updated: bson::DateTime::from_millis(0),
            source_string: "network:n".into(),
            source_type: "network".into(),
            source_pk: "n".into(),
            network_id: "n".into(),
            owner_id: "u".into(),
            title: "t".into(),
            description: String::new(),
            start_date: bson::DateTime::from_millis(1_000),
            end_date: bson::DateTime::from_millis(2_000),
            preview_resource_id: String::new(),
            room_id: String::new(),
            participant_limit: 0,
            price: 0.0,
            custom_data: bson::RawDocumentBuf::new(),
            form_schema: bson::RawDocumentBuf::new(),
            status: 0,
            revision: 0,
        }
    }

    fn path() -> FieldPath {
        FieldPath::data().field("event")
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases = [
            (
                serde_json::json!({"title": "  "}),
                "data.event.title: must not be empty",
            ),
            (
                serde_json::json!({"title": "x".repeat(201)}),
                "data.event.title: must be at most 200 characters long",
            ),
            (
                serde_json::json!({"description": "x".repeat(10_001)}),
                "data.event.description: must be at most 10000 characters long",
            ),
            (
                serde_json::json!({"participantLimit": -1}),
                "data.event.participantLimit: must not be negative",
            ),
            (
                serde_json::json!({"price": -0.01}),
                "data.event.price: must be a finite number not below 0",
            ),
            (
                serde_json::json!({"startDate": 2, "endDate": 1}),
                "data.event.endDate: must not be before startDate",
            ),
        ];
        for (json, message) in cases {
            assert_eq!(
                fields(json).validate(&path()).unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn limits_themselves_are_accepted() {
        let json = serde_json::json!({
            "title": "x".repeat(200), "description": "é".repeat(10_000),
            "participantLimit": 0, "price": 0.0, "startDate": 5, "endDate": 5
        });
        assert!(fields(json).validate(&path()).is_ok());
    }

    #[test]
    fn an_end_before_the_stored_start_names_end_date() {
        let mut event = stored();
        let error = fields(serde_json::json!({"endDate": 500}))
            .apply_to(None, &mut event)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "data.event.endDate: must not be before startDate"
        );
    }

    #[test]
    fn a_start_after_the_stored_end_names_start_date() {
        let mut event = stored();
        let error = fields(serde_json::json!({"startDate": 3_000}))
            .apply_to(None, &mut event)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "data.event.startDate: must not be after endDate"
        );
    }

    #[test]
    fn absent_fields_keep_their_stored_values() {
        let mut event = stored();
        fields(serde_json::json!({"title": "new", "price": null}))
            .apply_to(None, &mut event)
            .unwrap();
        assert_eq!(event.title, "new");
        assert_eq!(event.start_date, bson::DateTime::from_millis(1_000));
        assert_eq!(event.price, 0.0);
    }
}
