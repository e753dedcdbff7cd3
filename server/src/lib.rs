//! Nonstop's signaling server.
//!
//! Browsers connect to `/ws`, join a room named by their meeting link, and exchange
//! offers, answers and ICE candidates through it; the media itself flows peer to
//! peer. Every other path serves the built app. The protocol is defined in
//! `nonstop_core::protocol` and described in `docs/protocol.md`.
//!
//! - [`rooms`]: who is in which room, and each call's topology, as a sans-IO state machine.
//! - [`hub`]: that state behind one lock, delivering to per-connection queues.
//! - [`connection`]: one WebSocket, from upgrade to close.
//! - [`out_queue`]: a connection's outbound queue, bounded in messages and bytes.
//! - [`limits`]: rate limits per connection, coalesced `media`, connection caps.
//! - [`http_server`]: accepting connections, with a header deadline and the caps.
//! - [`log_text`]: client text made safe for logs.
//! - [`static_files`]: the app, with a fallback to `index.html`.
//! - [`metrics`]: counters for `/metrics` (Prometheus text format).
//! - [`config`]: flags and settings.
//! - [`cluster`]: several nodes sharing rooms through Redis (`--redis-url`): each room's home node,
//!   and sockets forwarded to it.
//! - [`sfu`]: the SFU that relays large calls, as the rooms see it; [`janus`] implements it for Janus and
//!   proxies browsers' Janus WebSockets at `/janus`.
//!
//! Error policy: a bad message gets an error reply (and, if fatal, a closed socket);
//! it never takes the server down. A panic is a bug.

pub mod api;
pub mod client_addr;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod embed;
pub mod http_server;
pub mod hub;
pub mod ids;
pub mod janus;
pub mod limits;
pub mod log_text;
pub mod metrics;
pub mod open_files;
pub mod origin;
pub mod out_queue;
pub mod passcode;
pub mod per_address;
pub mod resume;
pub mod rooms;
pub mod sfu;
pub mod static_files;
pub mod turn;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::header::{self, CONNECTION};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use nonstop_core::protocol::MAX_MESSAGE_BYTES;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;
use tracing::{info, warn};

pub use config::{Args, Settings};
use http_server::Admission;
use hub::Hub;
use limits::ConnectionCaps;
use sfu::SfuRooms;

/// Largest WebSocket message the library accepts before we see it; a larger one
/// closes the connection with 1009. Twice the protocol's own limit
/// (`MAX_MESSAGE_BYTES`) on purpose: frames in between reach our check and get a
/// `too_large` reply, so a client whose offer grew a little too big hears why.
pub const WS_LIBRARY_MAX_BYTES: usize = 2 * MAX_MESSAGE_BYTES;

/// The WebSocket library's read buffer per connection (its default, 128 KiB, made
/// each idle socket cost that much); larger messages grow it while they last.
const WS_READ_BUFFER_BYTES: usize = 4 * 1024;

/// Most bytes the library buffers for writing (frames and its automatic pongs to a
/// client's pings): room for the largest message, and no more however many pings a
/// client sends without reading the pongs. Writes go out at once (no batching).
const WS_MAX_WRITE_BUFFER_BYTES: usize = 2 * WS_LIBRARY_MAX_BYTES;

