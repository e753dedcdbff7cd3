//! From one link's raw samples to a congestion signal: the send rate (from byte
//! counters), the queueing delay (RTT above the lowest RTT seen), and whether the link
//! is congested, should hold, or is clear to grow.

use super::config::Config;
use super::sample::{QualityLimitation, StatsSample};
use super::units::Bitrate;
use crate::time::{Millis, Time};

/// What made a link congested (or hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    Loss,
    Rtt,
    /// The browser's own estimate fell below what we send.
    Bandwidth,
    /// The RTT rose while the encoder is limited by the CPU: a busy machine queues
    /// packets itself, which says nothing about the network.
    Cpu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Congestion {
    /// No sign of a queue: the estimate may grow.
    Clear,
    /// Mild loss or some queueing: keep the estimate where it is.
    Hold(Cause),
    /// Sending more than the path carries: decrease.
    Congested(Cause),
}

impl Congestion {
    pub(crate) fn is_congested(self) -> bool {
        matches!(self, Congestion::Congested(_))
    }

    pub(crate) fn is_clear(self) -> bool {
        self == Congestion::Clear
    }
}

/// One sample, interpreted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Measurement {
    pub at: Time,
    /// Audio and video together, from the byte counters; none on the first sample.
    pub sent: Option<Bitrate>,
    /// What the camera's encoder produced, when the sample says.
    pub camera_sent: Option<Bitrate>,
    pub loss: f64,
    pub queue_delay: Option<Millis>,
    /// The RTT rose noticeably since the previous sample: a queue is growing.
    pub rtt_rising: bool,
    /// Video frames per second actually sent: the browser's figure, or from the
    /// frame counter.
    pub fps: Option<f64>,
    pub congestion: Congestion,
    /// The sanitized sample, for quality and the stats panel.
    pub sample: StatsSample,
}

impl Measurement {
    /// What reached the remote: sent less lost.
    pub(crate) fn delivered(&self) -> Option<Bitrate> {
        self.sent.map(|s| s.scaled(1.0 - self.loss))
    }

    /// The congestion signal for a link that sends no video. Audio alone cannot fill
    /// a queue or show the browser's estimate much, so only heavy loss is congestion,
    /// and with (almost) no loss and an RTT that is not rising the link is clear, even
    /// if the RTT is high: otherwise an audio-only link could never show that video
    /// fits again.
    pub(crate) fn audio_only_congestion(&self, config: &Config) -> Congestion {
        if self.loss >= config.loss_congested {
            Congestion::Congested(Cause::Loss)
        } else if self.loss < config.loss_hold && !self.rtt_rising {
            Congestion::Clear
        } else if self.loss >= config.loss_hold {
            Congestion::Hold(Cause::Loss)
        } else {
            Congestion::Hold(Cause::Rtt)
        }
    }
}

/// Per-link memory needed to interpret samples.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meter {
    bytes: Counter,
    camera_bytes: Counter,
    frames: Counter,
    base_rtt: Option<(Time, Millis)>,
    prev_rtt: Option<Millis>,
}

/// Counter differences over less than this are too noisy to be a rate.
const MIN_RATE_SPAN: Millis = Millis::from_millis(200);
/// An RTT that fell by more than this since the last sample is a queue draining.
const RTT_FALLING: Millis = Millis::from_millis(10);

impl Meter {
    pub(crate) fn measure(
        &mut self,
        now: Time,
        sample: StatsSample,
        config: &Config,
    ) -> Measurement {
        let sample = sample.sanitized();
        let sent = self
            .bytes
            .per_span(now, sample.bytes_sent)
            .map(|(bytes, span)| Bitrate::from_bytes_in(bytes, span));
        let camera_sent = self
            .camera_bytes
            .per_span(now, sample.camera_bytes_sent)
            .map(|(bytes, span)| Bitrate::from_bytes_in(bytes, span));
        let counted_fps = self
            .frames
            .per_span(now, sample.frames_sent)
            .map(|(f, span)| f as f64 / span.as_secs_f64());
        let fps = sample.frames_per_second.or(counted_fps);
        let loss = sample.fraction_lost.unwrap_or(0.0);
        let queue_delay = sample.rtt.map(|rtt| self.queue_delay(now, rtt, config));
        let rtt_falling = match (sample.rtt, self.prev_rtt) {
            (Some(rtt), Some(prev)) => rtt + RTT_FALLING < prev,
            _ => false,
        };
        let rtt_rising = match (sample.rtt, self.prev_rtt) {
            (Some(rtt), Some(prev)) => rtt > prev + RTT_FALLING,
            _ => false,
        };
        if sample.rtt.is_some() {
            self.prev_rtt = sample.rtt;
        }
        let browser_says_less = match (sample.available_outgoing_bitrate, sent) {
            (Some(available), Some(sent)) => available < sent.scaled(0.9),
            _ => false,
        };
        // The browser's congestion control sees the path more closely than the RTT
        // does: with its estimate at or above what we send and no loss, a long RTT is
        // a queue outside the network (a busy browser), not congestion.
        let browser_says_room = match (sample.available_outgoing_bitrate, sent) {
            (Some(available), Some(sent)) => available >= sent && loss < config.loss_hold,
            _ => false,
        };
        let cpu = sample.quality_limitation == QualityLimitation::Cpu;
        let delay_cause = if cpu { Cause::Cpu } else { Cause::Rtt };

        let qd = queue_delay.unwrap_or(Millis::ZERO);
        let congestion = if loss >= config.loss_congested {
            Congestion::Congested(Cause::Loss)
        } else if browser_says_less {
            Congestion::Congested(Cause::Bandwidth)
        } else if qd >= config.queue_delay_congested && !rtt_falling && !cpu && !browser_says_room {
            Congestion::Congested(Cause::Rtt)
        } else if loss >= config.loss_hold {
            Congestion::Hold(Cause::Loss)
        } else if qd >= config.queue_delay_hold {
            Congestion::Hold(delay_cause)
        } else {
            Congestion::Clear
        };
        Measurement {
            at: now,
            sent,
            camera_sent,
            loss,
            queue_delay,
            rtt_rising,
            fps,
            congestion,
            sample,
        }
    }

