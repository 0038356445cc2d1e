//! `social:getPropSessions`: the two visible, valid sessions at a room prop that are under
//! way or next to start — a recurring session by its current or next occurrence — ongoing
//! ones first, then upcoming ones, each by start time, then id. `social:watchProp` keeps
//! this answer up to date.

use crate::api::prelude::*;

/// The endpoint.
pub struct GetPropSessions;

impl Endpoint for GetPropSessions {
    const NAME: &'static str = "social:getPropSessions";
    const CHANGES_DATA: bool = false;
    type Request = PropRequest;
    type Response = PropSessions;

    fn example() -> Example {
        Example {
            request: examples::prop_request(),
            answer: examples::prop_sessions(),
        }
    }

    fn validate(request: &PropRequest) -> Result<(), ApiError> {
        request.validate()
    }

    async fn handle(
        context: RequestContext,
        request: PropRequest,
    ) -> Result<PropSessions, ApiError> {
        let view = prop_sessions(context.store(), context.me(), &request.prop()).await?;
        Ok(view.answer)
    }
}

inventory::submit! { Registration::of::<GetPropSessions>().described_by(include_str!("get_prop_sessions.rs")) }
