//! Events: what an event is, who may see and manage it, the fields of `createEvent` and
//! `updateEvent` with their validation, and how an event is rendered.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::client_object;
use crate::domain::ids::EventId;
use crate::domain::kinds::EventStatus;
use crate::domain::source::{Access, Source};
use crate::domain::text::{
    CreateShape, MAX_DESCRIPTION_CHARS, MAX_REFERENCE_CHARS, MAX_TITLE_CHARS, check_texts,
    require_present, set_if_present,
};
use crate::domain::time::Timestamp;
use crate::error::{ApiError, FieldPath};

/// An event in a network or community.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub source: Source,
    /// The creator.
    pub owner_id: String,
    pub title: String,
    pub description: String,
    pub start_date: Timestamp,
    pub end_date: Timestamp,
    pub preview_resource_id: String,
    pub room_id: String,
    /// Most participants per session; 0 for no limit.
    pub participant_limit: i64,
    pub price: f64,
    /// Client-defined, given back exactly as sent.
    pub custom_data: Map<String, Value>,
    /// Client-defined, given back exactly as sent.
    pub form_schema: Map<String, Value>,
    pub status: EventStatus,
    /// The stored version this value was read at: a write made from it succeeds only while
    /// the event is still at this version.
    pub revision: i64,
}

impl Event {
    /// A new draft by `owner_id` in `source`, with every field still to be filled in.
    pub fn draft(id: EventId, owner_id: &str, source: Source, now: Timestamp) -> Event {
        Event {
            id,
            created: now,
            updated: now,
            source,
            owner_id: owner_id.to_owned(),
            title: String::new(),
            description: String::new(),
            start_date: now,
            end_date: now,
            preview_resource_id: String::new(),
            room_id: String::new(),
            participant_limit: 0,
            price: 0.0,
            custom_data: Map::new(),
            form_schema: Map::new(),
            status: EventStatus::Draft,
            revision: 0,
        }
    }

    pub fn is_published(&self) -> bool {
        self.status == EventStatus::Published
    }

    /// The creator and the source's admins may change, publish and delete the event.
    pub fn may_manage(&self, user_id: &str, access: &Access) -> bool {
        self.owner_id == user_id || access.is_admin_of(&self.source)
    }

    /// A published event is seen by the members of its source; a draft only by those who
    /// manage it.
    pub fn may_see(&self, user_id: &str, access: &Access) -> bool {
        self.may_manage(user_id, access)
            || (self.is_published() && access.can_see_into(&self.source))
    }

    /// 403 unless `user_id` may manage the event.
    pub fn ensure_may_manage(&self, user_id: &str, access: &Access) -> Result<(), ApiError> {
        if self.may_manage(user_id, access) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the event's creator or an admin of its source may do this".to_owned(),
            ))
        }
    }
}

/// Which events of a source a caller is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventListing<'a> {
    /// Every event: the caller administers the source.
    All,
    /// Published events and the caller's own drafts.
    PublishedOrOwnedBy(&'a str),
}

impl<'a> EventListing<'a> {
    /// What `user_id`, with `access`, is listed of `source`; `None` when they cannot see
    /// into it at all.
    pub fn of(source: &Source, user_id: &'a str, access: &Access) -> Option<EventListing<'a>> {
        if access.is_admin_of(source) {
            Some(EventListing::All)
        } else if access.can_see_into(source) {
            Some(EventListing::PublishedOrOwnedBy(user_id))
        } else {
            None
        }
    }
}

/// A `formSchema` of a request and the path it was sent at.
type SentFormSchema<'a> = (&'a Map<String, Value>, FieldPath);

/// The `event` object of `createEvent` and `updateEvent`. Every field is optional here;
/// `createEvent` requires some of them, `updateEvent` changes only those present.
/// `null` counts as absent.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventFields {
    /// Not blank.
    #[schemars(length(min = 1, max = MAX_TITLE_CHARS))]
    pub title: Option<String>,
    #[schemars(length(max = MAX_DESCRIPTION_CHARS))]
    pub description: Option<String>,
    pub start_date: Option<Timestamp>,
    /// Not before `startDate`.
    pub end_date: Option<Timestamp>,
    #[schemars(length(max = MAX_REFERENCE_CHARS))]
    pub preview_resource_id: Option<String>,
    #[schemars(length(max = MAX_REFERENCE_CHARS))]
    pub room_id: Option<String>,
    /// Most participants per session; 0 for no limit.
    #[schemars(range(min = 0))]
    pub participant_limit: Option<i64>,
    #[schemars(range(min = 0))]
    pub price: Option<f64>,
    pub custom_data: Option<Map<String, Value>>,
    /// Also accepted beside `event` (`data.formSchema`), where the reference shows it.
    pub form_schema: Option<Map<String, Value>>,
}

impl CreateShape for EventFields {
    const CREATE_SCHEMA_NAME: &'static str = "NewEvent";
    const REQUIRED_TO_CREATE: &'static [&'static str] = &["title", "startDate", "endDate"];
    const CREATE_DESCRIPTION: &'static str =
        "The `event` object of `createEvent`. `null` counts as absent.";
}

