//! `social:inviteUsersToSession`: the owner or an admin of the event's source invites
//! users by id or contact. Inviting an invitee again changes the role (and makes a
//! declined invitation pending again); inviting the owner is ignored; contacts that match
//! no user yet are kept and attach to the user who later appears with them.

use serde::Deserialize;

use crate::api::prelude::*;

/// How often an invite is re-applied when other invitation changes keep coming first.
const ATTEMPTS: usize = 10;

/// The endpoint.
pub struct InviteUsersToSession;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: SessionId,
    #[schemars(length(max = MAX_ENTRIES))]
    users_to_invite: Vec<InviteEntry>,
}

impl Endpoint for InviteUsersToSession {
    const NAME: &'static str = "social:inviteUsersToSession";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = ();

    fn example() -> Example {
        Example {
            request: json!({
                "sessionId": examples::SESSION_ID,
                "usersToInvite": [
                    { "userId": "alan", "role": 0 },
                    { "emails": ["guest@example.com"], "role": 0 },
                ],
            }),
            answer: Value::Null,
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        validate_entries(
            &request.users_to_invite,
            &FieldPath::data().field("usersToInvite"),
        )
    }

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let store = context.store();
        let (context, request) = (&context, &request);
        // Managing the session is checked first, so that others' attempts look nothing up.
        let managed = VisibleSession::load(store, &context.caller, &request.session_id).await?;
        managed.ensure_may_manage()?;
        count_contact_lookups(store, context.me(), &request.users_to_invite).await?;
        let resolution = &store.resolve_invitations(&request.users_to_invite).await?;
        count_new_invitees(store, context.me(), &managed.session, resolution).await?;
        let invited = retry_stale(ATTEMPTS, || async move {
            let visible = VisibleSession::load(store, &context.caller, &request.session_id).await?;
            visible.ensure_may_manage()?;
            let session = &visible.session;
            let merged = merge(session, resolution)?;
            let changed = store
                .replace_invitations(
                    &session.id,
                    session.revision,
                    &merged.invited,
                    &merged.pending,
                    &merged.reinvited,
                    Timestamp::now(),
                )
                .await?;
            Ok::<_, ApiError>(match changed {
                Some(changed) => Attempt::Done(changed),
                None => Attempt::Stale,
            })
        })
        .await?
        .ok_or_else(|| ApiError::busy("the session's invitations"))?;
        context.publish(SessionChange::updated(&invited)).await;
        Ok(())
    }
}

inventory::submit! { Registration::of::<InviteUsersToSession>().described_by(include_str!("invite_users_to_session.rs")) }
