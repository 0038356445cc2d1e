//! The HTTP routes besides the WebSocket upgrade — health, readiness, metrics, the
//! calendar invitation file and the platform's internal routes — served by poem-openapi,
//! which also generates their OpenAPI 3 description at `GET /openapi.json` from these
//! very operations, so that the description cannot drift from what is served.
//!
//! Authentication stays with the extractors the WebSocket uses (a user token as
//! `Authorization: Bearer` or `?token=`; the internal secret as `Authorization: Bearer`),
//! so these routes answer exactly as before; each operation's description says which.

use std::sync::Arc;
use std::time::Duration;

use poem::Request;
use poem::web::{Data, RemoteAddr};
use poem_openapi::param::Path;
use poem_openapi::payload::{Binary, Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};

use super::admission::Admission;
use super::auth::Authenticated;
use super::calendar_feed;
use super::internal::{InternalAccess, internal_access, invalidate_sessions};
use super::invitation_file;
use super::openapi::{Area, Failure, ServerFailure};
use super::state::ServerState;
use crate::app::person_data;
use crate::domain::feed::token_hash;
use crate::domain::ids::{SessionId, user_hash, user_id_problem};
use crate::error::ApiError;
use crate::metrics;
use crate::store::person::{ErasureRecord, ErasureState};

/// Longest wait of `/readyz` for the database's answer.
pub const READINESS_DEADLINE: Duration = Duration::from_millis(750);

/// The operations.
pub struct HttpRoutes;

