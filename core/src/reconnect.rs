//! Getting the signaling socket back, as sans-IO policy: when a silent server counts as
//! gone, and when to try reconnecting. Time and the jitter's seed are passed in.
//!
//! The goal: after the server comes back, every participant is in its room again within
//! 2 s of it answering, without 200 clients retrying in lockstep.
//!
//! - [`silence_timeout`]: from the server's ping interval (sent in `welcome`/`resumed`).
//! - [`ReconnectSchedule`]: the wait before each attempt, after an announced restart
//!   (`going_away`) or an unannounced drop, and when to tell the user.
//! - [`FirstJoinRetry`]: a first `join` answered with `going_away` is tried again on the
//!   same schedule, for at most [`FIRST_JOIN_PATIENCE`].

mod first_join;

pub use first_join::{FirstJoinRetry, JoinFailure, JoinStep, FIRST_JOIN_PATIENCE};

use crate::protocol::{
    CLOSE_GOING_AWAY, GOING_AWAY_BACK_WITHIN_MS, GOING_AWAY_RECONNECT_AFTER_MS,
    HEARTBEAT_INTERVAL_MS,
};
use crate::recovery::Jitter;
use crate::time::{Millis, Time};

/// Silence from the server after which its socket counts as dead: three missed pings
/// plus a second of slack (7 s with the default 2 s pings). Derived from the interval
/// the server states, so a server that pings rarely does not make its clients
/// reconnect over and over; `None` (an older server): the default interval.
pub fn silence_timeout(heartbeat_interval: Option<Millis>) -> Millis {
    let interval = heartbeat_interval
        .filter(|i| *i > Millis::ZERO)
        .unwrap_or(Millis::from_millis(HEARTBEAT_INTERVAL_MS));
    Millis::from_millis(interval.as_millis().saturating_mul(3).saturating_add(1_000))
}

/// How long one attempt (open the socket, `resume`, wait for the answer) may take
/// before it is abandoned and the next one scheduled: a socket that neither opens nor
/// fails (packets dropped) would otherwise stall reconnecting for minutes.
pub const ATTEMPT_TIMEOUT: Millis = Millis::from_secs(5);

/// After an announced restart, the interval between attempts while the server is
/// expected back: 250 ms plus up to 250 ms of jitter.
pub const FAST_RETRY: Millis = Millis::from_millis(250);

/// After an unannounced drop: the first wait (before jitter); it doubles per attempt.
pub const FIRST_RETRY: Millis = Millis::from_millis(250);

/// After an unannounced drop, the longest wait while the outage is young
/// ([`SHORT_OUTAGE`]): a server that restarted is found within this long of answering.
pub const SHORT_OUTAGE_CAP: Millis = Millis::from_secs(1);

/// How long an outage counts as short (waits capped at [`SHORT_OUTAGE_CAP`]).
pub const SHORT_OUTAGE: Millis = Millis::from_secs(60);

/// The longest wait once an outage is long: nobody gains from hammering a server that
/// has been gone for minutes.
pub const LONG_OUTAGE_CAP: Millis = Millis::from_secs(10);

/// After an unannounced drop, how long reconnecting goes on quietly before the user is
/// told: blips and quick restarts are over by then and need no banner.
pub const NOTICE_AFTER: Millis = Millis::from_secs(3);

/// Why the socket went, which decides the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// The server said `going_away`: back after about `reconnect_after`, expected to
    /// answer within `back_within`.
    Announced {
        reconnect_after: Millis,
        back_within: Millis,
    },
    /// The socket closed or went silent without a word.
    Unannounced,
}

impl Outage {
    /// What `going_away` says (its `reconnect_after_ms` and `back_within_ms`).
    pub fn going_away(reconnect_after_ms: u64, back_within_ms: u64) -> Outage {
        Outage::Announced {
            reconnect_after: Millis::from_millis(reconnect_after_ms),
            back_within: Millis::from_millis(back_within_ms),
        }
    }

    /// A close with this code announces an outage, as `going_away` with its default
    /// hints would: 1001 ("going away") is how a stopping server ends every socket,
    /// so it counts even when the `going_away` before it never arrived.
    pub fn going_away_close(code: u16) -> Option<Outage> {
        (code == CLOSE_GOING_AWAY)
            .then(|| Outage::going_away(GOING_AWAY_RECONNECT_AFTER_MS, GOING_AWAY_BACK_WITHIN_MS))
    }
}

/// The waits between reconnect attempts for one outage.
///
/// - **Announced** (`going_away`): the first attempt after `reconnect_after` plus up to
///   as much again of jitter, then every [`FAST_RETRY`] plus up to as much again, until
///   `back_within` has passed; from then on as if unannounced.
/// - **Unannounced**: [`FIRST_RETRY`], doubling, capped at [`SHORT_OUTAGE_CAP`] for the
///   first [`SHORT_OUTAGE`] and at [`LONG_OUTAGE_CAP`] after; each wait is the plain
///   value times a random 50–100 %, so the cap is never exceeded and clients spread out.
///
/// Either way a server that comes back is found within the current wait, at most 1 s
/// during the first minute.
#[derive(Debug, Clone)]
pub struct ReconnectSchedule {
    outage: Outage,
    started: Time,
    attempts: u32,
    /// Attempts since the schedule fell back to backoff (the doubling counts from there).
    backoff_attempts: u32,
    jitter: Jitter,
}

