//! One participant's voice activity: smoothing, noise floor, hysteresis, hangover,
//! and how long they have spoken clearly in their current turn.

use super::config::SpeakerConfig;
use crate::time::Time;

/// The floor window is kept as this many buckets of per-bucket minima.
const FLOOR_BUCKETS: u64 = 10;

#[derive(Debug, Clone)]
pub(crate) struct Voice {
    last_sample: Time,
    /// Level after attack/release smoothing: what the thresholds look at.
    smoothed: f64,
    /// Slowly smoothed level, for comparing two people talking at once.
    loudness: f64,
    /// Minimum level per bucket of `floor_window_ms / FLOOR_BUCKETS`, oldest first.
    floor_buckets: Vec<(u64, f64)>,
    speaking: bool,
    last_loud: Time,
    /// Clearly voiced time in the current turn (0 when not speaking).
    voiced_ms: u64,
}

/// Moves `from` towards `to` as a first-order filter with time constant `tau_ms`
/// would over `dt_ms`, whatever the sampling period.
fn ema(from: f64, to: f64, dt_ms: u64, tau_ms: u64) -> f64 {
    if tau_ms == 0 {
        return to;
    }
    let keep = (-(dt_ms as f64) / tau_ms as f64).exp();
    to + (from - to) * keep
}

/// Levels are linear 0.0 to 1.0; NaN and negative read as silence, more as full scale.
pub(crate) fn clamp_level(level: f64) -> f64 {
    if level >= 0.0 {
        level.min(1.0)
    } else {
        0.0
    }
}

impl Voice {
    pub fn new(now: Time, level: f64) -> Voice {
        Voice {
            last_sample: now,
            smoothed: level,
            loudness: level,
            floor_buckets: Vec::new(),
            speaking: false,
            last_loud: now,
            voiced_ms: 0,
        }
    }

    pub fn speaking(&self) -> bool {
        self.speaking
    }

    pub fn voiced_ms(&self) -> u64 {
        self.voiced_ms
    }

    pub fn last_sample(&self) -> Time {
        self.last_sample
    }

    /// Loudness above the noise floor, comparable between a quiet and a noisy room.
    pub fn excess(&self) -> f64 {
        (self.loudness - self.floor()).max(0.0)
    }

    pub fn floor(&self) -> f64 {
        self.floor_buckets
            .iter()
            .map(|(_, m)| *m)
            .fold(f64::INFINITY, f64::min)
            .min(1.0)
    }

    /// Takes one sample (already clamped); returns the new speaking state if it changed.
    pub fn observe(&mut self, now: Time, level: f64, cfg: &SpeakerConfig) -> Option<bool> {
        // Samples that arrive late (out of order) count, but time does not go back.
        let now = now.max(self.last_sample);
        let dt = now.since(self.last_sample).as_millis();
        self.last_sample = now;
        let tau = if level > self.smoothed {
            cfg.attack_ms
        } else {
            cfg.release_ms
        };
        self.smoothed = ema(self.smoothed, level, dt, tau);
        self.loudness = ema(self.loudness, level, dt, cfg.loudness_ms);
        self.track_floor(now, level, cfg);

        let floor = self.floor();
        let clear = self.smoothed >= cfg.on_level.max(floor * cfg.on_ratio);
        let loud =
            clear || (self.speaking && self.smoothed >= cfg.off_level.max(floor * cfg.off_ratio));
        let was = self.speaking;
        if loud {
            self.last_loud = now;
            self.speaking = true;
        } else if self.speaking && now.since(self.last_loud).as_millis() > cfg.hangover_ms {
            self.silence();
        }
        if self.speaking && clear {
            self.voiced_ms += dt.min(cfg.max_sample_ms);
        }
        (was != self.speaking).then_some(self.speaking)
    }

    /// Ends the current turn (hangover over, or no samples any more).
    pub fn silence(&mut self) {
        self.speaking = false;
        self.voiced_ms = 0;
    }

    fn track_floor(&mut self, now: Time, level: f64, cfg: &SpeakerConfig) {
        let width = (cfg.floor_window_ms / FLOOR_BUCKETS).max(1);
        let bucket = now.as_millis() / width;
        match self.floor_buckets.last_mut() {
            Some((b, min)) if *b == bucket => *min = min.min(level),
            _ => self.floor_buckets.push((bucket, level)),
        }
        let oldest = bucket.saturating_sub(FLOOR_BUCKETS - 1);
        self.floor_buckets.retain(|(b, _)| *b >= oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_does_not_depend_on_the_sampling_period() {
        let one_step = ema(0.0, 1.0, 200, 100);
        let two_steps = ema(ema(0.0, 1.0, 100, 100), 1.0, 100, 100);
        assert!((one_step - two_steps).abs() < 1e-12);
    }

    #[test]
    fn levels_are_clamped() {
        assert_eq!(clamp_level(f64::NAN), 0.0);
        assert_eq!(clamp_level(-0.5), 0.0);
        assert_eq!(clamp_level(7.0), 1.0);
        assert_eq!(clamp_level(f64::INFINITY), 1.0);
        assert_eq!(clamp_level(0.25), 0.25);
    }

    #[test]
    fn the_floor_forgets_what_left_the_window() {
        let cfg = SpeakerConfig::default();
        let mut v = Voice::new(Time::from_millis(0), 0.0);
        v.observe(Time::from_millis(0), 0.01, &cfg);
        for t in (100..=6000).step_by(100) {
            v.observe(Time::from_millis(t), 0.1, &cfg);
        }
        assert_eq!(v.floor(), 0.1, "the quiet start is over 5 s ago");
    }
}
