//! `social:updateSession`: the owner or an admin of the event's source changes the fields
//! present in `session` (found by `session.id`); the others keep their values. A session
//! cannot move to another event. Every update raises the calendar sequence. A session made
//! Private drops from its waitlist everyone who is not invited (they hear
//! `social:sessionDeleted`: it is gone for them).

use serde::Deserialize;

use crate::api::prelude::*;

/// How often an update is re-applied when other updates keep coming first.
const ATTEMPTS: usize = 10;

/// The endpoint.
pub struct UpdateSession;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session: SessionFields,
}

impl Endpoint for UpdateSession {
    const NAME: &'static str = "social:updateSession";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = SessionEnvelope;

    fn example() -> Example {
        Example {
            request: json!({ "session": { "id": examples::SESSION_ID, "duration": 3600 } }),
            answer: json!({ "session": examples::session(true) }),
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        require_present(
            &SessionFields::path(),
            &[("id", request.session.id.is_some())],
        )?;
        request.session.validate()
    }

    async fn handle(
        context: RequestContext,
        request: Request,
    ) -> Result<SessionEnvelope, ApiError> {
        let store = context.store();
        let (context, request) = (&context, &request);
        let fields = &request.session;
        // Present: `validate` requires it.
        let session_id = &fields.id.clone().unwrap_or_default();
        let updated = change_visible_session(
            ATTEMPTS,
            store,
            &context.caller,
            session_id,
            |_| true,
            |visible| async move {
                visible.ensure_may_manage()?;
                if let Some(event_id) = &fields.event_id
                    && visible.session.event_id != *event_id
                {
                    return Err(ApiError::invalid(
                        SessionFields::path().field("eventId"),
                        "a session cannot move to another event",
                    ));
                }
                let was_active = visible.session.is_active_at(Timestamp::now());
                let (sequence, version, at_prop) = (
                    visible.session.sequence,
                    visible.session.version,
                    visible.session.prop(),
                );
                let visible_type = visible.session.session_type;
                // The stored session becomes the merged one rather than being copied: with a
                // thousand invitees it is large.
                let VisibleSession {
                    session: mut merged,
                    viewer,
                } = visible;
                let event_id = merged.event_id.clone();
                fields.apply_to(&mut merged, viewer.event(&event_id))?;
                check_active_sessions(store, &merged, was_active).await?;
                // Only the fields the request changes are written, and only while the session
                // is still at the sequence the merge was made from: concurrent updates are
                // neither lost nor mixed.
                let update = fields.update_of(&merged);
                // A place on a waitlist gives no sight of a session: a session made Private
                // keeps only the invitees among those waiting.
                let made_private = merged.session_type == SessionKind::Private
                    && visible_type != SessionKind::Private;
                let leaving_waitlist: Vec<String> = if merged.session_type == SessionKind::Private {
                    merged
                        .waitlist
                        .iter()
                        .filter(|user_id| merged.is_only_waiting(user_id))
                        .cloned()
                        .collect()
                } else {
                    Vec::new()
                };
                let updated = store
                    .update_session(
                        session_id,
                        sequence,
                        // Who waits may have changed since the value the merge was made from:
                        // a session made Private is written only from its newest version.
                        made_private.then_some(version),
                        &update,
                        &leaving_waitlist,
                        Timestamp::now(),
                    )
                    .await?;
                Ok(updated.map_or(Attempt::Stale, |updated| {
                    Attempt::Done((at_prop, updated, leaving_waitlist))
                }))
            },
        )
        .await?
        .ok_or_else(|| ApiError::busy("the session"))?;
        let (previous_prop, updated, left_waitlist) = updated;
        // A session moved to another prop leaves the board of the one it was at; those
        // who left its waitlist hear that it is gone for them.
        let change = SessionChange::updated(&updated)
            .and_moved_from(previous_prop)
            .and_deleted_for(left_waitlist);
        context.publish(change).await;
        render_session(store, context.me(), &updated).await
    }
}

inventory::submit! { Registration::of::<UpdateSession>().described_by(include_str!("update_session.rs")) }
