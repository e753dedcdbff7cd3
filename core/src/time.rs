//! Time as the caller passes it in. Nothing in this crate reads a clock: every input
//! that depends on time carries a [`Time`], which keeps the logic deterministic in
//! tests and free of `std::time::Instant` (which panics on wasm32).

use std::ops::Add;

use serde::{Deserialize, Serialize};

/// A point in time in milliseconds on the page's clock (`performance.now()`). Only
/// differences mean anything. Not `std::time::Instant`, which panics on wasm32.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Time(u64);

impl Time {
    pub const ZERO: Time = Time(0);

    pub const fn from_millis(ms: u64) -> Time {
        Time(ms)
    }

    /// From `performance.now()`; NaN and negative values read as zero.
    pub fn from_millis_f64(ms: f64) -> Time {
        Time(clamp_to_u64(ms))
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`; zero if the clock went backwards.
    pub fn since(self, earlier: Time) -> Millis {
        Millis(self.0.saturating_sub(earlier.0))
    }

    /// `ms` milliseconds later.
    pub const fn plus(self, ms: u64) -> Time {
        Time(self.0.saturating_add(ms))
    }
}

impl Add<Millis> for Time {
    type Output = Time;
    fn add(self, span: Millis) -> Time {
        Time(self.0.saturating_add(span.0))
    }
}

/// A span of time in milliseconds (a round-trip time, a hold time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(u64);

impl Millis {
    pub const ZERO: Millis = Millis(0);

    pub const fn from_millis(ms: u64) -> Millis {
        Millis(ms)
    }

    pub const fn from_secs(s: u64) -> Millis {
        Millis(s * 1000)
    }

    /// From a browser value in milliseconds; NaN and negative values read as zero.
    pub fn from_millis_f64(ms: f64) -> Millis {
        Millis(clamp_to_u64(ms))
    }

    /// From a browser value in seconds (`roundTripTime`, `jitter` are in seconds).
    pub fn from_secs_f64(s: f64) -> Millis {
        Millis::from_millis_f64(s * 1000.0)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn saturating_sub(self, other: Millis) -> Millis {
        Millis(self.0.saturating_sub(other.0))
    }
}

impl Add for Millis {
    type Output = Millis;
    fn add(self, other: Millis) -> Millis {
        Millis(self.0.saturating_add(other.0))
    }
}

/// A float from the browser as whole milliseconds (or bits): NaN and negative values
/// read as zero, huge ones saturate.
pub(crate) fn clamp_to_u64(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x as u64
    }
}
