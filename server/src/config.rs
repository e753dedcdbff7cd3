//! Command-line flags (each with an environment variable) and the settings they make.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{value_parser, Parser};

use crate::api::ApiConfig;
use crate::client_addr::TrustedProxies;
use crate::hub::DEFAULT_TURN_PER_ADDRESS;
use crate::janus::{JanusConfig, JanusSecrets};
use crate::limits::connection_caps::{DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP};
use crate::limits::media_coalescer::DEFAULT_MEDIA_INTERVAL;
use crate::limits::message_budget::{DEFAULT_BYTE_RATE, DEFAULT_MESSAGE_RATE};
use crate::limits::RateLimits;
use crate::origin::parse_origin;
use crate::origin::AllowedOrigins;
use crate::out_queue::DEFAULT_SEND_QUEUE_BYTES;
use crate::resume::TOKEN_TTL;
use crate::turn::{Turn, DEFAULT_TURN_TTL};
use nonstop_core::protocol::{HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS};
use nonstop_core::time::Millis;
use nonstop_core::topology::{TopologyConfig, DEFAULT_MESH_LIMIT, DEFAULT_RELAY_ABOVE};

/// Most participants in one meeting unless `--capacity` says otherwise.
pub const DEFAULT_CAPACITY: usize = 200;

/// Messages queued for one connection unless `--send-queue` says otherwise. A join to
/// a room of 200 sends each member one `joined`; negotiation adds a few dozen
/// candidates per peer, which a healthy browser drains in milliseconds.
pub const DEFAULT_SEND_QUEUE: usize = 256;

/// How long a participant whose socket died is held for a `resume` unless
/// `--resume-grace-ms` says otherwise. With the 6 s heartbeat timeout, a vanished
/// participant is gone from everyone's view within 9 s (under the 10 s we promise).
pub const DEFAULT_RESUME_GRACE_MS: u64 = 3_000;

/// How long a client may take to send its HTTP request headers unless
/// `--header-timeout-ms` says otherwise; also how long an idle keep-alive connection
/// stays open.
pub const DEFAULT_HEADER_TIMEOUT_MS: u64 = 10_000;

/// How long a new WebSocket may go without `join` (or `resume`) unless
/// `--join-timeout-ms` says otherwise. The app joins at once.
pub const DEFAULT_JOIN_TIMEOUT_MS: u64 = 10_000;

/// Smallest `--send-queue-bytes`: one message of the largest size must fit.
const MIN_SEND_QUEUE_BYTES: u64 = 2 * nonstop_core::protocol::MAX_MESSAGE_BYTES as u64;

/// How long a shutdown (SIGTERM, Ctrl-C) may take unless `--shutdown-grace-ms` says
/// otherwise: clients are told `going_away` and their queues flushed at once, so this
/// only bounds what does not go away by itself (half-sent requests, clients that do
/// not read).
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 3_000;

/// Nonstop's signaling server: WebSocket rooms at /ws, the built app everywhere else.
#[derive(Debug, Clone, Parser)]
#[command(name = "nonstop-server", version, about, long_about = None)]
pub struct Args {
    /// Address and port to listen on.
    #[arg(long, env = "NONSTOP_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Folder of the built app. Its files are served as they are; any other path
    /// (a meeting link such as /calm-otter) gets its index.html.
    #[arg(long, env = "NONSTOP_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// Most participants in one meeting; one more is told the meeting is full.
    #[arg(
        long,
        env = "NONSTOP_ROOM_CAPACITY",
        default_value_t = DEFAULT_CAPACITY,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub capacity: usize,

