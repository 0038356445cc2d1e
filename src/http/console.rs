//! `GET /console`: a page to try the WebSocket API in a browser. It lists every endpoint
//! and push of the AsyncAPI document as it loads (their descriptions rendered from
//! Markdown), fills in an endpoint's example, sends it over a WebSocket with the token
//! given, and shows answers, failures and pushes as they arrive. Plain HTML, CSS and JavaScript under `src/http/console/`, built into the
//! binary: no build step, nothing loaded from elsewhere (its Content-Security-Policy
//! allows this origin only). Like `/asyncapi.json` it needs no token; operators restrict
//! it by network where they must.
//!
//! In development mode (the embedded database and the development secret the service
//! generated: no `SOCIAL_JWT_SECRET`, no public key) `GET /console/token?user=` signs a
//! token for any user, so that the console starts with one: only for a browser on the
//! same machine (see [`is_same_machine`]) that was not reached through a proxy (no
//! `Forwarded`, `X-Forwarded-*`, `X-Real-IP` or `Via` header) and that holds this start's
//! console key — a random value the server prints in its log as the console's address,
//! `/console#key=…`; the page sends it in the `X-Console-Key` header (a fragment never
//! reaches the server, a proxy or a log on its own). In production mode the route answers
//! 404 (it stays in `/openapi.json`, described as such), and the page asks for a token.

use std::sync::Arc;

use poem::Request;
use poem::http::header;
use poem::web::{Data, RemoteAddr};
use poem_openapi::param::Query;
use poem_openapi::payload::{Html, PlainText};
use poem_openapi::{ApiResponse, OpenApi};

use super::state::ServerState;
use crate::domain::ids::user_id_problem;

/// Headers that proxies and port forwarders add: a request with any of them was
/// forwarded for someone else.
const PROXY_HEADERS: [&str; 6] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "via",
];

/// Whether `request` came through a proxy or a forwarder.
fn is_forwarded(request: &Request) -> bool {
    PROXY_HEADERS
        .iter()
        .any(|name| request.headers().contains_key(*name))
}

/// The console's routes.
pub struct ConsoleRoutes;

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");
/// Where the page says whether development tokens are signed (`on` or `off`).
const DEVELOPMENT_TOKENS_MARK: &str = "{{development-tokens}}";
/// The page loads its script and style from this origin, and talks to this origin only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";
/// Lifetime of a development token.
const DEVELOPMENT_TOKEN_SECONDS: i64 = 12 * 3600;

#[derive(ApiResponse)]
enum Page {
    /// The console.
    #[oai(status = 200)]
    Ok(
        Html<String>,
        #[oai(header = "Content-Security-Policy")] String,
        #[oai(header = "Cache-Control")] String,
    ),
}

/// The answer of `/console/console.js`: one type per route, so that each route's one
/// `200` names its own content type.
#[derive(ApiResponse)]
enum Script {
    /// The console's script.
    #[oai(status = 200, content_type = "text/javascript; charset=utf-8")]
    Ok(
        PlainText<&'static str>,
        #[oai(header = "Cache-Control")] String,
    ),
}

/// The answer of `/console/console.css`.
#[derive(ApiResponse)]
enum Style {
    /// The console's style sheet.
    #[oai(status = 200, content_type = "text/css; charset=utf-8")]
    Ok(
        PlainText<&'static str>,
        #[oai(header = "Cache-Control")] String,
    ),
}

