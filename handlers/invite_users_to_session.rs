//! `social:inviteUsersToSession`: the owner or an admin of the event's source invites
//! users by id or contact. Inviting an invitee again changes the role (and makes a
//! declined invitation pending again); inviting the owner is ignored; contacts that match
//! no user yet are kept and attach to the user who later appears with them.

use serde::Deserialize;

use crate::invitations::{merge, resolve, validate_entries};
use crate::prelude::*;

/// How often an invite is re-applied when other invitation changes keep coming first.
const ATTEMPTS: usize = 10;

/// The endpoint.
pub struct InviteUsersToSession;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: String,
    users_to_invite: Vec<InviteEntry>,
}

impl Validate for Request {
    fn validate(&self) -> Result<(), ApiError> {
        validate_entries(
            &self.users_to_invite,
            &FieldPath::data().field("usersToInvite"),
        )
    }
}

impl Endpoint for InviteUsersToSession {
    const NAME: &'static str = "social:inviteUsersToSession";
    type Request = Request;
    type Response = ();

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let store = &context.state.store;
        let resolution = resolve(store, &request.users_to_invite).await?;
        for _ in 0..ATTEMPTS {
            let access =
                SessionAccess::load_visible(store, &context.caller, &request.session_id).await?;
            access.ensure_may_manage()?;
            let session = &access.session;
            let merged = merge(session, &resolution)?;
            let now = Timestamp::now().into();
            let changed = store
                .replace_invitations(
                    &session.id,
                    session.revision,
                    &merged.invited,
                    &merged.pending,
                    &merged.reinvited,
                    now,
                )
                .await?;
            if let Some(changed) = changed {
                context
                    .state
                    .pushes
                    .publish(SessionChange::updated(&changed))
                    .await;
                return Ok(());
            }
        }
        Err(ApiError::Conflict(
            "the session's invitations are being changed by others at the same time; retry"
                .to_owned(),
        ))
    }
}

inventory::submit! { Registration::of::<InviteUsersToSession>() }
