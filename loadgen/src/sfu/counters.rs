//! What each participant reports to the driver, as atomics the driver reads at each
//! step (no locks on the media path).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// One participant's counters.
#[derive(Debug, Default)]
pub struct Slot {
    /// `welcome` arrived.
    pub joined: AtomicBool,
    /// The publisher connection is up and Janus answered (media is being written).
    pub publishing: AtomicBool,
    /// Milliseconds from `join` sent to the first video packet from the SFU; 0: not yet.
    pub join_ms: AtomicU64,
    pub rx_packets: AtomicU64,
    pub rx_bytes: AtomicU64,
    /// Video frames written to the publisher connection.
    pub tx_video_frames: AtomicU64,
    /// Datagrams our sockets would not take (send buffer full).
    pub send_drops: AtomicU64,
    /// Video and audio m-lines that received something within the last second.
    pub video_flowing: AtomicU32,
    pub audio_flowing: AtomicU32,
    /// Video streams the plan wants (to compare with those flowing).
    pub video_wanted: AtomicU32,
    pub freezes: AtomicU64,
    /// Janus `talking` / `stopped-talking` events received.
    pub talking_events: AtomicU64,
    /// Janus clients that failed, signaling errors, connection errors.
    pub failures: AtomicU64,
    /// The participant's task ended.
    pub ended: AtomicBool,
    /// The latest failure, for the report.
    pub last_error: Mutex<Option<String>>,
    /// The SFU room (from the grant), for the Admin API's view.
    pub room: Mutex<Option<String>>,
}

impl Slot {
    pub fn fail(&self, why: impl Into<String>) {
        self.failures.fetch_add(1, Relaxed);
        *self.last_error.lock().unwrap() = Some(why.into());
    }
}

/// A snapshot of every slot's totals.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub joined: usize,
    pub publishing: usize,
    pub receiving_video: usize,
    pub video_flowing: u64,
    pub audio_flowing: u64,
    pub video_wanted: u64,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_video_frames: u64,
    pub send_drops: u64,
    pub freezes: u64,
    pub talking_events: u64,
    pub failures: u64,
    pub ended: usize,
}

pub fn totals(slots: &[std::sync::Arc<Slot>]) -> Totals {
    let mut t = Totals::default();
    for s in slots {
        t.joined += usize::from(s.joined.load(Relaxed));
        t.publishing += usize::from(s.publishing.load(Relaxed));
        t.receiving_video += usize::from(s.join_ms.load(Relaxed) > 0);
        t.video_flowing += u64::from(s.video_flowing.load(Relaxed));
        t.audio_flowing += u64::from(s.audio_flowing.load(Relaxed));
        t.video_wanted += u64::from(s.video_wanted.load(Relaxed));
        t.rx_packets += s.rx_packets.load(Relaxed);
        t.rx_bytes += s.rx_bytes.load(Relaxed);
        t.tx_video_frames += s.tx_video_frames.load(Relaxed);
        t.send_drops += s.send_drops.load(Relaxed);
        t.freezes += s.freezes.load(Relaxed);
        t.talking_events += s.talking_events.load(Relaxed);
        t.failures += s.failures.load(Relaxed);
        t.ended += usize::from(s.ended.load(Relaxed));
    }
    t
}
