//! A first `join` (no `welcome` yet) answered with `going_away`: try again on our own
//! for a while instead of telling the person at once that the server is unreachable.
//!
//! With several signaling nodes that answer is routine for a few seconds at a time:
//! the room's home node just died and the room is about to move, Redis is briefly out
//! of reach, or this node is restarting. The person only wants to be in the meeting,
//! so the page keeps trying as a resume would ([`ReconnectSchedule`], announced) and
//! shows its clear error only when that does not work within [`FIRST_JOIN_PATIENCE`].
//! Any refusal with a reason (room full, passcode, invalid name, …) is final at once:
//! asking again would get the same answer.

use super::{Outage, ReconnectSchedule};
use crate::time::{Millis, Time};

/// How long after the first `going_away` a first join keeps trying: no attempt starts
/// later than this (the last may take up to [`super::ATTEMPT_TIMEOUT`] more).
///
/// 20 s: a restarting server says it expects to be back within 15 s
/// (`GOING_AWAY_BACK_WITHIN_MS`), first attempt after 0.25–0.5 s, which leaves a few
/// seconds to spare; a dead node's rooms can move as soon as the node misses its
/// heartbeats (3 s), and a Redis answer is waited for at most 3 s. Beyond that the
/// outage is not a quick one, and someone looking at "Joining…" would rather be told
/// than wait on.
pub const FIRST_JOIN_PATIENCE: Millis = Millis::from_secs(20);

/// How one attempt at the first join ended without `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinFailure {
    /// The server said `going_away`, or closed the socket with 1001 "going away"
    /// without a word ([`Outage::going_away_close`]): come back as it says.
    GoingAway(Outage),
    /// The socket failed, closed otherwise, or nothing answered in time.
    Unreachable,
    /// The server refused the join with an `error` (room full, wrong passcode, …).
    Refused,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinStep {
    /// Wait this long, then open a new socket and send `join` again.
    RetryAfter(Millis),
    /// Stop and show the failure of the last attempt.
    GiveUp,
}

/// The retry policy of one first join, from its first attempt until `welcome` or
/// giving up. Time and the jitter's seed are passed in.
#[derive(Debug, Clone)]
pub struct FirstJoinRetry {
    seed: u64,
    /// From the first `going_away`: when it came (the patience counts from there) and
    /// the waits between attempts.
    retrying: Option<(Time, ReconnectSchedule)>,
    /// Schedules started so far, to give each its own jitter.
    schedules: u64,
}

impl FirstJoinRetry {
    pub fn new(seed: u64) -> FirstJoinRetry {
        FirstJoinRetry {
            seed,
            retrying: None,
            schedules: 0,
        }
    }

    /// An attempt failed at `now` as `failure` says: try again (after how long), or
    /// give up.
    ///
    /// Only `going_away` starts retrying: a server that cannot be reached at all on
    /// the first try is shown at once, as before. Once retrying, an attempt that finds
    /// nobody (the node is restarting) is just the next wait, and a new `going_away`
    /// restarts the waits on that server's hints (as a resume does), but not the
    /// patience: it counts from the first one.
    pub fn after_failure(&mut self, now: Time, failure: JoinFailure) -> JoinStep {
        match failure {
            JoinFailure::Refused => return JoinStep::GiveUp,
            JoinFailure::GoingAway(outage) => self.follow(now, outage),
            JoinFailure::Unreachable => {}
        }
        let Some((since, schedule)) = self.retrying.as_mut() else {
            return JoinStep::GiveUp;
        };
        let wait = schedule.next_delay(now);
        if (now + wait).since(*since) > FIRST_JOIN_PATIENCE {
            return JoinStep::GiveUp;
        }
        JoinStep::RetryAfter(wait)
    }

