//! From the encoding a sender has now (as `getParameters()` reports it) to the one the
//! controller decided: which fields to set, so that a decision that changes nothing
//! calls no `setParameters`.
//!
//! Every browser takes these changes in place. Firefox re-creates a transceiver's
//! receive stream on each change of its video encoding (`active`, `maxBitrate`,
//! `scaleResolutionDownBy`, `maxFramerate`; measured with Firefox 153), which is why
//! a link sends and receives on separate transceivers (see the app's
//! `PeerConnection::add_transceivers`): its senders' transceivers receive nothing.

use super::decision::{AudioParams, Priority, VideoParams};
use super::units::{Bitrate, Framerate};

/// A video sender's first encoding as `getParameters()` reports it (fields the
/// browser leaves out are `None`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VideoEncoding {
    pub active: Option<bool>,
    pub max_bitrate: Option<Bitrate>,
    pub scale_resolution_down_by: Option<f64>,
    pub max_framerate: Option<f64>,
}

/// What to change on a video sender; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VideoUpdate {
    pub active: Option<bool>,
    pub max_bitrate: Option<Bitrate>,
    pub scale_resolution_down_by: Option<f64>,
    pub max_framerate: Option<Framerate>,
}

impl VideoUpdate {
    /// Whether nothing changes (no `setParameters` call is needed).
    pub fn is_empty(&self) -> bool {
        *self == VideoUpdate::default()
    }
}

/// An audio sender's first encoding as `getParameters()` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AudioEncoding {
    pub max_bitrate: Option<Bitrate>,
    pub priority: Option<Priority>,
    pub network_priority: Option<Priority>,
}

/// What to change on an audio sender; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AudioUpdate {
    pub max_bitrate: Option<Bitrate>,
    pub priority: Option<Priority>,
    pub network_priority: Option<Priority>,
}

impl AudioUpdate {
    pub fn is_empty(&self) -> bool {
        *self == AudioUpdate::default()
    }
}

/// Scales this close are the same (they come back from the browser as doubles).
const SCALE_EPSILON: f64 = 1e-6;

impl VideoParams {
    /// What to change on a sender whose encoding is `current` to send `self`.
    pub fn update_from(&self, current: &VideoEncoding) -> VideoUpdate {
        let scale = self.scale_resolution_down_by.max(1.0);
        VideoUpdate {
            active: (current.active != Some(self.active)).then_some(self.active),
            max_bitrate: (current.max_bitrate != Some(self.max_bitrate))
                .then_some(self.max_bitrate),
            // Browsers report no scale for "not scaled".
            scale_resolution_down_by: ((current.scale_resolution_down_by.unwrap_or(1.0) - scale)
                .abs()
                > SCALE_EPSILON)
                .then_some(scale),
            max_framerate: (current.max_framerate != Some(f64::from(self.max_framerate.get())))
                .then_some(self.max_framerate),
        }
    }
}

impl AudioParams {
    /// What to change on a sender whose encoding is `current` to send `self`.
    pub fn update_from(&self, current: &AudioEncoding) -> AudioUpdate {
        let differs = |now: Option<Priority>| (now != Some(self.priority)).then_some(self.priority);
        AudioUpdate {
            max_bitrate: (current.max_bitrate != Some(self.max_bitrate))
                .then_some(self.max_bitrate),
            priority: differs(current.priority),
            network_priority: differs(current.network_priority),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO: VideoParams = VideoParams {
        active: true,
        max_bitrate: Bitrate::kbps(300),
        scale_resolution_down_by: 2.0,
        max_framerate: Framerate::fps(30),
    };

    fn in_force(p: VideoParams) -> VideoEncoding {
        VideoEncoding {
            active: Some(p.active),
            max_bitrate: Some(p.max_bitrate),
            scale_resolution_down_by: Some(p.scale_resolution_down_by),
            max_framerate: Some(f64::from(p.max_framerate.get())),
        }
    }

    #[test]
    fn only_what_changed_is_set() {
        let now = in_force(VIDEO);
        assert!(VIDEO.update_from(&now).is_empty());
        let lower = VideoParams {
            max_bitrate: Bitrate::kbps(250),
            ..VIDEO
        };
        assert_eq!(
            lower.update_from(&now),
            VideoUpdate {
                max_bitrate: Some(Bitrate::kbps(250)),
                ..VideoUpdate::default()
            }
        );
        let off = VideoParams {
            active: false,
            ..VIDEO
        };
        let u = off.update_from(&now);
        assert_eq!(u.active, Some(false));
        assert!(u.max_bitrate.is_none() && !u.is_empty());
    }

    #[test]
    fn fields_the_browser_left_out_are_set_except_an_unscaled_scale() {
        let fresh = VideoEncoding {
            active: Some(true),
            ..VideoEncoding::default()
        };
        let full = VideoParams {
            scale_resolution_down_by: 1.0,
            ..VIDEO
        };
        let u = full.update_from(&fresh);
        assert_eq!(u.max_bitrate, Some(Bitrate::kbps(300)));
        assert_eq!(u.max_framerate, Some(Framerate::fps(30)));
        assert_eq!(u.scale_resolution_down_by, None);
        assert_eq!(u.active, None);
        // A scale read back with rounding noise is the same scale.
        let mut now = in_force(VIDEO);
        now.scale_resolution_down_by = Some(2.000_000_000_1);
        assert!(VIDEO.update_from(&now).is_empty());
    }

    #[test]
    fn audio_sets_only_what_changed() {
        let audio = AudioParams {
            max_bitrate: Bitrate::kbps(32),
            priority: Priority::High,
        };
        let fresh = AudioEncoding::default();
        let u = audio.update_from(&fresh);
        assert_eq!(
            u,
            AudioUpdate {
                max_bitrate: Some(Bitrate::kbps(32)),
                priority: Some(Priority::High),
                network_priority: Some(Priority::High),
            }
        );
        let now = AudioEncoding {
            max_bitrate: Some(Bitrate::kbps(32)),
            priority: Some(Priority::High),
            network_priority: Some(Priority::High),
        };
        assert!(audio.update_from(&now).is_empty());
        let thin = AudioParams {
            max_bitrate: Bitrate::kbps(24),
            ..audio
        };
        assert_eq!(
            thin.update_from(&now),
            AudioUpdate {
                max_bitrate: Some(Bitrate::kbps(24)),
                ..AudioUpdate::default()
            }
        );
    }
}
