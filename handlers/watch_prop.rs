//! `social:watchProp` (extension): answers what `social:getPropSessions` answers, then
//! pushes `social:propSessionsUpdated` to this connection whenever that answer changes,
//! until `social:unwatchProp` or the connection closes. Anyone signed in; at most 16 props per connection (the 17th is a 409); watching a watched
//! prop again answers anew and counts once.

use crate::api::prelude::*;

/// The endpoint.
pub struct WatchProp;

impl Endpoint for WatchProp {
    const NAME: &'static str = "social:watchProp";
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
        context.watch_prop(request.prop()).await
    }
}

inventory::submit! { Registration::of::<WatchProp>().described_by(include_str!("watch_prop.rs")) }
