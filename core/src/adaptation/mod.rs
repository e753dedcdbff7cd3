//! Per-link quality adaptation: every link gets the best quality it can carry.
//!
//! In a full mesh each participant uploads one copy of its video per peer. The
//! browser's congestion control runs per connection and knows neither about the other
//! connections sharing the uplink nor about how large the receiver shows the video.
//! The [`Controller`] does: about once a second per link the browser glue hands it a
//! [`StatsSample`] (from `getStats()`), and whenever the remote's layout changes a
//! [`ReceiverHint`]; [`Controller::poll`] returns, for the links whose decision
//! changed, the [`SendParams`] to apply with `RTCRtpSender.setParameters` and the
//! [`Quality`] to show on the tile. [`VideoParams::update_from`] and
//! [`AudioParams::update_from`] say which fields of a sender to change for that.
//!
//! The policy, each rule tested:
//! - Audio is never starved: it is reserved first on every link and has no "off";
//!   video gives way first.
//! - No more pixels than the receiver shows (the video ladder picks
//!   `scaleResolutionDownBy` from the source and tile sizes); a hidden tile gets no
//!   video.
//! - When loss or RTT rise on all links at once, the shared uplink is the bottleneck:
//!   an uplink estimate is formed and all links step down together, sharing it
//!   max-min fairly. Otherwise each link adapts on its own, so one poor link does not
//!   lower the others.
//! - Under [`Config::video_min`] a link goes audio-only, and video returns only with
//!   [`Config::video_resume`] held for a while (longer after each failed return).
//!   Queueing delay and the browser's own estimate lower a link no further than thin
//!   audio plus the lowest video: only loss takes a link below that and video off.
//! - Down fast (multiplicative, from what got through), up slowly (additive near the
//!   last congestion, after a hold); a camera gives up resolution before frame rate,
//!   a screen the other way round.
//!
//! Time is a [`Time`] passed in by the caller (`performance.now()`); nothing here reads
//! a clock. Error policy: bad input (NaN, negative, missing fields, a counter going
//! backwards, a clock going backwards, unknown links) is clamped or ignored, never an
//! error and never a panic.

mod allocate;
mod config;
mod controller;
mod decision;
mod estimate;
mod ladder;
mod link;
mod quality;
mod sample;
mod sender_update;
mod share;
mod signal;
mod units;
mod uplink_report;

pub use crate::time::{Millis, Time};
pub use config::Config;
pub use controller::Controller;
pub use decision::{AudioParams, LinkDecision, LinkStatus, Priority, SendParams, VideoParams};
pub use quality::{Quality, QualityLevel, QualityReason};
pub use sample::{Content, QualityLimitation, ReceiverHint, Resolution, StatsSample, VideoSource};
pub use sender_update::{AudioEncoding, AudioUpdate, VideoEncoding, VideoUpdate};
pub use units::{Bitrate, Framerate};
pub use uplink_report::UplinkReporter;

/// The camera size the app asks for (`ideal`: a camera may give less): enough for a
/// sharp tile at about 200 kb/s per peer, and cheap enough to encode once per peer in
/// a mesh. Simulcast layers in relayed mode are fractions of it.
pub const CAMERA_CAPTURE: Resolution = Resolution::new(640, 360);
