//! `social:cancelOccurrence` (extension): the owner or an admin of the event's source
//! cancels one occurrence of a recurring session, named by its original start
//! (`occurrence`: ISO 8601 or milliseconds, as the session's `exceptions` and its
//! calendar file name it); the rest of the series stays. Its audience hears
//! `social:sessionUpdated`; prop boards stop showing it. Cancelling it again changes
//! nothing; `social:restoreOccurrence` undoes it. An `occurrence` that is not one of the
//! rule's is a 400 at `data.occurrence`, a session that does not repeat a 400 at
//! `data.sessionId`; at most 100 occurrences of a session are cancelled or changed (409).

use crate::api::prelude::*;

/// The endpoint.
pub struct CancelOccurrence;

impl Endpoint for CancelOccurrence {
    const NAME: &'static str = "social:cancelOccurrence";
    const CHANGES_DATA: bool = true;
    type Request = OccurrenceRequest;
    type Response = ();

    fn example() -> Example {
        Example {
            request: json!({ "sessionId": examples::SESSION_ID, "occurrence": "2030-04-01T07:00:00Z" }),
            answer: Value::Null,
        }
    }

    async fn handle(context: RequestContext, request: OccurrenceRequest) -> Result<(), ApiError> {
        let occurrence = request.occurrence.to_chrono();
        occurrences::change_exceptions(&context, &request.session_id, |schedule, exceptions| {
            if exceptions.of(occurrence) == Some(&Exception::Cancelled { occurrence }) {
                schedule.check_exception(&Exception::Cancelled { occurrence })?;
                return Ok(false);
            }
            exceptions.set(schedule, Exception::Cancelled { occurrence })?;
            Ok(true)
        })
        .await
    }
}

inventory::submit! { Registration::of::<CancelOccurrence>().described_by(include_str!("cancel_occurrence.rs")) }
