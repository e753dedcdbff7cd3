//! The quality state a tile shows for a link (good / fair / poor, and why), so people
//! can see why a video looks poor.

use crate::time::{Millis, Time};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QualityLevel {
    Good,
    Fair,
    Poor,
}

/// What makes a link worse than good, most telling first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QualityReason {
    /// The remote misses packets.
    Loss,
    /// Long round trips: a laggy conversation.
    Rtt,
    /// Too little bit rate for the picture the remote shows (or for any video).
    Bandwidth,
    /// Our encoder is short of CPU and sends less than it may.
    Cpu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quality {
    pub level: QualityLevel,
    /// `None` exactly when the level is good.
    pub reason: Option<QualityReason>,
}

impl Quality {
    pub const GOOD: Quality = Quality {
        level: QualityLevel::Good,
        reason: None,
    };

    fn new(level: QualityLevel, reason: QualityReason) -> Quality {
        match level {
            QualityLevel::Good => Quality::GOOD,
            _ => Quality {
                level,
                reason: Some(reason),
            },
        }
    }
}

const LOSS_FAIR: f64 = 0.03;
const LOSS_POOR: f64 = 0.10;
const RTT_FAIR: Millis = Millis::from_millis(300);
const RTT_POOR: Millis = Millis::from_millis(600);
/// Sending under this share of the shown height is a visibly soft picture...
const SHARPNESS_FAIR: f64 = 0.6;
/// ...and a camera under this share of its allowed frame rate visibly stutters.
const SMOOTHNESS_FAIR: f64 = 0.5;

/// What a link's quality is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct QualityInputs {
    pub loss: f64,
    pub rtt: Option<Millis>,
    /// Video is off because the link cannot carry it (not because the tile is hidden).
    pub video_off_for_bandwidth: bool,
    /// Short side sent vs. short side the receiver would show, when both are known.
    pub sharpness: Option<f64>,
    /// Camera frames sent per second vs. the frame rate allowed, when known.
    pub smoothness: Option<f64>,
    /// The browser says our encoder is short of CPU.
    pub cpu_limited: bool,
}

pub(crate) fn assess(i: &QualityInputs) -> Quality {
    use QualityLevel::{Fair, Good, Poor};
    let by = |poor: bool, fair: bool| {
        if poor {
            Poor
        } else if fair {
            Fair
        } else {
            Good
        }
    };
    let rtt = i.rtt.unwrap_or(Millis::ZERO);
    let sharpness = i.sharpness.unwrap_or(1.0);
    let stutters = i.smoothness.is_some_and(|s| s < SMOOTHNESS_FAIR);
    // What holds the encoder back: the CPU if the browser says so, else the network.
    let encoder_short_of = if i.cpu_limited {
        QualityReason::Cpu
    } else {
        QualityReason::Bandwidth
    };
    let candidates = [
        (
            by(i.loss >= LOSS_POOR, i.loss >= LOSS_FAIR),
            QualityReason::Loss,
        ),
        // Before the round trip: a thin path queues, so a soft picture with a long
        // round trip is a bandwidth problem, and its delay a symptom.
        (
            by(i.video_off_for_bandwidth, sharpness < SHARPNESS_FAIR),
            QualityReason::Bandwidth,
        ),
        (by(rtt >= RTT_POOR, rtt >= RTT_FAIR), QualityReason::Rtt),
        (by(false, stutters), encoder_short_of),
        (by(false, i.cpu_limited), QualityReason::Cpu),
    ];
    // The worst level; among equals, the first (most telling) reason.
    let (level, reason) =
        candidates.iter().copied().fold(
            candidates[0],
            |worst, c| if c.0 > worst.0 { c } else { worst },
        );
    Quality::new(level, reason)
}

/// Worse at once, better only after `hold`: an indicator that blinks is noise.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QualityFilter {
    shown: Quality,
    better_since: Option<Time>,
}

impl Default for QualityFilter {
    fn default() -> QualityFilter {
        QualityFilter {
            shown: Quality::GOOD,
            better_since: None,
        }
    }
}

impl QualityFilter {
    pub(crate) fn update(&mut self, now: Time, assessed: Quality, hold: Millis) -> Quality {
        if assessed.level >= self.shown.level {
            self.shown = assessed;
            self.better_since = None;
        } else {
            let since = *self.better_since.get_or_insert(now);
            if now.since(since) >= hold {
                self.shown = assessed;
                self.better_since = None;
            }
        }
        self.shown
    }

    /// When a pending improvement may show.
    pub(crate) fn deadline(&self, hold: Millis) -> Option<Time> {
        self.better_since.map(|t| t + hold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use QualityLevel::{Fair, Good, Poor};

    fn level_and_reason(i: QualityInputs) -> (QualityLevel, Option<QualityReason>) {
        let q = assess(&i);
        (q.level, q.reason)
    }

    #[test]
    fn worst_signal_wins_and_names_the_reason() {
        assert_eq!(level_and_reason(QualityInputs::default()), (Good, None));
        let lossy = QualityInputs {
            loss: 0.12,
            ..QualityInputs::default()
        };
        assert_eq!(level_and_reason(lossy), (Poor, Some(QualityReason::Loss)));
        let far = QualityInputs {
            loss: 0.04,
            rtt: Some(Millis::from_millis(700)),
            ..QualityInputs::default()
        };
        assert_eq!(level_and_reason(far), (Poor, Some(QualityReason::Rtt)));
        let thin_and_queued = QualityInputs {
            rtt: Some(Millis::from_millis(450)),
            sharpness: Some(0.5),
            ..QualityInputs::default()
        };
        assert_eq!(
            level_and_reason(thin_and_queued),
            (Fair, Some(QualityReason::Bandwidth))
        );
        let thin = QualityInputs {
            video_off_for_bandwidth: true,
            ..QualityInputs::default()
        };
        assert_eq!(
            level_and_reason(thin),
            (Poor, Some(QualityReason::Bandwidth))
        );
        let soft = QualityInputs {
            sharpness: Some(0.5),
            cpu_limited: true,
            ..QualityInputs::default()
        };
        assert_eq!(
            level_and_reason(soft),
            (Fair, Some(QualityReason::Bandwidth))
        );
        let busy = QualityInputs {
            cpu_limited: true,
            ..QualityInputs::default()
        };
        assert_eq!(level_and_reason(busy), (Fair, Some(QualityReason::Cpu)));
        let stutter = QualityInputs {
            smoothness: Some(0.3),
            ..QualityInputs::default()
        };
        assert_eq!(
            level_and_reason(stutter),
            (Fair, Some(QualityReason::Bandwidth))
        );
    }

    #[test]
    fn worse_shows_at_once_better_after_the_hold() {
        let hold = Millis::from_secs(5);
        let poor = Quality::new(Poor, QualityReason::Loss);
        let mut f = QualityFilter::default();
        assert_eq!(f.update(Time::from_millis(0), poor, hold), poor);
        assert_eq!(f.update(Time::from_millis(1000), Quality::GOOD, hold), poor);
        assert_eq!(f.deadline(hold), Some(Time::from_millis(6000)));
        assert_eq!(f.update(Time::from_millis(5999), Quality::GOOD, hold), poor);
        assert_eq!(
            f.update(Time::from_millis(6000), Quality::GOOD, hold),
            Quality::GOOD
        );
        assert_eq!(f.deadline(hold), None);
    }
}
