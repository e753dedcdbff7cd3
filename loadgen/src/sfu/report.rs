//! What each step prints, and the summary table at the end.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use super::counters::{Slot, Totals};

/// The raw readings of one step.
pub struct Measured<'a> {
    pub target: usize,
    pub slots: &'a [Arc<Slot>],
    /// The first participant this step added.
    pub first_new: usize,
    pub joins_took: Duration,
    pub window: Duration,
    pub before: Totals,
    pub after: Totals,
    pub before_bytes: Vec<u64>,
    pub janus_cpu: Option<f64>,
    pub janus_rss_kib: Option<u64>,
    pub server_cpu: Option<f64>,
    pub loader_cpu: Option<f64>,
    /// The whole machine's CPU busy, in % of all cores.
    pub machine_busy: Option<f64>,
    /// UDP datagrams dropped in the namespace: (receive buffers, send buffers, in errors).
    pub udp_drops: Option<(u64, u64, u64)>,
    /// Janus's Admin API: (participants, publishers) in the room.
    pub janus_view: Option<(usize, usize)>,
}

/// One row of the summary.
pub struct StepReport {
    pub target: usize,
    pub joined: usize,
    pub publishing: usize,
    pub receiving_video: usize,
    pub janus_publishers: Option<usize>,
    pub video_streams: u64,
    pub video_wanted: u64,
    pub audio_streams: u64,
    pub janus_cpu: Option<f64>,
    pub janus_rss_mib: Option<f64>,
    pub server_cpu: Option<f64>,
    pub loader_cpu: Option<f64>,
    pub machine_busy: Option<f64>,
    pub udp_drops: Option<(u64, u64, u64)>,
    pub talking_events: u64,
    pub freezes_per_minute: f64,
    pub freezes_per_stream_minute: f64,
    pub last_join_ms: Option<u64>,
    pub step_join_median_ms: Option<u64>,
    pub step_join_max_ms: Option<u64>,
    pub rx_kbps_mean: f64,
    pub rx_kbps_min: f64,
    pub rx_packets_per_second: f64,
    /// Video frames each publisher wrote per second (the clip's rate when the loader
    /// keeps up).
    pub tx_fps: f64,
    pub send_drops: u64,
    pub failures: u64,
    pub joins_took: Duration,
    pub last_error: Option<String>,
}

/// Each slot's bytes received so far.
pub fn bytes_of(slots: &[Arc<Slot>]) -> Vec<u64> {
    slots.iter().map(|s| s.rx_bytes.load(Relaxed)).collect()
}

impl StepReport {
    pub fn new(m: Measured) -> StepReport {
        let seconds = m.window.as_secs_f64().max(0.001);
        let minutes = seconds / 60.0;
        let freezes = (m.after.freezes - m.before.freezes) as f64;
        let joins: Vec<u64> = m.slots[m.first_new..]
            .iter()
            .map(|s| s.join_ms.load(Relaxed))
            .filter(|&ms| ms > 0)
            .collect();
        let mut sorted = joins.clone();
        sorted.sort_unstable();
        // Per participant that received anything: its rate over the window.
        let mut rates: Vec<f64> = m
            .slots
            .iter()
            .zip(m.before_bytes.iter().chain(std::iter::repeat(&0)))
            .skip(1) // the first joined alone; it receives like the others later
            .map(|(s, before)| (s.rx_bytes.load(Relaxed) - before) as f64 * 8.0 / seconds / 1000.0)
            .collect();
        rates.sort_by(f64::total_cmp);
        let receivers = rates.len().max(1) as f64;
        StepReport {
            target: m.target,
            joined: m.after.joined,
            publishing: m.after.publishing,
            receiving_video: m.after.receiving_video,
            janus_publishers: m.janus_view.map(|(_, p)| p),
            video_streams: m.after.video_flowing,
            video_wanted: m.after.video_wanted,
            audio_streams: m.after.audio_flowing,
            janus_cpu: m.janus_cpu,
            janus_rss_mib: m.janus_rss_kib.map(|k| k as f64 / 1024.0),
            server_cpu: m.server_cpu,
            loader_cpu: m.loader_cpu,
            machine_busy: m.machine_busy,
            udp_drops: m.udp_drops,
            talking_events: m.after.talking_events,
            freezes_per_minute: freezes / minutes,
            freezes_per_stream_minute: freezes / minutes / (m.after.video_flowing.max(1) as f64),
            last_join_ms: m
                .slots
                .get(m.target.saturating_sub(1))
                .map(|s| s.join_ms.load(Relaxed))
                .filter(|&ms| ms > 0),
            step_join_median_ms: sorted.get(sorted.len() / 2).copied(),
            step_join_max_ms: sorted.last().copied(),
            rx_kbps_mean: rates.iter().sum::<f64>() / receivers,
            rx_kbps_min: rates.first().copied().unwrap_or(0.0),
            rx_packets_per_second: (m.after.rx_packets - m.before.rx_packets) as f64 / seconds,
            tx_fps: (m.after.tx_video_frames - m.before.tx_video_frames) as f64
                / seconds
                / (m.after.publishing.max(1) as f64),
            send_drops: m.after.send_drops - m.before.send_drops,
            failures: m.after.failures,
            joins_took: m.joins_took,
            last_error: m
                .slots
                .iter()
                .rev()
                .find_map(|s| s.last_error.lock().unwrap().clone()),
        }
    }

