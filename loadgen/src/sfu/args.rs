//! Command-line flags of `nonstop-sfu-load`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "nonstop-sfu-load",
    version,
    about = "Scripted WebRTC participants (ICE, DTLS-SRTP, RTP) joining one call relayed through Janus, in steps; prints what each step costs."
)]
pub struct Args {
    /// The signaling server (it proxies Janus's WebSocket at the grant's path). Loopback
    /// or a private address only (10/8, 172.16/12, 192.168/16).
    #[arg(long, default_value = "10.99.0.1:18080")]
    pub server: SocketAddr,
    /// The address the participants' UDP sockets bind to (their ICE candidate);
    /// default: the server's address. Janus gathers no candidates on loopback.
    #[arg(long)]
    pub local_ip: Option<IpAddr>,
    /// The room everyone joins.
    #[arg(long, default_value = "bench-sfu")]
    pub room: String,
    /// Participants at the end of the ramp.
    #[arg(long, default_value_t = 200)]
    pub participants: usize,
    /// Participants added per step (0: the steps 25, 50, 100, 150, 200 up to
    /// --participants).
    #[arg(long, default_value_t = 0)]
    pub step: usize,
    /// The first K participants speak (a loud audio level with voice activity), so
    /// Janus emits `talking` for them; the others send silence (level 127).
    #[arg(long, default_value_t = 2)]
    pub speakers: usize,
    /// Cameras each participant receives: the first N publishers in join order.
    #[arg(long, default_value_t = 9)]
    pub page: usize,
    /// VP8 video to loop (IVF, keyframes every couple of seconds), e.g. from vpxenc.
    #[arg(long)]
    pub video: PathBuf,
    /// Milliseconds between two participants' joins within a step.
    #[arg(long, default_value_t = 100)]
    pub join_interval_ms: u64,
    /// Seconds a step may take for all its participants to receive video.
    #[arg(long, default_value_t = 90)]
    pub step_timeout_seconds: u64,
    /// Seconds to wait after a step's joins before measuring.
    #[arg(long, default_value_t = 10)]
    pub settle_seconds: u64,
    /// Seconds each step is measured over.
    #[arg(long, default_value_t = 15)]
    pub window_seconds: u64,
    /// Janus's process id: its CPU and RSS.
    #[arg(long)]
    pub janus_pid: Option<u32>,
    /// The signaling server's process id: its CPU.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Janus's Admin API WebSocket, for Janus's own count of the room's publishers
    /// (with --janus-secrets-file).
    #[arg(long, requires = "janus_secrets_file")]
    pub janus_admin_ws: Option<String>,
    /// The secrets file of scripts/janus-start (admin_secret, admin_key).
    #[arg(long)]
    pub janus_secrets_file: Option<PathBuf>,
    /// Seconds to keep everyone in the call after the last step (and the summary),
    /// while real browsers join it (scripts/bench-sfu --browsers).
    #[arg(long, default_value_t = 0)]
    pub hold_seconds: u64,
    /// Hard limit on the whole run, in seconds.
    #[arg(long, default_value_t = 600)]
    pub max_seconds: u64,
    /// Print Janus warnings and unreadable frames.
    #[arg(long)]
    pub verbose: bool,
}

impl Args {
    /// The participant counts to measure at, in order.
    pub fn steps(&self) -> Vec<usize> {
        let n = self.participants.max(1);
        let mut steps: Vec<usize> = if self.step == 0 {
            [25, 50, 100, 150, 200]
                .into_iter()
                .filter(|&s| s < n)
                .collect()
        } else {
            (1..)
                .map(|i| i * self.step)
                .take_while(|&s| s < n)
                .collect()
        };
        steps.push(n);
        steps
    }
}

/// Only addresses that cannot be a real network's: loopback and private ranges.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut all = vec!["nonstop-sfu-load", "--video", "x.ivf"];
        all.extend_from_slice(extra);
        Args::try_parse_from(all).unwrap()
    }

    #[test]
    fn steps_end_at_the_participants() {
        assert_eq!(args(&[]).steps(), vec![25, 50, 100, 150, 200]);
        assert_eq!(args(&["--participants", "60"]).steps(), vec![25, 50, 60]);
        assert_eq!(
            args(&["--participants", "10", "--step", "4"]).steps(),
            vec![4, 8, 10]
        );
    }

    #[test]
    fn only_private_addresses() {
        assert!(is_private("10.99.0.1".parse().unwrap()));
        assert!(is_private("127.0.0.1".parse().unwrap()));
        assert!(!is_private("8.8.8.8".parse().unwrap()));
    }
}