    /// Milliseconds between the server's pings to each connection.
    #[arg(
        long,
        env = "NONSTOP_HEARTBEAT_INTERVAL_MS",
        default_value_t = HEARTBEAT_INTERVAL_MS,
        value_parser = value_parser!(u64).range(1..)
    )]
    pub heartbeat_interval_ms: u64,

    /// Milliseconds without any message from a connection after which it is dropped
    /// and its peers are told it timed out. Must be longer than the ping interval.
    #[arg(
        long,
        env = "NONSTOP_HEARTBEAT_TIMEOUT_MS",
        default_value_t = HEARTBEAT_TIMEOUT_MS,
        value_parser = value_parser!(u64).range(1..)
    )]
    pub heartbeat_timeout_ms: u64,

    /// Messages queued for one connection; a client that falls this far behind is
    /// dropped so that it never slows down the others.
    #[arg(
        long,
        env = "NONSTOP_SEND_QUEUE",
        default_value_t = DEFAULT_SEND_QUEUE,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub send_queue: usize,

    /// Bytes queued for one connection; a client further behind is dropped. Bounds
    /// what a client that stops reading can cost (at least 131072).
    #[arg(
        long,
        env = "NONSTOP_SEND_QUEUE_BYTES",
        default_value_t = DEFAULT_SEND_QUEUE_BYTES,
        value_parser = RangedU64ValueParser::<usize>::new().range(MIN_SEND_QUEUE_BYTES..)
    )]
    pub send_queue_bytes: usize,

    /// Most open connections (HTTP and WebSocket); one more gets 503 (except
    /// /healthz). Also kept below the open-file limit.
    #[arg(
        long,
        env = "NONSTOP_MAX_CONNECTIONS",
        default_value_t = DEFAULT_MAX_CONNECTIONS,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub max_connections: usize,

    /// Most open connections from one client address (IPv6: one /64); one more gets
    /// 429 (except /healthz). 0: no cap. Behind a reverse proxy every client has the
    /// proxy's address: raise it or set 0 and limit at the proxy.
    #[arg(
        long,
        env = "NONSTOP_MAX_CONNECTIONS_PER_IP",
        default_value_t = DEFAULT_MAX_CONNECTIONS_PER_IP
    )]
    pub max_connections_per_ip: usize,

    /// Milliseconds a client may take to send its HTTP request headers (and an idle
    /// keep-alive connection stays open) before the connection is closed.
    #[arg(
        long,
        env = "NONSTOP_HEADER_TIMEOUT_MS",
        default_value_t = DEFAULT_HEADER_TIMEOUT_MS,
        value_parser = value_parser!(u64).range(1..)
    )]
    pub header_timeout_ms: u64,

    /// Milliseconds a new WebSocket may go without `join` or `resume` before it is
    /// closed (code 1008).
    #[arg(
        long,
        env = "NONSTOP_JOIN_TIMEOUT_MS",
        default_value_t = DEFAULT_JOIN_TIMEOUT_MS,
        value_parser = value_parser!(u64).range(1..)
    )]
    pub join_timeout_ms: u64,

    /// Messages per second one connection may send on average (bursts of 5 s worth).
    /// Over it a message is dropped with `rate_limited`; a client that keeps on is closed.
    #[arg(
        long,
        env = "NONSTOP_MESSAGE_RATE",
        default_value_t = DEFAULT_MESSAGE_RATE,
        value_parser = value_parser!(u32).range(1..)
    )]
    pub message_rate: u32,

    /// Bytes per second one connection may send on average (bursts of 4 s worth).
    #[arg(
        long,
        env = "NONSTOP_BYTE_RATE",
        default_value_t = DEFAULT_BYTE_RATE,
        value_parser = value_parser!(u32).range(1..)
    )]
    pub byte_rate: u32,

    /// Shortest time between two `media` broadcasts of one participant, in
    /// milliseconds; changes in between are coalesced and the latest goes out after it.
    #[arg(
        long,
        env = "NONSTOP_MEDIA_INTERVAL_MS",
        default_value_t = DEFAULT_MEDIA_INTERVAL.as_millis() as u64
    )]
    pub media_interval_ms: u64,

    /// Shared secret with the TURN server (coturn's `static-auth-secret` with
    /// `use-auth-secret`). With it, every participant gets time-limited TURN
    /// credentials for --turn-urls; the secret itself never leaves the server.
    #[arg(
        long,
        env = "NONSTOP_TURN_SECRET",
        hide_env_values = true,
        conflicts_with = "turn_secret_file"
    )]
    pub turn_secret: Option<String>,

    /// File holding the TURN secret (trailing whitespace ignored), instead of --turn-secret.
    #[arg(long, env = "NONSTOP_TURN_SECRET_FILE")]
    pub turn_secret_file: Option<PathBuf>,

    /// TURN URLs, comma-separated, e.g.
    /// `turn:turn.example.org:3478?transport=udp,turn:turn.example.org:3478?transport=tcp,turns:turn.example.org:443?transport=tcp`.
    #[arg(long, env = "NONSTOP_TURN_URLS", value_delimiter = ',')]
    pub turn_urls: Vec<String>,

    /// Lifetime of TURN credentials, in seconds; fresh ones are sent at half of it.
    #[arg(long, env = "NONSTOP_TURN_TTL", default_value_t = DEFAULT_TURN_TTL.as_secs())]
    pub turn_ttl: u64,

    /// TURN credential sets handed out per client address per minute (0: no limit).
    /// Beyond it a welcome comes without TURN servers (logged), and they are sent
    /// once the address is under the limit again (tried every minute).
    #[arg(long, env = "NONSTOP_TURN_PER_ADDRESS_PER_MINUTE", default_value_t = DEFAULT_TURN_PER_ADDRESS)]
    pub turn_per_address_per_minute: u32,

    /// Secret that signs resume tokens. Set it (the same across restarts) so that
    /// participants survive a server restart under their ids; random per run otherwise.
    #[arg(
        long,
        env = "NONSTOP_SESSION_SECRET",
        hide_env_values = true,
        conflicts_with = "session_secret_file"
    )]
    pub session_secret: Option<String>,

    /// File holding the session secret (trailing whitespace ignored), instead of
    /// --session-secret (which shows in `ps`).
    #[arg(long, env = "NONSTOP_SESSION_SECRET_FILE")]
    pub session_secret_file: Option<PathBuf>,

    /// Lifetime of resume tokens, in seconds; a live connection gets a fresh one at
    /// half of it. A server restart must come back within it for calls to resume.
    #[arg(
        long,
        env = "NONSTOP_SESSION_TTL",
        default_value_t = TOKEN_TTL.as_secs(),
        value_parser = value_parser!(u64).range(2..)
    )]
    pub session_ttl: u64,

    /// Web origins (besides the server's own) whose pages may open the signaling
    /// WebSocket, comma-separated or repeated, e.g. `https://meet.example.org`;
    /// `*` allows any. The own origin is `http(s)://` plus the request's Host; a
    /// handshake without Origin (not from a browser page) is allowed.
    #[arg(
        long = "allowed-origin",
        env = "NONSTOP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Web origins whose pages may show the meeting page in a frame (embedding),
    /// comma-separated or repeated, e.g. `https://www.example.org`. None by default:
    /// every page is served with `Content-Security-Policy: frame-ancestors 'none'`,
    /// which browsers enforce.
    #[arg(
        long = "embed-origin",
        env = "NONSTOP_EMBED_ORIGINS",
        value_delimiter = ','
    )]
    pub embed_origins: Vec<String>,

    /// Reverse proxies (addresses or networks such as `10.0.0.0/8`, comma-separated)
    /// whose `X-Forwarded-For` names the client. Per-address limits (connections, TURN
    /// credentials, passcode guesses) then count the client, not the proxy. Only list
    /// your own proxies: the header is believed from them alone.
    #[arg(
        long = "trusted-proxy",
        env = "NONSTOP_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

    /// Milliseconds a participant whose socket died without a goodbye is held for a
    /// `resume` before the room is told it left (0: tell at once).
    #[arg(long, env = "NONSTOP_RESUME_GRACE_MS", default_value_t = DEFAULT_RESUME_GRACE_MS)]
    pub resume_grace_ms: u64,

    /// Serve /metrics (Prometheus text format) on this address only, e.g.
    /// 127.0.0.1:9100, instead of on --addr, which then answers /metrics with 404.
    /// Use it whenever --addr is reachable from the internet.
    #[arg(long, env = "NONSTOP_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Milliseconds a shutdown (SIGTERM, Ctrl-C) may take. Clients are told to come
    /// back (`going_away`), their queues are flushed and their sockets closed; after
    /// this long the server exits whatever is still open.
    #[arg(long, env = "NONSTOP_SHUTDOWN_GRACE_MS", default_value_t = DEFAULT_SHUTDOWN_GRACE_MS)]
    pub shutdown_grace_ms: u64,

    // Topology: mesh or relayed through the SFU.
    /// A call of more participants than this is relayed through the SFU (when there
    /// is one); it goes back to mesh after 30 s at or under it.
    #[arg(
        long,
        env = "NONSTOP_RELAY_ABOVE",
        default_value_t = DEFAULT_RELAY_ABOVE,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub relay_above: usize,

    /// Without an SFU, the most participants in one call (a full mesh); one more is
    /// told the call is at its limit. A relayed call bigger than this that loses its
    /// SFU room stays relayed and waits for a new room rather than going to mesh.
    #[arg(
        long,
        env = "NONSTOP_MESH_LIMIT",
        default_value_t = DEFAULT_MESH_LIMIT,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub mesh_limit: usize,

    /// How long (milliseconds) a relayed call must need no relay before it goes back
    /// to mesh, so someone leaving and rejoining does not switch it twice.
    #[arg(long, env = "NONSTOP_RELAY_HOLD_MS", default_value_t = 30_000)]
    pub relay_hold_ms: u64,

    // Janus, the SFU of relayed calls (all three flags, or none: no SFU). Each may be
    // given several times (or comma-separated in its variable): the n-th of each names
    // the n-th Janus of a pool, and each new relayed call goes to the least loaded one.
    /// Janus's client API WebSocket, on loopback or a private network (e.g.
    /// ws://127.0.0.1:8188), which browsers reach through this server at /janus/N (N
    /// counting from 0 in the order given). With --janus-admin-ws and
    /// --janus-secrets-file, calls can go through Janus (relayed mode).
    #[arg(long, env = "NONSTOP_JANUS_WS", value_delimiter = ',', requires_all = ["janus_admin_ws", "janus_secrets_file"])]
    pub janus_ws: Vec<String>,

    /// Janus's Admin API WebSocket, on loopback or a private network (e.g.
    /// ws://127.0.0.1:7188): the server creates and destroys VideoRooms through it.
    #[arg(long, env = "NONSTOP_JANUS_ADMIN_WS", value_delimiter = ',', requires_all = ["janus_ws", "janus_secrets_file"])]
    pub janus_admin_ws: Vec<String>,

    /// File with Janus's secrets as `admin_secret=…`, `admin_key=…` (VideoRoom) and
    /// `token_auth_secret=…` lines (what scripts/janus-start writes); a file keeps them
    /// out of `ps`.
    #[arg(long, env = "NONSTOP_JANUS_SECRETS_FILE", value_delimiter = ',', requires_all = ["janus_ws", "janus_admin_ws"])]
    pub janus_secrets_file: Vec<PathBuf>,

    // Several nodes (see README, "Several nodes").
    /// Redis shared by all signaling nodes (e.g. redis://10.0.0.5:6379/0, or
    /// unix:///run/redis/redis.sock): each room then lives on one node and a socket on
    /// any node reaches it. Without it, this process holds every room.
    #[arg(long, env = "NONSTOP_REDIS_URL")]
    pub redis_url: Option<String>,

    // The rooms REST API (/api/).
    /// File of API keys, one per line (at least 16 characters each; `#` starts a
    /// comment). Turns on the REST API under /api/; without it /api/ answers 404.
    #[arg(long, env = "NONSTOP_API_KEY_FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Where the API keeps rooms and key digests: `sqlite:FILE` (created at first
    /// start) or `postgres://user:password@host/db`. Used only with --api-key-file.
    #[arg(long, env = "NONSTOP_DATABASE_URL", default_value = crate::api::store::DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Whether anyone may open a meeting by visiting a room name the API never made.
    /// `false` (only with --api-key-file): only rooms made through the API exist.
    #[arg(long, env = "NONSTOP_ROOMS_ON_DEMAND", default_value_t = true, action = clap::ArgAction::Set)]
    pub rooms_on_demand: bool,
}