impl ReconnectSchedule {
    /// An outage that began at `now`.
    pub fn new(now: Time, outage: Outage, seed: u64) -> ReconnectSchedule {
        ReconnectSchedule {
            outage,
            started: now,
            attempts: 0,
            backoff_attempts: 0,
            jitter: Jitter::new(seed),
        }
    }

    pub fn outage(&self) -> Outage {
        self.outage
    }

    /// Attempts so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The wait before the next attempt, which is about to be made at `now` + the
    /// returned span; each call counts one attempt.
    pub fn next_delay(&mut self, now: Time) -> Millis {
        let first = self.attempts == 0;
        self.attempts = self.attempts.saturating_add(1);
        let elapsed = now.since(self.started);
        if let Outage::Announced {
            reconnect_after,
            back_within,
        } = self.outage
        {
            if first {
                return self.stretch(reconnect_after);
            }
            if elapsed < reconnect_after + back_within {
                return self.stretch(FAST_RETRY);
            }
        }
        let doublings = self.backoff_attempts.min(16);
        self.backoff_attempts = self.backoff_attempts.saturating_add(1);
        let cap = if elapsed < SHORT_OUTAGE {
            SHORT_OUTAGE_CAP
        } else {
            LONG_OUTAGE_CAP
        };
        let plain = FIRST_RETRY
            .as_millis()
            .saturating_mul(1 << doublings)
            .min(cap.as_millis());
        let fraction = 0.5 + 0.5 * self.jitter.next_fraction();
        Millis::from_millis((plain as f64 * fraction) as u64)
    }

    /// Whether reconnecting has taken long enough to tell the user: after an
    /// announced restart, once the server is overdue; otherwise after [`NOTICE_AFTER`].
    pub fn notice_due(&self, now: Time) -> bool {
        let quiet_for = match self.outage {
            Outage::Announced {
                reconnect_after,
                back_within,
            } => reconnect_after + back_within,
            Outage::Unannounced => NOTICE_AFTER,
        };
        now.since(self.started) >= quiet_for
    }

