//! Receiver hints: telling each remote how large we show its camera video, so that it
//! sends no more pixels than that ([`crate::adaptation`]), and nothing while hidden.
//!
//! [`hint_for`] turns a tile's place in the [`crate::layout`] into a hint; one
//! [`HintSender`] per remote participant decides when a hint goes out.

use crate::adaptation::{ReceiverHint, Resolution};
use crate::layout::Rect;
use crate::time::{Millis, Time};

/// An unchanged hint is sent again this often: the other side may have lost it (it
/// reloaded its controller, or the message was sent before its channel listened).
pub const HINT_REFRESH: Millis = Millis::from_secs(10);

/// After a failed send (the channel was not open), when to try again.
pub const HINT_RETRY: Millis = Millis::from_millis(500);

/// The hint for a camera tile at `rect` (CSS pixels; `None` when the layout does not
/// place it: hidden, another page, no room). Hidden also when the page is hidden or the
/// tile is under one CSS pixel. Sizes are in device pixels, rounded to whole multiples
/// of 8 (at least 8), so that a sub-pixel reflow is no new hint.
pub fn hint_for(rect: Option<Rect>, device_pixel_ratio: f64, page_hidden: bool) -> ReceiverHint {
    let Some(rect) = rect.filter(|_| !page_hidden) else {
        return ReceiverHint::Hidden;
    };
    // `!(x >= 1)` is also true for NaN.
    if !(rect.w >= 1.0 && rect.h >= 1.0) {
        return ReceiverHint::Hidden;
    }
    let dpr = if device_pixel_ratio.is_finite() {
        device_pixel_ratio.max(0.1)
    } else {
        1.0
    };
    // `as u32` saturates for absurd sizes.
    let px = |css: f64| {
        (((css * dpr) / 8.0).round() as u32)
            .max(1)
            .saturating_mul(8)
    };
    ReceiverHint::Shown(Resolution::new(px(rect.w), px(rect.h)))
}

/// When to send one remote participant our hint for its video: the first one at once;
/// a change only once two measurements in a row agree (a layout transition passes
/// through sizes not worth sending); the same hint again every [`HINT_REFRESH`].
///
/// Measure after every layout change and at [`next_deadline`](HintSender::next_deadline),
/// which also brings the second measurement that confirms a change.
#[derive(Debug, Clone, Default)]
pub struct HintSender {
    /// The last measurement.
    measured: Option<ReceiverHint>,
    /// The last hint sent, and when: what the other side has, as far as we know.
    sent: Option<(ReceiverHint, Time)>,
    /// What `sent` was before the last send, restored if that send failed.
    before_last: Option<(ReceiverHint, Time)>,
    /// The last measurement returned a hint to send (which may still fail).
    just_sent: bool,
    /// The last send failed: send again even if unchanged.
    retry: bool,
    /// Measure again then: to confirm a change, or to retry a failed send.
    recheck_at: Option<Time>,
}

impl HintSender {
    pub fn new() -> Self {
        Self::default()
    }

    /// A measurement at `now`; returns the hint to send now, if any.
    pub fn observe(&mut self, now: Time, hint: ReceiverHint) -> Option<ReceiverHint> {
        let agreed = self.measured.replace(hint) == Some(hint);
        let send = match self.sent {
            None => true,
            Some((sent, _)) if sent != hint => agreed,
            Some((_, at)) => self.retry || now.since(at) >= HINT_REFRESH,
        };
        self.just_sent = send;
        if send {
            self.before_last = self.sent.replace((hint, now));
            self.retry = false;
            self.recheck_at = None;
            return Some(hint);
        }
        // A change seen once: look again soon. Otherwise it is what the other side has.
        let changed = self.sent.is_some_and(|(sent, _)| sent != hint);
        self.recheck_at = changed.then_some(now + HINT_RETRY);
        None
    }

    /// The hint [`observe`](Self::observe) returned last could not be sent (the
    /// channel was not open): it goes again with the next measurement.
    pub fn sent_failed(&mut self) {
        if !std::mem::take(&mut self.just_sent) {
            return;
        }
        if let Some((_, failed_at)) = self.sent {
            self.sent = self.before_last.take();
            self.retry = true;
            self.recheck_at = Some(failed_at + HINT_RETRY);
        }
    }

