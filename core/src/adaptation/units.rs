//! Units as types: a bit rate and a frame rate (time is [`crate::time`]). Constructors from browser floats clamp what makes no sense (NaN,
//! negative, absurdly large) instead of failing: stats are noisy, a panic is a bug.

use std::fmt;
use std::ops::{Add, Sub};

use crate::time::{clamp_to_u64, Millis};

/// A bit rate in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bitrate(u64);

impl Bitrate {
    pub const ZERO: Bitrate = Bitrate(0);
    /// Nothing a browser sends over one link comes near this; larger readings are bogus.
    pub const MAX: Bitrate = Bitrate(10_000_000_000);

    pub const fn bps(bps: u64) -> Bitrate {
        Bitrate(bps)
    }

    pub const fn kbps(kbps: u64) -> Bitrate {
        Bitrate(kbps * 1000)
    }

    pub const fn mbps(mbps: u64) -> Bitrate {
        Bitrate(mbps * 1_000_000)
    }

    /// From a browser value in bits per second; NaN and negative values read as zero.
    pub fn from_bps_f64(bps: f64) -> Bitrate {
        Bitrate(clamp_to_u64(bps)).min(Bitrate::MAX)
    }

    /// The rate at which `bytes` went out in `span`; zero for an empty span.
    pub fn from_bytes_in(bytes: u64, span: Millis) -> Bitrate {
        if span.as_millis() == 0 {
            return Bitrate::ZERO;
        }
        // In f64, not u128: the app's wasm would carry 128-bit division for it.
        Bitrate::from_bps_f64(bytes as f64 * 8000.0 / span.as_millis() as f64)
    }

    pub const fn as_bps(self) -> u64 {
        self.0
    }

    pub fn as_kbps_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// `self × factor`, for factors like 0.85 or 1.5; a bad factor gives zero.
    pub fn scaled(self, factor: f64) -> Bitrate {
        Bitrate::from_bps_f64(self.0 as f64 * factor)
    }

    /// How much is sent at this rate over `span`, as a rate increment: used for
    /// "grow by 25 kb/s per second" ramps.
    pub fn per_second_over(self, span: Millis) -> Bitrate {
        Bitrate::from_bps_f64(self.0 as f64 * span.as_millis() as f64 / 1000.0)
    }

    pub fn saturating_sub(self, other: Bitrate) -> Bitrate {
        Bitrate(self.0.saturating_sub(other.0))
    }

    /// Rounded down to a multiple of `step`, so that tiny changes do not produce new
    /// decisions (each one costs the browser a `setParameters`).
    pub fn round_down_to(self, step: Bitrate) -> Bitrate {
        match step.0 {
            0 => self,
            s => Bitrate(self.0 / s * s),
        }
    }
}

impl Add for Bitrate {
    type Output = Bitrate;
    fn add(self, other: Bitrate) -> Bitrate {
        Bitrate(self.0.saturating_add(other.0))
    }
}

impl Sub for Bitrate {
    type Output = Bitrate;
    /// Saturating: a budget never goes negative.
    fn sub(self, other: Bitrate) -> Bitrate {
        self.saturating_sub(other)
    }
}

impl std::iter::Sum for Bitrate {
    fn sum<I: Iterator<Item = Bitrate>>(iter: I) -> Bitrate {
        iter.fold(Bitrate::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Bitrate {
    /// Rounded in integers (a tie rounds up): float formatting would add about 12 KB
    /// to the app's wasm.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1_000_000 {
            let hundredths = (self.0 + 5_000) / 10_000;
            write!(f, "{}.{:02} Mb/s", hundredths / 100, hundredths % 100)
        } else {
            write!(f, "{} kb/s", (self.0 + 500) / 1_000)
        }
    }
}

/// Frames per second, whole (what `maxFramerate` is set to in practice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Framerate(u32);

impl Framerate {
    /// [`Framerate::fps`] clamps into `MIN..=MAX`.
    pub const MIN: Framerate = Framerate(1);
    pub const MAX: Framerate = Framerate(120);

    pub const fn fps(fps: u32) -> Framerate {
        if fps < Self::MIN.0 {
            Self::MIN
        } else if fps > Self::MAX.0 {
            Self::MAX
        } else {
            Framerate(fps)
        }
    }

    /// From a track setting like 29.97; NaN reads as the minimum.
    pub fn from_f64(fps: f64) -> Framerate {
        Framerate::fps(u32::try_from(clamp_to_u64(fps.round())).unwrap_or(u32::MAX))
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for Framerate {
    fn default() -> Framerate {
        Framerate(30)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Time;

    #[test]
    fn browser_floats_are_clamped_not_trusted() {
        assert_eq!(Time::from_millis_f64(f64::NAN), Time::ZERO);
        assert_eq!(Time::from_millis_f64(-5.0), Time::ZERO);
        assert_eq!(Time::from_millis_f64(1234.9), Time::from_millis(1234));
        assert_eq!(Millis::from_secs_f64(0.0456), Millis::from_millis(45));
        assert_eq!(Bitrate::from_bps_f64(f64::INFINITY), Bitrate::MAX);
        assert_eq!(Bitrate::from_bps_f64(-1.0), Bitrate::ZERO);
        assert_eq!(Framerate::from_f64(29.97), Framerate::fps(30));
        assert_eq!(Framerate::from_f64(f64::NAN), Framerate::MIN);
    }

    #[test]
    fn rates_from_byte_counts_and_ramps() {
        let rate = Bitrate::from_bytes_in(25_000, Millis::from_secs(1));
        assert_eq!(rate, Bitrate::kbps(200));
        assert_eq!(Bitrate::from_bytes_in(1, Millis::ZERO), Bitrate::ZERO);
        let ramp = Bitrate::kbps(25).per_second_over(Millis::from_millis(1500));
        assert_eq!(ramp, Bitrate::bps(37_500));
        assert_eq!(Bitrate::kbps(80) - Bitrate::kbps(100), Bitrate::ZERO);
        assert_eq!(
            Bitrate::bps(123_456).round_down_to(Bitrate::kbps(10)),
            Bitrate::kbps(120)
        );
    }

    #[test]
    fn clock_going_backwards_is_no_time() {
        assert_eq!(
            Time::from_millis(5).since(Time::from_millis(9)),
            Millis::ZERO
        );
        assert_eq!(
            Time::from_millis(5) + Millis::from_secs(1),
            Time::from_millis(1005)
        );
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(Bitrate::kbps(350).to_string(), "350 kb/s");
        assert_eq!(Bitrate::kbps(1200).to_string(), "1.20 Mb/s");
        assert_eq!(Bitrate::bps(999_499).to_string(), "999 kb/s");
        assert_eq!(Bitrate::bps(1_234_567).to_string(), "1.23 Mb/s");
        assert_eq!(Bitrate::bps(2_995_000).to_string(), "3.00 Mb/s");
    }
}
