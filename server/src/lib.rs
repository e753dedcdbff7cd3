//! Nonstop's signaling server.
//!
//! Browsers connect to `/ws`, join a room named by their meeting link, and exchange
//! offers, answers and ICE candidates through it; the media itself flows peer to
//! peer. Every other path serves the built app. The protocol is defined in
//! `nonstop_core::protocol` and described in `docs/protocol.md`.
//!
//! - [`rooms`]: who is in which room, as a sans-IO state machine.
//! - [`hub`]: that state behind one lock, delivering to per-connection queues.
//! - [`connection`]: one WebSocket, from upgrade to close.
//! - [`static_files`]: the app, with a fallback to `index.html`.
//! - [`config`]: flags and settings.
//!
//! Error policy: a bad message gets an error reply (and, if fatal, a closed socket);
//! it never takes the server down. A panic is a bug.

pub mod config;
pub mod connection;
pub mod hub;
pub mod resume;
pub mod rooms;
pub mod static_files;
pub mod turn;

use std::future::{Future, IntoFuture};
use std::io;
use std::sync::Arc;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;
use tracing::{info, warn};

pub use config::{Args, Settings};
use hub::Hub;

/// Largest WebSocket message the library accepts before we see it. Above the
/// protocol's own limit (`MAX_MESSAGE_BYTES`) on purpose: frames in between reach our
/// check and get a `too_large` reply instead of a dropped connection.
pub const WS_LIBRARY_MAX_BYTES: usize = 1024 * 1024;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    hub: Arc<Hub>,
    settings: Arc<Settings>,
    /// Cancelled when the server stops; every connection closes on it.
    shutdown: CancellationToken,
    /// The WebSocket tasks, which outlive the HTTP request that started them, so
    /// shutdown can wait for them.
    connections: TaskTracker,
}

impl AppState {
    pub fn new(settings: Settings) -> Self {
        let key = match &settings.session_secret {
            Some(secret) => resume::SessionKey::from_secret(secret),
            None => resume::SessionKey::random(),
        };
        // Ids count from the start time in milliseconds: above every id of an earlier
        // run (unless it handed out more than one per millisecond), so participants
        // resuming into this run keep theirs and ids still grow with join order.
        let first_id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(1);
        AppState {
            hub: Arc::new(
                Hub::configured(settings.capacity, first_id, settings.turn.clone(), key)
                    .with_heartbeat_interval(settings.heartbeat_interval),
            ),
            settings: Arc::new(settings),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

/// The HTTP routes: `/ws`, `/healthz`, and the app for everything else.
pub fn app(state: AppState) -> Router {
    let pages = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback_service(static_files::router(&state.settings.static_dir))
        .layer(CompressionLayer::new());
    // `/ws` is added after the compression layer, which therefore does not wrap it:
    // an upgrade response has no body to compress.
    pages
        .route("/ws", get(ws_upgrade))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn ws_upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    if state.shutdown.is_cancelled() {
        // A request that slipped in on a kept-alive connection: come back to the next process.
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    ws.max_message_size(WS_LIBRARY_MAX_BYTES)
        .max_frame_size(WS_LIBRARY_MAX_BYTES)
        .on_upgrade(move |socket| {
            let (sink, stream) = socket.split();
            let AppState {
                hub,
                settings,
                shutdown,
                connections,
            } = state;
            connections.track_future(connection::run(sink, stream, hub, settings, shutdown))
        })
}

/// Serves until `shutdown` completes, then shuts down gracefully (see
/// [`shutdown_gracefully`]) and returns within the shutdown grace.
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    if !settings.static_dir.join("index.html").is_file() {
        warn!(dir = %settings.static_dir.display(), "no index.html in the static folder: only /ws and /healthz will work");
    }
    info!(
        addr = %listener.local_addr()?,
        static_dir = %settings.static_dir.display(),
        capacity = settings.capacity,
        "listening"
    );
    let state = AppState::new(settings);
    let stop_http = CancellationToken::new();
    let http = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(stop_http.clone().cancelled_owned())
        .into_future();
    shutdown_gracefully(http, shutdown, stop_http, &state).await
}

/// Runs `http` until `signal`, then shuts down without ending anyone's call: stops
/// accepting, tells every WebSocket client `going_away` after what was relayed to it
/// so far, closes it with 1001, and tells no room `left` (the seats are kept: with the
/// same `--session-secret` the restarted server re-admits everyone on `resume`).
/// Returns once everything is closed, or at the shutdown grace whatever is still open
/// (a half-sent request, a silent TCP connection, a client that does not read).
async fn shutdown_gracefully(
    http: impl Future<Output = io::Result<()>>,
    signal: impl Future<Output = ()>,
    stop_http: CancellationToken,
    state: &AppState,
) -> io::Result<()> {
    tokio::pin!(http);
    tokio::select! {
        result = &mut http => return result,
        () = signal => {}
    }
    let started = tokio::time::Instant::now();
    info!("shutting down: clients are told to come back");
    // First the hub stops relaying, so that everything relayed so far is queued before
    // any connection queues its `going_away`; then the listener and the sockets.
    state.hub.close();
    stop_http.cancel();
    state.shutdown.cancel();
    state.connections.close();
    let all_closed = async {
        // The HTTP side: axum stops accepting and closes idle connections; upgraded
        // ones are not its business but ours (`connections`).
        let result = (&mut http).await;
        state.connections.wait().await;
        result
    };
    match tokio::time::timeout_at(started + state.settings.shutdown_grace, all_closed).await {
        Ok(result) => {
            info!(took_ms = started.elapsed().as_millis() as u64, "stopped");
            result
        }
        Err(_) => {
            warn!(
                grace_ms = state.settings.shutdown_grace.as_millis() as u64,
                open_websockets = state.connections.len(),
                "stopped at the shutdown grace with connections still open"
            );
            Ok(())
        }
    }
}

/// Completes on Ctrl-C, or on SIGTERM where there is one.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
