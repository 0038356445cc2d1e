//! One frame's way through the API: decode the envelope, find the endpoint, call it (a
//! panic becomes a 500 with a logged reference), encode the answer. One tracing span per
//! frame carries the endpoint, the client's `event.id`, the answer's code and duration.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use tracing::Instrument;

use super::endpoint::{AnswerData, Registry};
use super::envelope;
use super::retries::{self, Claim};
use crate::app::context::RequestContext;
use crate::error::{ApiError, code};
use crate::metrics::{self, Refusal, UNKNOWN_ENDPOINT};
use crate::store::request_answers::RecordedAnswer;
use crate::store::{answer_by_deadline, tracking_writes};

/// The metrics label of an endpoint name: the registered name, or `unknown`.
fn endpoint_label(name: &str) -> &'static str {
    Registry::global()
        .find(name)
        .map_or(UNKNOWN_ENDPOINT, |registration| registration.name)
}

/// Counts a frame's answer, and the refusal it was, if any.
fn count_answer(endpoint: &'static str, error: Option<&ApiError>) {
    metrics::frame_answered(endpoint, error.map_or(0, ApiError::code));
    let refusal = match error {
        Some(ApiError::FrameTooLarge { .. }) => Some(Refusal::Size),
        Some(ApiError::RateLimited { .. }) => Some(Refusal::Rate),
        Some(ApiError::QuotaExceeded(_)) => Some(Refusal::Quota),
        _ => None,
    };
    if let Some(refusal) = refusal {
        metrics::refused(refusal);
    }
}

/// Decodes, dispatches and answers one text frame. Always produces exactly one frame,
/// even when the endpoint panics.
pub async fn answer(text: &str, context: RequestContext) -> String {
    let started = Instant::now();
    let request = match envelope::decode(text) {
        Ok(request) => request,
        Err(refused) => {
            // Client text reaches the log escaped (`?`), so it cannot forge log lines.
            tracing::info!(code = refused.error.code(), error = ?refused.error.to_string(), "frame refused");
            count_answer(endpoint_label(&refused.endpoint), Some(&refused.error));
            return envelope::encode_failure(
                &refused.endpoint,
                refused.event_id.as_deref(),
                &refused.error,
            );
        }
    };
    let span = tracing::info_span!(
        "frame",
        endpoint = %request.endpoint,
        event_id = ?request.event_id.as_deref().unwrap_or(""),
        user = ?context.caller.user_id.as_str(),
        code = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let frame_span = span.clone();
    async move {
        let registration = Registry::global().find(&request.endpoint);
        let label = registration
            .as_ref()
            .map_or(UNKNOWN_ENDPOINT, |found| found.name);
        let event_id = request.event_id.clone();
        let done = if context.store().admit_request().is_err() {
            metrics::refused(Refusal::Busy);
            Done::Answered(Err(ApiError::Overloaded))
        } else {
            let work = Work {
                registration,
                endpoint: request.endpoint.clone(),
                event_id: event_id.clone(),
                data: request.data,
                context,
            };
            answer_by_deadline(work.run(), |error| Done::Answered(Err(error))).await
        };
        let result = match done {
            Done::AnsweredAgain(answer) => {
                metrics::frame_answered(
                    label,
                    u16::try_from(answer.code).unwrap_or(code::INTERNAL),
                );
                metrics::answer_time(label, started.elapsed());
                frame_span.record("code", answer.code);
                tracing::info!(code = answer.code, "answered again (a retry)");
                return envelope::encode_recorded(&request.endpoint, event_id.as_deref(), &answer);
            }
            Done::Answered(result) => result,
        };
        let event_id = event_id.as_deref();
        let (frame, code) = match result {
            Ok(data) => {
                count_answer(label, None);
                let frame = envelope::encode_success(&request.endpoint, event_id, data.as_deref());
                (frame, 0)
            }
            Err(error) => {
                count_answer(label, Some(&error));
                let frame = envelope::encode_failure(&request.endpoint, event_id, &error);
                (frame, error.code())
            }
        };
        metrics::answer_time(label, started.elapsed());
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        frame_span.record("code", code);
        frame_span.record("duration_ms", duration_ms);
        tracing::info!(code, duration_ms, "answered");
        frame
    }
    .instrument(span)
    .await
}

/// How a request was answered.
enum Done {
    /// A retry: the first request's answer, again.
    AnsweredAgain(RecordedAnswer),
    /// Worked on (or refused before).
    Answered(Result<AnswerData, ApiError>),
}

/// One request's work: the claim of a retry, the endpoint, the record of its answer.
struct Work {
    registration: Result<&'static super::endpoint::Registration, ApiError>,
    endpoint: String,
    event_id: Option<String>,
    data: serde_json::Map<String, serde_json::Value>,
    context: RequestContext,
}

impl Work {
    async fn run(self) -> Done {
        let Work {
            registration,
            endpoint,
            event_id,
            data,
            context,
        } = self;
        // A request that changes data and names its `event.id` may be a retry.
        let retry_key = registration
            .as_ref()
            .ok()
            .filter(|registration| registration.changes_data)
            .and(event_id);
        // A request that does not decode or validate changes nothing and is answered alike
        // every time: refused before anything is recorded for its retries.
        if let (Some(_), Ok(registration)) = (&retry_key, &registration)
            && let Err(error) = registration.check(data.clone())
        {
            return Done::Answered(Err(error));
        }
        let store = context.store().clone();
        let user_id = context.caller.user_id.clone();
        let claim = match &retry_key {
            Some(event_id) => {
                Some(retries::claim(&store, &user_id, event_id, &endpoint, &data).await)
            }
            None => None,
        };
        let claimed_at = match claim {
            // A success whose data was not kept (a credential, a large rendering) is
            // worked out again.
            Some(Ok(Claim::Answered(answer))) if answer.withheld => {
                let read_again = answer.shows.as_ref().and_then(retries::read_again);
                return Done::Answered(match (read_again, registration) {
                    (Some((reader, data)), _) => match Registry::global().find(reader) {
                        Ok(reader) => reader.call(context, data).await,
                        Err(error) => Err(error),
                    },
                    (None, Ok(registration)) => registration.answer_again(context).await,
                    (None, Err(error)) => Err(error),
                });
            }
            Some(Ok(Claim::Answered(answer))) => return Done::AnsweredAgain(answer),
            Some(Err(error)) => return Done::Answered(Err(error)),
            Some(Ok(Claim::Work(claimed_at))) => Some(claimed_at),
            None => None,
        };
        // What a claimed request publishes waits for its answer, which its last push
        // carries for the retries.
        let mut context = context;
        let held = claimed_at.map(|_| context.hold_publications());
        let pushes = std::sync::Arc::clone(&context.state.pushes);
        let keeps_data = registration
            .as_ref()
            .is_ok_and(|registration| registration.keeps_answer_data());
        let result = match registration {
            Ok(registration) => AssertUnwindSafe(tracking_writes(registration.call(context, data)))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    Err(ApiError::Unexpected(anyhow::anyhow!(
                        "the endpoint panicked"
                    )))
                }),
            Err(error) => Err(error),
        };
        if let (Some(event_id), Some(claimed_at), Some(held)) = (retry_key, claimed_at, held) {
            retries::publish_and_record(
                &store,
                &pushes,
                &user_id,
                &event_id,
                claimed_at,
                &result,
                keeps_data,
                held.take(),
            )
            .await;
        }
        Done::Answered(result)
    }
}