    /// RTT above the lowest RTT seen, which drifts up slowly (see
    /// [`Config::base_rtt_drift_per_sec`]).
    fn queue_delay(&mut self, now: Time, rtt: Millis, config: &Config) -> Millis {
        let base = match self.base_rtt {
            None => rtt,
            Some((then, base)) => {
                let drift = now.since(then).as_secs_f64()
                    * config.base_rtt_drift_per_sec.as_millis() as f64;
                (base + Millis::from_millis_f64(drift)).min(rtt)
            }
        };
        self.base_rtt = Some((now, base));
        rtt.saturating_sub(base)
    }
}

/// A browser counter (`bytesSent`, `framesSent`) read now and then.
#[derive(Debug, Clone, Default)]
struct Counter {
    last: Option<(Time, u64)>,
}

impl Counter {
    /// How much it grew and over how long since the last reading. Nothing on the first
    /// reading, over a too short span, or when it went backwards (a new sender: it
    /// starts over).
    fn per_span(&mut self, now: Time, value: Option<u64>) -> Option<(u64, Millis)> {
        let value = value?;
        let Some((then, before)) = self.last else {
            self.last = Some((now, value));
            return None;
        };
        let span = now.since(then);
        if value < before {
            self.last = Some((now, value));
            return None;
        }
        if span < MIN_RATE_SPAN {
            return None;
        }
        self.last = Some((now, value));
        Some((value - before, span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(bytes: u64, rtt_ms: u64, loss: f64) -> StatsSample {
        StatsSample {
            bytes_sent: Some(bytes),
            rtt: Some(Millis::from_millis(rtt_ms)),
            fraction_lost: Some(loss),
            ..StatsSample::default()
        }
    }

    fn at(s: u64) -> Time {
        Time::from_millis(s * 1000)
    }

    #[test]
    fn send_rate_comes_from_counter_differences() {
        let (mut m, c) = (Meter::default(), Config::default());
        assert_eq!(m.measure(at(0), sample(0, 50, 0.0), &c).sent, None);
        let x = m.measure(at(1), sample(25_000, 50, 0.0), &c);
        assert_eq!(x.sent, Some(Bitrate::kbps(200)));
        assert_eq!(x.congestion, Congestion::Clear);
        // A new sender restarts its counter: no rate, no panic.
        assert_eq!(m.measure(at(2), sample(10, 50, 0.0), &c).sent, None);
        // Frames per second from the counter when the browser gives no figure.
        let frames = |n| StatsSample {
            frames_sent: Some(n),
            ..StatsSample::default()
        };
        m.measure(at(3), frames(100), &c);
        assert_eq!(m.measure(at(5), frames(160), &c).fps, Some(30.0));
    }

    #[test]
    fn heavy_loss_is_congestion_light_loss_is_hold_line_noise_is_clear() {
        let (mut m, c) = (Meter::default(), Config::default());
        assert_eq!(
            m.measure(at(0), sample(0, 50, 0.2), &c).congestion,
            Congestion::Congested(Cause::Loss)
        );
        assert_eq!(
            m.measure(at(1), sample(0, 50, 0.05), &c).congestion,
            Congestion::Hold(Cause::Loss)
        );
        assert_eq!(
            m.measure(at(2), sample(0, 50, 0.01), &c).congestion,
            Congestion::Clear
        );
    }

    #[test]
    fn a_growing_queue_is_congestion_a_draining_one_is_not() {
        let (mut m, c) = (Meter::default(), Config::default());
        m.measure(at(0), sample(0, 50, 0.0), &c);
        assert_eq!(
            m.measure(at(1), sample(0, 110, 0.0), &c).congestion,
            Congestion::Hold(Cause::Rtt)
        );
        assert_eq!(
            m.measure(at(2), sample(0, 250, 0.0), &c).congestion,
            Congestion::Congested(Cause::Rtt)
        );
        let draining = m.measure(at(3), sample(0, 180, 0.0), &c);
        assert_eq!(draining.congestion, Congestion::Hold(Cause::Rtt));
    }

    #[test]
    fn a_longer_route_stops_looking_like_a_queue() {
        let (mut m, c) = (Meter::default(), Config::default());
        m.measure(at(0), sample(0, 50, 0.0), &c);
        let mut last = Congestion::Clear;
        for s in 1..40 {
            last = m.measure(at(s), sample(0, 150, 0.0), &c).congestion;
        }
        assert_eq!(last, Congestion::Clear);
    }

    #[test]
    fn the_browsers_estimate_below_the_send_rate_is_congestion() {
        let (mut m, c) = (Meter::default(), Config::default());
        m.measure(at(0), sample(0, 50, 0.0), &c);
        let mut s = sample(50_000, 50, 0.0);
        s.available_outgoing_bitrate = Some(Bitrate::kbps(250));
        let x = m.measure(at(1), s, &c);
        assert_eq!(x.congestion, Congestion::Congested(Cause::Bandwidth));
        assert_eq!(x.delivered(), Some(Bitrate::kbps(400)));
    }
}
