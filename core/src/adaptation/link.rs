//! One link's state: its path estimate, its sample history, the receiver's hint, and
//! the switches with memory (video on/off, the audio level, the ladder step).

use super::config::Config;
use super::decision::SendParams;
use super::estimate::Estimate;
use super::ladder::{Step, FLOOR_RUNG};
use super::quality::{Quality, QualityFilter};
use super::sample::ReceiverHint;
use super::signal::{Congestion, Measurement, Meter};
use super::units::Bitrate;
use crate::time::{Millis, Time};
use crate::vec_map::VecMap;

#[derive(Debug, Clone)]
pub(crate) struct Link {
    /// What this link's own path carries, as far as we know.
    pub estimate: Estimate,
    pub meter: Meter,
    pub last: Option<Measurement>,
    /// A sample arrived since the last poll.
    pub fresh: bool,
    /// `None` until the receiver says how it shows us: nothing is capped meanwhile.
    pub hint: Option<ReceiverHint>,
    pub video: VideoGate,
    pub audio: AudioLevel,
    pub step: Option<Step>,
    pub applied: Option<SendParams>,
    pub quality: QualityFilter,
    pub shown_quality: Option<Quality>,
    /// From the last allocation, for the stats panel.
    pub budget: Bitrate,
    pub uplink_limited: bool,
    /// When video last started or resumed (see [`Config::browser_estimate_grace`]).
    pub video_started: Option<Time>,
    /// Since when loss has gone on with the estimate at [`Config::delay_floor`]: a
    /// link that carries video drops below it only once that has lasted
    /// [`Config::video_off_grace`].
    pub loss_at_floor_since: Option<Time>,
    /// The encoder has sent over its video cap in every sample since then.
    pub overshoot: Option<Overshoot>,
    /// The cap went down or the size changed: no overshoot counts before then.
    pub encoder_settles_at: Option<Time>,
    /// A floor was just learned and the size lowered: until then, the queue the
    /// overflow left drains (video sends less, and loss does not count towards
    /// switching video off).
    pub overflow_drains_until: Option<Time>,
    /// What the encoder was seen to need at some sizes, whatever its cap says.
    pub floors: EncoderFloors,
}

/// An encoder sending over its cap in every sample, on average by this much and a
/// little more, does not follow it (Firefox's VP8 at 320×180 under a cap of 80 kb/s
/// sends 89 to 106).
const OVERSHOOT_FACTOR: f64 = 1.05;
const OVERSHOOT_MARGIN: Bitrate = Bitrate::kbps(5);

/// Samples in a row with the encoder over its cap, summed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Overshoot {
    since: Time,
    samples: u32,
    video: Bitrate,
    cap: Bitrate,
}
/// Encoders follow caps at least this high; floors matter below (Firefox's are at
/// 100 kb/s and under for the sizes a thin link gets).
const FLOOR_WATCH_BELOW: Bitrate = Bitrate::kbps(250);
/// After a lower cap or another size, an encoder takes this long to follow: what it
/// sends meanwhile says nothing of its floor.
const ENCODER_SETTLE: Millis = Millis::from_millis(2_000);
/// A size with an encoder floor is taken only with this much budget above the floor.
const FLOOR_MARGIN: f64 = 1.3;
/// How long a floor holds once learned: then the size is tried at its usual cost
/// again, which is how a link held at a small size finds out that the path has room
/// again (it sends too little to grow its estimate that far). If the floor shows
/// again, it holds twice as long, up to [`FLOOR_HOLD_MAX`].
const FLOOR_HOLD: Millis = Millis::from_secs(120);
const FLOOR_HOLD_MAX: Millis = Millis::from_secs(960);

/// What one link's encoder was seen to need at least, by short side: it sent that
/// much video at that size for [`Config::overshoot_after`] with its cap below. Firefox's
/// VP8 has such floors (about 100 kb/s from 176×144 up, 40 below); Chromium follows
/// its cap. A size costs at least the floor of any size not larger than it, so the
/// ladder takes a smaller size (down to 90p) rather than overflow a thin path.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct EncoderFloors(VecMap<u32, Floor>);

