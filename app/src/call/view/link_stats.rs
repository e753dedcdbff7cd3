//! Each link's numbers, as the quality badges and the stats panel show them.

use leptos::prelude::*;
use nonstop_core::adaptation::{Bitrate, Quality, QualityLevel, QualityReason, Resolution};
use nonstop_core::time::{Millis, Time};
use nonstop_core::vec_map::VecMap;
use nonstop_core::ParticipantId;

/// One link's numbers, for the quality indicator and the stats panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkStats {
    pub quality: Option<Quality>,
    pub send_bitrate: Option<Bitrate>,
    pub recv_bitrate: Option<Bitrate>,
    pub send_frame: Option<Resolution>,
    pub send_fps: Option<f64>,
    pub recv_frame: Option<Resolution>,
    pub recv_fps: Option<f64>,
    pub rtt: Option<Millis>,
    /// Fraction of our packets the remote lost, 0 to 1.
    pub loss: Option<f64>,
    pub relayed: Option<bool>,
    /// What the controller lets this link use (none while it is off).
    pub budget: Option<Bitrate>,
    /// Video paused on this link by the controller.
    pub video_off: bool,
    /// (time, send kb/s, receive kb/s, RTT ms) over the last minute.
    pub history: Vec<(Time, f64, f64, f64)>,
}

/// What the tiles and the stats panel read. Provided as context by the meeting page.
#[derive(Clone, Copy)]
pub struct AdaptationView {
    pub links: RwSignal<VecMap<ParticipantId, LinkStats>>,
    /// Whether the controller applies its decisions (`?adapt=off` turns it off).
    pub enabled: RwSignal<bool>,
}

impl AdaptationView {
    pub fn new(enabled: bool) -> AdaptationView {
        AdaptationView {
            links: RwSignal::new(VecMap::new()),
            enabled: RwSignal::new(enabled),
        }
    }

    /// The quality of our link to `id`.
    pub fn quality(&self, id: ParticipantId) -> Option<Quality> {
        self.links.with(|l| l.get(&id).and_then(|s| s.quality))
    }

    /// Our own quality: the worst of our outgoing links.
    pub fn worst(&self) -> Option<Quality> {
        self.links
            .with(|l| l.values().filter_map(|s| s.quality).max_by_key(|q| q.level))
    }
}

/// A short text for a quality's reason.
pub fn reason_text(q: Quality) -> &'static str {
    match (q.level, q.reason) {
        (QualityLevel::Good, _) | (_, None) => "Good connection",
        (_, Some(QualityReason::Loss)) => "Packet loss",
        (_, Some(QualityReason::Rtt)) => "High delay",
        (_, Some(QualityReason::Bandwidth)) => "Low bandwidth",
        (_, Some(QualityReason::Cpu)) => "Device busy (CPU)",
    }
}
