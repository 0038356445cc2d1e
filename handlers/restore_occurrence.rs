//! `social:restoreOccurrence` (extension): the owner or an admin of the event's source
//! takes back the cancellation or the change of one occurrence of a recurring session
//! (named by its original start, as for `social:cancelOccurrence`): it takes place as the
//! rule says again. Its audience hears `social:sessionUpdated`. An occurrence that was
//! neither cancelled nor changed changes nothing; one that is not an occurrence of the
//! rule is a 400 at `data.occurrence`.

use crate::api::prelude::*;

/// The endpoint.
pub struct RestoreOccurrence;

impl Endpoint for RestoreOccurrence {
    const NAME: &'static str = "social:restoreOccurrence";
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
            schedule.neighbours_of(occurrence)?;
            Ok(exceptions.restore(occurrence))
        })
        .await
    }
}

inventory::submit! { Registration::of::<RestoreOccurrence>().described_by(include_str!("restore_occurrence.rs")) }