#[derive(Debug, Clone, Copy, PartialEq)]
struct Floor {
    rate: Bitrate,
    until: Time,
    hold: Millis,
}

impl EncoderFloors {
    /// The floors that hold at `now`, as what each size needs.
    pub(crate) fn in_force(&self, now: Time) -> FloorCosts {
        FloorCosts(
            self.0
                .iter()
                .filter(|(_, f)| now < f.until)
                .map(|(side, f)| (*side, f.rate.scaled(FLOOR_MARGIN)))
                .collect(),
        )
    }

    fn learn(&mut self, now: Time, short_side: u32, rate: Bitrate) {
        match self.0.get_mut(&short_side) {
            Some(f) => {
                if now >= f.until {
                    f.rate = rate;
                } else {
                    f.rate = f.rate.max(rate);
                }
                f.hold = (f.hold + f.hold).min(FLOOR_HOLD_MAX);
                f.until = now + f.hold;
            }
            None => {
                self.0.insert(
                    short_side,
                    Floor {
                        rate,
                        until: now + FLOOR_HOLD,
                        hold: FLOOR_HOLD,
                    },
                );
            }
        }
    }
}

/// The floors in force, as what video at each size needs: the floor with a margin.
/// The encoder will not send less whatever its cap, so a budget that only just covers
/// the floor would overflow the path at the estimate's next probe, and the link would
/// go back and forth between two sizes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FloorCosts(Vec<(u32, Bitrate)>);

