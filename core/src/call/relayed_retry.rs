//! [`RelayedRetry`]: when to build our path to the SFU again after it broke (its
//! WebSocket or Janus session lost, Janus refusing us) while the call still uses it.
//! The call stays relayed and the server is not told: only this participant's path is
//! made anew, after a jittered backoff, so that a network blip costs seconds of video
//! instead of the rest of the call.

use crate::recovery::Backoff;
use crate::time::{Millis, Time};

/// The first wait, and the longest after failures in a row.
pub const FIRST_RETRY: Millis = Millis::from_secs(1);
pub const LONGEST_RETRY: Millis = Millis::from_secs(30);
/// A path that carried this long was a success: the next loss waits `FIRST_RETRY` again.
pub const STABLE: Millis = Millis::from_secs(60);

#[derive(Debug, Clone)]
pub struct RelayedRetry {
    backoff: Backoff,
    due: Option<Time>,
    built_at: Option<Time>,
}

impl RelayedRetry {
    pub fn new(seed: u64) -> Self {
        RelayedRetry {
            backoff: Backoff::new(FIRST_RETRY, LONGEST_RETRY, seed),
            due: None,
            built_at: None,
        }
    }

    /// The path broke (or could not be made) at `now`.
    pub fn lost(&mut self, now: Time) {
        if self.built_at.take().is_some_and(|t| now.since(t) >= STABLE) {
            self.backoff.reset();
        }
        self.due = Some(now + self.backoff.next_delay());
    }

    /// A new path was made at `now`.
    pub fn built(&mut self, now: Time) {
        self.built_at = Some(now);
        self.due = None;
    }

    /// When the next attempt is due, if one is.
    pub fn due(&self) -> Option<Time> {
        self.due
    }

    /// Whether to build the path now; `wanted`: the call still uses it (else the
    /// attempt is dropped).
    pub fn poll(&mut self, now: Time, wanted: bool) -> bool {
        if !wanted {
            self.due = None;
        }
        self.due.take_if(|due| *due <= now).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    #[test]
    fn a_lost_path_is_built_again_after_a_growing_wait_that_a_lasting_path_resets() {
        let mut r = RelayedRetry::new(7);
        assert!(!r.poll(at(0), true));
        r.lost(at(0));
        let first = r.due().unwrap();
        assert!((at(1000)..=at(1500)).contains(&first), "{first:?}");
        assert!(!r.poll(Time::from_millis(first.as_millis() - 1), true));
        assert!(r.poll(first, true));
        assert!(!r.poll(first, true), "once");
        // It fails again at once: twice the wait.
        r.lost(first);
        let second = r.due().unwrap().since(first);
        assert!((2000..=3000).contains(&second.as_millis()), "{second:?}");
        // Made, and it carries a minute: the next loss waits a second again.
        r.built(at(10_000));
        r.lost(at(70_000));
        let after_stable = r.due().unwrap().since(at(70_000));
        assert!(after_stable.as_millis() <= 1500, "{after_stable:?}");
        // Made, but lost soon: no reset.
        r.built(at(72_000));
        r.lost(at(73_000));
        assert!(r.due().unwrap().since(at(73_000)).as_millis() >= 2000);
    }

    #[test]
    fn no_attempt_once_the_call_no_longer_uses_the_path() {
        let mut r = RelayedRetry::new(7);
        r.lost(at(0));
        assert!(!r.poll(at(5000), false));
        assert_eq!(r.due(), None);
        assert!(!r.poll(at(6000), true));
    }
}
