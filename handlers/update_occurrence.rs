//! `social:updateOccurrence` (extension): the owner or an admin of the event's source
//! changes one occurrence of a recurring session (named by its original start, as for
//! `social:cancelOccurrence`): `changes` holds any of `startDate`, `duration`, `title` and
//! `description` (at least one; 400 at `data.changes` otherwise); what it leaves out stays
//! as the occurrence has it (its original start and the session's duration, title and
//! description, or its earlier change). A changed start may not lie before the previous
//! occurrence's original start nor after the next one's (400 at `data.changes.startDate`). Its audience hears `social:sessionUpdated`;
//! prop boards show it at its new time. `social:restoreOccurrence` undoes it.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct UpdateOccurrence;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: SessionId,
    /// The occurrence's original start.
    occurrence: Timestamp,
    changes: Changes,
}

/// What changes for the one occurrence.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    start_date: Option<Timestamp>,
    /// Seconds.
    #[schemars(range(min = 1, max = MAX_DURATION_SECONDS))]
    duration: Option<i64>,
    #[schemars(length(min = 1, max = MAX_TITLE_CHARS))]
    title: Option<String>,
    #[schemars(length(max = MAX_DESCRIPTION_CHARS))]
    description: Option<String>,
}

impl Endpoint for UpdateOccurrence {
    const NAME: &'static str = "social:updateOccurrence";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = ();

    fn example() -> Example {
        Example {
            request: json!({
                "sessionId": examples::SESSION_ID,
                "occurrence": "2030-04-01T07:00:00Z",
                "changes": { "startDate": "2030-04-01T08:00:00Z", "title": "Keynote (an hour later)" },
            }),
            answer: Value::Null,
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        let changes = &request.changes;
        let path = FieldPath::data().field("changes");
        if changes.start_date.is_none()
            && changes.duration.is_none()
            && changes.title.is_none()
            && changes.description.is_none()
        {
            return Err(ApiError::invalid(
                path,
                "must change at least one of startDate, duration, title and description",
            ));
        }
        check_texts(&path, &changes.title, &changes.description, &[])?;
        if let Some(duration) = changes.duration
            && !(1..=MAX_DURATION_SECONDS).contains(&duration)
        {
            return Err(ApiError::invalid(
                path.field("duration"),
                format!("must be between 1 and {MAX_DURATION_SECONDS} seconds"),
            ));
        }
        Ok(())
    }

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let occurrence = request.occurrence.to_chrono();
        let changes = &request.changes;
        occurrences::change_exceptions(&context, &request.session_id, |schedule, exceptions| {
            let (start, duration, title, description) = match exceptions.of(occurrence) {
                Some(Exception::Changed {
                    start,
                    duration,
                    title,
                    description,
                    ..
                }) => (*start, *duration, title.clone(), description.clone()),
                _ => (occurrence, schedule.duration_seconds(), None, None),
            };
            let changed = Exception::Changed {
                occurrence,
                start: changes.start_date.map_or(start, Timestamp::to_chrono),
                duration: changes.duration.unwrap_or(duration),
                title: changes.title.clone().or(title),
                description: changes.description.clone().or(description),
            };
            if exceptions.of(occurrence) == Some(&changed) {
                schedule.check_exception(&changed)?;
                return Ok(false);
            }
            exceptions.set(schedule, changed)?;
            Ok(true)
        })
        .await
    }
}

inventory::submit! { Registration::of::<UpdateOccurrence>().described_by(include_str!("update_occurrence.rs")) }
