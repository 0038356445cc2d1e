//! `social:unwatchProp` (extension): stops this connection's watch of a prop
//! (`social:watchProp`); no `social:propSessionsUpdated` for it follows the answer. The
//! answer is `{}`, also when the prop was not watched (a repeated call does no harm).

use serde::Serialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct UnwatchProp;

/// The answer: an empty object.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(extend("maxProperties" = 0))]
pub struct Unwatched {}

impl Endpoint for UnwatchProp {
    const NAME: &'static str = "social:unwatchProp";
    const CHANGES_DATA: bool = false;
    type Request = PropRequest;
    type Response = Unwatched;

    fn example() -> Example {
        Example {
            request: examples::prop_request(),
            answer: json!({}),
        }
    }

    fn validate(request: &PropRequest) -> Result<(), ApiError> {
        request.validate()
    }

    async fn handle(context: RequestContext, request: PropRequest) -> Result<Unwatched, ApiError> {
        context.watches.unwatch(&request.prop());
        Ok(Unwatched {})
    }
}

inventory::submit! { Registration::of::<UnwatchProp>().described_by(include_str!("unwatch_prop.rs")) }
