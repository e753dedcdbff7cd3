//! From the encoding a sender has now (as `getParameters()` reports it) to the one the
//! controller decided: which fields to set, and on browsers where changing the video
//! encoding costs more than it gains, what to do instead.
//!
//! Firefox serves both directions of a transceiver with one media conduit: a change of
//! the video encoding's `active`, `maxBitrate`, `scaleResolutionDownBy` or
//! `maxFramerate` re-creates the receive stream of the same transceiver too (measured
//! with Firefox 153: the receiver's `framesDecoded` starts again from a few frames on
//! the same SSRC; `priority`, `networkPriority`, a `setParameters` that changes
//! nothing, any audio change and `replaceTrack` do not). So there the video encoding
//! is left alone: Firefox's own congestion control sets the bit rate, resolution and
//! frame rate follow it, and a link's video pauses by taking the camera track off its
//! sender (`replaceTrack(null)`) and resumes by putting it back.

use super::decision::{AudioParams, Priority, VideoParams};
use super::units::{Bitrate, Framerate};

/// How a browser takes a change of a video sender's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingChanges {
    /// In place, nothing else disturbed (Chromium).
    InPlace,
    /// By re-creating the receive side of the same transceiver as well (Firefox).
    RestartReceiver,
}

/// A video sender's first encoding as `getParameters()` reports it (fields the
/// browser leaves out are `None`), and whether the sender has a track.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VideoEncoding {
    pub active: Option<bool>,
    pub max_bitrate: Option<Bitrate>,
    pub scale_resolution_down_by: Option<f64>,
    pub max_framerate: Option<f64>,
    pub has_track: bool,
}

/// What to change on a video sender; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VideoUpdate {
    pub active: Option<bool>,
    pub max_bitrate: Option<Bitrate>,
    pub scale_resolution_down_by: Option<f64>,
    pub max_framerate: Option<Framerate>,
    /// `Some(false)`: take the track off the sender (pause); `Some(true)`: put the
    /// camera track back (resume). Only where encoding changes restart receivers.
    pub track: Option<bool>,
}

impl VideoUpdate {
    /// Whether a `setParameters` call is needed.
    pub fn sets_parameters(&self) -> bool {
        self.active.is_some()
            || self.max_bitrate.is_some()
            || self.scale_resolution_down_by.is_some()
            || self.max_framerate.is_some()
    }

    pub fn is_empty(&self) -> bool {
        !self.sets_parameters() && self.track.is_none()
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
    pub fn update_from(&self, current: &VideoEncoding, changes: EncodingChanges) -> VideoUpdate {
        match changes {
            EncodingChanges::InPlace => {
                let scale = self.scale_resolution_down_by.max(1.0);
                VideoUpdate {
                    active: (current.active != Some(self.active)).then_some(self.active),
                    max_bitrate: (current.max_bitrate != Some(self.max_bitrate))
                        .then_some(self.max_bitrate),
                    // Browsers report no scale for "not scaled".
                    scale_resolution_down_by: ((current.scale_resolution_down_by.unwrap_or(1.0)
                        - scale)
                        .abs()
                        > SCALE_EPSILON)
                        .then_some(scale),
                    max_framerate: (current.max_framerate
                        != Some(f64::from(self.max_framerate.get())))
                    .then_some(self.max_framerate),
                    track: None,
                }
            }
            EncodingChanges::RestartReceiver => VideoUpdate {
                track: (current.has_track != self.active).then_some(self.active),
                ..VideoUpdate::default()
            },
        }
    }
}

impl AudioParams {
    /// What to change on a sender whose encoding is `current` to send `self` (audio
    /// changes restart nothing in any browser).
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
            has_track: true,
        }
    }

    #[test]
    fn in_place_only_what_changed_is_set() {
        let now = in_force(VIDEO);
        assert!(VIDEO.update_from(&now, EncodingChanges::InPlace).is_empty());
        let lower = VideoParams {
            max_bitrate: Bitrate::kbps(250),
            ..VIDEO
        };
        assert_eq!(
            lower.update_from(&now, EncodingChanges::InPlace),
            VideoUpdate {
                max_bitrate: Some(Bitrate::kbps(250)),
                ..VideoUpdate::default()
            }
        );
        let off = VideoParams {
            active: false,
            ..VIDEO
        };
        let u = off.update_from(&now, EncodingChanges::InPlace);
        assert_eq!((u.active, u.track), (Some(false), None));
        assert!(u.max_bitrate.is_none() && u.sets_parameters());
    }

    #[test]
    fn in_place_fields_the_browser_left_out_are_set_except_an_unscaled_scale() {
        let fresh = VideoEncoding {
            active: Some(true),
            has_track: true,
            ..VideoEncoding::default()
        };
        let full = VideoParams {
            scale_resolution_down_by: 1.0,
            ..VIDEO
        };
        let u = full.update_from(&fresh, EncodingChanges::InPlace);
        assert_eq!(u.max_bitrate, Some(Bitrate::kbps(300)));
        assert_eq!(u.max_framerate, Some(Framerate::fps(30)));
        assert_eq!(u.scale_resolution_down_by, None);
        assert_eq!(u.active, None);
        // A scale read back with rounding noise is the same scale.
        let mut now = in_force(VIDEO);
        now.scale_resolution_down_by = Some(2.000_000_000_1);
        assert!(VIDEO.update_from(&now, EncodingChanges::InPlace).is_empty());
    }

    #[test]
    fn where_encoding_changes_restart_receivers_the_encoding_is_never_touched() {
        let now = in_force(VIDEO);
        let changes = EncodingChanges::RestartReceiver;
        for next in [
            VideoParams {
                max_bitrate: Bitrate::kbps(120),
                ..VIDEO
            },
            VideoParams {
                scale_resolution_down_by: 4.0,
                ..VIDEO
            },
            VideoParams {
                max_framerate: Framerate::fps(15),
                ..VIDEO
            },
        ] {
            assert!(next.update_from(&now, changes).is_empty(), "{next:?}");
        }
        // Video off and on again: the track comes off the sender and back.
        let off = VideoParams {
            active: false,
            ..VIDEO
        };
        let u = off.update_from(&now, changes);
        assert_eq!(
            u,
            VideoUpdate {
                track: Some(false),
                ..VideoUpdate::default()
            }
        );
        let paused = VideoEncoding {
            has_track: false,
            ..now
        };
        assert!(off.update_from(&paused, changes).is_empty());
        let u = VIDEO.update_from(&paused, changes);
        assert_eq!(
            u,
            VideoUpdate {
                track: Some(true),
                ..VideoUpdate::default()
            }
        );
        assert!(!u.sets_parameters());
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
