//! Occurrences of a recurring session changed one by one (extension; see
//! `domain::recurrence::exceptions`): what `social:cancelOccurrence`,
//! `social:updateOccurrence` and `social:restoreOccurrence` share — the owner's (or an
//! admin's) change of the session's exceptions, written while the session is still at the
//! calendar revision it was read at, heard of by its audience (`social:sessionUpdated`)
//! and by the boards of its prop.

use serde::Deserialize;

use super::access::VisibleSession;
use super::context::RequestContext;
use crate::domain::change::SessionChange;
use crate::domain::ids::SessionId;
use crate::domain::occurrences::{ExceptionError, Exceptions, MAX_EXCEPTIONS};
use crate::domain::recurrence::Schedule;
use crate::domain::reminder::Upcoming;
use crate::domain::retry::{Attempt, retry_stale};
use crate::domain::session::Session;
use crate::domain::session::fields::SessionUpdate;
use crate::domain::time::Timestamp;
use crate::error::{ApiError, FieldPath};

/// The request of `social:cancelOccurrence` and `social:restoreOccurrence`: which
/// occurrence of which session.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OccurrenceRequest {
    pub session_id: SessionId,
    /// The occurrence's original start (ISO 8601, or milliseconds).
    pub occurrence: Timestamp,
}

/// How often a change is tried again when the session changed between reading and writing.
const ATTEMPTS: usize = 10;

/// The 400 or 409 of `error`, for a request whose fields are at `data`.
pub fn refusal(error: ExceptionError) -> ApiError {
    let data = FieldPath::data();
    match error {
        ExceptionError::NotRecurring => {
            ApiError::invalid(data.field("sessionId"), error.to_string())
        }
        ExceptionError::NotAnOccurrence => {
            ApiError::invalid(data.field("occurrence"), error.to_string())
        }
        ExceptionError::OutOfOrder(_) => {
            ApiError::invalid(data.field("changes").field("startDate"), error.to_string())
        }
        ExceptionError::TooMany => ApiError::QuotaExceeded(format!(
            "occurrence quota exceeded: a session has at most {MAX_EXCEPTIONS} changed or \
             cancelled occurrences; restore one first"
        )),
    }
}

/// Changes the exceptions of session `session_id` with `change` (given the session's
/// schedule and current exceptions; it answers whether it changed anything), for a caller
/// who may manage the session. Nothing changed: nothing is written or pushed.
pub async fn change_exceptions(
    context: &RequestContext,
    session_id: &SessionId,
    change: impl Fn(&Schedule, &mut Exceptions) -> Result<bool, ExceptionError>,
) -> Result<(), ApiError> {
    let store = context.store();
    let change = &change;
    let written: Option<Option<Session>> = retry_stale(ATTEMPTS, || async move {
        let visible = VisibleSession::load(store, &context.caller, session_id).await?;
        visible.ensure_may_manage()?;
        let session = &visible.session;
        let event = visible.viewer.event(&session.event_id);
        let schedule = session
            .schedule(event)
            .map_err(|message| ApiError::Unexpected(anyhow::anyhow!(message)))?;
        let mut exceptions = session.exceptions.clone();
        if !change(&schedule, &mut exceptions).map_err(refusal)? {
            return Ok::<_, ApiError>(Attempt::Done(None));
        }
        let mut changed = session.clone();
        changed.exceptions = exceptions;
        let update = SessionUpdate {
            upcoming_start: Some(Upcoming::start_of(&changed, Timestamp::now())),
            exceptions: Some(changed.exceptions),
            ..SessionUpdate::default()
        };
        let updated = store
            .update_session(
                session_id,
                session.sequence,
                None,
                &update,
                &[],
                Timestamp::now(),
            )
            .await?;
        Ok(updated.map_or(Attempt::Stale, |updated| Attempt::Done(Some(updated))))
    })
    .await?;
    let written = written.ok_or_else(|| ApiError::busy("the session"))?;
    if let Some(updated) = written {
        context.publish(SessionChange::updated(&updated)).await;
    }
    Ok(())
}
