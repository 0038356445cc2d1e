//! Waitlists (extension): when a seat of a session frees, the first waitlisted user who
//! may still join takes it, atomically (the update's filter holds the head of the
//! waitlist and the free seat), and hears of it with `social:sessionUpdated`. Waitlisted
//! users who may no longer join (uninvited from a Private session, out of sight) are taken
//! off the head as they are met.

use super::context::RequestContext;
use super::state::AppState;
use crate::domain::change::SessionChange;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::kinds::SessionKind;
use crate::domain::session::Prop;
use crate::domain::session::viewer::JoinCondition;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::store::Store;

/// Most waitlist heads looked at (promoted, dropped, or raced for) per freed seat run.
const MAX_STEPS: usize = 64;

/// Fills the free seats of session `session_id` after a change that may have freed one; a
/// failure is logged (the change itself stands, and the next one tries again).
pub async fn after_seats_freed(context: &RequestContext, session_id: &SessionId) {
    if let Err(error) = fill_free_seats(context, session_id).await {
        tracing::warn!(%error, session = %session_id, "cannot fill freed seats from the waitlist");
    }
}

/// Where the changes of a promotion are published: with a request's (held with its
/// answer, see `api::retries`), or straight to the service's pushes.
enum Publisher<'a> {
    Request(&'a RequestContext),
    Service(&'a AppState),
}

impl Publisher<'_> {
    fn store(&self) -> &Store {
        match self {
            Publisher::Request(context) => context.store(),
            Publisher::Service(app) => &app.store,
        }
    }

    async fn publish(&self, change: SessionChange) {
        match self {
            Publisher::Request(context) => context.publish(change).await,
            Publisher::Service(app) => app.pushes.publish(change).await,
        }
    }

    async fn publish_props(&self, props: Vec<Prop>) {
        match self {
            Publisher::Request(context) => context.publish_props(props).await,
            Publisher::Service(app) => app.pushes.publish_props(props, None).await,
        }
    }
}

/// Fills the free seats of session `session_id` from its waitlist.
pub async fn fill_free_seats(
    context: &RequestContext,
    session_id: &SessionId,
) -> Result<(), ApiError> {
    fill(Publisher::Request(context), session_id).await
}

/// Fills the free seats of session `session_id` from its waitlist, outside a request (an
/// erasure freed them).
pub async fn fill_free_seats_of(app: &AppState, session_id: &SessionId) -> Result<(), ApiError> {
    fill(Publisher::Service(app), session_id).await
}

async fn fill(context: Publisher<'_>, session_id: &SessionId) -> Result<(), ApiError> {
    let store = context.store();
    for _ in 0..MAX_STEPS {
        let Some(session) = store.find_session(session_id).await? else {
            return Ok(());
        };
        let Some(candidate) = session.waitlist.first().map(|id| UserId::from(id.as_str())) else {
            return Ok(());
        };
        let viewer = store
            .viewer(&candidate, std::slice::from_ref(&session))
            .await?;
        let event = viewer.event_of(&session);
        let capacity = session.capacity(event.map(|event| event.participant_limit));
        if !session.is_valid || session.is_full(capacity) {
            return Ok(());
        }
        let may_join = viewer.may_see(&session)
            && !viewer.event_is_unpublished_for_user(&session)
            && (session.session_type != SessionKind::Private || session.is_invited(&candidate));
        if !may_join {
            store.drop_waitlist_head(session_id, &candidate).await?;
            // Those behind moved up, also on the prop's board.
            context.publish_props(vec![session.prop()]).await;
            continue;
        }
        let condition = JoinCondition {
            capacity,
            session_type: session.session_type,
            invitation_required: session.session_type == SessionKind::Private,
        };
        let promoted = store
            .promote_from_waitlist(session_id, &candidate, condition, Timestamp::now())
            .await?;
        if let Some(promoted) = promoted {
            context.publish(SessionChange::updated(&promoted)).await;
        }
        // Promoted, or the session changed meanwhile: look again.
    }
    Ok(())
}
