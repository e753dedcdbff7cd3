//! `media` state changes, coalesced: a participant's state goes to the room at most
//! once per interval, and the latest state always goes out when the interval ends.
//! A burst of toggles costs the room one or two messages, not one per toggle.

use std::time::Duration;

use nonstop_core::protocol::MediaState;
use tokio::time::Instant;

/// Shortest time between two `media` broadcasts of one participant unless
/// `--media-interval-ms` says otherwise: quick enough that a mute shows at once.
pub const DEFAULT_MEDIA_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct MediaCoalescer {
    interval: Duration,
    /// When the last state went out.
    sent_at: Option<Instant>,
    /// What the room was last told (or joined with).
    sent: Option<MediaState>,
    /// A newer state waiting for the interval to end.
    pending: Option<MediaState>,
}

impl MediaCoalescer {
    pub fn new(interval: Duration) -> Self {
        MediaCoalescer {
            interval,
            sent_at: None,
            sent: None,
            pending: None,
        }
    }

    /// The room knows `media` already (from the join or resume).
    pub fn known(&mut self, media: MediaState) {
        self.sent = Some(media);
        self.pending = None;
    }

    /// A new state from the client: `Some` if it goes to the room now; otherwise it
    /// waits for [`due`](Self::due).
    pub fn update(&mut self, media: MediaState, now: Instant) -> Option<MediaState> {
        let free = self
            .sent_at
            .is_none_or(|at| now.saturating_duration_since(at) >= self.interval);
        if free {
            self.pending = None;
            self.send(media, now)
        } else {
            self.pending = Some(media);
            None
        }
    }

    /// When the waiting state is due, if one waits.
    pub fn due(&self) -> Option<Instant> {
        self.pending?;
        Some(self.sent_at? + self.interval)
    }

    /// The waiting state, once it is due.
    pub fn flush(&mut self, now: Instant) -> Option<MediaState> {
        let media = self.pending.take()?;
        self.send(media, now)
    }

    fn send(&mut self, media: MediaState, now: Instant) -> Option<MediaState> {
        if self.sent == Some(media) {
            // Toggled back to what the room already shows: nothing to tell.
            return None;
        }
        self.sent = Some(media);
        self.sent_at = Some(now);
        Some(media)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(audio: bool) -> MediaState {
        MediaState { audio, video: true }
    }

    #[test]
    fn a_burst_goes_out_as_its_first_and_its_last_state() {
        let t0 = Instant::now();
        let mut c = MediaCoalescer::new(Duration::from_millis(200));
        c.known(state(true));
        assert_eq!(c.update(state(false), t0), Some(state(false)));
        for i in 0..300 {
            assert_eq!(c.update(state(i % 2 == 0), t0), None);
        }
        // The burst ended on "audio off" (i = 299), which the room already shows.
        let due = c.due().unwrap();
        assert_eq!(due, t0 + Duration::from_millis(200));
        assert_eq!(c.flush(due), None, "ends where the room already is");

        assert_eq!(c.update(state(true), due), Some(state(true)));
        assert_eq!(c.update(state(false), due), None);
        let due = c.due().unwrap();
        assert_eq!(c.flush(due), Some(state(false)));
        assert_eq!(c.due(), None);
    }

    #[test]
    fn unchanged_states_are_not_repeated() {
        let t0 = Instant::now();
        let mut c = MediaCoalescer::new(Duration::from_millis(200));
        c.known(state(true));
        assert_eq!(c.update(state(true), t0), None);
    }
}
