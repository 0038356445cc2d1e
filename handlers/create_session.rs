//! `social:createSession`: schedules a session at a room prop, in an event the caller can
//! see (published, or one the caller manages) or standalone, and invites people to it.
//! The caller becomes its owner; the invitees hear of it with `social:sessionUpdated`.

use serde::Deserialize;

use crate::invitations::{merge, resolve, validate_entries};
use crate::prelude::*;
use crate::sessions::DEFAULT_COLOR;

/// The endpoint.
pub struct CreateSession;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session: SessionFields,
    #[serde(default)]
    users_to_invite: Vec<InviteEntry>,
}

impl Validate for Request {
    fn validate(&self) -> Result<(), ApiError> {
        let data = FieldPath::data();
        let session = data.field("session");
        self.session.validate(&session)?;
        let required = [
            ("title", self.session.title.is_some()),
            ("startDate", self.session.start_date.is_some()),
            ("duration", self.session.duration.is_some()),
        ];
        if let Some((name, _)) = required.iter().find(|(_, present)| !present) {
            return Err(ApiError::invalid(session.field(name), "is required"));
        }
        validate_entries(&self.users_to_invite, &data.field("usersToInvite"))
    }
}

impl Endpoint for CreateSession {
    const NAME: &'static str = "social:createSession";
    type Request = Request;
    type Response = SessionEnvelope;

    async fn handle(
        context: RequestContext,
        request: Request,
    ) -> Result<SessionEnvelope, ApiError> {
        let store = &context.state.store;
        let caller = &context.caller;
        let event_id = request.session.event_id.clone().unwrap_or_default();
        let event = if event_id.is_empty() {
            None
        } else {
            Some(
                EventAccess::load_visible(store, caller, &event_id)
                    .await?
                    .event,
            )
        };
        let now = Timestamp::now().into();
        let mut session = SessionDocument {
            id: new_id(),
            created: now,
            updated: now,
            event_id,
            owner_id: caller.user_id.to_string(),
            room_id: event
                .as_ref()
                .map(|event| event.room_id.clone())
                .unwrap_or_default(),
            prop_id: String::new(),
            session_type: session_type::PUBLIC,
            title: String::new(),
            description: String::new(),
            start_date: now,
            duration: 0,
            end_date: now,
            is_recurring: false,
            recurrence: None,
            color: DEFAULT_COLOR,
            is_valid: true,
            invited: Vec::new(),
            declined: Vec::new(),
            joined: Vec::new(),
            pending_contacts: Vec::new(),
            sequence: 0,
            revision: 0,
        };
        request.session.apply_to(&mut session, event.as_ref())?;
        let resolution = resolve(store, &request.users_to_invite).await?;
        let merged = merge(&session, &resolution)?;
        session.invited = merged.invited;
        session.pending_contacts = merged.pending;
        store.insert_session(&session).await?;
        if event.is_some() && store.find_event(&session.event_id).await?.is_none() {
            // The event was deleted while the session was being created.
            store.delete_session(&session.id).await?;
            return Err(ApiError::not_found("event"));
        }
        let invitees = session
            .invited
            .iter()
            .map(|invitation| invitation.user_id.clone())
            .collect();
        context
            .state
            .pushes
            .publish(SessionChange::updated_for(&session, invitees))
            .await;
        render_session(store, &caller.user_id, &session).await
    }
}

inventory::submit! { Registration::of::<CreateSession>() }