#[derive(ApiResponse)]
enum Alive {
    /// The process runs.
    #[oai(status = 200)]
    Ok(PlainText<&'static str>),
}

#[derive(ApiResponse)]
enum Readiness {
    /// The database answered a ping.
    #[oai(status = 200)]
    Ready(PlainText<&'static str>),
    /// The database is unreachable or did not answer within 750 ms.
    #[oai(status = 503)]
    NotReady(PlainText<&'static str>),
    /// This client address asks more often than the rate limit allows.
    #[oai(status = 429)]
    TooMany(PlainText<&'static str>),
}

#[derive(ApiResponse)]
enum MetricsText {
    /// Prometheus text format 0.0.4.
    #[oai(
        status = 200,
        content_type = "text/plain; version=0.0.4; charset=utf-8"
    )]
    Ok(PlainText<String>),
}

#[derive(ApiResponse)]
enum InvitationFile {
    /// The session's calendar invitation (RFC 5545, `METHOD:REQUEST`).
    #[oai(
        status = 200,
        content_type = "text/calendar; charset=utf-8; method=REQUEST"
    )]
    File(
        PlainText<String>,
        /// `attachment; filename="session-{sessionId}.ics"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

#[derive(ApiResponse)]
enum FeedFile {
    /// The user's sessions (RFC 5545, `METHOD:PUBLISH`).
    #[oai(status = 200, content_type = "text/calendar; charset=utf-8")]
    File(
        Binary<bytes::Bytes>,
        /// A hash of the file: send it back as `If-None-Match`.
        #[oai(header = "ETag")]
        String,
        /// `no-cache`: revalidate on every use.
        #[oai(header = "Cache-Control")]
        String,
    ),
    /// Nothing changed since the file with this `ETag`.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

/// An erasure of a user's data, as the internal routes show it.
#[derive(poem_openapi::Object)]
#[oai(rename_all = "camelCase")]
struct ErasureView {
    /// The job's id: the SHA-256 of the user id, in hex.
    job_id: String,
    /// `running` or `done`.
    state: String,
    /// What was erased, by kind (once done).
    counts: std::collections::BTreeMap<String, u64>,
    /// When it began (milliseconds since the epoch).
    started: i64,
    /// When it finished; absent while it runs.
    finished: Option<i64>,
}

impl From<ErasureRecord> for ErasureView {
    fn from(record: ErasureRecord) -> Self {
        ErasureView {
            job_id: record.id,
            state: match record.state {
                ErasureState::Running => "running".to_owned(),
                ErasureState::Done => "done".to_owned(),
            },
            counts: record.counts,
            started: record.started.timestamp_millis(),
            finished: record.finished.map(|at| at.timestamp_millis()),
        }
    }
}

#[derive(ApiResponse)]
enum Exported {
    /// Not a user id (1 to 256 bytes, no control characters).
    #[oai(status = 400)]
    Invalid(PlainText<&'static str>),
    /// Everything the service holds that names the user, streamed.
    #[oai(status = 200, content_type = "application/json")]
    Data(Binary<poem::Body>),
    #[oai(status = 401)]
    Unauthorized(PlainText<&'static str>),
    #[oai(status = 404)]
    Absent,
}

#[derive(ApiResponse)]
enum ErasureBegun {
    /// Not a user id (1 to 256 bytes, no control characters).
    #[oai(status = 400)]
    Invalid(PlainText<&'static str>),
    /// The erasure runs (or ran): poll `GET .../erasure`.
    #[oai(status = 202)]
    Accepted(Json<ErasureView>),
    #[oai(status = 401)]
    Unauthorized(PlainText<&'static str>),
    #[oai(status = 404)]
    Absent,
}

#[derive(ApiResponse)]
enum ErasureStatus {
    /// Not a user id (1 to 256 bytes, no control characters).
    #[oai(status = 400)]
    Invalid(PlainText<&'static str>),
    #[oai(status = 200)]
    Found(Json<ErasureView>),
    #[oai(status = 401)]
    Unauthorized(PlainText<&'static str>),
    /// No erasure of this user was asked for (or no internal secret is configured).
    #[oai(status = 404)]
    Absent,
}

#[derive(ApiResponse)]
enum Invalidated {
    /// The sessions were marked invalid and pushed (also when there were none).
    #[oai(status = 204)]
    Done,
    /// The internal secret is missing or wrong.
    #[oai(status = 401)]
    Unauthorized(PlainText<&'static str>),
    /// No internal secret is configured: the internal routes do not exist.
    #[oai(status = 404)]
    Absent,
}

#[OpenApi]
impl HttpRoutes {
    /// Liveness: `ok` while the process runs; never touches the database.
    #[oai(
        path = "/healthz",
        operation_id = "checkHealth",
        method = "get",
        tag = "Area::Operation"
    )]
    async fn healthz(&self) -> Alive {
        Alive::Ok(PlainText("ok"))
    }

    /// Readiness: the database answers a ping. Answers within 750 ms whatever the
    /// database does (down, frozen, slow).
    #[oai(
        path = "/readyz",
        operation_id = "checkReadiness",
        method = "get",
        tag = "Area::Operation"
    )]
    async fn readyz(&self, remote: &RemoteAddr, state: Data<&Arc<ServerState>>) -> Readiness {
        let address = remote
            .as_socket_addr()
            .map(|address| address.ip().to_string())
            .unwrap_or_default();
        if state
            .admission
            .take(&Admission::route_key("readyz", &address))
            .is_none()
        {
            return Readiness::TooMany(PlainText("over the rate limit"));
        }
        // The ping goes on after an answer given without it: a database call is never
        // abandoned (see `store::gate`).
        let store = state.app.store.clone();
        let ping = tokio::spawn(async move { store.ping().await });
        match tokio::time::timeout(READINESS_DEADLINE, ping).await {
            Ok(Ok(Ok(()))) => Readiness::Ready(PlainText("ready")),
            Ok(Err(failed)) => {
                tracing::warn!(%failed, "readiness check failed");
                Readiness::NotReady(PlainText("database unreachable"))
            }
            Ok(Ok(Err(error))) => {
                tracing::warn!(%error, "readiness check failed");
                Readiness::NotReady(PlainText("database unreachable"))
            }
            Err(_) => {
                tracing::warn!("readiness check failed: the database did not answer in time");
                Readiness::NotReady(PlainText("database not answering"))
            }
        }
    }

    /// The AsyncAPI 3.0 document of the WebSocket API, generated from the endpoint
    /// registry; no token.
    #[oai(
        path = "/asyncapi.json",
        operation_id = "getAsyncApi",
        method = "get",
        tag = "Area::Operation"
    )]
    async fn asyncapi(&self, state: Data<&Arc<ServerState>>) -> Json<serde_json::Value> {
        Json(state.asyncapi.clone())
    }

    /// This process's Prometheus metrics (listed in the README); no token.
    #[oai(
        path = "/metrics",
        operation_id = "getMetrics",
        method = "get",
        tag = "Area::Operation"
    )]
    async fn metrics(&self) -> MetricsText {
        MetricsText::Ok(PlainText(metrics::render()))
    }

    /// The calendar invitation of a session the caller may see, with the caller's own
    /// attendance. Authenticated with the WebSocket's user token, as
    /// `Authorization: Bearer <token>` or `?token=<token>`.
    #[oai(
        path = "/api/v0/resource/sessionInvitation/:sessionId",
        operation_id = "getSessionInvitation",
        method = "get",
        tag = "Area::Calendar"
    )]
    async fn session_invitation(
        &self,
        Authenticated(claims): Authenticated,
        /// The session's id.
        #[oai(name = "sessionId")]
        session_id: Path<String>,
        state: Data<&Arc<ServerState>>,
    ) -> Result<InvitationFile, Failure> {
        let caller = claims.caller();
        // The rate of the user's WebSocket frames, charged by size as their answers are.
        let Some(charge) = state.admission.take(&caller.user_id) else {
            return Err(rate_limited(&state).into());
        };
        let calendar =
            invitation_file::render(&state, &caller, &SessionId::from(session_id.0.as_str()))
                .await?;
        charge.charge(calendar.len());
        Ok(InvitationFile::File(
            PlainText(calendar),
            format!("attachment; filename=\"session-{}.ics\"", session_id.0),
        ))
    }

