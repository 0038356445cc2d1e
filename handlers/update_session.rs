//! `social:updateSession`: the owner or an admin of the event's source changes the fields
//! present in `session` (found by `session.id`); the others keep their values. A session
//! cannot move to another event. Every update raises the calendar sequence.

use bson::{Bson, Document};
use serde::Deserialize;

use crate::prelude::*;

/// How often an update is re-applied when other updates keep coming first.
const ATTEMPTS: usize = 10;

/// The endpoint.
pub struct UpdateSession;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session: SessionFields,
}

impl Validate for Request {
    fn validate(&self) -> Result<(), ApiError> {
        let path = FieldPath::data().field("session");
        if self.session.id.is_none() {
            return Err(ApiError::invalid(path.field("id"), "is required"));
        }
        self.session.validate(&path)
    }
}

impl Endpoint for UpdateSession {
    const NAME: &'static str = "social:updateSession";
    type Request = Request;
    type Response = SessionEnvelope;

    async fn handle(
        context: RequestContext,
        request: Request,
    ) -> Result<SessionEnvelope, ApiError> {
        let store = &context.state.store;
        let fields = &request.session;
        let session_id = fields.id.as_deref().unwrap_or_default();
        for _ in 0..ATTEMPTS {
            let access = SessionAccess::load_visible(store, &context.caller, session_id).await?;
            access.ensure_may_manage()?;
            if let Some(event_id) = &fields.event_id
                && *event_id != access.session.event_id
            {
                return Err(ApiError::invalid(
                    FieldPath::data().field("session").field("eventId"),
                    "a session cannot move to another event",
                ));
            }
            let mut merged = access.session.clone();
            fields.apply_to(&mut merged, access.event())?;
            let updated = store
                .update_session_fields(
                    session_id,
                    access.session.sequence,
                    changed_fields(fields, &merged)?,
                    Timestamp::now().into(),
                )
                .await?;
            if let Some(updated) = updated {
                context
                    .state
                    .pushes
                    .publish(SessionChange::updated(&updated))
                    .await;
                return render_session(store, &context.caller.user_id, &updated).await;
            }
            // Another update came first: apply this one to the session as it is now.
        }
        Err(ApiError::Conflict(
            "the session is being changed by others at the same time; retry".to_owned(),
        ))
    }
}

/// The stored fields that the request changes, taken from the merged session. Only these
/// are written (derived `endDate` included), and only while the session is still at the
/// sequence the merge was made from, so concurrent updates are neither lost nor mixed.
fn changed_fields(fields: &SessionFields, merged: &SessionDocument) -> Result<Document, ApiError> {
    let stored = bson::to_document(merged).map_err(|error| ApiError::Unexpected(error.into()))?;
    let present = [
        ("roomId", fields.room_id.is_some()),
        ("propId", fields.prop_id.is_some()),
        ("sessionType", fields.session_type.is_some()),
        ("title", fields.title.is_some()),
        ("description", fields.description.is_some()),
        ("startDate", fields.start_date.is_some()),
        ("duration", fields.duration.is_some()),
        (
            "endDate",
            fields.start_date.is_some() || fields.duration.is_some(),
        ),
        ("isRecurring", fields.is_recurring.is_some()),
        ("recurrence", fields.recurrence.is_some()),
        ("color", fields.color.is_some()),
    ];
    Ok(present
        .into_iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| {
            let value = stored.get(name).cloned().unwrap_or(Bson::Null);
            (name.to_owned(), value)
        })
        .collect())
}

inventory::submit! { Registration::of::<UpdateSession>() }
