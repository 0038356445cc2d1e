//! The HTTP routes' answers, counted and timed by route template
//! (`social_http_requests_total{route, status}`, `social_http_answer_seconds{route}`).
//!
//! A request is labelled with the template of the route that serves it — the path as the
//! OpenAPI document writes it, `/api/v0/resource/calendar/{feed}` — never with its own
//! path, which may carry a secret (a calendar feed's token) or any text a client sends;
//! a path that no route serves is `unmatched`. The templates and the statuses each route
//! documents are read from the OpenAPI document at start, so that every series can be
//! served at 0 before the first request and a new route is counted without an edit here.

use std::time::Instant;

use poem::{Endpoint, Request, Response};

use crate::metrics;

/// The route templates of the server, with the statuses each documents.
#[derive(Debug, Clone)]
pub struct RouteTemplates {
    templates: Vec<Template>,
}

#[derive(Debug, Clone)]
struct Template {
    text: String,
    /// Each segment of the path: its text, or `None` for a parameter (`{name}`).
    segments: Vec<Option<String>>,
    statuses: Vec<u16>,
}

impl Template {
    fn new(text: &str, statuses: Vec<u16>) -> Template {
        let segments = text
            .split('/')
            .skip(1)
            .map(|segment| {
                let parameter = segment.starts_with('{') && segment.ends_with('}');
                (!parameter).then(|| segment.to_owned())
            })
            .collect();
        Template {
            text: text.to_owned(),
            segments,
            statuses,
        }
    }

    /// Whether `path` (without its query) is one this route serves.
    fn serves(&self, path: &str) -> bool {
        let mut segments = path.split('/');
        if segments.next() != Some("") {
            return false;
        }
        let mut own = self.segments.iter();
        loop {
            match (own.next(), segments.next()) {
                (None, None) => return true,
                (Some(Some(literal)), Some(segment)) if literal == segment => {}
                (Some(None), Some(segment)) if !segment.is_empty() => {}
                _ => return false,
            }
        }
    }
}

impl RouteTemplates {
    /// The routes of `routes`: each a template and the statuses it may answer.
    pub fn new<'a>(routes: impl IntoIterator<Item = (&'a str, &'a [u16])>) -> RouteTemplates {
        RouteTemplates {
            templates: routes
                .into_iter()
                .map(|(text, statuses)| Template::new(text, statuses.to_vec()))
                .collect(),
        }
    }

    /// The routes an OpenAPI document describes (its `paths`, with the statuses of every
    /// operation's `responses`), besides `others`; a document that does not parse adds
    /// none.
    pub fn described<'a>(
        openapi: &str,
        others: impl IntoIterator<Item = (&'a str, &'a [u16])>,
    ) -> RouteTemplates {
        let mut templates = RouteTemplates::new(others);
        let document: serde_json::Value = match serde_json::from_str(openapi) {
            Ok(document) => document,
            Err(error) => {
                tracing::warn!(%error, "the OpenAPI document does not parse; its routes are counted as unmatched");
                serde_json::Value::Null
            }
        };
        if let Some(paths) = document["paths"].as_object() {
            for (path, operations) in paths {
                let mut statuses: Vec<u16> = operations
                    .as_object()
                    .into_iter()
                    .flat_map(|operations| operations.values())
                    .filter_map(|operation| operation["responses"].as_object())
                    .flat_map(|responses| responses.keys())
                    .filter_map(|status| status.parse().ok())
                    .collect();
                statuses.sort_unstable();
                statuses.dedup();
                templates.templates.push(Template::new(path, statuses));
            }
        }
        templates
    }

    /// The label of a request for `path`: the template of the route that serves it (a
    /// template with a fixed segment where another has a parameter wins, as in the
    /// router), or [`metrics::UNMATCHED_ROUTE`].
    pub fn route_of(&self, path: &str) -> &str {
        self.templates
            .iter()
            .filter(|template| template.serves(path))
            .max_by_key(|template| {
                template
                    .segments
                    .iter()
                    .map(Option::is_some)
                    .collect::<Vec<_>>()
            })
            .map_or(metrics::UNMATCHED_ROUTE, |template| &template.text)
    }

    /// Every route with the statuses it documents, and [`metrics::UNMATCHED_ROUTE`] with
    /// 404.
    pub fn statuses(&self) -> impl Iterator<Item = (&str, &[u16])> {
        self.templates
            .iter()
            .map(|template| (template.text.as_str(), template.statuses.as_slice()))
            .chain([(metrics::UNMATCHED_ROUTE, &[404][..])])
    }
}

