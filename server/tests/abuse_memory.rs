//! The server's memory under the attacks, measured as this process's RSS (the
//! test server runs in it; the attackers are hand-written sockets that keep almost
//! nothing). Peaks are raw RSS; "before" and "after" are read once the allocator has
//! returned its free memory, so that "kept" means still held by the server. One test on purpose: the phases run one after the other, each on a
//! fresh server, so that no other test's allocations blur the numbers.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::raw::{self, PING, TEXT};
use common::{join_msg, TestServer, PATIENCE};
use nonstop_core::protocol::{ClientMsg, ServerMsg};
use nonstop_core::topology::TopologyConfig;
use nonstop_server::limits::RateLimits;
use nonstop_server::Settings;
use tokio::io::AsyncWriteExt;

/// RSS is read in KiB.
const MIB: u64 = 1024;

fn settings() -> Settings {
    Settings {
        static_dir: PathBuf::from("/nonexistent/nonstop-test"),
        // Every attacker here is on 127.0.0.1; the caps have their own tests.
        max_connections_per_ip: 0,
        join_timeout: Duration::from_secs(60),
        // Rooms here are larger than a mesh without an SFU may be; that limit is
        // tested in topology.rs.
        topology: TopologyConfig {
            mesh_limit: 200,
            ..TopologyConfig::default()
        },
        ..Settings::default()
    }
}

/// Limits so high that only the memory bounds are at work, not the rate limits.
fn unlimited() -> RateLimits {
    let mut limits = RateLimits::new(u32::MAX, u32::MAX);
    limits.media = limits.messages;
    limits.messages_per_peer = limits.messages;
    limits.bytes_per_peer = limits.bytes;
    limits
}

/// Samples RSS every few milliseconds until stopped; returns the highest seen.
struct PeakRss {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    fn start() -> Self {
        let peak = Arc::new(AtomicU64::new(raw::rss_kib()));
        let task = tokio::spawn({
            let peak = peak.clone();
            async move {
                loop {
                    peak.fetch_max(raw::rss_kib(), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        PeakRss { peak, task }
    }

    fn stop(self) -> u64 {
        self.task.abort();
        self.peak.load(Ordering::Relaxed).max(raw::rss_kib())
    }
}

/// Set by the driver for the phase it runs; a phase without it (`cargo test --
/// --ignored` runs them all in one process) does nothing, since its numbers would
/// include the others'.
const PHASE_ENV: &str = "NONSTOP_MEMORY_PHASE";

/// Whether this process was started to run `phase`.
fn running(phase: &str) -> bool {
    let mine = std::env::var(PHASE_ENV).is_ok_and(|p| p == phase);
    if !mine {
        eprintln!("{phase}: skipped; memory_stays_bounded_under_each_attack runs it alone");
    }
    mine
}

/// Prints one line of the table; the driver collects the lines that start with it.
const REPORT: &str = "memory:";

fn report(what: &str, took: Duration, before: u64, peak: u64, after: u64) {
    let line = format!(
            "{what:<34} {took:>4.1} s  before {:>6.1} MiB  peak {:>6.1} MiB (+{:>5.1})  after {:>6.1} MiB (+{:>5.1})",
            before as f64 / 1024.0,
            peak as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0,
            after as f64 / 1024.0,
            after.saturating_sub(before) as f64 / 1024.0,
            took = took.as_secs_f64(),
        );
    eprintln!("{REPORT} {line}");
}

/// Runs each phase in a process of its own (this test binary again), so that memory
/// one phase freed (which the allocator keeps) cannot hide what the next one takes.
#[test]
fn memory_stays_bounded_under_each_attack() {
    let mut table = Vec::new();
    for phase in [
        "ping_flood",
        "oversized_frames",
        "idle_sockets",
        "slow_readers",
    ] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                &format!("phase::{phase}"),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PHASE_ENV, phase)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "phase {phase} failed:\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("1 passed"),
            "phase {phase} did not run:\n{stdout}"
        );
        table.extend(
            stderr
                .lines()
                .filter(|l| l.starts_with(REPORT))
                .map(str::to_owned),
        );
    }
    eprintln!("\n{}", table.join("\n"));
}

/// The phases, each run by the test above in a process of its own.
mod phase {
    use super::*;