/// File descriptors kept free of connections: for the listener, the app's files and
/// logs, and for answering connections over the cap (a full server still answers
/// `/healthz` and says 503). An eighth of the limit, and at least this many.
const MIN_SPARE_FILES: u64 = 64;

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
    /// Open connections, in total and per client address.
    caps: Arc<ConnectionCaps>,
    /// The rooms REST API; `None`: off.
    api: Option<Arc<api::Api>>,
    /// The other nodes, through Redis; `None`: this process holds every room.
    cluster: Option<Arc<cluster::Cluster>>,
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
        AppState::with_sfu(settings, ids, None)
    }

    /// Like [`with_ids`](Self::with_ids), relaying large calls through `sfu` (`None`:
    /// every call stays in mesh, up to the mesh limit).
    pub fn with_sfu(settings: Settings, ids: ids::IdGen, sfu: Option<Arc<dyn SfuRooms>>) -> Self {
        AppState::with_api(settings, ids, sfu, None)
    }

    /// Like [`with_sfu`](Self::with_sfu), with the rooms REST API (`None`: off).
    pub fn with_api(
        settings: Settings,
        ids: ids::IdGen,
        sfu: Option<Arc<dyn SfuRooms>>,
        api: Option<Arc<api::Api>>,
    ) -> Self {
        let key = match &settings.session_secret {
            Some(secret) => resume::SessionKey::from_secret(secret),
            None => resume::SessionKey::random(),
        };
        let caps = ConnectionCaps::behind(
            connection_cap(settings.max_connections),
            settings.max_connections_per_ip,
            settings.trusted_proxies.clone(),
        );
        AppState {
            caps,
            hub: Arc::new_cyclic(|this| {
                Hub::configured(settings.capacity, ids, settings.turn.clone(), key)
                    .with_token_ttl(settings.session_ttl)
                    .with_turn_limit(settings.turn_per_address_per_minute)
                    .with_heartbeat_interval(settings.heartbeat_interval)
                    .with_topology(settings.topology.clone(), sfu, this.clone())
                    .with_directory(api.as_ref().map(|a| a.directory()))
            }),
            api,
            settings: Arc::new(settings),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            cluster: None,
        }
    }

    /// Shares rooms with the other nodes of `cluster`, once it has joined them.
    pub async fn with_cluster(mut self, cluster: Arc<cluster::Cluster>) -> Result<Self, String> {
        self.hub.join_cluster(cluster.clone());
        cluster.start(self.serving()).await?;
        self.cluster = Some(cluster);
        Ok(self)
    }

    fn serving(&self) -> cluster::Serving {
        cluster::Serving {
            hub: self.hub.clone(),
            settings: self.settings.clone(),
            shutdown: self.shutdown.clone(),
            connections: self.connections.clone(),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The checks every WebSocket handshake passes (`/ws`, `/janus`): not shutting
    /// down, an allowed origin, and the connection caps, counting the client a trusted
    /// proxy names. `Err`: the response that refuses it.
    fn admit_websocket(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<AdmittedSocket, Box<Response>> {
        if self.shutdown.is_cancelled() {
            // A request that slipped in on a kept-alive connection: come back to the next process.
            return Err(Box::new(
                (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response(),
            ));
        }
        if let Err(origin) = self.settings.allowed_origins.check(headers) {
            let origin: String = origin.chars().take(200).collect();
            // Debug only: anyone can send such handshakes by the thousand; `/metrics` counts them.
            tracing::debug!(origin = ?origin, "WebSocket refused: origin not allowed");
            metrics::refused("origin");
            return Err(Box::new(
                (
                    StatusCode::FORBIDDEN,
                    format!(
                        "WebSocket refused: pages from origin {origin:?} may not use this server \
                     (the server allows its own origin and those given with --allowed-origin)\n"
                    ),
                )
                    .into_response(),
            ));
        }
        // The WebSocket outlives the HTTP request; it keeps the connection's slot.
        let slot = match extensions.get::<Admission>() {
            Some(Admission::Admitted(slot)) => Some(slot.clone()),
            _ => None,
        };
        // Set by `http_server` (the accepted socket's peer); without it (a router driven
        // directly, in tests) all connections share one address for per-address limits.
        let socket_peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        // Behind a trusted reverse proxy, the client it names; it is capped like a
        // direct client (the proxy's own connection was only counted in the total).
        let peer = self.settings.trusted_proxies.client(socket_peer, headers);
        let forwarded_slot = match self.caps.admit_forwarded(socket_peer, peer) {
            None => None,
            Some(Ok(slot)) => Some(slot),
            Some(Err(refusal)) => {
                metrics::refused(refusal.label());
                let (status, text) = refusal.response();
                return Err(Box::new(
                    (status, [(CONNECTION, "close")], text).into_response(),
                ));
            }
        };
        Ok(AdmittedSocket {
            peer,
            _slots: (slot, forwarded_slot),
        })
    }
}

/// A WebSocket past [`AppState::admit_websocket`]: its client, and the connection-cap
/// slots it holds until dropped.
struct AdmittedSocket {
    peer: IpAddr,
    _slots: (Option<Arc<limits::Slot>>, Option<limits::Slot>),
}

/// The HTTP routes: `/ws`, `/janus`, `/api`, `/healthz`, `/metrics` (unless it has its own
/// address), the embedding scripts, and the app for everything else.
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
        .merge(embed::router(&state.settings.embed_origins))
        .fallback_service(static_files::router(
            &state.settings.static_dir,
            &state.settings.embed_origins,
        ))
        .layer(CompressionLayer::new());
    // `/ws` is added after the compression layer, which therefore does not wrap it:
    // an upgrade response has no body to compress.
    let api = api::routes::router(state.api.clone(), state.hub.clone());
    pages
        .nest_service("/api", api)
        .route("/ws", get(ws_upgrade))
        .route(janus::PROXY_PATH, get(janus::proxy::upgrade_first))
        .route(
            &format!("{}/{{instance}}", janus::PROXY_PATH),
            get(janus::proxy::upgrade),
        )
        .layer(axum::middleware::from_fn(http_server::refuse_over_cap))
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

async fn ws_upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let admitted = match state.admit_websocket(&headers, &extensions) {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    ws.max_message_size(WS_LIBRARY_MAX_BYTES)
        .max_frame_size(WS_LIBRARY_MAX_BYTES)
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let (sink, stream) = socket.split();
            let (serving, cluster) = (state.serving(), state.cluster);
            let connections = serving.connections.clone();
            connections.track_future(async move {
                match cluster {
                    Some(cluster) => {
                        // Boxed: a single server's sockets do not carry its size.
                        Box::pin(cluster::edge::serve(
                            cluster,
                            serving,
                            sink,
                            stream,
                            admitted.peer,
                        ))
                        .await;
                    }
                    None => serving.run(sink, stream, admitted.peer).await,
                }
                drop(admitted);
            })
        })
}

/// The SFU for relayed calls: the configured Janus pool, if at least one of its
/// instances answers now (said in the log either way: without any, rooms stay in
/// mesh). An instance that does not answer yet stays in the pool: it gets rooms once
/// it does.
async fn sfu_at_start(settings: &Settings) -> Option<Arc<dyn SfuRooms>> {
    if settings.janus.is_empty() {
        return None;
    }
    let pool = janus::JanusPool::new(&settings.janus);
    let mut reachable = 0;
    for janus in pool.instances() {
        match janus.check().await {
            Ok(()) => {
                info!("SFU: Janus at {} reachable", janus.admin_url());
                reachable += 1;
            }
            Err(why) => warn!("SFU: Janus at {} not reachable: {why}", janus.admin_url()),
        }
    }
    if reachable == 0 {
        warn!("SFU: no Janus reachable; rooms stay in mesh");
        return None;
    }
    let pool = Arc::new(pool);
    janus::JanusPool::sweep_orphans_while_used(&pool);
    Some(pool)
}

/// Serves until `shutdown` completes, then shuts down gracefully (see
/// [`shutdown_gracefully`]) and returns within the shutdown grace. Large calls are
/// relayed through Janus when `settings` name one that answers at start.
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let sfu = sfu_at_start(&settings).await;
    serve_with_sfu(listener, settings, sfu, shutdown).await
}