/// Answers `request` with `endpoint`, counting and timing the answer under the template
/// of its route.
pub async fn counted<E: Endpoint<Output = Response>>(
    endpoint: &E,
    request: Request,
    routes: &RouteTemplates,
) -> poem::Result<Response> {
    let started = Instant::now();
    let route = routes.route_of(request.uri().path());
    let answered = endpoint.call(request).await;
    let status = match &answered {
        Ok(response) => response.status(),
        Err(error) => error.status(),
    };
    metrics::http_answered(route, status.as_u16(), started.elapsed());
    answered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> RouteTemplates {
        RouteTemplates::new([
            ("/healthz", &[200][..]),
            ("/api/v0/resource/calendar/{feed}", &[200, 304, 404][..]),
            ("/api/v0/internal/rooms/{roomId}/deleted", &[204][..]),
            (
                "/api/v0/internal/rooms/{roomId}/props/{propId}/deleted",
                &[204][..],
            ),
            ("/console/{asset}", &[200][..]),
            ("/console/token", &[200][..]),
        ])
    }

    #[test]
    fn a_request_is_labelled_with_its_route_template_never_its_path() {
        let routes = routes();
        for (path, route) in [
            ("/healthz", "/healthz"),
            (
                "/api/v0/resource/calendar/s3cr3t-token.ics",
                "/api/v0/resource/calendar/{feed}",
            ),
            (
                "/api/v0/internal/rooms/room-1/deleted",
                "/api/v0/internal/rooms/{roomId}/deleted",
            ),
            (
                "/api/v0/internal/rooms/room-1/props/stage/deleted",
                "/api/v0/internal/rooms/{roomId}/props/{propId}/deleted",
            ),
            ("/console/token", "/console/token"),
            ("/console/console.js", "/console/{asset}"),
        ] {
            assert_eq!(routes.route_of(path), route, "{path}");
        }
    }

    #[test]
    fn a_path_no_route_serves_is_unmatched() {
        let routes = routes();
        for path in [
            "/",
            "",
            "/healthz/",
            "/healthz/more",
            "/api/v0/resource/calendar/",
            "/api/v0/resource/calendar/a/b",
            "/api/v0/internal/rooms/room-1",
            "/anything-a-client-sends",
        ] {
            assert_eq!(routes.route_of(path), metrics::UNMATCHED_ROUTE, "{path}");
        }
    }

    #[test]
    fn the_described_routes_come_with_the_statuses_of_their_operations() {
        let openapi = r#"{"paths": {
            "/healthz": {"get": {"responses": {"200": {}}}},
            "/api/v0/resource/calendar/{feed}": {"get": {"responses": {"200": {}, "304": {}, "404": {}}}},
            "/rooms/{roomId}": {"post": {"responses": {"204": {}}}, "get": {"responses": {"200": {}, "204": {}, "default": {}}}}
        }}"#;
        let routes = RouteTemplates::described(openapi, [("/api/v0/ws", &[101, 401][..])]);
        let statuses: Vec<(&str, &[u16])> = routes.statuses().collect();
        assert_eq!(
            statuses,
            [
                ("/api/v0/ws", &[101, 401][..]),
                ("/healthz", &[200][..]),
                ("/api/v0/resource/calendar/{feed}", &[200, 304, 404][..]),
                ("/rooms/{roomId}", &[200, 204][..]),
                ("unmatched", &[404][..]),
            ]
        );
        assert_eq!(routes.route_of("/rooms/r-1"), "/rooms/{roomId}");
    }
}