    /// When to measure again even if the layout did not change: to confirm a change,
    /// to retry a failed send, or to refresh the hint sent. `None` before the first
    /// measurement.
    pub fn next_deadline(&self) -> Option<Time> {
        self.recheck_at
            .or_else(|| self.sent.map(|(_, at)| at + HINT_REFRESH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    fn shown(w: u32, h: u32) -> ReceiverHint {
        ReceiverHint::Shown(Resolution::new(w, h))
    }

    #[test]
    fn hints_from_the_layout() {
        let rect = Some(Rect::new(10.0, 20.0, 320.0, 180.0));
        assert_eq!(hint_for(rect, 1.0, false), shown(320, 184));
        assert_eq!(hint_for(rect, 2.0, false), shown(640, 360));
        assert_eq!(hint_for(rect, 1.0, true), ReceiverHint::Hidden);
        assert_eq!(hint_for(None, 1.0, false), ReceiverHint::Hidden);
        let sliver = Some(Rect::new(0.0, 0.0, 0.5, 100.0));
        assert_eq!(hint_for(sliver, 2.0, false), ReceiverHint::Hidden);
        let nan = Some(Rect::new(0.0, 0.0, f64::NAN, 100.0));
        assert_eq!(hint_for(nan, 1.0, false), ReceiverHint::Hidden);
        // Tiny but shown: at least 8 device pixels a side.
        let tiny = Some(Rect::new(0.0, 0.0, 1.0, 2.0));
        assert_eq!(hint_for(tiny, 1.0, false), shown(8, 8));
        // A sub-pixel reflow is the same hint.
        let a = hint_for(Some(Rect::new(0.0, 0.0, 400.2, 225.0)), 1.25, false);
        let b = hint_for(Some(Rect::new(0.0, 0.0, 400.9, 225.4)), 1.25, false);
        assert_eq!(a, b);
        assert_eq!(hint_for(rect, f64::NAN, false), shown(320, 184));
    }

    #[test]
    fn first_at_once_changes_when_two_agree_and_a_refresh() {
        let mut s = HintSender::new();
        assert_eq!(s.next_deadline(), None);
        assert_eq!(s.observe(t(0), shown(320, 184)), Some(shown(320, 184)));
        assert_eq!(s.observe(t(100), shown(320, 184)), None);
        // Mid-transition sizes are not sent; a second look is asked for.
        assert_eq!(s.observe(t(200), shown(400, 224)), None);
        assert_eq!(s.next_deadline(), Some(t(700)));
        assert_eq!(s.observe(t(300), shown(640, 360)), None);
        assert_eq!(s.observe(t(400), shown(640, 360)), Some(shown(640, 360)));
        assert_eq!(s.next_deadline(), Some(t(10_400)));
        assert_eq!(s.observe(t(10_000), shown(640, 360)), None);
        assert_eq!(s.observe(t(10_400), shown(640, 360)), Some(shown(640, 360)));
    }

    #[test]
    fn a_failed_send_goes_again() {
        let mut s = HintSender::new();
        assert_eq!(s.observe(t(0), shown(320, 184)), Some(shown(320, 184)));
        s.sent_failed();
        assert_eq!(s.next_deadline(), Some(t(500)));
        assert_eq!(s.observe(t(500), shown(320, 184)), Some(shown(320, 184)));
        assert_eq!(s.next_deadline(), Some(t(10_500)));
        // A failed change: retried with the next (agreeing) measurement.
        s.observe(t(1_000), ReceiverHint::Hidden);
        assert_eq!(
            s.observe(t(1_100), ReceiverHint::Hidden),
            Some(ReceiverHint::Hidden)
        );
        s.sent_failed();
        assert_eq!(s.next_deadline(), Some(t(1_600)));
        assert_eq!(
            s.observe(t(1_600), ReceiverHint::Hidden),
            Some(ReceiverHint::Hidden)
        );
        // A failure with nothing sent since is no failure to undo.
        assert_eq!(s.observe(t(1_700), ReceiverHint::Hidden), None);
        s.sent_failed();
        assert_eq!(s.observe(t(1_800), ReceiverHint::Hidden), None);
        assert_eq!(s.next_deadline(), Some(t(11_600)));
    }

    fn any_hint() -> impl Strategy<Value = ReceiverHint> {
        prop_oneof![
            Just(ReceiverHint::Hidden),
            Just(shown(320, 184)),
            Just(shown(640, 360)),
            Just(shown(1280, 720)),
        ]
    }

    proptest! {
        /// Measurements at random moments (at most a second apart, and at every
        /// deadline), some sends failing.
        #[test]
        fn debounced_and_refreshed(
            steps in proptest::collection::vec((1u64..1_000, any_hint(), any::<bool>()), 1..200)
        ) {
            let mut s = HintSender::new();
            let mut now = 0;
            let mut previous: Option<ReceiverHint> = None;
            let mut delivered: Option<(ReceiverHint, u64)> = None;
            for (gap, hint, fails) in steps {
                let at = now + gap;
                now = match s.next_deadline() {
                    Some(d) if d.as_millis() > now && d.as_millis() < at => d.as_millis(),
                    _ => at,
                };
                let out = s.observe(t(now), hint);
                if let (Some(sent), Some((had, _))) = (out, delivered) {
                    prop_assert!(
                        sent == had || previous == Some(hint),
                        "{sent:?} replaced {had:?} without two agreeing measurements"
                    );
                }
                previous = Some(hint);
                if let Some(sent) = out {
                    if fails {
                        s.sent_failed();
                    } else {
                        delivered = Some((sent, now));
                    }
                }
                if let Some(d) = s.next_deadline() {
                    prop_assert!(d.as_millis() > now, "a deadline in the past");
                }
                if let Some((had, at)) = delivered {
                    // Measured the same as it has for 10 s: sent again, on time.
                    if had == hint && now - at >= HINT_REFRESH.as_millis() {
                        prop_assert!(out.is_some(), "nothing sent for {} ms", now - at);
                    }
                }
            }
        }
    }
}
