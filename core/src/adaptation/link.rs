//! One link's state: its path estimate, its sample history, the receiver's hint, and
//! the switches with memory (video on/off, the audio level, the ladder step).

use super::config::Config;
use super::decision::SendParams;
use super::estimate::Estimate;
use super::ladder::Step;
use super::quality::{Quality, QualityFilter};
use super::sample::ReceiverHint;
use super::signal::{Congestion, Measurement, Meter};
use super::units::Bitrate;
use crate::time::{Millis, Time};

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
        }
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
