//! The HTTP server, the composition root: it connects to the database, builds the shared
//! state and the route tree (the WebSocket upgrade with authentication, the described
//! routes and the console), and runs them until a graceful shutdown (stop accepting,
//! finish in-flight requests, close sockets with 1001).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::http::StatusCode;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::Data;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, Server, get, handler};
use poem_openapi::OpenApiService;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::admission::{Admission, RETRY_AFTER_SECONDS, Refusal};
use super::auth::Authenticated;
use super::console::ConsoleRoutes;
use super::guarded::{GuardedStream, UnansweredSlots};
use super::route_metrics::{self, RouteTemplates};
use super::routes::HttpRoutes;
use super::settings::Settings;
use super::state::ServerState;
use super::upgrade::UpgradeRequest;
use super::{connection, guarded, internal, openapi};
use crate::api::endpoint::Registry;
use crate::app::prop_board::looks::SharedLooks;
use crate::app::reminders::Reminders;
use crate::app::state::AppState;
use crate::app::{deletion, person_data};
use crate::backoff::Backoff;
use crate::domain::people::User;
use crate::error::ApiError;
use crate::metrics;
use crate::push::{PushMode, Pushes};
use crate::store::{Store, answer_by_deadline, tracking_writes};

/// Pause between two upkeeps of the metrics' histograms.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);
/// Longest wait for open connections to finish their in-flight requests at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The WebSocket upgrade's route.
const WEBSOCKET_ROUTE: &str = "/api/v0/ws";
/// The statuses of the WebSocket upgrade's route: upgraded; no upgrade asked; no valid
/// token; the user's data is being erased; too many connections or over the rate; the
/// service failed or is busy.
const WEBSOCKET_STATUSES: [u16; 7] = [101, 400, 401, 403, 429, 500, 503];
/// The route of the OpenAPI document (served beside the routes it describes).
const OPENAPI_ROUTE: &str = "/openapi.json";

/// A built server, bound to its port, ready to run.
pub struct Application {
    state: Arc<ServerState>,
    acceptor: NoDelayAcceptor,
    local_addr: SocketAddr,
}