    /// A `going_away` at `now`: its waits from now on; the patience from the first.
    fn follow(&mut self, now: Time, outage: Outage) {
        let seed = self.seed.wrapping_add(self.schedules);
        self.schedules = self.schedules.wrapping_add(1);
        let since = self.retrying.as_ref().map_or(now, |(since, _)| *since);
        self.retrying = Some((since, ReconnectSchedule::new(now, outage, seed)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{GOING_AWAY_BACK_WITHIN_MS, GOING_AWAY_RECONNECT_AFTER_MS};

    fn t(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    /// What `going_away` says by default.
    fn announced() -> Outage {
        Outage::Announced {
            reconnect_after: Millis::from_millis(GOING_AWAY_RECONNECT_AFTER_MS),
            back_within: Millis::from_millis(GOING_AWAY_BACK_WITHIN_MS),
        }
    }

    fn going_away() -> JoinFailure {
        JoinFailure::GoingAway(announced())
    }

    fn retry_wait(step: JoinStep) -> u64 {
        match step {
            JoinStep::RetryAfter(wait) => wait.as_millis(),
            JoinStep::GiveUp => panic!("gave up"),
        }
    }

    /// Attempt times of a join whose every attempt fails at once as `failure(attempt)`
    /// says, from the first (at 1 s) until it gives up.
    fn run(seed: u64, failure: impl Fn(usize) -> JoinFailure) -> Vec<u64> {
        let mut retry = FirstJoinRetry::new(seed);
        let mut now = 1_000;
        let mut attempts = vec![now];
        loop {
            match retry.after_failure(t(now), failure(attempts.len() - 1)) {
                JoinStep::RetryAfter(wait) => now += wait.as_millis(),
                JoinStep::GiveUp => return attempts,
            }
            attempts.push(now);
        }
    }

    #[test]
    fn going_away_before_welcome_is_retried_like_an_announced_resume() {
        for seed in 0..50 {
            let mut retry = FirstJoinRetry::new(seed);
            let mut resume = ReconnectSchedule::new(t(1_000), announced(), seed);
            // The same waits as a resume told `going_away` at the same moment: soon,
            // then every 250–500 ms while nobody answers (the node restarting).
            for now in [1_000, 1_400, 1_800, 2_300, 2_700] {
                let wait = retry_wait(retry.after_failure(t(now), failure_at(now)));
                assert_eq!(wait, resume.next_delay(t(now)).as_millis());
                assert!((250..=500).contains(&wait), "seed {seed}: {wait}");
            }
        }

        fn failure_at(now: u64) -> JoinFailure {
            if now == 1_000 {
                going_away()
            } else {
                JoinFailure::Unreachable
            }
        }
    }

    #[test]
    fn each_new_going_away_restarts_the_waits_on_its_hints() {
        let mut retry = FirstJoinRetry::new(4);
        retry_wait(retry.after_failure(t(0), going_away()));
        let slow = Outage::Announced {
            reconnect_after: Millis::from_secs(2),
            back_within: Millis::from_secs(15),
        };
        let wait = retry_wait(retry.after_failure(t(500), JoinFailure::GoingAway(slow)));
        assert!((2_000..=4_000).contains(&wait), "{wait}");
    }

    #[test]
    fn a_server_that_keeps_going_away_is_given_up_on_after_twenty_seconds() {
        for seed in 0..50 {
            let attempts = run(seed, |_| going_away());
            let last = *attempts.last().unwrap();
            assert!(last <= 1_000 + 20_000, "seed {seed}: {attempts:?}");
            assert!(last >= 1_000 + 19_500, "seed {seed}: tried until {last}");
            // Every 250–500 ms meanwhile: about 40–80 attempts, not a flood.
            assert!((40..=81).contains(&attempts.len()), "{}", attempts.len());
        }
    }

    #[test]
    fn the_patience_counts_from_the_first_going_away_whatever_follows() {
        // Going away, then nobody answers (the node restarts), then going away again:
        // still no attempt after 20 s from the first.
        for seed in 0..50 {
            let attempts = run(seed, |n| {
                if n == 0 || n % 7 == 0 {
                    going_away()
                } else {
                    JoinFailure::Unreachable
                }
            });
            assert!(
                *attempts.last().unwrap() <= 21_000,
                "seed {seed}: {attempts:?}"
            );
            assert!(attempts.len() > 30, "seed {seed}: {attempts:?}");
        }
        // Also when an attempt itself takes long (no answer for 5 s).
        let mut retry = FirstJoinRetry::new(3);
        retry.after_failure(t(0), going_away());
        assert!(matches!(
            retry.after_failure(t(14_000), JoinFailure::Unreachable),
            JoinStep::RetryAfter(_)
        ));
        assert_eq!(
            retry.after_failure(t(19_990), JoinFailure::Unreachable),
            JoinStep::GiveUp,
            "the next attempt would start after 20 s"
        );
    }

    #[test]
    fn other_failures_are_shown_at_once() {
        let mut retry = FirstJoinRetry::new(1);
        assert_eq!(
            retry.after_failure(t(0), JoinFailure::Refused),
            JoinStep::GiveUp
        );
        assert_eq!(
            retry.after_failure(t(0), JoinFailure::Unreachable),
            JoinStep::GiveUp,
            "a server that cannot be reached at all is shown as before"
        );
        // A refusal while retrying (the room filled up meanwhile) is final too.
        let mut retry = FirstJoinRetry::new(1);
        retry_wait(retry.after_failure(t(0), going_away()));
        retry_wait(retry.after_failure(t(400), JoinFailure::Unreachable));
        assert_eq!(
            retry.after_failure(t(800), JoinFailure::Refused),
            JoinStep::GiveUp
        );
    }

    #[test]
    fn a_bare_going_away_close_counts_as_going_away() {
        let outage = Outage::going_away_close(1001).expect("1001 is going away");
        assert_eq!(going_away(), JoinFailure::GoingAway(outage));
        for code in [1000, 1006, 1008, 4000] {
            assert_eq!(Outage::going_away_close(code), None, "{code}");
        }
        let mut retry = FirstJoinRetry::new(7);
        let wait = retry_wait(retry.after_failure(t(0), JoinFailure::GoingAway(outage)));
        assert!((250..=500).contains(&wait), "{wait}");
    }

    #[test]
    fn joins_seeded_differently_do_not_retry_in_lockstep() {
        let mut firsts: Vec<u64> = (0..200)
            .map(|seed| retry_wait(FirstJoinRetry::new(seed).after_failure(t(0), going_away())))
            .collect();
        firsts.sort_unstable();
        firsts.dedup();
        assert!(firsts.len() > 100, "{} distinct", firsts.len());
        assert_eq!(run(5, |_| going_away()), run(5, |_| going_away()));
    }
}
