//! When to tell the signaling server what this participant's uplink carries
//! (`ClientMsg::Uplink`): the server relays a call whose mesh some uplink cannot
//! carry (`topology::needs_relay`), so a report must describe the uplink, not one
//! congestion event. A switch to the SFU costs every participant a moment of video.

use super::units::Bitrate;
use crate::time::{Millis, Time};

/// What the uplink carries is the median of the readings over this long: a dip of
/// under half of it (a key frame's burst, a busy CPU) is not what the uplink is, and an
/// uplink that keeps failing its video and probing again is what it mostly shows.
pub const REPORT_WINDOW: Millis = Millis::from_secs(10);
/// Reports come at most this often (docs/protocol.md, `uplink`)...
pub const REPORT_INTERVAL: Millis = Millis::from_secs(10);
/// ...and only once the value moved by this share of the last one.
const REPORT_CHANGE: f64 = 0.2;

/// Readings of what the uplink carries in, reports out.
#[derive(Debug, Clone, Default)]
pub struct UplinkReporter {
    /// Readings of the last [`REPORT_WINDOW`], oldest first.
    window: Vec<(Time, Bitrate)>,
    /// Since when readings have come without a gap (links added or gone start again).
    readings_since: Option<Time>,
    last_sent: Option<(Time, Bitrate)>,
}

impl UplinkReporter {
    /// A reading at `now` (`None`: nothing to read, e.g. no link sends yet); returns
    /// the value to report now, if any.
    pub fn observe(&mut self, now: Time, carries: Option<Bitrate>) -> Option<Bitrate> {
        let Some(carries) = carries else {
            self.window.clear();
            self.readings_since = None;
            return None;
        };
        let since = *self.readings_since.get_or_insert(now);
        self.window.retain(|(t, _)| now.since(*t) <= REPORT_WINDOW);
        self.window.push((now, carries));
        if now.since(since) < REPORT_WINDOW {
            return None;
        }
        let sustained = median(&self.window)?;
        let due = match self.last_sent {
            None => true,
            Some((at, last)) => {
                let moved = sustained.as_bps().abs_diff(last.as_bps()) as f64;
                now.since(at) >= REPORT_INTERVAL && moved >= last.as_bps() as f64 * REPORT_CHANGE
            }
        };
        if due {
            self.last_sent = Some((now, sustained));
            return Some(sustained);
        }
        None
    }
}

/// The reading in the middle, were they sorted (the upper one of an even count). A
/// few dozen readings: counting costs the app less code than sorting.
fn median(readings: &[(Time, Bitrate)]) -> Option<Bitrate> {
    let half = readings.len() / 2;
    readings.iter().map(|(_, b)| *b).find(|&v| {
        let below = readings.iter().filter(|(_, b)| *b < v).count();
        let above = readings.iter().filter(|(_, b)| *b > v).count();
        below <= half && above < readings.len() - half
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `kbps` every 250 ms for `secs` seconds from `*t`; returns what was reported.
    fn feed(r: &mut UplinkReporter, t: &mut u64, secs: u64, kbps: u64) -> Vec<(u64, u64)> {
        let mut sent = Vec::new();
        for _ in 0..secs * 4 {
            *t += 250;
            if let Some(b) = r.observe(Time::from_millis(*t), Some(Bitrate::kbps(kbps))) {
                sent.push((*t, b.as_bps() / 1000));
            }
        }
        sent
    }

    #[test]
    fn the_median_is_the_middle_reading() {
        let r = |kbps: &[u64]| -> Vec<(Time, Bitrate)> {
            kbps.iter()
                .map(|k| (Time::ZERO, Bitrate::kbps(*k)))
                .collect()
        };
        assert_eq!(median(&r(&[])), None);
        assert_eq!(median(&r(&[5])), Some(Bitrate::kbps(5)));
        assert_eq!(median(&r(&[9, 1, 5])), Some(Bitrate::kbps(5)));
        assert_eq!(median(&r(&[9, 1, 5, 7])), Some(Bitrate::kbps(7)));
        assert_eq!(median(&r(&[3, 3, 3, 1])), Some(Bitrate::kbps(3)));
        assert_eq!(median(&r(&[1, 1, 8, 8])), Some(Bitrate::kbps(8)));
    }

    #[test]
    fn the_first_report_comes_after_a_full_window_of_readings() {
        let mut r = UplinkReporter::default();
        let mut t = 0;
        assert_eq!(feed(&mut r, &mut t, 9, 800), vec![]);
        assert_eq!(feed(&mut r, &mut t, 2, 800), vec![(10_250, 800)]);
        assert_eq!(feed(&mut r, &mut t, 60, 800), vec![], "nothing moved");
    }

    #[test]
    fn a_dip_shorter_than_the_window_is_not_the_uplink_and_a_lasting_drop_is() {
        let mut r = UplinkReporter::default();
        let mut t = 0;
        feed(&mut r, &mut t, 20, 800);
        assert_eq!(feed(&mut r, &mut t, 4, 200), vec![], "a 4 s dip");
        feed(&mut r, &mut t, 20, 800);
        let sent = feed(&mut r, &mut t, 15, 200);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].1, 200);
        assert!(
            sent[0].0 <= t - 9_000,
            "within about half the window: {sent:?}"
        );
    }

    #[test]
    fn small_moves_are_not_reported_and_reports_are_ten_seconds_apart() {
        let mut r = UplinkReporter::default();
        let mut t = 0;
        feed(&mut r, &mut t, 11, 1000);
        assert_eq!(feed(&mut r, &mut t, 30, 1150), vec![], "15 %");
        let sent = feed(&mut r, &mut t, 60, 1500);
        assert_eq!(sent.len(), 1, "{sent:?}");
        let mut falling = Vec::new();
        for kbps in [1000, 600, 300, 150] {
            falling.extend(feed(&mut r, &mut t, 11, kbps));
        }
        assert!(falling.len() >= 3, "{falling:?}");
        for w in falling.windows(2) {
            assert!(w[1].0 - w[0].0 >= 10_000, "{falling:?}");
        }
    }

    #[test]
    fn a_gap_in_readings_starts_the_window_again() {
        let mut r = UplinkReporter::default();
        let mut t = 0;
        feed(&mut r, &mut t, 5, 800);
        assert_eq!(r.observe(Time::from_millis(t), None), None);
        assert_eq!(feed(&mut r, &mut t, 9, 800), vec![]);
        assert_eq!(feed(&mut r, &mut t, 2, 800).len(), 1);
    }
}