impl Application {
    /// Binds the listening socket of `settings.bind`, connects to the database and
    /// creates the indexes.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let listener = tokio::net::TcpListener::bind(&settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        Self::build_on(settings, listener).await
    }

    /// Like [`Application::build`], on a socket bound already (the command line binds it
    /// first, so that an address in use is told before anything slow starts).
    pub async fn build_on(
        settings: Settings,
        listener: tokio::net::TcpListener,
    ) -> anyhow::Result<Application> {
        if let Some(secret) = &settings.internal_secret {
            anyhow::ensure!(
                secret.expose_secret().len() >= internal::MIN_INTERNAL_SECRET_BYTES,
                "the internal secret must be at least {} bytes long",
                internal::MIN_INTERNAL_SECRET_BYTES
            );
        }
        // Building the registry here makes a duplicate endpoint name stop the start-up.
        let endpoints = Registry::global().names().count();
        // Installed, with every series at 0, before anything is counted.
        metrics::register_endpoints(Registry::global().names());
        let store = Store::connect(
            settings.mongodb_uri.expose_secret(),
            &settings.db_name,
            settings.db_timeout,
        )
        .await?;
        store.ensure_reachable().await?;
        store
            .ensure_indexes()
            .await
            .context("the database is not usable")?;
        let cursor_key = store
            .cursor_key()
            .await
            .context("cannot read or make the cursor key")?;
        store
            .backfill_event_scopes()
            .await
            .context("cannot complete the sessions written by an earlier version")?;
        let local_addr = listener.local_addr()?;
        let acceptor = NoDelayAcceptor {
            listener,
            local_addr: LocalAddr(local_addr.into()),
            unanswered: UnansweredSlots::new(guarded::MAX_UNANSWERED),
            header_timeout: settings.connection.header_timeout,
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(keep_metrics(shutdown.clone()));
        let pushes = Pushes::start(store.clone(), shutdown.clone()).await;
        if pushes.mode() == PushMode::Shared {
            tokio::spawn(store.clone().keep_caches_fresh(shutdown.clone()));
        }
        tokio::spawn(store.clone().keep_client_answering(shutdown.clone()));
        tracing::info!(%local_addr, endpoints, db = %settings.db_name, pushes = ?pushes.mode(), "server ready");
        if let Some(development) = &settings.development_tokens {
            tracing::info!(
                "development mode: open http://{local_addr}/console#key={} (this start's console key)",
                development.key
            );
        }
        let limits = &settings.connection;
        let admission = Admission::new(limits);
        let reminders = Reminders::start(
            store.clone(),
            Arc::clone(&pushes),
            settings.reminder_tick,
            shutdown.clone(),
        );
        let app = Arc::new(AppState {
            store,
            pushes,
            cursor_key,
            calendar_feed_key: settings.calendar_feed_key.clone(),
            public_url: settings.public_url.clone(),
            looks: SharedLooks::default(),
            reminders,
        });
        // Before serving, so that nobody meets the remains of a deletion cut short; a
        // failure is left to the periodic sweep rather than stopping the start.
        if let Err(error) = deletion::finish_interrupted_deletions(&app).await {
            tracing::warn!(%error, "cannot finish the event deletions an earlier process began");
        }
        tokio::spawn(deletion::sweep_interrupted_deletions(
            Arc::clone(&app),
            shutdown.clone(),
        ));
        // Erasures a stopped process began are finished in the background: each can be
        // long, and serving does not wait for them.
        let resumed = Arc::clone(&app);
        tokio::spawn(async move {
            if let Err(error) = person_data::finish_interrupted_erasures(&resumed).await {
                tracing::warn!(%error, "cannot finish the erasures an earlier process began");
            }
        });
        tokio::spawn(person_data::sweep_interrupted_erasures(
            Arc::clone(&app),
            shutdown.clone(),
        ));
        let state = Arc::new(ServerState {
            app,
            admission,
            asyncapi: crate::api::asyncapi::document(&settings.public_url),
            settings,
            shutdown,
            connections: TaskTracker::new(),
            feeds: Default::default(),
        });
        Ok(Application {
            state,
            acceptor,
            local_addr,
        })
    }

    /// The address the server listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The store this server uses: writes through it are seen by the server at once (its
    /// caches forget what they change), as the service's own writes are.
    pub fn store(&self) -> Store {
        self.state.app.store.clone()
    }

    /// How pushes travel: through change streams to every process, or locally.
    pub fn push_mode(&self) -> PushMode {
        self.state.app.pushes.mode()
    }

    /// Cancelling this token shuts the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then waits for open connections to
    /// finish their in-flight requests and close.
    pub async fn run(self) -> std::io::Result<()> {
        let state = self.state;
        let described = openapi_service(&state.settings.public_url);
        let spec = described.spec();
        let description = Arc::new(openapi::with_security(&spec));
        // Every route counted from 0 before the first request.
        let templates = Arc::new(RouteTemplates::described(
            &spec,
            [
                (WEBSOCKET_ROUTE, &WEBSOCKET_STATUSES[..]),
                (OPENAPI_ROUTE, &[200][..]),
            ],
        ));
        metrics::register_http_routes(templates.statuses());
        let routes = Route::new()
            .at(WEBSOCKET_ROUTE, get(websocket))
            .at(
                OPENAPI_ROUTE,
                get(poem::endpoint::make_sync(move |_| {
                    poem::web::Json(description.as_ref().clone())
                })),
            )
            .nest("/", described)
            .data(Arc::clone(&state))
            // A database failure tells whether the request may have changed anything, and
            // is answered within the deadline; the route's work is never cut short.
            .around(|endpoint, request| {
                answer_by_deadline(
                    async move { tracking_writes(endpoint.call(request)).await },
                    |error| Ok(error.into_response()),
                )
            })
            // Counts every answer, the deadline's included, by its route's template.
            .around(move |endpoint, request| {
                let templates = Arc::clone(&templates);
                async move { route_metrics::counted(&endpoint, request, &templates).await }
            });
        let shutdown = state.shutdown.clone();
        let served = Server::new_with_acceptor(self.acceptor)
            .idle_timeout(guarded::IDLE_HTTP_TIMEOUT)
            .run_with_graceful_shutdown(routes, shutdown.cancelled_owned(), Some(SHUTDOWN_GRACE))
            .await;
        state.connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, state.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the shutdown grace period");
        }
        served
    }
}

/// Accepts TCP connections with Nagle's algorithm off: an answer written right after a
/// push (a join answers both) leaves at once instead of waiting for the client to
/// acknowledge the push (a delayed ACK costs 40 ms).
///
/// Each socket is guarded until its first answer (see `guarded`); `accept` failures (out
/// of descriptors) are retried after growing pauses.
struct NoDelayAcceptor {
    listener: tokio::net::TcpListener,
    local_addr: LocalAddr,
    unanswered: UnansweredSlots,
    header_timeout: Duration,
}