impl Args {
    /// The settings these flags describe, or why they do not make sense together.
    pub fn settings(&self) -> Result<Settings, String> {
        if self.heartbeat_timeout_ms <= self.heartbeat_interval_ms {
            // Otherwise a client that answers every ping would still time out.
            return Err(format!(
                "--heartbeat-timeout-ms ({}) must be longer than --heartbeat-interval-ms ({})",
                self.heartbeat_timeout_ms, self.heartbeat_interval_ms
            ));
        }
        let secret = match (&self.turn_secret, &self.turn_secret_file) {
            (Some(secret), _) => Some(secret.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("--turn-secret-file {}: {e}", path.display()))?
                    .trim_end()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        let turn = match secret {
            Some(secret) => Some(Turn::new(
                secret,
                self.turn_urls
                    .iter()
                    .map(|u| u.trim().to_owned())
                    .filter(|u| !u.is_empty())
                    .collect(),
                Duration::from_secs(self.turn_ttl),
            )?),
            None if !self.turn_urls.is_empty() => return Err(
                "--turn-urls needs --turn-secret or --turn-secret-file (no static TURN passwords)"
                    .into(),
            ),
            None => None,
        };
        let session_secret = match (&self.session_secret, &self.session_secret_file) {
            (Some(secret), _) => Some(secret.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("--session-secret-file {}: {e}", path.display()))?
                    .trim_end()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        if self.session_secret_file.is_some() && session_secret.as_deref() == Some("") {
            return Err("--session-secret-file: the file is empty".into());
        }
        Ok(Settings {
            static_dir: self.static_dir.clone(),
            capacity: self.capacity,
            heartbeat_interval: Duration::from_millis(self.heartbeat_interval_ms),
            heartbeat_timeout: Duration::from_millis(self.heartbeat_timeout_ms),
            send_queue: self.send_queue,
            send_queue_bytes: self.send_queue_bytes,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            join_timeout: Duration::from_millis(self.join_timeout_ms),
            rate_limits: RateLimits::new(self.message_rate, self.byte_rate),
            media_interval: Duration::from_millis(self.media_interval_ms),
            turn,
            session_secret: session_secret.filter(|s| !s.is_empty()),
            session_ttl: Duration::from_secs(self.session_ttl),
            resume_grace: Duration::from_millis(self.resume_grace_ms),
            allowed_origins: AllowedOrigins::parse(&self.allowed_origins)?,
            embed_origins: self.embed_origins()?,
            trusted_proxies: TrustedProxies::parse(&self.trusted_proxies)?,
            turn_per_address_per_minute: self.turn_per_address_per_minute,
            metrics_addr: self.metrics_addr,
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
            topology: TopologyConfig {
                relay_above: self.relay_above,
                mesh_limit: self.mesh_limit,
                hold: Millis::from_millis(self.relay_hold_ms),
                ..TopologyConfig::default()
            },
            janus: self.janus()?,
            api: self.api()?,
            redis_url: self.redis_url.clone().filter(|u| !u.is_empty()),
        })
    }

    /// `--embed-origin`, each checked to be an origin.
    fn embed_origins(&self) -> Result<Vec<String>, String> {
        self.embed_origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .map(|o| {
                parse_origin(o).ok_or_else(|| {
                    format!("--embed-origin {o:?}: expected an origin like https://www.example.org")
                })
            })
            .collect()
    }

    /// The REST API's settings, if it is on.
    fn api(&self) -> Result<Option<ApiConfig>, String> {
        let Some(key_file) = &self.api_key_file else {
            if !self.rooms_on_demand {
                return Err("--rooms-on-demand false needs --api-key-file: without the API no room could ever be opened".into());
            }
            return Ok(None);
        };
        Ok(Some(ApiConfig {
            key_file: key_file.clone(),
            database_url: self.database_url.clone(),
            rooms_on_demand: self.rooms_on_demand,
        }))
    }

    /// The Janus pool from the `--janus-*` flags (clap makes sure all or none are set;
    /// each must be given as often as the others).
    fn janus(&self) -> Result<Vec<JanusConfig>, String> {
        let counts = [
            self.janus_ws.len(),
            self.janus_admin_ws.len(),
            self.janus_secrets_file.len(),
        ];
        if counts.iter().any(|&n| n != counts[0]) {
            return Err(format!(
                "--janus-ws, --janus-admin-ws and --janus-secrets-file name one Janus each time \
                 they are given, so they must be given as often as each other (got {}, {} and {})",
                counts[0], counts[1], counts[2]
            ));
        }
        let instances = self
            .janus_ws
            .iter()
            .zip(&self.janus_admin_ws)
            .zip(&self.janus_secrets_file);
        let mut pool = Vec::new();
        for ((client_ws, admin_ws), secrets) in instances {
            for (flag, url) in [("--janus-ws", client_ws), ("--janus-admin-ws", admin_ws)] {
                if !url.starts_with("ws://") {
                    return Err(format!(
                        "{flag} {url:?}: expected a ws:// URL such as ws://127.0.0.1:8188"
                    ));
                }
            }
            pool.push(JanusConfig {
                client_ws: client_ws.clone(),
                admin_ws: admin_ws.clone(),
                secrets: JanusSecrets::read(secrets)
                    .map_err(|e| format!("--janus-secrets-file {}: {e}", secrets.display()))?,
                secrets_file: Some(secrets.clone()),
            });
        }
        Ok(pool)
    }
}

/// What the server needs to run, whatever the source (flags, or a test).
#[derive(Debug, Clone)]
pub struct Settings {
    pub static_dir: PathBuf,
    pub capacity: usize,
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    pub send_queue: usize,
    /// Most bytes queued for one connection.
    pub send_queue_bytes: usize,
    /// Most open connections, and from one address (0: no cap per address).
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Deadline for an HTTP request's headers (and idle keep-alive).
    pub header_timeout: Duration,
    /// Deadline for the first `join` or `resume` on a WebSocket.
    pub join_timeout: Duration,
    /// What one connection may send.
    pub rate_limits: RateLimits,
    /// Shortest time between two `media` broadcasts of one participant.
    pub media_interval: Duration,
    /// TURN credentials for the welcome; `None`: no ICE servers.
    pub turn: Option<Turn>,
    /// Signs resume tokens; `None`: a random key per run.
    pub session_secret: Option<String>,
    /// Lifetime of resume tokens.
    pub session_ttl: Duration,
    pub resume_grace: Duration,
    /// Origins besides the server's own whose pages may open `/ws`.
    pub allowed_origins: AllowedOrigins,
    /// Origins whose pages may frame the app (`frame-ancestors`); empty: none.
    pub embed_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// TURN credential sets per client address per minute (0: no limit).
    pub turn_per_address_per_minute: u32,
    /// Where /metrics is served; `None`: on the main address.
    pub metrics_addr: Option<SocketAddr>,
    /// Longest a shutdown takes, whatever the open connections.
    pub shutdown_grace: Duration,
    /// When calls are relayed, and the mesh limit without an SFU.
    pub topology: TopologyConfig,
    /// The Janus instances relayed calls go to (`/janus/N` proxies to the N-th); empty:
    /// no SFU, calls stay in mesh.
    pub janus: Vec<JanusConfig>,
    /// The rooms REST API; `None`: off (/api/ answers 404, rooms open on demand).
    pub api: Option<ApiConfig>,
    /// Redis shared with other nodes; `None`: this process holds every room.
    pub redis_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            static_dir: PathBuf::from("dist"),
            capacity: DEFAULT_CAPACITY,
            heartbeat_interval: Duration::from_millis(HEARTBEAT_INTERVAL_MS),
            heartbeat_timeout: Duration::from_millis(HEARTBEAT_TIMEOUT_MS),
            send_queue: DEFAULT_SEND_QUEUE,
            send_queue_bytes: DEFAULT_SEND_QUEUE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            header_timeout: Duration::from_millis(DEFAULT_HEADER_TIMEOUT_MS),
            join_timeout: Duration::from_millis(DEFAULT_JOIN_TIMEOUT_MS),
            rate_limits: RateLimits::default(),
            media_interval: DEFAULT_MEDIA_INTERVAL,
            turn: None,
            session_secret: None,
            session_ttl: TOKEN_TTL,
            resume_grace: Duration::from_millis(DEFAULT_RESUME_GRACE_MS),
            allowed_origins: AllowedOrigins::default(),
            trusted_proxies: TrustedProxies::default(),
            turn_per_address_per_minute: DEFAULT_TURN_PER_ADDRESS,
            metrics_addr: None,
            shutdown_grace: Duration::from_millis(DEFAULT_SHUTDOWN_GRACE_MS),
            topology: TopologyConfig::default(),
            janus: Vec::new(),
            api: None,
            redis_url: None,
            embed_origins: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_flags_are_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_override_the_defaults() {
        let args = Args::try_parse_from([
            "nonstop-server",
            "--addr",
            "127.0.0.1:0",
            "--static-dir",
            "/tmp/app",
            "--capacity",
            "3",
            "--heartbeat-interval-ms",
            "50",
            "--heartbeat-timeout-ms",
            "200",
            "--send-queue",
            "8",
            "--send-queue-bytes",
            "200000",
            "--max-connections",
            "100",
            "--max-connections-per-ip",
            "0",
            "--header-timeout-ms",
            "1500",
            "--join-timeout-ms",
            "2500",
            "--message-rate",
            "10",
            "--byte-rate",
            "1000",
            "--media-interval-ms",
            "50",
            "--shutdown-grace-ms",
            "1500",
        ])
        .unwrap();
        let s = args.settings().unwrap();
        assert_eq!(args.addr, "127.0.0.1:0".parse().unwrap());
        assert_eq!(s.static_dir, PathBuf::from("/tmp/app"));
        assert_eq!(s.capacity, 3);
        assert_eq!(s.heartbeat_interval, Duration::from_millis(50));
        assert_eq!(s.heartbeat_timeout, Duration::from_millis(200));
        assert_eq!(s.send_queue, 8);
        assert_eq!(s.send_queue_bytes, 200_000);
        assert_eq!((s.max_connections, s.max_connections_per_ip), (100, 0));
        assert_eq!(s.header_timeout, Duration::from_millis(1500));
        assert_eq!(s.join_timeout, Duration::from_millis(2500));
        assert_eq!(s.rate_limits, RateLimits::new(10, 1000));
        assert_eq!(s.media_interval, Duration::from_millis(50));
        assert_eq!(s.shutdown_grace, Duration::from_millis(1_500));
    }

    #[test]
    fn topology_flags_set_the_threshold_and_the_mesh_limit() {
        let s = Args::try_parse_from(["nonstop-server"])
            .unwrap()
            .settings()
            .unwrap();
        assert_eq!((s.topology.relay_above, s.topology.mesh_limit), (5, 8));
        let args =
            Args::try_parse_from(["nonstop-server", "--relay-above", "3", "--mesh-limit", "12"])
                .unwrap();
        let s = args.settings().unwrap();
        assert_eq!((s.topology.relay_above, s.topology.mesh_limit), (3, 12));
        let s = Args::try_parse_from(["nonstop-server", "--relay-hold-ms", "2000"])
            .unwrap()
            .settings()
            .unwrap();
        assert_eq!(s.topology.hold, Millis::from_millis(2000));
        assert!(Args::try_parse_from(["nonstop-server", "--mesh-limit", "0"]).is_err());
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(Args::try_parse_from(["nonstop-server", "--capacity", "0"]).is_err());
        assert!(Args::try_parse_from(["nonstop-server", "--heartbeat-interval-ms", "0"]).is_err());
        assert!(Args::try_parse_from(["nonstop-server", "--send-queue-bytes", "1000"]).is_err());
        assert!(Args::try_parse_from(["nonstop-server", "--max-connections", "0"]).is_err());
        let args = Args::try_parse_from([
            "nonstop-server",
            "--heartbeat-interval-ms",
            "500",
            "--heartbeat-timeout-ms",
            "500",
        ])
        .unwrap();
        assert!(args.settings().is_err());
        for bad in ["www.example.org", "https://example.org/page", "'none'"] {
            let args = Args::try_parse_from(["nonstop-server", "--embed-origin", bad]).unwrap();
            let why = args.settings().unwrap_err();
            assert!(why.contains("--embed-origin"), "{bad}: {why}");
        }
        let args = Args::try_parse_from(["nonstop-server", "--rooms-on-demand", "false"]).unwrap();
        assert!(args.settings().unwrap_err().contains("--api-key-file"));
    }

    #[test]
    fn embedding_and_api_flags() {
        let args = Args::try_parse_from([
            "nonstop-server",
            "--embed-origin",
            "https://WWW.example.org/,http://127.0.0.1:9000",
            "--api-key-file",
            "keys",
        ])
        .unwrap();
        let settings = args.settings().unwrap();
        assert_eq!(
            settings.embed_origins,
            ["https://www.example.org", "http://127.0.0.1:9000"]
        );
        let api = settings.api.unwrap();
        assert_eq!(api.database_url, "sqlite:nonstop.db");
        assert!(api.rooms_on_demand);
    }

    #[test]
    fn session_and_origin_flags() {
        let file =
            std::env::temp_dir().join(format!("nonstop-session-secret-{}", std::process::id()));
        std::fs::write(&file, "s3cret\n").unwrap();
        let args = Args::try_parse_from([
            "nonstop-server",
            "--session-secret-file",
            file.to_str().unwrap(),
            "--session-ttl",
            "60",
            "--allowed-origin",
            "https://meet.example.org,http://127.0.0.1:8000",
            "--allowed-origin",
            "https://other.example.org",
            "--turn-per-address-per-minute",
            "5",
        ])
        .unwrap();
        let s = args.settings().unwrap();
        std::fs::remove_file(&file).unwrap();
        assert_eq!(s.session_secret.as_deref(), Some("s3cret"));
        assert_eq!(s.session_ttl, Duration::from_secs(60));
        assert_eq!(s.turn_per_address_per_minute, 5);
        assert_eq!(
            s.allowed_origins,
            AllowedOrigins::parse(&[
                "https://meet.example.org",
                "http://127.0.0.1:8000",
                "https://other.example.org"
            ])
            .unwrap()
        );
        // Both forms at once, a missing file, a bad origin: refused.
        assert!(Args::try_parse_from([
            "nonstop-server",
            "--session-secret",
            "a",
            "--session-secret-file",
            "/x"
        ])
        .is_err());
        let missing =
            Args::try_parse_from(["nonstop-server", "--session-secret-file", "/nonexistent/x"])
                .unwrap();
        assert!(missing.settings().is_err());
        let bad = Args::try_parse_from(["nonstop-server", "--allowed-origin", "meet.example.org"])
            .unwrap();
        assert!(bad.settings().is_err());
    }

    #[test]
    fn turn_flags_make_turn_settings() {
        let args = Args::try_parse_from([
            "nonstop-server",
            "--turn-secret",
            "north",
            "--turn-urls",
            "turn:10.0.0.1:3478?transport=udp, turn:10.0.0.1:3478?transport=tcp",
            "--turn-ttl",
            "600",
        ])
        .unwrap();
        let turn = args.settings().unwrap().turn.unwrap();
        assert_eq!(turn.ttl(), Duration::from_secs(600));
        let servers = turn.ice_servers(nonstop_core::ParticipantId::new(3), 100);
        assert_eq!(servers[0].urls[1], "turn:10.0.0.1:3478?transport=tcp");
        assert_eq!(servers[0].username.as_deref(), Some("700:3"));

        let file = std::env::temp_dir().join(format!("nonstop-turn-secret-{}", std::process::id()));
        std::fs::write(&file, "north\n").unwrap();
        let from_file = Args::try_parse_from([
            "nonstop-server",
            "--turn-secret-file",
            file.to_str().unwrap(),
            "--turn-urls",
            "turn:10.0.0.1:3478",
            "--turn-ttl",
            "600",
        ])
        .unwrap();
        let same = from_file
            .settings()
            .unwrap()
            .turn
            .unwrap()
            .ice_servers(nonstop_core::ParticipantId::new(3), 100);
        std::fs::remove_file(&file).unwrap();
        assert_eq!(
            same[0].credential, servers[0].credential,
            "the file's trailing newline is not part of the secret"
        );

        // URLs without a secret would mean a static password or none: refused.
        let no_secret =
            Args::try_parse_from(["nonstop-server", "--turn-urls", "turn:h:3478"]).unwrap();
        assert!(no_secret.settings().is_err());
        let no_urls = Args::try_parse_from(["nonstop-server", "--turn-secret", "x"]).unwrap();
        assert!(no_urls.settings().is_err());
    }

    #[test]
    fn janus_flags_make_a_janus_pool() {
        assert_eq!(
            Args::try_parse_from(["nonstop-server"])
                .unwrap()
                .settings()
                .unwrap()
                .janus,
            Vec::new()
        );
        let file =
            std::env::temp_dir().join(format!("nonstop-janus-secrets-{}", std::process::id()));
        std::fs::write(&file, "admin_secret=a\nadmin_key=k\ntoken_auth_secret=t\n").unwrap();
        let file = file.to_str().unwrap();
        let flags = |args: &[&str]| {
            Args::try_parse_from(["nonstop-server"].iter().chain(args))
                .unwrap()
                .settings()
        };
        let one = |ws: &str| {
            flags(&[
                "--janus-ws",
                ws,
                "--janus-admin-ws",
                "ws://127.0.0.1:7188",
                "--janus-secrets-file",
                file,
            ])
        };
        let janus = one("ws://127.0.0.1:8188").unwrap().janus;
        assert_eq!(janus.len(), 1);
        assert_eq!(janus[0].client_ws, "ws://127.0.0.1:8188");
        assert_eq!(janus[0].admin_ws, "ws://127.0.0.1:7188");
        assert_eq!(janus[0].secrets.admin_key, "k");
        assert!(one("http://127.0.0.1:8188").is_err());

        // A pool: each flag given twice, or comma-separated; the n-th of each go together.
        let pool = flags(&[
            "--janus-ws",
            "ws://127.0.0.1:8188,ws://127.0.0.1:8189",
            "--janus-admin-ws",
            "ws://127.0.0.1:7188",
            "--janus-admin-ws",
            "ws://127.0.0.1:7189",
            "--janus-secrets-file",
            &format!("{file},{file}"),
        ])
        .unwrap()
        .janus;
        let urls: Vec<_> = pool
            .iter()
            .map(|j| (j.client_ws.as_str(), j.admin_ws.as_str()))
            .collect();
        assert_eq!(
            urls,
            [
                ("ws://127.0.0.1:8188", "ws://127.0.0.1:7188"),
                ("ws://127.0.0.1:8189", "ws://127.0.0.1:7189")
            ]
        );
        // Two client WebSockets but one admin WebSocket: which goes with which?
        let uneven = flags(&[
            "--janus-ws",
            "ws://127.0.0.1:8188,ws://127.0.0.1:8189",
            "--janus-admin-ws",
            "ws://127.0.0.1:7188",
            "--janus-secrets-file",
            file,
        ])
        .unwrap_err();
        assert!(
            uneven.contains("as often as each other (got 2, 1 and 1)"),
            "{uneven}"
        );
        std::fs::remove_file(file).unwrap();
        // One without the others: refused.
        assert!(
            Args::try_parse_from(["nonstop-server", "--janus-ws", "ws://127.0.0.1:8188"]).is_err()
        );
    }
}