    /// A user's calendar feed, for calendar apps to subscribe to: every session the user
    /// owns, is invited to (not declined) or joined, and those that left the feed in the
    /// last 30 days as cancelled. The secret URL is the only credential (from
    /// `social:getCalendarFeed`); an unknown or rotated one is 404. `If-None-Match` with
    /// the last `ETag` answers 304 while nothing changed.
    #[oai(
        path = "/api/v0/resource/calendar/:feed",
        operation_id = "getCalendarFeed",
        method = "get",
        tag = "Area::Calendar"
    )]
    async fn calendar_feed(
        &self,
        /// The feed's token followed by `.ics`.
        feed: Path<String>,
        request: &Request,
        state: Data<&Arc<ServerState>>,
    ) -> Result<FeedFile, Failure> {
        let Some(token) = feed.strip_suffix(".ics") else {
            return Err(ApiError::NotFound("no such calendar feed".to_owned()).into());
        };
        let hash = token_hash(token);
        // One GET of a feed at a time; each feed has a rate of its own (its URL is its
        // only credential), taken in its turn, so that the size of the GETs before counts.
        let _turn = state.feeds.turn(&hash).await;
        let key = Admission::route_key("calendar-feed", &hash);
        let Some(charge) = state.admission.take(&key) else {
            return Err(rate_limited(&state).into());
        };
        let feed = calendar_feed::render(&state.app, &state.feeds, &hash).await?;
        let unchanged = request
            .headers()
            .get(poem::http::header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| calendar_feed::matches(value, &feed.etag));
        if unchanged {
            return Ok(FeedFile::NotModified(feed.etag.clone()));
        }
        charge.charge(feed.calendar.len());
        Ok(FeedFile::File(
            Binary(feed.calendar.clone()),
            feed.etag.clone(),
            "no-cache".to_owned(),
        ))
    }

    /// The platform deleted a room: its valid sessions become `isValid: false` and are
    /// pushed to their audiences. `Authorization: Bearer <internal secret>`.
    #[oai(
        path = "/api/v0/internal/rooms/:roomId/deleted",
        operation_id = "roomDeleted",
        method = "post",
        tag = "Area::Internal"
    )]
    async fn room_deleted(
        &self,
        request: &Request,
        /// The deleted room.
        #[oai(name = "roomId")]
        room_id: Path<String>,
        state: Data<&Arc<ServerState>>,
    ) -> Result<Invalidated, ServerFailure> {
        invalidate(request, &state, &room_id, None).await
    }

    /// Everything this service holds that names the user, as JSON streamed a page at a
    /// time (see the README, "A person's data"): events and sessions they own (rendered as
    /// to their owner), invitations, participations, waitlist places, calendar feed,
    /// reminder lead time, and counts with dates of kept pushes, retry answers and contact
    /// look-ups. `Authorization: Bearer <internal secret>`.
    #[oai(
        path = "/api/v0/internal/users/:userId/export",
        operation_id = "exportUserData",
        method = "get",
        tag = "Area::Internal"
    )]
    async fn export_user_data(
        &self,
        request: &Request,
        /// The user.
        #[oai(name = "userId")]
        user_id: Path<String>,
        state: Data<&Arc<ServerState>>,
    ) -> Result<Exported, ServerFailure> {
        match internal_refusal(request, &state) {
            Some(Some(message)) => return Ok(Exported::Unauthorized(PlainText(message))),
            Some(None) => return Ok(Exported::Absent),
            None => {}
        }
        if let Some(problem) = user_id_problem(&user_id) {
            return Ok(Exported::Invalid(PlainText(problem)));
        }
        // A database that does not answer is a 503 before anything is sent.
        state
            .app
            .store
            .calendar_feed_of(&user_id)
            .await
            .map_err(ApiError::from)?;
        let chunks = person_data::export(Arc::clone(&state.app), user_id.0);
        let stream = futures_util::stream::unfold(chunks, |mut chunks| async move {
            chunks.recv().await.map(|chunk| (chunk, chunks))
        });
        Ok(Exported::Data(Binary(poem::Body::from_bytes_stream(
            stream,
        ))))
    }

    /// Erases everything this service holds that names the user (see the README, "A
    /// person's data"): answers `202` with the job at once, which runs in the background
    /// and is finished by another process if this one stops; a second request reports the
    /// same job. `Authorization: Bearer <internal secret>`.
    #[oai(
        path = "/api/v0/internal/users/:userId",
        operation_id = "eraseUserData",
        method = "delete",
        tag = "Area::Internal"
    )]
    async fn erase_user_data(
        &self,
        request: &Request,
        /// The user.
        #[oai(name = "userId")]
        user_id: Path<String>,
        state: Data<&Arc<ServerState>>,
    ) -> Result<ErasureBegun, ServerFailure> {
        match internal_refusal(request, &state) {
            Some(Some(message)) => return Ok(ErasureBegun::Unauthorized(PlainText(message))),
            Some(None) => return Ok(ErasureBegun::Absent),
            None => {}
        }
        if let Some(problem) = user_id_problem(&user_id) {
            return Ok(ErasureBegun::Invalid(PlainText(problem)));
        }
        let record = person_data::begin_erasure(&state.app, &user_id)
            .await
            .map_err(ApiError::from)?;
        Ok(ErasureBegun::Accepted(Json(record.into())))
    }

    /// The state of the erasure of the user's data: `running` or `done`, with counts by
    /// kind. `Authorization: Bearer <internal secret>`.
    #[oai(
        path = "/api/v0/internal/users/:userId/erasure",
        operation_id = "userErasure",
        method = "get",
        tag = "Area::Internal"
    )]
    async fn user_erasure(
        &self,
        request: &Request,
        /// The user.
        #[oai(name = "userId")]
        user_id: Path<String>,
        state: Data<&Arc<ServerState>>,
    ) -> Result<ErasureStatus, ServerFailure> {
        match internal_refusal(request, &state) {
            Some(Some(message)) => return Ok(ErasureStatus::Unauthorized(PlainText(message))),
            Some(None) => return Ok(ErasureStatus::Absent),
            None => {}
        }
        if let Some(problem) = user_id_problem(&user_id) {
            return Ok(ErasureStatus::Invalid(PlainText(problem)));
        }
        let id = user_hash(&user_id);
        let record = state.app.store.erasure(&id).await.map_err(ApiError::from)?;
        Ok(match record {
            Some(record) => ErasureStatus::Found(Json(record.into())),
            None => ErasureStatus::Absent,
        })
    }

    /// The platform deleted a prop of a room: the same for the sessions at that prop.
    /// `Authorization: Bearer <internal secret>`.
    #[oai(
        path = "/api/v0/internal/rooms/:roomId/props/:propId/deleted",
        operation_id = "propDeleted",
        method = "post",
        tag = "Area::Internal"
    )]
    async fn prop_deleted(
        &self,
        request: &Request,
        /// The prop's room.
        #[oai(name = "roomId")]
        room_id: Path<String>,
        /// The deleted prop.
        #[oai(name = "propId")]
        prop_id: Path<String>,
        state: Data<&Arc<ServerState>>,
    ) -> Result<Invalidated, ServerFailure> {
        invalidate(request, &state, &room_id, Some(&prop_id)).await
    }
}