    /// 1. One unjoined socket sends pings and never reads (was: 245 MB in 2 s). The
    ///    rate limits are lifted so that only the write-buffer cap is at work.
    #[ignore = "run by memory_stays_bounded_under_each_attack, in a process of its own"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ping_flood() {
        if !running("ping_flood") {
            return;
        }
        nonstop_server::open_files::raise_to_hard_limit().unwrap();
        let phase = Instant::now();
        let server = TestServer::start(Settings {
            rate_limits: unlimited(),
            ..settings()
        })
        .await;
        let before = raw::settled_rss_kib();
        let peak = PeakRss::start();
        let stream = raw::upgrade_with_recv_buffer(server.addr, Some(4096))
            .await
            .unwrap();
        let (_read, mut write) = stream.into_split();
        let ping = raw::frame(PING, &[7u8; 125]).repeat(64);
        let started = Instant::now();
        let mut sent = 0u64;
        while started.elapsed() < Duration::from_secs(2) {
            match tokio::time::timeout(Duration::from_millis(100), write.write_all(&ping)).await {
                Ok(Ok(())) => sent += 64,
                Ok(Err(_)) => break,
                Err(_) => {} // the server stopped reading for a moment; go on
            }
        }
        let peak = peak.stop();
        eprintln!("ping flood: {sent} pings in 2 s");
        report(
            "ping flood, never reading, 2 s",
            phase.elapsed(),
            before,
            peak,
            raw::settled_rss_kib(),
        );
        // The library's write buffer (256 KiB) and read buffer are all a pinger can fill.
        assert!(
            peak - before < 8 * MIB,
            "ping flood grew RSS by {} KiB",
            peak - before
        );
        server.shut_down().await;
    }

    /// 2. 200 sockets each send a 1 MiB frame (was: 33 MB to 250 MB).
    #[ignore = "run by memory_stays_bounded_under_each_attack, in a process of its own"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oversized_frames() {
        if !running("oversized_frames") {
            return;
        }
        nonstop_server::open_files::raise_to_hard_limit().unwrap();
        let phase = Instant::now();
        let server = TestServer::start(settings()).await;
        let before = raw::settled_rss_kib();
        let peak = PeakRss::start();
        let closed_1009 = Arc::new(AtomicUsize::new(0));
        let mut attackers = Vec::new();
        for _ in 0..200 {
            let stream = raw::upgrade(server.addr).await.unwrap();
            let closed_1009 = closed_1009.clone();
            attackers.push(tokio::spawn(async move {
                let (mut read, mut write) = stream.into_split();
                let writing =
                    tokio::spawn(async move { raw::send_mib_frame(&mut write, 16 * 1024).await });
                if raw::read_until_close(&mut read, PATIENCE).await.0 == Some(1009) {
                    closed_1009.fetch_add(1, Ordering::Relaxed);
                }
                let _ = writing.await;
            }));
        }
        for attacker in attackers {
            attacker.await.unwrap();
        }
        let peak = peak.stop();
        tokio::time::sleep(Duration::from_millis(200)).await;
        report(
            "200 sockets x 1 MiB frame",
            phase.elapsed(),
            before,
            peak,
            raw::settled_rss_kib(),
        );
        assert_eq!(
            closed_1009.load(Ordering::Relaxed),
            200,
            "each closed with 1009"
        );
        // Refused at the frame header: nothing of the payload is kept.
        assert!(
            peak - before < 8 * MIB,
            "1 MiB frames grew RSS by {} KiB",
            peak - before
        );
        server.shut_down().await;
    }

