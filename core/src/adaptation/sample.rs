//! What the controller is told: a stats sample per link (from `getStats()`), the
//! receiver's hint per link (how large it shows our video), and the local video source.
//!
//! Every field of a sample may be missing, because browsers differ: Firefox reports no
//! `availableOutgoingBitrate`, and the first report of a connection has no RTT yet.

use super::units::{Bitrate, Framerate};
use crate::time::Millis;

/// A size in device pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resolution {
    pub width: u32,
    pub height: u32,
}

impl Resolution {
    pub const fn new(width: u32, height: u32) -> Resolution {
        Resolution { width, height }
    }

    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The shorter side: what "360p" names, for landscape and portrait video alike.
    pub fn short_side(self) -> u32 {
        self.width.min(self.height)
    }

    pub fn is_empty(self) -> bool {
        self.width == 0 || self.height == 0
    }
}

/// `outbound-rtp.qualityLimitationReason` for the video stream: why the browser's
/// encoder sends less than it was allowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QualityLimitation {
    #[default]
    None,
    Cpu,
    Bandwidth,
    Other,
}

impl QualityLimitation {
    /// Maps the browser's string; unknown values read as `Other`.
    pub fn from_js(s: &str) -> QualityLimitation {
        match s {
            "none" | "" => QualityLimitation::None,
            "cpu" => QualityLimitation::Cpu,
            "bandwidth" => QualityLimitation::Bandwidth,
            _ => QualityLimitation::Other,
        }
    }
}

/// One `getStats()` reading of one link, taken about once a second.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StatsSample {
    /// `candidate-pair.availableOutgoingBitrate`: the browser's own estimate for this
    /// connection (Chromium; Firefox has none).
    pub available_outgoing_bitrate: Option<Bitrate>,
    /// `remote-inbound-rtp.roundTripTime` (or the candidate pair's
    /// `currentRoundTripTime`).
    pub rtt: Option<Millis>,
    /// `remote-inbound-rtp.fractionLost`: the share of our packets the remote did not
    /// get in its last report, 0 to 1. Video's if there is video, else audio's.
    pub fraction_lost: Option<f64>,
    /// `remote-inbound-rtp.jitter`, as the remote sees it (for the stats panel).
    pub jitter: Option<Millis>,
    /// Sum of `outbound-rtp.bytesSent` over audio and video on this connection: a
    /// counter, the controller takes differences.
    pub bytes_sent: Option<u64>,
    /// The camera's `outbound-rtp.bytesSent` less its `retransmittedBytesSent`: what
    /// its encoder produced, a counter. It shows an encoder that does not follow its
    /// cap (see [`Config::overshoot_after`](super::Config::overshoot_after)).
    pub camera_bytes_sent: Option<u64>,
    /// Video `outbound-rtp.framesSent`, a counter (the frame rate when
    /// `frames_per_second` is missing).
    pub frames_sent: Option<u64>,
    /// Video `outbound-rtp.frameWidth`/`frameHeight`: what is actually sent now, after
    /// the browser's own scaling too. The quality indicator compares it with the tile.
    pub frame_size: Option<Resolution>,
    /// Video `outbound-rtp.framesPerSecond`: a stuttering camera shows as fair quality.
    pub frames_per_second: Option<f64>,
    /// Video `outbound-rtp.qualityLimitationReason`: names the CPU as the reason.
    pub quality_limitation: QualityLimitation,
}

impl StatsSample {
    /// The sample with nonsense removed: a loss outside 0..=1 or NaN, an RTT over a
    /// minute, an empty frame size and a NaN frame rate read as missing.
    pub(crate) fn sanitized(mut self) -> StatsSample {
        self.fraction_lost = self
            .fraction_lost
            .filter(|f| f.is_finite())
            .map(|f| f.clamp(0.0, 1.0));
        self.rtt = self.rtt.filter(|r| *r <= Millis::from_secs(60));
        self.jitter = self.jitter.filter(|j| *j <= Millis::from_secs(60));
        self.frame_size = self.frame_size.filter(|s| !s.is_empty());
        self.frames_per_second = self
            .frames_per_second
            .filter(|f| f.is_finite() && *f >= 0.0);
        self
    }
}

/// How the remote shows our video on this link, sent by the remote whenever its
/// layout changes or its page is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiverHint {
    /// Shown in a tile this large, in device pixels (CSS size × `devicePixelRatio`).
    Shown(Resolution),
    /// Not shown (tile off screen, page hidden): no video is sent, audio still is.
    Hidden,
}

impl ReceiverHint {
    /// A tile of no size is not shown.
    pub(crate) fn shown_size(self) -> Option<Resolution> {
        match self {
            ReceiverHint::Shown(size) if !size.is_empty() => Some(size),
            _ => None,
        }
    }
}

/// What kind of picture the video track carries: it decides what gives way first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Content {
    /// Faces move: keep the frame rate, lower the resolution first.
    #[default]
    Camera,
    /// Text must stay readable: keep the resolution, lower the frame rate first.
    Screen,
}

/// The local video track, from `MediaStreamTrack.getSettings()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoSource {
    pub resolution: Resolution,
    pub framerate: Framerate,
    pub content: Content,
}

impl Default for VideoSource {
    /// A 720p camera at 30 fps, what the app asks `getUserMedia` for.
    fn default() -> VideoSource {
        VideoSource {
            resolution: Resolution::new(1280, 720),
            framerate: Framerate::fps(30),
            content: Content::Camera,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonsense_in_a_sample_reads_as_missing() {
        let s = StatsSample {
            fraction_lost: Some(f64::NAN),
            rtt: Some(Millis::from_secs(3600)),
            frame_size: Some(Resolution::new(0, 360)),
            frames_per_second: Some(-3.0),
            ..StatsSample::default()
        }
        .sanitized();
        assert_eq!(s, StatsSample::default());
        let loss = StatsSample {
            fraction_lost: Some(7.0),
            ..StatsSample::default()
        };
        assert_eq!(loss.sanitized().fraction_lost, Some(1.0));
    }

    #[test]
    fn a_tile_of_no_size_is_hidden() {
        assert_eq!(
            ReceiverHint::Shown(Resolution::new(0, 0)).shown_size(),
            None
        );
        assert_eq!(ReceiverHint::Hidden.shown_size(), None);
        let size = Resolution::new(320, 180);
        assert_eq!(ReceiverHint::Shown(size).shown_size(), Some(size));
    }

    #[test]
    fn quality_limitation_from_browser_strings() {
        assert_eq!(QualityLimitation::from_js("cpu"), QualityLimitation::Cpu);
        assert_eq!(
            QualityLimitation::from_js("bandwidth"),
            QualityLimitation::Bandwidth
        );
        assert_eq!(QualityLimitation::from_js("none"), QualityLimitation::None);
        assert_eq!(
            QualityLimitation::from_js("weird"),
            QualityLimitation::Other
        );
    }
}
