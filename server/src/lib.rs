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
pub mod ids;
pub mod origin;
pub mod passcode;
pub mod per_address;
pub mod resume;
pub mod rooms;
pub mod static_files;
pub mod turn;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{Extensions, HeaderMap, StatusCode};
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
        // Ids carry this run's epoch (ids.rs): above every id of an earlier run, so
        // participants resuming into this run keep theirs, ids still grow with join
        // order, and an earlier run's tokens never name an id this run hands out.
        AppState::with_ids(settings, ids::IdGen::for_this_run())
    }

    /// Like [`new`](Self::new), with ids from `ids`.
    pub fn with_ids(settings: Settings, ids: ids::IdGen) -> Self {
        let key = match &settings.session_secret {
            Some(secret) => resume::SessionKey::from_secret(secret),
            None => resume::SessionKey::random(),
        };
        AppState {
            hub: Arc::new(
                Hub::configured(settings.capacity, ids, settings.turn.clone(), key)
                    .with_token_ttl(settings.session_ttl)
                    .with_turn_limit(settings.turn_per_address_per_minute),
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

async fn ws_upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    if let Err(origin) = state.settings.allowed_origins.check(&headers) {
        let origin: String = origin.chars().take(200).collect();
        warn!(origin = ?origin, "WebSocket refused: origin not allowed");
        return (
            StatusCode::FORBIDDEN,
            format!(
                "WebSocket refused: pages from origin {origin:?} may not use this server \
                 (the server allows its own origin and those given with --allowed-origin)\n"
            ),
        )
            .into_response();
    }
    // Known when served through `serve` (connect info); otherwise all connections
    // share one address for per-address limits.
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
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
            connections.track_future(connection::run(sink, stream, hub, settings, shutdown, peer))
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
    let ids = ids::IdGen::for_this_run();
    // No id before this run's start tick is over: a later run then has a later epoch
    // than every id handed out here (ids.rs). Connections wait in the backlog.
    tokio::time::sleep(ids.ready_in()).await;
    let state = AppState::with_ids(settings, ids);
    let stop = state.shutdown.clone();
    // With connect info: the client's address, for per-address limits.
    let result = axum::serve(
        listener,
        app(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
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