impl FloorCosts {
    /// What video at `short_side` needs at least; zero if no floor applies.
    pub(crate) fn at(&self, short_side: u32) -> Bitrate {
        self.0
            .iter()
            .filter(|(side, _)| *side <= short_side)
            .map(|(_, cost)| *cost)
            .max()
            .unwrap_or(Bitrate::ZERO)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Link {
    pub(crate) fn new(config: &Config) -> Link {
        Link {
            estimate: Estimate::new(config.start_bitrate),
            meter: Meter::default(),
            last: None,
            fresh: false,
            hint: None,
            video: VideoGate::new(config),
            audio: AudioLevel::Full,
            step: None,
            applied: None,
            quality: QualityFilter::default(),
            shown_quality: None,
            budget: Bitrate::ZERO,
            uplink_limited: false,
            video_started: None,
            loss_at_floor_since: None,
            overshoot: None,
            encoder_settles_at: None,
            overflow_drains_until: None,
            floors: EncoderFloors::default(),
        }
    }

    /// After a sample: whether the encoder has kept sending over the video cap it
    /// was given, long enough to be its floor at this size rather than a key frame.
    pub(crate) fn watch_overshoot(&mut self, now: Time, config: &Config) {
        let Some(m) = self.last.as_ref() else {
            return;
        };
        let settled = self.encoder_settles_at.is_none_or(|t| now >= t);
        let seen = match (self.applied, self.step) {
            (Some(params), Some(step))
                if config.watch_encoder_floors
                    && settled
                    && params.video.active
                    && params.video.max_bitrate < FLOOR_WATCH_BELOW =>
            {
                // Without the camera's own counter: all that was sent less what
                // audio may send (payload counters, no headers) is at least the video.
                let video = m
                    .camera_sent
                    .or(m.sent.map(|s| s - params.audio.max_bitrate));
                video.map(|v| (step, v, params.video.max_bitrate))
            }
            _ => None,
        };
        // An encoder that follows its cap is under it now and then; only one over it
        // in every sample, by a clear margin on average, has a floor.
        let Some((step, video, cap)) = seen.filter(|(_, video, cap)| video > cap) else {
            self.overshoot = None;
            return;
        };
        let o = self.overshoot.get_or_insert(Overshoot {
            since: now,
            samples: 0,
            video: Bitrate::ZERO,
            cap: Bitrate::ZERO,
        });
        o.samples += 1;
        o.video = o.video + video;
        o.cap = o.cap + cap;
        let n = u64::from(o.samples);
        let (mean_video, mean_cap) = (
            Bitrate::bps(o.video.as_bps() / n),
            Bitrate::bps(o.cap.as_bps() / n),
        );
        if now.since(o.since) >= config.overshoot_after
            && mean_video > mean_cap.scaled(OVERSHOOT_FACTOR) + OVERSHOOT_MARGIN
        {
            self.floors.learn(now, step.short_side, mean_video);
            self.overshoot = None;
            // The loss was our encoder's overflow, which a smaller size ends: no
            // reason to switch video off.
            self.loss_at_floor_since = None;
            self.overflow_drains_until = Some(now + config.video_off_grace);
        }
    }

    /// Loss with the estimate at the delay floor, on a camera larger than the
    /// smallest size: the path does not carry this size at the least it is given.
    /// (Chromium's VP8 sends 80 to 100 kb/s at 135p under a cap of 80, more once its
    /// retransmissions start, and a 150 kb/s path then loses a fifth of its packets
    /// for as long as the call lasts.) The size is taken to cost more than the link
    /// has, like an encoder's floor: the ladder steps down, the queue drains, video
    /// stays. At the smallest size only switching video off is left
    /// (`loss_at_floor_since`).
    pub(crate) fn shrink_for_loss(&mut self, now: Time, config: &Config) {
        let (Some(step), Some(params)) = (self.step, self.applied) else {
            return;
        };
        if !params.video.active || step.short_side <= FLOOR_RUNG {
            return;
        }
        let sent = self.last.as_ref().and_then(|m| m.camera_sent);
        let cost = sent.map_or(params.video.max_bitrate, |s| {
            s.max(params.video.max_bitrate)
        });
        self.floors.learn(now, step.short_side, cost);
        self.overshoot = None;
        self.overflow_drains_until = Some(now + config.video_off_grace);
    }

    /// New parameters are applied at `now`: after a lower cap or another size the
    /// encoder needs a moment before what it sends says anything of its floor.
    pub(crate) fn applying(&mut self, now: Time, new: &SendParams) {
        let before = self.applied.map(|p| p.video);
        let settles = before.is_none_or(|b| {
            new.video.max_bitrate < b.max_bitrate
                || new.video.scale_resolution_down_by != b.scale_resolution_down_by
                || new.video.active != b.active
        });
        if settles {
            self.overshoot = None;
            self.encoder_settles_at = Some(now + ENCODER_SETTLE);
        }
    }

    /// Whether the queue the encoder's overflow left is still draining (see
    /// [`overflow_drains_until`](Self::overflow_drains_until)): loss does not count
    /// towards switching video off, and video sends less.
    pub(crate) fn overflow_draining(&self, now: Time) -> bool {
        self.overflow_drains_until.is_some_and(|until| now < until)
    }

    /// Whether loss has outlasted the grace at the delay floor: video does not fit.
    pub(crate) fn loss_outlasted_floor(&self, now: Time, config: &Config) -> bool {
        self.loss_at_floor_since
            .is_some_and(|t| now.since(t) >= config.video_off_grace)
    }

    /// Whether the applied parameters send video.
    pub(crate) fn sends_video(&self) -> bool {
        self.applied.is_some_and(|p| p.video.active)
    }

    /// The last sample's congestion signal as it counts for this link: for an
    /// audio-only link, see [`Measurement::audio_only_congestion`].
    pub(crate) fn congestion(&self, config: &Config) -> Option<Congestion> {
        let m = self.last.as_ref()?;
        Some(if self.sends_video() {
            m.congestion
        } else {
            m.audio_only_congestion(config)
        })
    }

    /// Whether the browser's estimate is worth reading now: not within
    /// [`Config::browser_estimate_grace`] of video (re)starting.
    pub(crate) fn browser_estimate_settled(&self, now: Time, config: &Config) -> bool {
        self.video_started
            .is_none_or(|t| now.since(t) >= config.browser_estimate_grace)
    }

    /// What this link's path carries as far as we can tell: our estimate, or the
    /// browser's when that is lower and worth reading (ours stops at the delay floor,
    /// so that a dip of the browser's does not switch video off; a full uplink that
    /// only queues shows in the browser's alone).
    pub(crate) fn carries(&self, now: Time, config: &Config) -> Bitrate {
        let browser = self
            .last
            .as_ref()
            .and_then(|m| m.sample.available_outgoing_bitrate)
            .filter(|_| self.sends_video() && self.browser_estimate_settled(now, config));
        let ours = self.estimate.rate();
        browser.map_or(ours, |b| b.min(ours))
    }

    /// What got through in the last sample; the applied parameters' cost if the
    /// sample had no send rate yet.
    pub(crate) fn delivered(&self, config: &Config) -> Bitrate {
        let measured = self.last.as_ref().and_then(Measurement::delivered);
        let cost = self
            .applied
            .map_or(self.estimate.rate(), |p| p.cost(config.audio_overhead));
        measured.unwrap_or(cost)
    }

    /// How far the estimate may grow: a multiple of what is actually sent (see
    /// [`Config::app_limit_factor`]), but always up to what resuming video needs, or
    /// an audio-only link could never find out that video fits again.
    pub(crate) fn growth_cap(&self, config: &Config) -> Bitrate {
        let resume = config.audio_cost(config.audio_bitrate) + config.video_resume;
        let sent = self.last.as_ref().and_then(|m| m.sent);
        sent.map_or(config.max_link_bitrate, |s| {
            s.scaled(config.app_limit_factor).max(resume)
        })
        .min(config.max_link_bitrate)
    }

    /// Audio for a link that may use `total` in all: full, thin or floor (see
    /// [`Config::audio_thin_below`]), down at once, up with a 20 % margin.
    pub(crate) fn choose_audio(&mut self, total: Bitrate, config: &Config) -> Bitrate {
        let level_for = |t: Bitrate| {
            if t < config.audio_floor_below {
                AudioLevel::Floor
            } else if t < config.audio_thin_below {
                AudioLevel::Thin
            } else {
                AudioLevel::Full
            }
        };
        let level = level_for(total);
        if level < self.audio || level_for(total.scaled(1.0 / UP_MARGIN)) > self.audio {
            self.audio = level;
        }
        match self.audio {
            AudioLevel::Floor => config.audio_floor_bitrate,
            AudioLevel::Thin => config.audio_thin_bitrate,
            AudioLevel::Full => config.audio_bitrate,
        }
    }
}

/// Audio steps back up only with this much more than its threshold.
const UP_MARGIN: f64 = 1.2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AudioLevel {
    Floor,
    Thin,
    Full,
}

/// Video on or off by bandwidth, with hysteresis: off below [`Config::video_min`]
/// (at once, or after [`Config::video_off_grace`] if only a little below); on again
/// only after the budget has stayed at [`Config::video_resume`] for a hold that
/// doubles after each failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VideoGate {
    on: bool,
    below_since: Option<Time>,
    resume_since: Option<Time>,
    hold: Millis,
    resumed_at: Option<Time>,
}

impl VideoGate {
    pub(crate) fn new(config: &Config) -> VideoGate {
        VideoGate {
            on: true,
            below_since: None,
            resume_since: None,
            hold: config.video_resume_hold,
            resumed_at: None,
        }
    }

