//! One frame's way through the API: decode the envelope, find the endpoint, call it (a
//! panic becomes a 500 with a logged reference), encode the answer. One tracing span per
//! frame carries the endpoint, the client's `event.id`, the answer's code and duration.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use tracing::Instrument;

use super::context::RequestContext;
use super::endpoint::Registry;
use super::envelope;
use crate::error::ApiError;
use crate::store::tracking_writes;

/// Decodes, dispatches and answers one text frame. Always produces exactly one frame,
/// even when the endpoint panics.
pub async fn answer(text: &str, context: RequestContext) -> String {
    let started = Instant::now();
    let request = match envelope::decode(text) {
        Ok(request) => request,
        Err(refused) => {
            // Client text reaches the log escaped (`?`), so it cannot forge log lines.
            tracing::info!(code = refused.error.code(), error = ?refused.error.to_string(), "frame refused");
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
        let result = match Registry::global().find(&request.endpoint) {
            Ok(registration) => {
                AssertUnwindSafe(tracking_writes(registration.call(context, request.data)))
                    .catch_unwind()
                    .await
            }
            .unwrap_or_else(|_| {
                Err(ApiError::Unexpected(anyhow::anyhow!(
                    "the endpoint panicked"
                )))
            }),
            Err(error) => Err(error),
        };
        let event_id = request.event_id.as_deref();
        let (frame, code) = match result {
            Ok(data) => (
                envelope::encode_success(&request.endpoint, event_id, data.as_ref()),
                0,
            ),
            Err(error) => (
                envelope::encode_failure(&request.endpoint, event_id, &error),
                error.code(),
            ),
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        frame_span.record("code", code);
        frame_span.record("duration_ms", duration_ms);
        tracing::info!(code, duration_ms, "answered");
        frame
    }
    .instrument(span)
    .await
}

/// The answer to a frame refused before dispatch (too large, over the rate limit),
/// echoing what can be read of it.
pub fn refuse(text: &str, error: &ApiError) -> String {
    match envelope::decode(text) {
        Ok(request) => {
            envelope::encode_failure(&request.endpoint, request.event_id.as_deref(), error)
        }
        Err(refused) => {
            envelope::encode_failure(&refused.endpoint, refused.event_id.as_deref(), error)
        }
    }
}
