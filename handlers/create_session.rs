//! `social:createSession`: schedules a session at a room prop, in an event the caller can
//! see (published, or one the caller manages) or standalone, and invites people to it.
//! The caller becomes its owner; the invitees hear of it with `social:sessionUpdated`.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct CreateSession;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    #[schemars(with = "Creating<SessionFields>")]
    session: SessionFields,
    #[serde(default)]
    #[schemars(length(max = MAX_ENTRIES))]
    users_to_invite: Vec<InviteEntry>,
}

impl Endpoint for CreateSession {
    const NAME: &'static str = "social:createSession";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = SessionEnvelope;

    fn example() -> Example {
        Example {
            request: json!({
                "session": examples::session_fields(),
                "usersToInvite": examples::users_to_invite(),
            }),
            answer: json!({ "session": examples::session(false) }),
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        let session = &request.session;
        session.validate()?;
        session.require_complete()?;
        validate_entries(
            &request.users_to_invite,
            &FieldPath::data().field("usersToInvite"),
        )
    }

    async fn handle(
        context: RequestContext,
        request: Request,
    ) -> Result<SessionEnvelope, ApiError> {
        let store = context.store();
        let event = match request.session.event_id.as_ref() {
            None => None,
            Some(event_id) if event_id.is_empty() => None,
            Some(event_id) => Some(
                VisibleEvent::load(store, &context.caller, event_id)
                    .await?
                    .event,
            ),
        };
        let mut session = Session::new(new_id(), context.me(), event.as_ref(), Timestamp::now());
        request.session.apply_to(&mut session, event.as_ref())?;
        check_active_sessions(store, &session, false).await?;
        count_contact_lookups(store, context.me(), &request.users_to_invite).await?;
        let resolution = store.resolve_invitations(&request.users_to_invite).await?;
        count_new_invitees(store, context.me(), &session, &resolution).await?;
        let merged = merge(&session, &resolution)?;
        session.invited = merged.invited;
        session.pending_contacts = merged.pending;
        store.insert_session(&session).await?;
        let settled = settle(store, &mut session, event.as_ref()).await;
        if settled.is_err() {
            // Withdrawn again, it may have been listed at its prop in between.
            context.publish_props(vec![session.prop()]).await;
        }
        settled?;
        context.publish(SessionChange::created(&session)).await;
        render_session(store, context.me(), &session).await
    }
}

/// Keeps the session just inserted, or withdraws it: over its owner's quota after all (a
/// concurrent creation counted too), or its event deleted meanwhile. An event published
/// meanwhile is marked on it.
async fn settle(
    store: &Store,
    session: &mut Session,
    event: Option<&Event>,
) -> Result<(), ApiError> {
    recheck_active_sessions(store, session).await?;
    let Some(event) = event else {
        return Ok(());
    };
    // From the database itself: another process's change may not have reached this one's
    // cache yet.
    match store.find_event_uncached(&event.id).await? {
        // The event was deleted while the session was being created.
        None => {
            store.delete_session(&session.id).await?;
            Err(ApiError::not_found("event"))
        }
        // Published while the session was being created: the session must know.
        Some(now) if now.is_published() && !event.is_published() => {
            store.mark_event_published(&event.id).await?;
            if let Some(marked) = store.find_session(&session.id).await? {
                *session = marked;
            }
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

inventory::submit! { Registration::of::<CreateSession>().described_by(include_str!("create_session.rs")) }