/// Like [`serve`], relaying large calls through `sfu` (`None`: every call stays in
/// mesh, up to the mesh limit).
pub async fn serve_with_sfu(
    listener: TcpListener,
    mut settings: Settings,
    sfu: Option<Arc<dyn SfuRooms>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    if !settings.static_dir.join("index.html").is_file() {
        warn!(dir = %settings.static_dir.display(), "no index.html in the static folder: only /ws and /healthz will work");
    }
    info!(
        addr = %listener.local_addr()?,
        static_dir = %settings.static_dir.display(),
        capacity = settings.capacity,
        relay_above = settings.topology.relay_above,
        sfu = sfu.is_some(),
        "listening"
    );
    if sfu.is_none() {
        info!(
            mesh_limit = settings.topology.mesh_limit,
            "no SFU: every call stays in mesh, up to the mesh limit"
        );
    }
    let metrics_addr = settings.metrics_addr;
    let header_timeout = settings.header_timeout;
    let ids = ids::IdGen::for_this_run();
    // No id before this run's start tick is over: a later run then has a later epoch
    // than every id handed out here (ids.rs). Connections wait in the backlog.
    tokio::time::sleep(ids.ready_in()).await;
    let api = match &settings.api {
        Some(config) => {
            let api = api::Api::open(config, settings.capacity)
                .await
                .map_err(io::Error::other)?;
            info!(
                database = %config.database_url.split('@').next_back().unwrap_or(""),
                rooms_on_demand = config.rooms_on_demand,
                "REST API at /api/"
            );
            Some(Arc::new(api))
        }
        None => None,
    };
    let cluster = match &settings.redis_url {
        Some(url) => {
            let cluster = cluster::Cluster::connect(url)
                .await
                .map_err(io::Error::other)?;
            if settings.session_secret.is_none() {
                // A resume token must be good on whichever node the client lands.
                settings.session_secret =
                    Some(cluster.shared_secret().await.map_err(io::Error::other)?);
            }
            Some(cluster)
        }
        None => None,
    };
    let mut state = AppState::with_api(settings, ids, sfu, api);
    if let Some(cluster) = cluster {
        state = state
            .with_cluster(cluster)
            .await
            .map_err(io::Error::other)?;
    }
    if let Some(api) = &state.api {
        let (api, hub, stop) = (api.clone(), state.hub.clone(), state.shutdown.clone());
        tokio::spawn(api.end_expired_calls(hub, stop));
    }
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
    let stop_http = CancellationToken::new();
    let http = http_server::serve_http(
        listener,
        app(state.clone()),
        state.caps.clone(),
        header_timeout,
        stop_http.clone(),
    );
    shutdown_gracefully(http, shutdown, stop_http, &state).await
}

/// Runs `http` until `signal`, then shuts down without ending anyone's call: stops
/// accepting, tells every WebSocket client `going_away` after what was relayed to it
/// so far, closes it with 1001, and tells no room `left` or `interrupted` (everyone is
/// away at once and comes back; the seats are kept: with the same `--session-secret`
/// the restarted server re-admits everyone on `resume`).
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

/// `wanted`, or fewer if the open-file limit would not allow that many.
fn connection_cap(wanted: usize) -> usize {
    let Some(files) = open_files::soft_limit() else {
        return wanted;
    };
    let spare = (files / 8).max(MIN_SPARE_FILES);
    let fit = usize::try_from(files.saturating_sub(spare))
        .unwrap_or(usize::MAX)
        .max(1);
    if fit < wanted {
        // A warning only when far off: a limit of 20,000 files and 20,000 connections
        // is a normal set-up, not a mistake.
        if fit < wanted / 2 {
            warn!(
                wanted,
                open_file_limit = files,
                cap = fit,
                "the open-file limit allows far fewer connections than --max-connections"
            );
        } else {
            info!(
                wanted,
                open_file_limit = files,
                cap = fit,
                "connections capped under the open-file limit"
            );
        }
    }
    wanted.min(fit)
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
