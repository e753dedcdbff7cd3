//! Command-line flags (each with an environment variable) and the settings they make.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{value_parser, Parser};

use crate::turn::{Turn, DEFAULT_TURN_TTL};
use nonstop_core::protocol::{HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS};

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

    /// Secret that signs resume tokens. Set it (the same across restarts) so that
    /// participants survive a server restart under their ids; random per run otherwise.
    #[arg(long, env = "NONSTOP_SESSION_SECRET", hide_env_values = true)]
    pub session_secret: Option<String>,

    /// Milliseconds a participant whose socket died without a goodbye is held for a
    /// `resume` before the room is told it left (0: tell at once).
    #[arg(long, env = "NONSTOP_RESUME_GRACE_MS", default_value_t = DEFAULT_RESUME_GRACE_MS)]
    pub resume_grace_ms: u64,

    /// Milliseconds a shutdown (SIGTERM, Ctrl-C) may take. Clients are told to come
    /// back (`going_away`), their queues are flushed and their sockets closed; after
    /// this long the server exits whatever is still open.
    #[arg(long, env = "NONSTOP_SHUTDOWN_GRACE_MS", default_value_t = DEFAULT_SHUTDOWN_GRACE_MS)]
    pub shutdown_grace_ms: u64,
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
        Ok(Settings {
            static_dir: self.static_dir.clone(),
            capacity: self.capacity,
            heartbeat_interval: Duration::from_millis(self.heartbeat_interval_ms),
            heartbeat_timeout: Duration::from_millis(self.heartbeat_timeout_ms),
            send_queue: self.send_queue,
            turn,
            session_secret: self.session_secret.clone().filter(|s| !s.is_empty()),
            resume_grace: Duration::from_millis(self.resume_grace_ms),
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
        })
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
    /// TURN credentials for the welcome; `None`: no ICE servers.
    pub turn: Option<Turn>,
    /// Signs resume tokens; `None`: a random key per run.
    pub session_secret: Option<String>,
    pub resume_grace: Duration,
    /// Longest a shutdown takes, whatever the open connections.
    pub shutdown_grace: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            static_dir: PathBuf::from("dist"),
            capacity: DEFAULT_CAPACITY,
            heartbeat_interval: Duration::from_millis(HEARTBEAT_INTERVAL_MS),
            heartbeat_timeout: Duration::from_millis(HEARTBEAT_TIMEOUT_MS),
            send_queue: DEFAULT_SEND_QUEUE,
            turn: None,
            session_secret: None,
            resume_grace: Duration::from_millis(DEFAULT_RESUME_GRACE_MS),
            shutdown_grace: Duration::from_millis(DEFAULT_SHUTDOWN_GRACE_MS),
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
        assert_eq!(s.shutdown_grace, Duration::from_millis(1_500));
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(Args::try_parse_from(["nonstop-server", "--capacity", "0"]).is_err());
        assert!(Args::try_parse_from(["nonstop-server", "--heartbeat-interval-ms", "0"]).is_err());
        let args = Args::try_parse_from([
            "nonstop-server",
            "--heartbeat-interval-ms",
            "500",
            "--heartbeat-timeout-ms",
            "500",
        ])
        .unwrap();
        assert!(args.settings().is_err());
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
}
