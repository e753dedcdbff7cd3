//! What the controller tells the browser glue for each link: the encoding parameters
//! to apply with `RTCRtpSender.setParameters`, and the quality to show.

use super::quality::Quality;
use super::units::{Bitrate, Framerate};
use crate::time::Millis;

/// `RTCPriorityType`, for `priority` and `networkPriority` of an encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    VeryLow,
    Low,
    Medium,
    High,
}

impl Priority {
    /// The browser's string.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::VeryLow => "very-low",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }

    /// From the browser's string; `None` for anything else.
    pub fn from_js(s: &str) -> Option<Priority> {
        [
            Priority::VeryLow,
            Priority::Low,
            Priority::Medium,
            Priority::High,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// The video sender's single encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoParams {
    /// `active`: false sends no video at all (hidden tile, or a link too thin).
    pub active: bool,
    /// `maxBitrate`.
    pub max_bitrate: Bitrate,
    /// `scaleResolutionDownBy`, at least 1.
    pub scale_resolution_down_by: f64,
    /// `maxFramerate` (no web-sys setter: set it with `Reflect::set`).
    pub max_framerate: Framerate,
}

/// The audio sender's encoding. There is no "off": audio is never paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioParams {
    /// `maxBitrate` (the Opus target).
    pub max_bitrate: Bitrate,
    /// `priority` and `networkPriority`: audio goes first when the browser shares a
    /// connection's bit rate, and in network queues that honour DSCP.
    pub priority: Priority,
}

/// Everything to apply to one link's senders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendParams {
    pub video: VideoParams,
    pub audio: AudioParams,
}

impl SendParams {
    /// What these parameters may put on the wire, audio headers included: what the
    /// budget is checked against.
    pub fn cost(&self, audio_overhead: Bitrate) -> Bitrate {
        let video = if self.video.active {
            self.video.max_bitrate
        } else {
            Bitrate::ZERO
        };
        video + self.audio.max_bitrate + audio_overhead
    }
}

/// What changed on one link since the last [`poll`](super::Controller::poll). Only
/// what changed is set: `send` is `Some` exactly when `setParameters` is needed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkDecision {
    pub send: Option<SendParams>,
    pub quality: Option<Quality>,
}

/// A link's state for the stats panel: the numbers behind the decisions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkStatus {
    /// What the controller believes this link's path carries.
    pub estimate: Bitrate,
    /// What this link may use now (its estimate, its share of the uplink, and what
    /// the receiver's tile can use, whichever is least).
    pub budget: Bitrate,
    /// Measured send rate, audio and video.
    pub sent: Option<Bitrate>,
    pub rtt: Option<Millis>,
    pub loss: Option<f64>,
    pub jitter: Option<Millis>,
    /// The shared uplink limits this participant's links now.
    pub uplink_limited: bool,
    pub params: SendParams,
    pub quality: Quality,
}