impl Acceptor for NoDelayAcceptor {
    type Io = GuardedStream<tokio::net::TcpStream>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        vec![self.local_addr.clone()]
    }

    async fn accept(&mut self) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
        loop {
            let (stream, remote) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection; pausing");
                    backoff.pause().await;
                    continue;
                }
            };
            backoff.reset();
            let Some(stream) = self.unanswered.guard(stream, self.header_timeout) else {
                metrics::refused(metrics::Refusal::Unanswered);
                continue;
            };
            if let Err(error) = stream.get_ref().set_nodelay(true) {
                tracing::debug!(%error, "cannot turn Nagle's algorithm off");
            }
            return Ok((
                stream,
                self.local_addr.clone(),
                RemoteAddr(remote.into()),
                Scheme::HTTP,
            ));
        }
    }
}

/// Drains the histograms between scrapes until `shutdown`.
async fn keep_metrics(shutdown: CancellationToken) {
    let mut every = tokio::time::interval(METRICS_UPKEEP);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => metrics::run_upkeep(),
        }
    }
}

/// `GET /api/v0/ws`: authenticates, creates the user on first connect, and upgrades.
#[handler]
async fn websocket(
    // Before authentication: a request that is no upgrade at all is a 400.
    upgrade: UpgradeRequest,
    Authenticated(claims): Authenticated,
    request: &poem::Request,
    state: Data<&Arc<ServerState>>,
) -> Response {
    // `?resumeAfter=<event.id>`: replay the pushes missed since then first.
    let resume_after = request
        .uri()
        .query()
        .and_then(|query| super::auth::url_query_value(query, "resumeAfter"));
    let caller = claims.caller();
    let admitted = match state.admission.admit(&caller.user_id) {
        Ok(admitted) => admitted,
        Err(refusal) => {
            let limits = &state.settings.connection;
            let (reason, counted) = match refusal {
                Refusal::TooManyConnections => (
                    format!(
                        "too many connections: at most {} per user",
                        limits.max_connections_per_user
                    ),
                    metrics::Refusal::Connections,
                ),
                Refusal::RateLimited => (
                    format!(
                        "rate limit exceeded: at most {} frames and connections per second, bursts of {}",
                        limits.requests_per_second, limits.burst
                    ),
                    metrics::Refusal::Rate,
                ),
            };
            metrics::refused(counted);
            return Response::builder()
                .status(StatusCode::TOO_MANY_REQUESTS)
                .header(poem::http::header::RETRY_AFTER, RETRY_AFTER_SECONDS)
                .body(reason);
        }
    };
    if state.app.store.admit_request().is_err() {
        metrics::refused(metrics::Refusal::Busy);
        return ApiError::Overloaded.into_response();
    }
    if state.app.pushes.is_being_erased(&caller.user_id).await {
        return Response::builder()
            .status(StatusCode::FORBIDDEN)
            .body("this user's data is being erased");
    }
    let first_seen = User::first_seen(&claims.first_seen());
    if let Err(error) = state.app.store.ensure_user(&first_seen).await {
        return ApiError::from(error).into_response();
    }
    // Messages up to twice the limit are read whole and refused with a 413 (naming their
    // event.id) and a clean close; a larger one is refused as soon as its header arrives,
    // and the connection discards the rest after its 413 and close.
    let hard_limit = state
        .settings
        .connection
        .max_frame_bytes
        .saturating_mul(2)
        .max(64 * 1024);
    let state = Arc::clone(&state);
    let connections = state.connections.clone();
    tracing::debug!(user = ?claims.sub, "connection opened");
    upgrade.accept(hard_limit, move |socket| {
        connections.track_future(connection::serve(
            socket,
            state,
            caller,
            admitted,
            claims.exp,
            resume_after,
        ))
    })
}

/// The OpenAPI service of [`HttpRoutes`] and the console's routes, with the public URL as
/// its server.
fn openapi_service(public_url: &str) -> OpenApiService<(HttpRoutes, ConsoleRoutes), ()> {
    OpenApiService::new(
        (HttpRoutes, ConsoleRoutes),
        "social-events HTTP routes",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "The HTTP side of social-events. The API itself is a WebSocket at /api/v0/ws \
             (described by /asyncapi.json); these routes serve health checks, metrics, \
             calendar files, the platform's internal notifications and a browser console.",
    )
    .server(public_url)
    .license(poem_openapi::LicenseObject::new(env!("CARGO_PKG_LICENSE")))
}
