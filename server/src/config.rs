//! Command-line flags (each with an environment variable) and the settings they make.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{value_parser, Parser};
use nonstop_core::protocol::{HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS};

/// Most participants in one meeting unless `--capacity` says otherwise.
pub const DEFAULT_CAPACITY: usize = 200;

/// Messages queued for one connection unless `--send-queue` says otherwise. A join to
/// a room of 200 sends each member one `joined`; negotiation adds a few dozen
/// candidates per peer, which a healthy browser drains in milliseconds.
pub const DEFAULT_SEND_QUEUE: usize = 256;

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
        Ok(Settings {
            static_dir: self.static_dir.clone(),
            capacity: self.capacity,
            heartbeat_interval: Duration::from_millis(self.heartbeat_interval_ms),
            heartbeat_timeout: Duration::from_millis(self.heartbeat_timeout_ms),
            send_queue: self.send_queue,
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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            static_dir: PathBuf::from("dist"),
            capacity: DEFAULT_CAPACITY,
            heartbeat_interval: Duration::from_millis(HEARTBEAT_INTERVAL_MS),
            heartbeat_timeout: Duration::from_millis(HEARTBEAT_TIMEOUT_MS),
            send_queue: DEFAULT_SEND_QUEUE,
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
        ])
        .unwrap();
        let s = args.settings().unwrap();
        assert_eq!(args.addr, "127.0.0.1:0".parse().unwrap());
        assert_eq!(s.static_dir, PathBuf::from("/tmp/app"));
        assert_eq!(s.capacity, 3);
        assert_eq!(s.heartbeat_interval, Duration::from_millis(50));
        assert_eq!(s.heartbeat_timeout, Duration::from_millis(200));
        assert_eq!(s.send_queue, 8);
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
}
