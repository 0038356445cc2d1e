//! The HTTP server: WebSocket upgrade with authentication, health checks, and graceful
//! shutdown (stop accepting, finish in-flight requests, close sockets with 1001).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::web::websocket::{WebSocket, WebSocketConfig};
use poem::{EndpointExt, IntoResponse, Request, Response, Route, Server, get, handler, post};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::authenticate;
use crate::endpoint::{Caller, Registry};
use crate::error::ApiError;
use crate::pushes::{PushMode, Pushes};
use crate::state::{AppState, Settings};
use crate::store::Store;
use crate::{connection, internal, invitation_file};

/// Longest wait for open connections to finish their in-flight requests at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Read buffer of each WebSocket; small, since most connections are idle most of the time.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// A built server, bound to its port, ready to run.
pub struct Application {
    state: Arc<AppState>,
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
}

impl Application {
    /// Connects to the database, creates the indexes and binds the listening socket.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        // Building the registry here makes a duplicate endpoint name stop the start-up.
        let endpoints = Registry::global().names().count();
        let store = Store::connect(&settings.mongodb_uri, &settings.db_name).await?;
        store
            .ensure_indexes()
            .await
            .context("the database is not usable")?;
        let listener = tokio::net::TcpListener::bind(&settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let local_addr = listener.local_addr()?;
        let acceptor = TcpAcceptor::from_tokio(listener)?;
        let shutdown = CancellationToken::new();
        let pushes = Pushes::start(store.clone(), shutdown.clone()).await;
        tracing::info!(%local_addr, endpoints, db = %settings.db_name, pushes = ?pushes.mode(), "server ready");
        let state = Arc::new(AppState {
            store,
            pushes,
            settings,
            shutdown,
            connections: TaskTracker::new(),
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

    /// How pushes travel: through change streams to every process, or locally.
    pub fn push_mode(&self) -> PushMode {
        self.state.pushes.mode()
    }

    /// Cancelling this token shuts the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then waits for open connections to
    /// finish their in-flight requests and close.
    pub async fn run(self) -> std::io::Result<()> {
        let state = self.state;
        let routes = Route::new()
            .at("/api/v0/ws", get(websocket))
            .at("/healthz", get(healthz))
            .at("/readyz", get(readyz))
            .at(
                "/api/v0/resource/sessionInvitation/:session_id",
                get(invitation_file::session_invitation),
            )
            .at(
                "/api/v0/internal/rooms/:room_id/deleted",
                post(internal::room_deleted),
            )
            .at(
                "/api/v0/internal/rooms/:room_id/props/:prop_id/deleted",
                post(internal::prop_deleted),
            )
            .data(Arc::clone(&state));
        let shutdown = state.shutdown.clone();
        let served = Server::new_with_acceptor(self.acceptor)
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

/// `GET /api/v0/ws`: authenticates, creates the user on first connect, and upgrades.
#[handler]
async fn websocket(request: &Request, socket: WebSocket, state: Data<&Arc<AppState>>) -> Response {
    let claims = match authenticate(request, &state.settings.tokens) {
        Ok(claims) => claims,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(error) = state.store.ensure_user(&claims).await {
        return ApiError::from(error).into_response();
    }
    // Frames up to twice the limit are read whole and refused with a 413 and a clean close;
    // the WebSocket library drops the connection on anything larger, before buffering it.
    let hard_limit = state
        .settings
        .connection
        .max_frame_bytes
        .saturating_mul(2)
        .max(64 * 1024);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(hard_limit))
        .max_frame_size(Some(hard_limit));
    let state = Arc::clone(&state);
    let caller = Caller {
        user_id: claims.sub.as_str().into(),
    };
    let connections = state.connections.clone();
    tracing::debug!(user = %claims.sub, "connection opened");
    socket
        .config(config)
        .on_upgrade(move |socket| {
            connections.track_future(connection::serve(socket, state, caller, claims.exp))
        })
        .into_response()
}

/// `GET /healthz`: the process is alive.
#[handler]
fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
#[handler]
async fn readyz(state: Data<&Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}
