//! A simulated call for the scenario tests: synthetic level series shaped like
//! WebRTC's `audioLevel` and a loop that feeds them to a detector, logging events.

use super::*;

pub(super) fn p(n: u64) -> ParticipantId {
    ParticipantId::new(n)
}

/// `getStats()` polling period.
pub(super) const PERIOD: u64 = 200;

/// Deterministic noise in [0, 1) for time `t` and participant `id` (a hash, no state).
pub(super) fn jitter(t: u64, id: u64) -> f64 {
    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ id.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A quiet room: around 0.003.
pub(super) fn quiet(t: u64, id: u64) -> f64 {
    0.002 + 0.002 * jitter(t, id)
}

/// Speech between 0.1 and 0.3 (`gain` times that), dipping between words every 600 ms.
pub(super) fn speech(t: u64, id: u64, gain: f64) -> f64 {
    if t % 600 < 120 {
        quiet(t, id) + 0.01
    } else {
        gain * (0.1 + 0.2 * jitter(t, id))
    }
}

/// Chromium's fake microphone: a 20 ms tone every `interval` ms, as `audioLevel`
/// reports it: the peak of the last 100 ms window, a quarter of it one window later.
pub(super) fn beep(t: u64, interval: u64) -> f64 {
    let window_has_beep = |end: u64| end >= 100 && (end - 100..end).any(|ms| ms % interval < 20);
    let update = t / 100 * 100;
    if window_has_beep(update) {
        0.5
    } else if window_has_beep(update.saturating_sub(100)) {
        0.125
    } else {
        0.0
    }
}

pub(super) type Level<'a> = &'a dyn Fn(u64) -> f64;

/// A call: a detector fed every participant's level every `period`, events logged.
pub(super) struct Call {
    pub det: SpeakerDetector,
    pub t: u64,
    pub period: u64,
    pub log: Vec<(u64, SpeakerEvent)>,
}

impl Call {
    pub fn new() -> Call {
        Call {
            det: SpeakerDetector::default(),
            t: 0,
            period: PERIOD,
            log: Vec::new(),
        }
    }

    /// One polling round.
    pub fn step(&mut self, levels: &[(u64, Level<'_>)]) {
        self.t += self.period;
        for (id, level) in levels {
            let events = self
                .det
                .observe(Time::from_millis(self.t), p(*id), level(self.t));
            self.log.extend(events.into_iter().map(|e| (self.t, e)));
        }
    }

    pub fn run(&mut self, ms: u64, levels: &[(u64, Level<'_>)]) {
        let end = self.t + ms;
        while self.t < end {
            self.step(levels);
        }
    }

    /// The times the spotlight moved, and to whom.
    pub fn spotlight_moves(&self) -> Vec<(u64, Option<ParticipantId>)> {
        let moves = self.log.iter().filter_map(|(t, e)| match e {
            SpeakerEvent::ActiveSpeaker(id) => Some((*t, *id)),
            _ => None,
        });
        moves.collect()
    }
}

/// A hand-made trace in the shape of a getStats recording (100 ms apart) of someone
/// saying "hello — can you hear me? — yes, good", with a quiet room around it.
pub(super) const HELLO: [f64; 40] = [
    0.003, 0.004, 0.003, 0.12, 0.31, 0.27, 0.09, 0.004, 0.005, 0.18, 0.22, 0.35, 0.19, 0.08, 0.26,
    0.3, 0.14, 0.006, 0.004, 0.003, 0.005, 0.004, 0.21, 0.05, 0.003, 0.16, 0.24, 0.11, 0.004,
    0.003, 0.003, 0.004, 0.003, 0.002, 0.003, 0.004, 0.003, 0.003, 0.002, 0.003,
];