    /// This round's video budget in, video on or off out.
    pub(crate) fn update(&mut self, now: Time, budget: Bitrate, config: &Config) -> bool {
        if self.on {
            if budget >= config.video_min {
                self.below_since = None;
                return true;
            }
            let since = *self.below_since.get_or_insert(now);
            if budget < config.video_min.scaled(0.75) || now.since(since) >= config.video_off_grace
            {
                self.turn_off(now, config);
            }
        } else if budget >= config.video_resume {
            let since = *self.resume_since.get_or_insert(now);
            if now.since(since) >= self.hold {
                self.on = true;
                self.resume_since = None;
                self.resumed_at = Some(now);
            }
        } else {
            self.resume_since = None;
        }
        self.on
    }

    fn turn_off(&mut self, now: Time, config: &Config) {
        self.on = false;
        self.below_since = None;
        let failed = self
            .resumed_at
            .is_some_and(|t| now.since(t) < config.video_resume_success);
        self.hold = if failed {
            (self.hold + self.hold).min(config.video_resume_hold_max)
        } else {
            config.video_resume_hold
        };
        self.resumed_at = None;
    }

    /// When video may go off or come back if the budget holds.
    pub(crate) fn deadline(&self, config: &Config) -> Option<Time> {
        let off_at = self.below_since.map(|t| t + config.video_off_grace);
        let on_at = self.resume_since.map(|t| t + self.hold);
        off_at.into_iter().chain(on_at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Time {
        Time::from_millis(s * 1000)
    }

    #[test]
    fn video_goes_off_at_once_and_back_only_after_the_hold() {
        let c = Config::default();
        let mut g = VideoGate::new(&c);
        assert!(g.update(at(0), Bitrate::kbps(100), &c));
        assert!(!g.update(at(1), Bitrate::kbps(59), &c));
        // Between min and resume: stays off (hysteresis).
        assert!(!g.update(at(2), Bitrate::kbps(110), &c));
        assert!(!g.update(at(3), Bitrate::kbps(130), &c));
        assert_eq!(g.deadline(&c), Some(at(7)));
        assert!(!g.update(at(6), Bitrate::kbps(130), &c));
        assert!(g.update(at(7), Bitrate::kbps(130), &c));
    }

    #[test]
    fn each_failed_return_doubles_the_hold_and_a_lasting_one_resets_it() {
        let c = Config::default();
        let mut g = VideoGate::new(&c);
        let mut t = 0;
        let mut holds = Vec::new();
        for _ in 0..6 {
            g.update(at(t), Bitrate::kbps(50), &c);
            let start = t + 1;
            t = start;
            while !g.update(at(t), Bitrate::kbps(150), &c) {
                t += 1;
            }
            holds.push(t - start);
            t += 2; // fails two seconds later
        }
        assert_eq!(holds, vec![4, 8, 16, 32, 64, 64]);
        t += 40; // this time video lasts
        g.update(at(t), Bitrate::kbps(50), &c);
        assert!(!g.update(at(t + 1), Bitrate::kbps(150), &c));
        assert_eq!(g.deadline(&c), Some(at(t + 5)));
    }

    #[test]
    fn a_short_dip_just_below_the_minimum_keeps_video() {
        let c = Config::default();
        let mut g = VideoGate::new(&c);
        assert!(g.update(at(0), Bitrate::kbps(75), &c));
        assert_eq!(g.deadline(&c), Some(at(5)));
        assert!(g.update(at(3), Bitrate::kbps(79), &c));
        assert!(g.update(at(4), Bitrate::kbps(85), &c));
        assert!(g.update(at(5), Bitrate::kbps(75), &c));
        assert!(g.update(at(9), Bitrate::kbps(75), &c));
        assert!(!g.update(at(10), Bitrate::kbps(75), &c));
    }

    #[test]
    fn audio_gives_way_only_on_thin_links_and_steps_up_with_a_margin() {
        let c = Config::default();
        let mut link = Link::new(&c);
        let mut audio = |kbps| link.choose_audio(Bitrate::kbps(kbps), &c).as_bps() / 1000;
        assert_eq!(audio(500), 32);
        assert_eq!(audio(199), 24);
        assert_eq!(audio(63), 16);
        assert_eq!(audio(70), 16);
        assert_eq!(audio(77), 24);
        assert_eq!(audio(230), 24);
        assert_eq!(audio(240), 32);
    }
}
