//! The controller's policy parameters. The defaults are what the app uses; tests and
//! the simulation change them only to probe a rule.

use super::units::Bitrate;
use crate::time::Millis;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where a new link's estimate starts, like the browsers' own start (300 kb/s):
    /// enough for 360p, and a shared uplink overload shows within a second or two.
    pub start_bitrate: Bitrate,
    /// Most a link is ever given, audio and video together.
    pub max_link_bitrate: Bitrate,

    /// Opus bit rate on a link that can afford it...
    pub audio_bitrate: Bitrate,
    /// ...on a thin link, where video needs every bit (speech stays clear at 24 kb/s)...
    pub audio_thin_bitrate: Bitrate,
    /// ...and on a starved one (speech stays intelligible at 16 kb/s).
    pub audio_floor_bitrate: Bitrate,
    /// A link that may use less than this in all is thin...
    pub audio_thin_below: Bitrate,
    /// ...and less than this, starved. Audio steps down at once and back up only 20 %
    /// above these, so a link wobbling around one does not switch back and forth.
    pub audio_floor_below: Bitrate,
    /// Packet headers of an audio stream (50 packets/s × ~40 bytes), counted in the
    /// budget because at these rates they are not negligible.
    pub audio_overhead: Bitrate,

    /// Below this much video budget a link sends no video: fewer bits give a slideshow
    /// of smudges, and they are better spent on clean audio. Video goes off at once
    /// below 3/4 of it, and after `video_off_grace` below it: the dip after each
    /// decrease on a link that just carries video is no reason to drop it.
    pub video_min: Bitrate,
    pub video_off_grace: Millis,
    /// Whether the browser's encoder may keep a floor above its cap at small sizes,
    /// so that the controller watches for one (Firefox's VP8). Off for an encoder
    /// known to follow its cap (Chromium's): there, forward error correction under
    /// loss also counts as sent video and would pass for a floor.
    pub watch_encoder_floors: bool,
    /// A link whose encoder sends over its video cap in every sample for this long
    /// (and on average by a margin) has shown a floor
    /// of that encoder at that size (see `EncoderFloors`): the ladder then counts the
    /// size at what it really costs. Longer than a key frame's burst, shorter than
    /// `video_off_grace`: the overflow it causes must not switch video off first.
    pub overshoot_after: Millis,
    /// Video comes back only with this much budget (hysteresis above `video_min`)...
    pub video_resume: Bitrate,
    /// ...held for this long. Each failed attempt (video off again soon after) doubles
    /// the hold, up to `video_resume_hold_max`; a success resets it.
    pub video_resume_hold: Millis,
    pub video_resume_hold_max: Millis,
    /// Video that stayed on this long after coming back counts as a success.
    pub video_resume_success: Millis,

    /// Multiplicative decrease: on congestion the estimate becomes this share of what
    /// got through (the remote's receive rate).
    pub decrease_factor: f64,
    /// No second decrease sooner than this: loss reports lag, and the report after a
    /// decrease still shows the loss caused before it.
    pub decrease_hold: Millis,
    /// No increase sooner than this after a decrease.
    pub increase_hold: Millis,
    /// Additive increase per second, used near the rate where congestion was last seen.
    pub increase_step: Bitrate,
    /// Away from that rate, the estimate grows by this share per second (if more than
    /// `increase_step`), so a link that recovered reaches 720p in about half a minute.
    pub increase_fraction: f64,
    /// An estimate grows at most to this multiple of what is actually sent: the
    /// encoder may not use its allowance (a still picture), and an unused allowance
    /// proves nothing about the network.
    pub app_limit_factor: f64,

    /// Loss above this is congestion (decrease); GCC uses the same 10 %.
    pub loss_congested: f64,
    /// Loss above this stops increases; below it, loss is taken as line noise.
    pub loss_hold: f64,
    /// Queueing delay (RTT above the lowest seen) above this, and not falling, is
    /// congestion.
    pub queue_delay_congested: Millis,
    /// Queueing delay above this stops increases.
    pub queue_delay_hold: Millis,
    /// The lowest RTT seen creeps up this much per second, so a route change that
    /// lengthens the path is not mistaken for queueing for long.
    pub base_rtt_drift_per_sec: Millis,

    /// Samples this recent vote on whether every link is congested at once.
    pub shared_vote_window: Millis,
    /// The shared uplink estimate is dropped once every link has looked clear for
    /// this long: whatever limited the uplink is gone, each link goes on from its share.
    pub uplink_release_after: Millis,
    /// For this long after video starts or resumes on a link, the browser's
    /// `availableOutgoingBitrate` is ignored: Chromium's estimate still reflects the
    /// audio-only rate while it probes up, and would switch video straight off again.
    pub browser_estimate_grace: Millis,
    /// An audio-only link that looks clear grows at least this much per second, so it
    /// finds out within seconds that video fits again.
    pub audio_only_increase_step: Bitrate,
    /// A quality state shown to the user improves only after holding this long, so
    /// the indicator does not blink; it gets worse at once.
    pub quality_hold: Millis,
    /// Video bit rates are rounded down to this step, so that small drifts of the
    /// estimate cause no `setParameters`.
    pub bitrate_step: Bitrate,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            start_bitrate: Bitrate::kbps(300),
            max_link_bitrate: Bitrate::kbps(2_500),
            audio_bitrate: Bitrate::kbps(32),
            audio_thin_bitrate: Bitrate::kbps(24),
            audio_floor_bitrate: Bitrate::kbps(16),
            audio_thin_below: Bitrate::kbps(200),
            audio_floor_below: Bitrate::kbps(64),
            audio_overhead: Bitrate::kbps(16),
            video_min: Bitrate::kbps(80),
            video_off_grace: Millis::from_secs(5),
            watch_encoder_floors: false,
            overshoot_after: Millis::from_secs(2),
            video_resume: Bitrate::kbps(120),
            video_resume_hold: Millis::from_secs(4),
            video_resume_hold_max: Millis::from_secs(64),
            video_resume_success: Millis::from_secs(30),
            decrease_factor: 0.85,
            decrease_hold: Millis::from_millis(1_500),
            increase_hold: Millis::from_secs(3),
            increase_step: Bitrate::kbps(20),
            increase_fraction: 0.06,
            app_limit_factor: 1.5,
            loss_congested: 0.10,
            loss_hold: 0.02,
            queue_delay_congested: Millis::from_millis(100),
            queue_delay_hold: Millis::from_millis(40),
            base_rtt_drift_per_sec: Millis::from_millis(5),
            shared_vote_window: Millis::from_millis(1_500),
            uplink_release_after: Millis::from_secs(20),
            browser_estimate_grace: Millis::from_secs(6),
            audio_only_increase_step: Bitrate::kbps(40),
            quality_hold: Millis::from_secs(5),
            bitrate_step: Bitrate::kbps(10),
        }
    }
}

impl Config {
    /// What audio costs on the wire at `bitrate`.
    pub(crate) fn audio_cost(&self, bitrate: Bitrate) -> Bitrate {
        bitrate + self.audio_overhead
    }

    /// No estimate goes below what floor-rate audio needs: audio is never starved.
    pub(crate) fn estimate_floor(&self) -> Bitrate {
        self.audio_cost(self.audio_floor_bitrate)
    }

    /// The least a link keeps when only its RTT rises: thin audio and the lowest video.
    /// Queueing delay alone (often the browser's own queue on a busy CPU, not the
    /// network) may lower the bit rate but never switch video off; loss takes a link
    /// that carries video below it only once it has lasted `video_off_grace` here.
    pub(crate) fn delay_floor(&self) -> Bitrate {
        self.audio_cost(self.audio_thin_bitrate) + self.video_min
    }
}
