//! Whether a call's SFU room still carries its media, judged from periodic checks
//! (the server asks the SFU whether the room exists). Sans-IO: the server does the
//! asking and the waiting; this says when to ask next and when the room is lost.
//!
//! The rule: a room the SFU says it no longer has is lost at once (it restarted).
//! An SFU that cannot be reached is asked again soon, and the room is lost when it
//! cannot be reached twice in a row: a single slow answer must not move a call of two
//! hundred, and every second of waiting is a second of frozen video.

use crate::time::Millis;

/// How often the SFU is asked whether the room exists.
pub const CHECK_INTERVAL: Millis = Millis::from_secs(2);
/// How soon an SFU that could not be reached is asked again, to be sure.
pub const RECHECK_AFTER: Millis = Millis::from_millis(500);
/// How many unanswered checks in a row lose the room.
const UNREACHABLE_CHECKS: u32 = 2;

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfuCheck {
    /// The SFU has the room.
    Exists,
    /// The SFU answered that it does not have the room.
    Gone,
    /// The SFU could not be reached, or did not answer in time.
    Unreachable,
    /// The SFU answered with an error that says nothing about the room (a refused
    /// request, say): no conclusion, the next check is as usual.
    Inconclusive,
}

/// What to do after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfuVerdict {
    /// Check again after this long.
    CheckAfter(Millis),
    /// The room is lost: the call must go on without it.
    Lost,
}

/// The checks of one SFU room.
#[derive(Debug, Default, Clone)]
pub struct SfuWatch {
    unreachable: u32,
}

impl SfuWatch {
    /// How long to wait before the first check.
    pub fn first_check(&self) -> Millis {
        CHECK_INTERVAL
    }

    /// The result of a check, and what follows from it.
    pub fn checked(&mut self, check: SfuCheck) -> SfuVerdict {
        match check {
            SfuCheck::Gone => return SfuVerdict::Lost,
            SfuCheck::Unreachable => {
                self.unreachable += 1;
                if self.unreachable >= UNREACHABLE_CHECKS {
                    return SfuVerdict::Lost;
                }
                return SfuVerdict::CheckAfter(RECHECK_AFTER);
            }
            SfuCheck::Exists => self.unreachable = 0,
            SfuCheck::Inconclusive => {}
        }
        SfuVerdict::CheckAfter(CHECK_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_the_sfu_no_longer_has_is_lost_at_once() {
        let mut watch = SfuWatch::default();
        assert_eq!(watch.first_check(), CHECK_INTERVAL);
        assert_eq!(
            watch.checked(SfuCheck::Exists),
            SfuVerdict::CheckAfter(CHECK_INTERVAL)
        );
        assert_eq!(watch.checked(SfuCheck::Gone), SfuVerdict::Lost);
    }

    #[test]
    fn an_unreachable_sfu_is_asked_again_soon_and_lost_the_second_time() {
        let mut watch = SfuWatch::default();
        assert_eq!(
            watch.checked(SfuCheck::Unreachable),
            SfuVerdict::CheckAfter(RECHECK_AFTER)
        );
        assert_eq!(watch.checked(SfuCheck::Unreachable), SfuVerdict::Lost);
    }

    #[test]
    fn one_slow_answer_between_good_ones_loses_nothing() {
        let mut watch = SfuWatch::default();
        for _ in 0..5 {
            assert_eq!(
                watch.checked(SfuCheck::Unreachable),
                SfuVerdict::CheckAfter(RECHECK_AFTER)
            );
            assert_eq!(
                watch.checked(SfuCheck::Exists),
                SfuVerdict::CheckAfter(CHECK_INTERVAL)
            );
        }
        // An error that says nothing about the room neither loses it nor forgives an
        // unanswered check.
        assert_eq!(
            watch.checked(SfuCheck::Unreachable),
            SfuVerdict::CheckAfter(RECHECK_AFTER)
        );
        assert_eq!(
            watch.checked(SfuCheck::Inconclusive),
            SfuVerdict::CheckAfter(CHECK_INTERVAL)
        );
        assert_eq!(watch.checked(SfuCheck::Unreachable), SfuVerdict::Lost);
    }
}
