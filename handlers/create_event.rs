//! `social:createEvent`: an admin of a network or community creates a draft event in it.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::prelude::*;

/// The endpoint.
pub struct CreateEvent;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    source: String,
    event: EventFields,
    form_schema: Option<Map<String, Value>>,
}

impl Validate for Request {
    fn validate(&self) -> Result<(), ApiError> {
        let data = FieldPath::data();
        Source::parse(&self.source, &data.field("source"))?;
        let event = data.field("event");
        self.event.validate(&event)?;
        let required = [
            ("title", self.event.title.is_some()),
            ("startDate", self.event.start_date.is_some()),
            ("endDate", self.event.end_date.is_some()),
        ];
        match required.iter().find(|(_, present)| !present) {
            Some((name, _)) => Err(ApiError::invalid(event.field(name), "is required")),
            None => Ok(()),
        }
    }
}

impl Endpoint for CreateEvent {
    const NAME: &'static str = "social:createEvent";
    type Request = Request;
    type Response = EventEnvelope;

    async fn handle(context: RequestContext, request: Request) -> Result<EventEnvelope, ApiError> {
        let store = &context.state.store;
        let source = Source::parse(&request.source, &FieldPath::data().field("source"))?;
        let access = Access::load(store, &context.caller.user_id, &source).await?;
        if !access.is_admin_of(&source) {
            return Err(ApiError::Forbidden(
                "only an admin of the source may create events in it".to_owned(),
            ));
        }
        let now = Timestamp::now().into();
        let mut event = EventDocument {
            id: new_id(),
            created: now,
            updated: now,
            source_string: source.as_string(),
            source_type: source.source_type().to_owned(),
            source_pk: source.source_pk().to_owned(),
            network_id: source.network_id().to_owned(),
            owner_id: context.caller.user_id.to_string(),
            title: String::new(),
            description: String::new(),
            start_date: now,
            end_date: now,
            preview_resource_id: String::new(),
            room_id: String::new(),
            participant_limit: 0,
            price: 0.0,
            custom_data: bson::RawDocumentBuf::new(),
            form_schema: bson::RawDocumentBuf::new(),
            status: status::DRAFT,
            revision: 0,
        };
        request
            .event
            .apply_to(request.form_schema.as_ref(), &mut event)?;
        store.insert_event(&event).await?;
        Ok(EventEnvelope::from(&event))
    }
}

inventory::submit! { Registration::of::<CreateEvent>() }
