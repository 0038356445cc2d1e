//! `acme:ping`: answers who is calling, and the message it was sent back.

use serde::{Deserialize, Serialize};
use social_events::api::prelude::*;

/// The endpoint.
pub struct Ping;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct Request {
    #[serde(default)]
    message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    user_id: String,
    echo: String,
}

impl Endpoint for Ping {
    const NAME: &'static str = "acme:ping";
    const CHANGES_DATA: bool = false;
    type Request = Request;
    type Response = Response;

    fn example() -> Example {
        Example {
            request: json!({ "message": "hello" }),
            answer: json!({ "userId": "ada", "echo": "hello" }),
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        check_max_chars(
            &request.message,
            MAX_REFERENCE_CHARS,
            &FieldPath::data().field("message"),
        )
    }

    async fn handle(context: RequestContext, request: Request) -> Result<Response, ApiError> {
        Ok(Response {
            user_id: context.me().to_string(),
            echo: request.message,
        })
    }
}

inventory::submit! { Registration::of::<Ping>().described_by(include_str!("ping.rs")) }