/// Whether the request may use the internal routes; the refusal to answer otherwise.
fn internal_refusal(request: &Request, state: &ServerState) -> Option<Option<&'static str>> {
    match internal_access(request, state) {
        InternalAccess::Absent => Some(None),
        InternalAccess::Refused => Some(Some("invalid internal credential")),
        InternalAccess::Granted => None,
    }
}

async fn invalidate(
    request: &Request,
    state: &ServerState,
    room_id: &str,
    prop_id: Option<&str>,
) -> Result<Invalidated, ServerFailure> {
    match internal_access(request, state) {
        InternalAccess::Absent => return Ok(Invalidated::Absent),
        InternalAccess::Refused => {
            return Ok(Invalidated::Unauthorized(PlainText(
                "invalid internal credential",
            )));
        }
        InternalAccess::Granted => {}
    }
    let count = invalidate_sessions(state, room_id, prop_id).await?;
    tracing::info!(?room_id, ?prop_id, sessions = count, "sessions invalidated");
    Ok(Invalidated::Done)
}

/// The refusal of a request to an HTTP route over its rate (the rate of WebSocket frames).
fn rate_limited(state: &ServerState) -> ApiError {
    ApiError::RateLimited {
        per_second: state.settings.connection.requests_per_second,
        burst: state.settings.connection.burst,
    }
}
