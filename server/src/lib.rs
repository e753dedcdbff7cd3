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
//! - [`metrics`]: counters for `/metrics` (Prometheus text format).
//! - [`config`]: flags and settings.
//!
//! Error policy: a bad message gets an error reply (and, if fatal, a closed socket);
//! it never takes the server down. A panic is a bug.

pub mod config;
pub mod connection;
pub mod hub;
pub mod metrics;
pub mod resume;
pub mod rooms;
pub mod static_files;
pub mod turn;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;
use tracing::{debug, info, warn};

pub use config::{Args, Settings};
use hub::Hub;

/// Largest WebSocket message the library accepts before we see it. Above the
/// protocol's own limit (`MAX_MESSAGE_BYTES`) on purpose: frames in between reach our
/// check and get a `too_large` reply instead of a dropped connection.
pub const WS_LIBRARY_MAX_BYTES: usize = 1024 * 1024;

/// How long shutdown waits for WebSocket connections to say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
            hub: Arc::new(Hub::configured(
                settings.capacity,
                first_id,
                settings.turn.clone(),
                key,
            )),
            settings: Arc::new(settings),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

/// The HTTP routes: `/ws`, `/healthz`, `/metrics` (unless it has its own address),
/// and the app for everything else.
pub fn app(state: AppState) -> Router {
    let metrics_here = state.settings.metrics_addr.is_none();
    let pages = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            if metrics_here {
                get(metrics_page)
            } else {
                // Not the app's page either: a scraper pointed here should fail loudly.
                get(|| async {
                    (
                        StatusCode::NOT_FOUND,
                        "metrics are served on --metrics-addr",
                    )
                })
            },
        )
        .fallback_service(static_files::router(&state.settings.static_dir))
        .layer(CompressionLayer::new());
    // `/ws` is added after the compression layer, which therefore does not wrap it:
    // an upgrade response has no body to compress.
    pages
        .route("/ws", get(ws_upgrade))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The router of the `--metrics-addr` listener: `/metrics` only.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .with_state(state)
}

async fn metrics_page(State(state): State<AppState>) -> Response {
    let (rooms, participants) = state.hub.counts();
    (
        [
            (header::CONTENT_TYPE, metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        metrics::render(rooms, participants),
    )
        .into_response()
}

async fn ws_upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
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

/// Serves until `shutdown` completes, then closes every WebSocket (peers get a close
/// frame) and returns once they are done or after a grace period.
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
    let metrics_addr = settings.metrics_addr;
    let state = AppState::new(settings);
    let stop = state.shutdown.clone();
    if let Some(addr) = metrics_addr {
        let metrics_listener = TcpListener::bind(addr).await?;
        info!(addr = %metrics_listener.local_addr()?, "metrics at /metrics");
        let (app, stop) = (metrics_app(state.clone()), state.shutdown.clone());
        tokio::spawn(async move {
            let stopped = stop.cancelled_owned();
            if let Err(e) = axum::serve(metrics_listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                warn!(error = %e, "metrics listener failed");
            }
        });
    }
    // No Nagle: a relay is often several small frames in a row (an answer, then
    // candidates), and waiting for the peer's delayed ACK added up to 40 ms to each.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let result = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(async move {
            shutdown.await;
            info!("shutting down");
            stop.cancel();
        })
        .await;
    // Upgraded connections are not part of axum's graceful shutdown; they were told
    // through the token and are waited for here.
    state.shutdown.cancel();
    state.connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, state.connections.wait())
        .await
        .is_err()
    {
        warn!("some connections did not close in time");
    }
    result
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