    /// 3. Idle sockets (was: about 140 KB each).
    #[ignore = "run by memory_stays_bounded_under_each_attack, in a process of its own"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_sockets() {
        if !running("idle_sockets") {
            return;
        }
        nonstop_server::open_files::raise_to_hard_limit().unwrap();
        let phase = Instant::now();
        const IDLE: u64 = 1_000;
        let server = TestServer::start(settings()).await;
        let before = raw::settled_rss_kib();
        let mut idle = Vec::new();
        for _ in 0..IDLE {
            idle.push(raw::upgrade(server.addr).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let held = raw::rss_kib();
        report("1,000 idle WebSockets", phase.elapsed(), before, held, held);
        let per_socket = (held.saturating_sub(before)) * 1024 / IDLE;
        eprintln!("idle WebSocket: {per_socket} bytes each (server and the test's raw socket)");
        // The library's 4 KiB read buffer, the task, the hub's queue: under 24 KiB.
        assert!(per_socket < 24 * 1024, "{per_socket} bytes per idle socket");
        drop(idle);
        server.shut_down().await;
    }

    /// 4. 20 members stop reading while another sends them 64 KiB offers (was: 336 MB,
    ///    237 MB kept after they were kicked). Rate limits lifted: the byte-bounded
    ///    queues (default 1 MiB each) are what must hold.
    #[ignore = "run by memory_stays_bounded_under_each_attack, in a process of its own"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_readers() {
        if !running("slow_readers") {
            return;
        }
        nonstop_server::open_files::raise_to_hard_limit().unwrap();
        let phase = Instant::now();
        const SLOW: usize = 20;
        let server = TestServer::start(Settings {
            rate_limits: unlimited(),
            ..settings()
        })
        .await;
        let before = raw::settled_rss_kib();
        let peak = PeakRss::start();
        // A hand-written sender too: a library client would spend most of the phase
        // masking 40 MB of offers.
        let sender = raw::upgrade(server.addr).await.unwrap();
        let (mut recv, mut send) = sender.into_split();
        let join = join_msg("calm-otter", "Sender").to_json();
        send.write_all(&raw::frame(TEXT, join.as_bytes()))
            .await
            .unwrap();
        let mut slow = Vec::new();
        for i in 0..SLOW {
            let mut stream = raw::upgrade_with_recv_buffer(server.addr, Some(4096))
                .await
                .unwrap();
            let join = join_msg("calm-otter", &format!("Slow {i}")).to_json();
            stream
                .write_all(&raw::frame(TEXT, join.as_bytes()))
                .await
                .unwrap();
            slow.push(stream);
        }
        // The sender reads everything (as an honest client does) and learns who is
        // there and who was dropped.
        let joined = Arc::new(std::sync::Mutex::new(Vec::new()));
        let dropped = Arc::new(AtomicUsize::new(0));
        let reader = tokio::spawn({
            let (joined, dropped) = (joined.clone(), dropped.clone());
            async move {
                while let Ok((opcode, payload)) = raw::read_frame(&mut recv).await {
                    if opcode != TEXT {
                        continue;
                    }
                    match serde_json::from_slice::<ServerMsg>(&payload) {
                        Ok(ServerMsg::Joined { participant }) => {
                            joined.lock().unwrap().push(participant.id)
                        }
                        Ok(ServerMsg::Left { .. }) => {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
            }
        });
        let deadline = Instant::now() + PATIENCE;
        while joined.lock().unwrap().len() < SLOW {
            assert!(Instant::now() < deadline, "the slow members joined");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let targets = joined.lock().unwrap().clone();
        let sdp = "a".repeat(64 * 1024 - 100);
        let started = Instant::now();
        let mut offers = 0;
        'rounds: for _ in 0..200 {
            for &to in &targets {
                if dropped.load(Ordering::Relaxed) >= SLOW
                    || started.elapsed() > Duration::from_secs(20)
                {
                    break 'rounds;
                }
                let offer = ClientMsg::Offer {
                    to,
                    sdp: sdp.clone(),
                }
                .to_json();
                send.write_all(&raw::frame(TEXT, offer.as_bytes()))
                    .await
                    .unwrap();
                offers += 1;
            }
        }
        let deadline = Instant::now() + PATIENCE;
        while dropped.load(Ordering::Relaxed) < SLOW && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let kicked = dropped.load(Ordering::Relaxed);
        let peak = peak.stop();
        // Their connections end after the close grace (2 s) and free their queues.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let after = raw::settled_rss_kib();
        eprintln!(
            "slow readers: {offers} offers of 64 KiB sent, {kicked} of {SLOW} slow members dropped"
        );
        report(
            "20 slow readers, 64 KiB offers",
            phase.elapsed(),
            before,
            peak,
            after,
        );
        assert_eq!(kicked, SLOW, "every slow member is dropped");
        // Queued and being written: at most 20 x (1 MiB + one 64 KiB frame), about
        // 22 MiB, however many offers come, plus parsing buffers. Measured 4 to 25 MiB
        // (it depends on how many queues are full at the same moment).
        assert!(
            peak - before < 40 * MIB,
            "slow readers grew RSS by {} KiB",
            peak - before
        );
        // Once the queues are dropped and the allocator trimmed, what stays is the hub's
        // and runtime's grown tables and the allocator's fragmentation, which shifts
        // with unrelated changes: measured 3.6 to 4.0 MiB when this was written, 7.4 at
        // 629c63c, 7.6 to 8.4 with the Redis client linked in (unused here; it stays the
        // same 3 s later). Queues not freed would keep 20 MiB or more (20 x 1 MiB).
        assert!(
            after.saturating_sub(before) < 12 * MIB,
            "{} KiB kept after the kicks",
            after - before
        );
        drop(slow);
        reader.abort();
        server.shut_down().await;
    }
}
