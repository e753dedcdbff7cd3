//! A rate estimate that steps down fast and up slowly (AIMD), used for each link's
//! path and for the participant's shared uplink.

use super::config::Config;
use super::units::Bitrate;
use crate::time::{Millis, Time};

/// Longest gap between updates that counts for an increase: after a pause in samples
/// the estimate does not jump by the whole pause.
const MAX_INCREASE_SPAN: Millis = Millis::from_secs(2);
/// Within this band around the rate where congestion was last seen, increases are
/// additive only: that is where the path's capacity probably is.
const NEAR_LAST_CONGESTION: (f64, f64) = (0.8, 1.2);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Estimate {
    rate: Bitrate,
    last_update: Option<Time>,
    last_decrease: Option<Time>,
    /// What got through when congestion was last seen.
    congested_at: Option<Bitrate>,
}

impl Estimate {
    pub(crate) fn new(rate: Bitrate) -> Estimate {
        Estimate {
            rate,
            last_update: None,
            last_decrease: None,
            congested_at: None,
        }
    }

    pub(crate) fn rate(&self) -> Bitrate {
        self.rate
    }

    /// Congestion: become `decrease_factor` × what got through (or × the current
    /// rate, if that is lower or unknown). Ignored within `decrease_hold` of the last
    /// decrease. Returns whether it decreased.
    pub(crate) fn decrease(
        &mut self,
        now: Time,
        delivered: Option<Bitrate>,
        config: &Config,
    ) -> bool {
        self.decrease_to(now, delivered, Bitrate::ZERO, config)
    }

    /// [`decrease`](Self::decrease), but not below `floor` (nor raised to it: an
    /// estimate already below stays).
    pub(crate) fn decrease_to(
        &mut self,
        now: Time,
        delivered: Option<Bitrate>,
        floor: Bitrate,
        config: &Config,
    ) -> bool {
        if self.in_hold(now, config.decrease_hold) {
            return false;
        }
        let floor = floor.min(self.rate).max(config.estimate_floor());
        let through = delivered.map_or(self.rate, |d| d.min(self.rate));
        self.rate = through.scaled(config.decrease_factor).max(floor);
        self.congested_at = Some(through);
        self.last_decrease = Some(now);
        self.last_update = Some(now);
        true
    }

    /// No congestion: grow, but not within `increase_hold` of a decrease, and not
    /// above `cap` (an estimate already above it stays).
    pub(crate) fn increase(&mut self, now: Time, cap: Bitrate, config: &Config) {
        self.increase_by_at_least(now, cap, Bitrate::ZERO, config);
    }

    /// [`increase`](Self::increase), by at least `min_step` per second.
    pub(crate) fn increase_by_at_least(
        &mut self,
        now: Time,
        cap: Bitrate,
        min_step: Bitrate,
        config: &Config,
    ) {
        let span = self.last_update.map_or(Millis::ZERO, |t| now.since(t));
        self.last_update = Some(now);
        if self.in_hold(now, config.increase_hold) || self.rate >= cap {
            return;
        }
        let per_second = if self.near_last_congestion() {
            config.increase_step
        } else {
            config
                .increase_step
                .max(self.rate.scaled(config.increase_fraction))
        };
        let step = per_second
            .max(min_step)
            .per_second_over(span.min(MAX_INCREASE_SPAN));
        self.rate = (self.rate + step).min(cap);
    }

    /// Neither up nor down; time passes without counting towards the next increase.
    pub(crate) fn hold(&mut self, now: Time) {
        self.last_update = Some(now);
    }

    /// An outside estimate (the browser's) is a ceiling.
    pub(crate) fn limit_to(&mut self, ceiling: Bitrate, config: &Config) {
        self.rate = self.rate.min(ceiling.max(config.estimate_floor()));
    }

    fn in_hold(&self, now: Time, hold: Millis) -> bool {
        self.last_decrease.is_some_and(|t| now.since(t) < hold)
    }

    fn near_last_congestion(&self) -> bool {
        self.congested_at.is_some_and(|c| {
            let (lo, hi) = NEAR_LAST_CONGESTION;
            self.rate >= c.scaled(lo) && self.rate <= c.scaled(hi)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    #[test]
    fn steps_down_multiplicatively_from_what_got_through() {
        let c = Config::default();
        let mut e = Estimate::new(Bitrate::kbps(1000));
        assert!(e.decrease(at(0), Some(Bitrate::kbps(400)), &c));
        assert_eq!(e.rate(), Bitrate::kbps(340));
        // The next report still shows the old loss: held.
        assert!(!e.decrease(at(1000), Some(Bitrate::kbps(300)), &c));
        assert!(e.decrease(at(2000), None, &c));
        assert_eq!(e.rate(), Bitrate::kbps(289));
    }

    #[test]
    fn never_below_what_floor_audio_needs() {
        let c = Config::default();
        let mut e = Estimate::new(Bitrate::kbps(40));
        e.decrease(at(0), Some(Bitrate::ZERO), &c);
        assert_eq!(e.rate(), c.estimate_floor());
        e.limit_to(Bitrate::ZERO, &c);
        assert_eq!(e.rate(), c.estimate_floor());
    }

    #[test]
    fn steps_up_slowly_after_a_hold_and_additively_near_the_last_congestion() {
        let c = Config::default();
        let mut e = Estimate::new(Bitrate::kbps(1000));
        e.decrease(at(0), Some(Bitrate::kbps(500)), &c);
        e.increase(at(1000), Bitrate::MAX, &c);
        e.increase(at(2000), Bitrate::MAX, &c);
        assert_eq!(e.rate(), Bitrate::kbps(425), "no increase within the hold");
        e.increase(at(3000), Bitrate::MAX, &c);
        e.increase(at(4000), Bitrate::MAX, &c);
        assert_eq!(e.rate(), Bitrate::kbps(465), "additive near 500 kb/s");
        for s in 5..=15 {
            e.increase(at(s * 1000), Bitrate::MAX, &c);
        }
        assert!(
            e.rate() > Bitrate::kbps(620),
            "faster once past it: {}",
            e.rate()
        );
    }

    #[test]
    fn growth_stops_at_the_cap_and_a_long_gap_counts_as_two_seconds() {
        let c = Config::default();
        let mut e = Estimate::new(Bitrate::kbps(100));
        e.hold(at(0));
        e.increase(at(60_000), Bitrate::MAX, &c);
        assert_eq!(e.rate(), Bitrate::kbps(140));
        e.increase(at(61_000), Bitrate::kbps(150), &c);
        assert_eq!(e.rate(), Bitrate::kbps(150));
        e.increase(at(62_000), Bitrate::kbps(50), &c);
        assert_eq!(
            e.rate(),
            Bitrate::kbps(150),
            "a lower cap does not lower it"
        );
    }
}