    /// `span` plus a random 0–100 % of it.
    fn stretch(&mut self, span: Millis) -> Millis {
        let extra = span.as_millis() as f64 * self.jitter.next_fraction();
        span + Millis::from_millis(extra as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    const ANNOUNCED: Outage = Outage::Announced {
        reconnect_after: Millis::from_millis(250),
        back_within: Millis::from_secs(15),
    };

    /// Attempt times from `start` until `until`, as a client would make them (each
    /// attempt failing at once).
    fn attempt_times(schedule: &mut ReconnectSchedule, start: u64, until: u64) -> Vec<u64> {
        let mut now = start;
        let mut times = Vec::new();
        loop {
            now += schedule.next_delay(t(now)).as_millis();
            if now > until {
                return times;
            }
            times.push(now);
        }
    }

    #[test]
    fn the_silence_timeout_follows_the_servers_ping_interval() {
        assert_eq!(silence_timeout(None), Millis::from_millis(7_000));
        assert_eq!(
            silence_timeout(Some(Millis::from_millis(2_000))),
            Millis::from_millis(7_000)
        );
        // A server that pings every 10 s: its clients wait 31 s, not 7 s (which would
        // have them reconnect forever, each socket "silent" before its first ping).
        assert_eq!(
            silence_timeout(Some(Millis::from_secs(10))),
            Millis::from_millis(31_000)
        );
        assert!(silence_timeout(Some(Millis::from_secs(10))) > Millis::from_secs(10));
        assert_eq!(
            silence_timeout(Some(Millis::ZERO)),
            silence_timeout(None),
            "nonsense reads as unknown"
        );
        assert_eq!(
            silence_timeout(Some(Millis::from_millis(u64::MAX))),
            Millis::from_millis(u64::MAX)
        );
    }

    #[test]
    fn after_going_away_the_first_attempt_is_soon_and_then_every_quarter_to_half_second() {
        for seed in 0..50 {
            let mut s = ReconnectSchedule::new(t(1_000), ANNOUNCED, seed);
            let times = attempt_times(&mut s, 1_000, 16_000);
            assert!((1_250..=1_500).contains(&times[0]), "{times:?}");
            for gap in times.windows(2).map(|w| w[1] - w[0]) {
                assert!((250..=500).contains(&gap), "seed {seed}: {times:?}");
            }
        }
    }

    #[test]
    fn a_server_back_at_any_moment_is_found_within_half_a_second_when_announced() {
        for seed in 0..50 {
            let mut s = ReconnectSchedule::new(t(0), ANNOUNCED, seed);
            let times = attempt_times(&mut s, 0, 15_000);
            for back in (300..14_000).step_by(37) {
                let found = times.iter().find(|&&a| a >= back).unwrap();
                assert!(
                    found - back <= 500,
                    "seed {seed}: back at {back}, found at {found}"
                );
            }
        }
    }

    #[test]
    fn an_announced_restart_that_overruns_falls_back_to_backoff() {
        let mut s = ReconnectSchedule::new(t(0), ANNOUNCED, 3);
        let times = attempt_times(&mut s, 0, 200_000);
        let late: Vec<u64> = times.iter().copied().filter(|&a| a > 16_000).collect();
        let gaps: Vec<u64> = late.windows(2).map(|w| w[1] - w[0]).collect();
        // Within the first minute still at most 1 s apart, later up to 10 s.
        assert!(gaps.iter().all(|&g| g <= 10_000), "{gaps:?}");
        assert!(gaps.iter().any(|&g| g > 1_000), "{gaps:?}");
        let before_a_minute = late.iter().filter(|&&a| a < 60_000);
        assert!(before_a_minute.count() > 40);
    }

    #[test]
    fn an_unannounced_drop_backs_off_but_never_past_one_second_in_the_first_minute() {
        for seed in 0..50 {
            let mut s = ReconnectSchedule::new(t(0), Outage::Unannounced, seed);
            let mut now = 0;
            let mut delays = Vec::new();
            while now < 180_000 {
                let d = s.next_delay(t(now)).as_millis();
                delays.push((now, d));
                now += d;
            }
            // Doubling from 250 ms, each 50–100 % of its plain value.
            assert!((125..=250).contains(&delays[0].1), "{delays:?}");
            assert!((250..=500).contains(&delays[1].1), "{delays:?}");
            for &(at, d) in &delays {
                let cap = if at < 60_000 { 1_000 } else { 10_000 };
                assert!(d <= cap, "seed {seed}: waited {d} ms at {at}");
            }
            // Then it grows: the last waits are several seconds.
            assert!(delays.last().unwrap().1 >= 5_000, "{delays:?}");
            // Found within 1 s (plus nothing) of a return at any time in the first minute.
            for back in (1_000..59_000).step_by(97) {
                let found = delays
                    .iter()
                    .map(|&(at, d)| at + d)
                    .find(|&a| a >= back)
                    .unwrap();
                assert!(
                    found - back <= 1_000,
                    "seed {seed}: back {back}, found {found}"
                );
            }
        }
    }

    #[test]
    fn two_hundred_clients_do_not_retry_in_lockstep() {
        // 200 clients told `going_away` at the same moment: their first attempts spread
        // over the whole jitter window, not a few instants.
        let mut firsts: Vec<u64> = (0..200)
            .map(|seed| {
                ReconnectSchedule::new(t(0), ANNOUNCED, seed)
                    .next_delay(t(0))
                    .as_millis()
            })
            .collect();
        firsts.sort_unstable();
        firsts.dedup();
        assert!(
            firsts.len() > 100,
            "{} distinct first attempts",
            firsts.len()
        );
        // In any 25 ms of the 250 ms window, no more than a fifth of them.
        let mut per_slot = [0u32; 11];
        for seed in 0..200 {
            let d = ReconnectSchedule::new(t(0), ANNOUNCED, seed)
                .next_delay(t(0))
                .as_millis();
            per_slot[((d - 250) / 25) as usize] += 1;
        }
        assert!(per_slot.iter().all(|&n| n <= 40), "{per_slot:?}");
        // The same for an unannounced drop.
        let mut lost: Vec<u64> = (0..200)
            .map(|seed| {
                ReconnectSchedule::new(t(0), Outage::Unannounced, seed)
                    .next_delay(t(0))
                    .as_millis()
            })
            .collect();
        lost.sort_unstable();
        lost.dedup();
        assert!(lost.len() > 60, "{} distinct first attempts", lost.len());
    }

    #[test]
    fn the_user_is_told_only_when_reconnecting_takes_long() {
        let s = ReconnectSchedule::new(t(1_000), ANNOUNCED, 1);
        assert!(!s.notice_due(t(1_000)));
        assert!(
            !s.notice_due(t(15_000)),
            "the server said it would take a while"
        );
        assert!(s.notice_due(t(16_250)));
        let s = ReconnectSchedule::new(t(1_000), Outage::Unannounced, 1);
        assert!(
            !s.notice_due(t(3_500)),
            "a blip is over before anyone needs to know"
        );
        assert!(s.notice_due(t(4_000)));
    }

    #[test]
    fn the_same_seed_repeats_and_attempts_are_counted() {
        let run = |seed| {
            let mut s = ReconnectSchedule::new(t(0), Outage::Unannounced, seed);
            (0..10)
                .map(|i| s.next_delay(t(i * 500)).as_millis())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
        let mut s = ReconnectSchedule::new(t(0), ANNOUNCED, 9);
        for _ in 0..4 {
            s.next_delay(t(0));
        }
        assert_eq!(s.attempts(), 4);
        assert_eq!(s.outage(), ANNOUNCED);
    }
}
