//! Access tokens on HTTP requests: the [`Authenticated`] extractor shared by the
//! WebSocket upgrade and the invitation file, and where a request carries its token.

use std::sync::Arc;

use poem::{FromRequest, IntoResponse, Request, RequestBody};

use super::state::ServerState;
use crate::error::ApiError;
use crate::token::Claims;

/// The claims of a request's valid access token. As an extractor, a missing or invalid
/// token answers 401 before the route runs, saying in words what is wrong with it.
pub struct Authenticated(pub Claims);

impl<'a> FromRequest<'a> for Authenticated {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let refuse = |error: ApiError| poem::Error::from_response(error.into_response());
        let state = request.data::<Arc<ServerState>>().ok_or_else(|| {
            refuse(ApiError::Unexpected(anyhow::anyhow!(
                "the server state is not attached to the routes"
            )))
        })?;
        let token = token_from_request(request).ok_or_else(|| {
            refuse(ApiError::Unauthorized(
                "missing token: send it as `Authorization: Bearer <token>`, or as \
                 `?token=<token>` where headers cannot be set"
                    .to_owned(),
            ))
        })?;
        state
            .settings
            .tokens
            .verify(&token)
            .map(Authenticated)
            .map_err(|message| refuse(ApiError::Unauthorized(message)))
    }
}

/// The user token a request carries: `Authorization: Bearer <token>`, or, for browser
/// clients that cannot set headers, `?token=<token>`.
pub fn token_from_request(request: &Request) -> Option<String> {
    if request
        .headers()
        .contains_key(poem::http::header::AUTHORIZATION)
    {
        return bearer_token(request);
    }
    let query = request.uri().query()?;
    url_query_value(query, "token")
}

/// The credential of an `Authorization: Bearer <credential>` header; never the query.
pub fn bearer_token(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The percent-decoded value of `name` in a URL query string.
pub(crate) fn url_query_value(query: &str, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tokens_are_percent_decoded() {
        assert_eq!(
            url_query_value("a=1&token=x%2By", "token").as_deref(),
            Some("x+y")
        );
        assert_eq!(url_query_value("a=1", "token"), None);
    }
}