    pub fn print(&self) {
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} %"));
        let ms =
            |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{:.2} s", v as f64 / 1000.0));
        println!(
            "\nstep {}: joined {} / {}, publishing {}{}, receiving video {} (joins and first video took {:.1} s)",
            self.target,
            self.joined,
            self.target,
            self.publishing,
            self.janus_publishers
                .map_or(String::new(), |p| format!(" (Janus: {p} publishers)")),
            self.receiving_video,
            self.joins_took.as_secs_f64()
        );
        println!(
            "  forwarded streams received: {} video (of {} wanted), {} audio; {:.0} packets/s in all",
            self.video_streams, self.video_wanted, self.audio_streams, self.rx_packets_per_second
        );
        println!(
            "  CPU (of one core): Janus {}, loader {}, signaling server {}; Janus RSS {}",
            pct(self.janus_cpu),
            pct(self.loader_cpu),
            pct(self.server_cpu),
            self.janus_rss_mib
                .map_or("-".to_string(), |m| format!("{m:.0} MiB"))
        );
        // What the rest of the machine took: the numbers are only this benchmark's when small.
        let others = self.machine_busy.map(|m| {
            m * cores() as f64
                - self.janus_cpu.unwrap_or(0.0)
                - self.loader_cpu.unwrap_or(0.0)
                - self.server_cpu.unwrap_or(0.0)
        });
        println!(
            "  machine CPU busy {} of {} cores (other processes and the kernel: {} of one core)",
            pct(self.machine_busy),
            cores(),
            pct(others.map(|o| o.max(0.0)))
        );
        println!(
            "  UDP drops in the window: {}; Janus talking events seen so far: {}",
            self.udp_drops.map_or("-".to_string(), |(r, s, e)| format!(
                "{r} receive-buffer, {s} send-buffer, {e} in-errors"
            )),
            self.talking_events
        );
        println!(
            "  freezes (video > 500 ms without a frame): {:.1}/min in all, {:.3}/min per stream",
            self.freezes_per_minute, self.freezes_per_stream_minute
        );
        println!(
            "  join to first video: last participant {}, this step's median {}, max {}",
            ms(self.last_join_ms),
            ms(self.step_join_median_ms),
            ms(self.step_join_max_ms)
        );
        println!(
            "  receive rate per participant: mean {:.0} kb/s, min {:.0} kb/s; each publisher sent {:.1} video frames/s, {} datagrams dropped by full send buffers",
            self.rx_kbps_mean, self.rx_kbps_min, self.tx_fps, self.send_drops
        );
        if self.failures > 0 {
            println!(
                "  failures so far: {} (latest: {})",
                self.failures,
                self.last_error.as_deref().unwrap_or("-")
            );
        }
    }
}

pub fn print_summary(reports: &[StepReport], slots: &[Arc<Slot>]) {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    println!(
        "\nnonstop-sfu-load: summary (janus% and loader% of one core, machine% of all {} cores)",
        cores()
    );
    println!(
        "  {:>6} {:>6} {:>6} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}",
        "target",
        "joined",
        "publ.",
        "video",
        "audio",
        "janus%",
        "janus%/p",
        "janusMB",
        "loader%",
        "machine%",
        "frz/min",
        "lastjoin",
        "kb/s/p"
    );
    for r in reports {
        println!(
            "  {:>6} {:>6} {:>6} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9.1} {:>9} {:>8.0}",
            r.target,
            r.joined,
            r.publishing,
            r.video_streams,
            r.audio_streams,
            opt(r.janus_cpu),
            r.janus_cpu.map_or("-".to_string(), |c| format!(
                "{:.2}",
                c / r.joined.max(1) as f64
            )),
            opt(r.janus_rss_mib),
            opt(r.loader_cpu),
            opt(r.machine_busy),
            r.freezes_per_minute,
            r.last_join_ms
                .map_or("-".to_string(), |v| format!("{:.2}s", v as f64 / 1000.0)),
            r.rx_kbps_mean
        );
    }
    let ended = slots.iter().filter(|s| s.ended.load(Relaxed)).count();
    if ended > 0 {
        println!("  participants whose task ended early: {ended}");
    }
}

/// The machine's CPUs (not only those this process may run on): `/proc/stat`'s
/// `cpuN` lines.
fn cores() -> usize {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let n = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    n.max(1)
}
