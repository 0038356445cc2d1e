//! `social:deleteUserSessionInvitations`: the owner or an admin of the event's source
//! removes invitations by user id. A removed user who had joined a Private session leaves
//! it too (and its seat goes to the first waitlisted user who may still join). A removed
//! user who can no longer see the session hears `social:sessionDeleted`; ids that were
//! not invited are ignored.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct DeleteUserSessionInvitations;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: SessionId,
    /// User ids, as the reference names it.
    users_to_invite: Vec<String>,
}

impl Endpoint for DeleteUserSessionInvitations {
    const NAME: &'static str = "social:deleteUserSessionInvitations";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = ();

    fn example() -> Example {
        Example {
            request: json!({ "sessionId": examples::SESSION_ID, "usersToInvite": ["alan"] }),
            answer: Value::Null,
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        if request.users_to_invite.len() > MAX_ENTRIES {
            return Err(ApiError::invalid(
                FieldPath::data().field("usersToInvite"),
                format!("at most {MAX_ENTRIES} entries per request"),
            ));
        }
        Ok(())
    }

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let store = context.store();
        let visible = VisibleSession::load(store, &context.caller, &request.session_id).await?;
        visible.ensure_may_manage()?;
        let private = visible.session.session_type == SessionKind::Private;
        let changed = store
            .remove_invitations(
                &request.session_id,
                &request.users_to_invite,
                private,
                Timestamp::now(),
            )
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?;
        // A removed invitee who can no longer see the session (a Private one, or one of an
        // event they see only through the invitation) is told it is gone.
        let mut lost_sight = Vec::new();
        for user_id in &request.users_to_invite {
            if visible.session.is_invited(user_id) {
                let viewer = store
                    .viewer(user_id, std::slice::from_ref(&changed))
                    .await?;
                if !viewer.may_see(&changed) {
                    lost_sight.push(user_id.clone());
                }
            }
        }
        let change = SessionChange::updated(&changed).and_deleted_for(lost_sight);
        context.publish(change).await;
        let seats_freed = private
            && request
                .users_to_invite
                .iter()
                .any(|user_id| visible.session.has_joined(user_id));
        if seats_freed || !changed.waitlist.is_empty() {
            waitlist::after_seats_freed(&context, &request.session_id).await;
        }
        Ok(())
    }
}

inventory::submit! { Registration::of::<DeleteUserSessionInvitations>().described_by(include_str!("delete_user_session_invitations.rs")) }