/// The answer to a frame refused before dispatch (too large, over the rate limit),
/// echoing what can be read of it.
pub fn refuse(text: &str, error: &ApiError) -> String {
    let (endpoint, event_id) = match envelope::decode(text) {
        Ok(request) => (request.endpoint, request.event_id),
        Err(refused) => (refused.endpoint, refused.event_id),
    };
    count_answer(endpoint_label(&endpoint), Some(error));
    envelope::encode_failure(&endpoint, event_id.as_deref(), error)
}

/// The answer to a frame refused unread (binary, or larger than is read whole).
pub fn refuse_unread(error: &ApiError) -> String {
    count_answer(UNKNOWN_ENDPOINT, Some(error));
    envelope::encode_failure("", None, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_their_reason_beside_their_frame() {
        let text = crate::metrics::tests::exported(|| {
            count_answer("social:getEvents", None);
            count_answer(
                UNKNOWN_ENDPOINT,
                Some(&ApiError::FrameTooLarge { limit: 1 }),
            );
            count_answer(
                "social:getEvents",
                Some(&ApiError::RateLimited {
                    per_second: 1,
                    burst: 1,
                }),
            );
            count_answer(
                "social:createSession",
                Some(&ApiError::QuotaExceeded("over".to_owned())),
            );
            count_answer(
                "social:joinSession",
                Some(&ApiError::Conflict("full".to_owned())),
            );
        });
        for line in [
            r#"social_frames_total{endpoint="social:getEvents",code="0"} 1"#,
            r#"social_frames_total{endpoint="unknown",code="413"} 1"#,
            r#"social_frames_total{endpoint="social:getEvents",code="429"} 1"#,
            r#"social_frames_total{endpoint="social:createSession",code="409"} 1"#,
            r#"social_frames_total{endpoint="social:joinSession",code="409"} 1"#,
            r#"social_refusals_total{reason="size"} 1"#,
            r#"social_refusals_total{reason="rate"} 1"#,
            r#"social_refusals_total{reason="quota"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert_eq!(text.matches("social_refusals_total{").count(), 3, "{text}");
    }

    #[test]
    fn an_unregistered_endpoint_is_labelled_unknown() {
        assert_eq!(endpoint_label("social:getSession"), "social:getSession");
        assert_eq!(endpoint_label("social:noSuchThing"), UNKNOWN_ENDPOINT);
        assert_eq!(endpoint_label("user-123"), UNKNOWN_ENDPOINT);
    }
}