impl EventFields {
    /// The path of the `event` object in both requests.
    pub fn path() -> FieldPath {
        FieldPath::data().field("event")
    }

    /// A 400 naming the first field creating requires
    /// ([`CreateShape::REQUIRED_TO_CREATE`]) that is absent.
    pub fn require_complete(&self) -> Result<(), ApiError> {
        require_present(
            &Self::path(),
            &[
                ("title", self.title.is_some()),
                ("startDate", self.start_date.is_some()),
                ("endDate", self.end_date.is_some()),
            ],
        )
    }

    /// The `formSchema` of the request: sent inside `event` (where
    /// the other fields are) or beside it (`beside`, where the reference shows it), with
    /// the path it was sent at. Sent in both places it must be the same object (the same
    /// keys in the same order, the same values): two different ones are a 400, never one
    /// of them dropped.
    fn form_schema<'a>(
        &'a self,
        beside: Option<&'a Map<String, Value>>,
    ) -> Result<Option<SentFormSchema<'a>>, ApiError> {
        let inside_path = Self::path().field("formSchema");
        let beside_path = FieldPath::data().field("formSchema");
        match (self.form_schema.as_ref(), beside) {
            (None, None) => Ok(None),
            (Some(inside), None) => Ok(Some((inside, inside_path))),
            (None, Some(beside)) => Ok(Some((beside, beside_path))),
            (Some(inside), Some(beside)) => {
                let same = serde_json::to_string(inside).ok() == serde_json::to_string(beside).ok();
                if same {
                    Ok(Some((inside, inside_path)))
                } else {
                    Err(ApiError::invalid(
                        inside_path,
                        format!(
                            "differs from {beside_path}: send formSchema once, inside data.event \
                             or beside it"
                        ),
                    ))
                }
            }
        }
    }

    /// Checks each field that is present on its own, and `formSchema`, sent inside `event`
    /// or beside it (`beside`, where the reference shows it).
    pub fn validate(&self, beside: Option<&Map<String, Value>>) -> Result<(), ApiError> {
        let path = Self::path();
        check_texts(
            &path,
            &self.title,
            &self.description,
            &[
                ("roomId", self.room_id.as_deref()),
                ("previewResourceId", self.preview_resource_id.as_deref()),
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
        if let Some(custom_data) = &self.custom_data {
            client_object::check(custom_data, &path.field("customData"))?;
        }
        if let Some((form_schema, sent_at)) = self.form_schema(beside)? {
            client_object::check(form_schema, &sent_at)?;
        }
        Ok(())
    }

    /// Copies the present fields (and `formSchema`, inside `event` or `beside` it) onto
    /// `event`, then checks the dates of the result, naming the field that was sent.
    pub fn apply_to(
        &self,
        beside: Option<&Map<String, Value>>,
        event: &mut Event,
    ) -> Result<(), ApiError> {
        if let Some((form_schema, _)) = self.form_schema(beside)? {
            event.form_schema = form_schema.clone();
        }
        set_if_present(&mut event.custom_data, &self.custom_data);
        set_if_present(&mut event.title, &self.title);
        set_if_present(&mut event.description, &self.description);
        set_if_present(&mut event.start_date, &self.start_date);
        set_if_present(&mut event.end_date, &self.end_date);
        set_if_present(&mut event.preview_resource_id, &self.preview_resource_id);
        set_if_present(&mut event.room_id, &self.room_id);
        set_if_present(&mut event.participant_limit, &self.participant_limit);
        set_if_present(&mut event.price, &self.price);
        if event.end_date < event.start_date {
            let path = Self::path();
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
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct EventView<'a> {
    id: &'a str,
    created: Timestamp,
    updated: Timestamp,
    source_string: String,
    source_type: &'static str,
    source_pk: &'a str,
    network_id: &'a str,
    title: &'a str,
    description: &'a str,
    start_date: Timestamp,
    end_date: Timestamp,
    preview_resource_id: &'a str,
    room_id: &'a str,
    participant_limit: i64,
    price: f64,
    custom_data: &'a Map<String, Value>,
    status: EventStatus,
    form_schema: &'a Map<String, Value>,
}

impl<'a> From<&'a Event> for EventView<'a> {
    fn from(event: &'a Event) -> Self {
        EventView {
            id: &event.id,
            created: event.created,
            updated: event.updated,
            source_string: event.source.as_string(),
            source_type: event.source.source_type(),
            source_pk: event.source.source_pk(),
            network_id: event.source.network_id(),
            title: &event.title,
            description: &event.description,
            start_date: event.start_date,
            end_date: event.end_date,
            preview_resource_id: &event.preview_resource_id,
            room_id: &event.room_id,
            participant_limit: event.participant_limit,
            price: event.price,
            custom_data: &event.custom_data,
            status: event.status,
            form_schema: &event.form_schema,
        }
    }
}

/// Described as it serialises, by [`EventView`]. Named `SocialEvent` in schemas, so that
/// code generated from them does not shadow a browser's own `Event`.
impl schemars::JsonSchema for Event {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SocialEvent".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        EventView::json_schema(generator)
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EventView::from(self).serialize(serializer)
    }
}

/// `{"event": {...}}`, the answer of the endpoints that return one event.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EventEnvelope {
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::MembershipRole;
    use crate::domain::source::Membership;

    fn fields(json: serde_json::Value) -> EventFields {
        serde_json::from_value(json).unwrap()
    }

    fn stored() -> Event {
        let mut event = Event::draft(
            "e".into(),
            "u",
            Source::parse("network:n").unwrap(),
            Timestamp::from_millis(0).unwrap(),
        );
        event.title = "t".into();
        event.start_date = Timestamp::from_millis(1_000).unwrap();
        event.end_date = Timestamp::from_millis(2_000).unwrap();
        event
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
                fields(json).validate(None).unwrap_err().to_string(),
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
        assert!(fields(json).validate(None).is_ok());
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
    fn a_form_schema_inside_event_or_beside_it_is_kept() {
        let schema = serde_json::json!({"fields": [{"name": "company"}], "v": 1.0});
        let beside = schema.as_object().unwrap();
        for (sent, beside) in [
            (serde_json::json!({"formSchema": schema.clone()}), None),
            (serde_json::json!({}), Some(beside)),
            (
                serde_json::json!({"formSchema": schema.clone()}),
                Some(beside),
            ),
        ] {
            let mut event = stored();
            let sent = fields(sent);
            sent.validate(beside).unwrap();
            sent.apply_to(beside, &mut event).unwrap();
            assert_eq!(
                serde_json::to_string(&event.form_schema).unwrap(),
                serde_json::to_string(&schema).unwrap()
            );
        }
    }

    #[test]
    fn two_different_form_schemas_are_refused_and_each_is_checked_where_it_was_sent() {
        let beside = serde_json::json!({"a": 1, "b": 2});
        let beside = beside.as_object().unwrap();
        // Other values, or the same keys in another order, are another object.
        for inside in [
            serde_json::json!({"a": 1, "b": 3}),
            serde_json::json!({"b": 2, "a": 1}),
            serde_json::json!({"a": 1.0, "b": 2}),
        ] {
            let sent = fields(serde_json::json!({ "formSchema": inside }));
            let error = sent.validate(Some(beside)).unwrap_err().to_string();
            assert!(
                error.starts_with("data.event.formSchema: differs from data.formSchema"),
                "{error}"
            );
            assert!(sent.apply_to(Some(beside), &mut stored()).is_err());
        }
        let deep = (0..40).fold(
            serde_json::json!(1),
            |inner, _| serde_json::json!({ "x": inner }),
        );
        let error = fields(serde_json::json!({ "formSchema": deep.clone() }))
            .validate(None)
            .unwrap_err();
        assert!(
            error.to_string().starts_with("data.event.formSchema.x.x"),
            "{error}"
        );
        let error = fields(serde_json::json!({}))
            .validate(deep.as_object())
            .unwrap_err();
        assert!(
            error.to_string().starts_with("data.formSchema.x.x"),
            "{error}"
        );
    }

    #[test]
    fn absent_fields_keep_their_stored_values() {
        let mut event = stored();
        fields(serde_json::json!({"title": "new", "price": null}))
            .apply_to(None, &mut event)
            .unwrap();
        assert_eq!(event.title, "new");
        assert_eq!(event.start_date, Timestamp::from_millis(1_000).unwrap());
        assert_eq!(event.price, 0.0);
    }

    fn access(role: Option<MembershipRole>) -> Access {
        Access::from_memberships(
            role.into_iter()
                .map(|role| Membership {
                    user_id: "viewer".into(),
                    network_id: "n".into(),
                    community_id: None,
                    role,
                })
                .collect(),
        )
    }

    #[test]
    fn drafts_are_seen_by_their_creator_and_admins_only() {
        let draft = stored();
        assert!(draft.may_see("u", &access(None)));
        assert!(draft.may_see("viewer", &access(Some(MembershipRole::Admin))));
        assert!(!draft.may_see("viewer", &access(Some(MembershipRole::Member))));
        assert!(!draft.may_see("viewer", &access(None)));
    }

    #[test]
    fn published_events_are_seen_by_members_and_managed_by_creator_and_admins() {
        let mut published = stored();
        published.status = EventStatus::Published;
        let member = access(Some(MembershipRole::Member));
        assert!(published.may_see("viewer", &member));
        assert!(!published.may_manage("viewer", &member));
        assert!(!published.may_see("viewer", &access(None)));
        assert!(published.may_manage("u", &access(None)));
        assert!(published.may_manage("viewer", &access(Some(MembershipRole::Admin))));
        assert_eq!(
            published
                .ensure_may_manage("viewer", &member)
                .unwrap_err()
                .code(),
            403
        );
    }
}