#[derive(ApiResponse)]
enum DevelopmentToken {
    /// A token for the user, valid for 12 hours.
    #[oai(status = 200)]
    Token(PlainText<String>, #[oai(header = "Cache-Control")] String),
    /// The user id is empty or longer than 256 bytes.
    #[oai(status = 400)]
    BadRequest(PlainText<String>),
    /// The browser is not on the service's machine, the request was forwarded, the page
    /// asking is not the console, or it lacks this start's console key.
    #[oai(status = 403)]
    Forbidden(PlainText<&'static str>),
    /// The service is not in development mode.
    #[oai(status = 404)]
    Absent(PlainText<&'static str>),
    /// The token could not be signed.
    #[oai(status = 500)]
    Failed(PlainText<&'static str>),
}

/// Whether a request for a development token comes from a browser on this machine: from
/// a loopback address, naming a loopback host (a page of another site whose name resolves
/// to 127.0.0.1 names its own host), and, when the browser says where the request comes
/// from, from this origin. A tunnel or proxy on this machine that forwards other people's
/// requests passes the first check but not the second unless it rewrites the host.
fn is_same_machine(remote: &RemoteAddr, request: &Request) -> bool {
    let from_loopback = remote
        .as_socket_addr()
        .is_some_and(|address| address.ip().to_canonical().is_loopback());
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    let host_name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let names_loopback = host_name.eq_ignore_ascii_case("localhost")
        || host_name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.to_canonical().is_loopback());
    let same_origin = request
        .headers()
        .get("sec-fetch-site")
        .is_none_or(|site| site == "same-origin" || site == "none");
    from_loopback && names_loopback && same_origin
}

/// Every console file is checked again on each load: a new version of the service may
/// serve new ones.
fn revalidate() -> String {
    "no-cache".to_owned()
}

#[OpenApi]
impl ConsoleRoutes {
    /// The console: try the WebSocket API in a browser (lists the endpoints of
    /// `/asyncapi.json`, sends their examples, shows answers and pushes); no token.
    #[oai(
        path = "/console",
        method = "get",
        tag = "super::openapi::Area::Console",
        operation_id = "getConsole"
    )]
    async fn page(&self, state: Data<&Arc<ServerState>>) -> Page {
        let development = if state.settings.development_tokens.is_some() {
            "on"
        } else {
            "off"
        };
        Page::Ok(
            Html(PAGE.replace(DEVELOPMENT_TOKENS_MARK, development)),
            CONTENT_SECURITY_POLICY.to_owned(),
            revalidate(),
        )
    }

    /// The console's script.
    #[oai(
        path = "/console/console.js",
        method = "get",
        tag = "super::openapi::Area::Console",
        operation_id = "getConsoleScript"
    )]
    async fn script(&self) -> Script {
        Script::Ok(PlainText(SCRIPT), revalidate())
    }

    /// The console's style sheet.
    #[oai(
        path = "/console/console.css",
        method = "get",
        tag = "super::openapi::Area::Console",
        operation_id = "getConsoleStyle"
    )]
    async fn style(&self) -> Style {
        Style::Ok(PlainText(STYLE), revalidate())
    }

    /// Development mode only: a token for `user`, signed with the development secret,
    /// for a browser on the service's own machine.
    #[oai(
        path = "/console/token",
        method = "get",
        tag = "super::openapi::Area::Console",
        operation_id = "getDevelopmentToken"
    )]
    async fn development_token(
        &self,
        /// The user to act as.
        user: Query<String>,
        remote: &RemoteAddr,
        request: &Request,
        state: Data<&Arc<ServerState>>,
    ) -> DevelopmentToken {
        let Some(development) = &state.settings.development_tokens else {
            return DevelopmentToken::Absent(PlainText(
                "the service is not in development mode: use a token of your identity provider",
            ));
        };
        if !is_same_machine(remote, request) || is_forwarded(request) {
            return DevelopmentToken::Forbidden(PlainText(
                "development tokens are given to a browser on the service's machine only",
            ));
        }
        if !development.is_keyed(request) {
            return DevelopmentToken::Forbidden(PlainText(
                "open the console at the address in the service's log: it holds this start's key",
            ));
        }
        if let Some(problem) = user_id_problem(&user) {
            return DevelopmentToken::BadRequest(PlainText(format!("user {problem}")));
        }
        match development
            .signer
            .sign_for_user(&user, DEVELOPMENT_TOKEN_SECONDS)
        {
            Ok(token) => DevelopmentToken::Token(PlainText(token), "no-store".to_owned()),
            Err(error) => {
                tracing::error!(%error, "cannot sign a development token");
                DevelopmentToken::Failed(PlainText("cannot sign the token"))
            }
        }
    }
}
