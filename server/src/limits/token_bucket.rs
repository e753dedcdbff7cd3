//! A token bucket: up to `burst` at once, `per_sec` on average. Time is passed in, so
//! tests (and tokio's paused clock) decide what "now" is.

use tokio::time::Instant;

/// How much of something is allowed: a burst, then a steady rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: f64,
    pub per_sec: f64,
}

impl Rate {
    /// `per_sec` on average, and up to `seconds` worth of it at once.
    pub fn per_sec_with_burst_of(per_sec: f64, seconds: f64) -> Rate {
        Rate {
            burst: per_sec * seconds,
            per_sec,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket: a new sender may use its whole burst.
    pub fn full(rate: Rate, now: Instant) -> Self {
        TokenBucket {
            rate,
            tokens: rate.burst,
            at: now,
        }
    }

    /// Takes `cost` tokens if there are that many; otherwise takes nothing.
    pub fn try_take(&mut self, cost: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }

    /// Whether the bucket has refilled completely (its sender has been quiet).
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.rate.burst
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_sec).min(self.rate.burst);
        self.at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(Rate::per_sec_with_burst_of(10.0, 2.0), t0);
        assert_eq!((0..30).filter(|_| bucket.try_take(1.0, t0)).count(), 20);
        let later = t0 + Duration::from_millis(500);
        assert_eq!((0..30).filter(|_| bucket.try_take(1.0, later)).count(), 5);
        assert!(!bucket.is_full(later));
        assert!(bucket.is_full(later + Duration::from_secs(2)));
    }

    #[test]
    fn a_cost_larger_than_what_is_left_takes_nothing() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(
            Rate {
                burst: 100.0,
                per_sec: 0.0,
            },
            t0,
        );
        assert!(bucket.try_take(60.0, t0));
        assert!(!bucket.try_take(60.0, t0));
        assert!(bucket.try_take(40.0, t0));
    }
}
