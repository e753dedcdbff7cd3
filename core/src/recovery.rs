//! Keeping a call alive when the network misbehaves, as sans-IO policy: when to
//! restart ICE on a peer link, when to fall back to the relay only, when to give up,
//! and how long to wait before reconnecting the signaling socket. Time and the
//! jitter's seed are passed in; nothing here touches a clock or a browser.
//!
//! - [`LinkRecovery`]: one peer link. Feed it the connection state
//!   ([`LinkRecovery::on_state`]) and poll it at or after [`LinkRecovery::next_deadline`].
//! - [`Backoff`]: exponential backoff with jitter, e.g. for the signaling reconnect.

use crate::time::{Millis, Time};

/// A tiny deterministic generator (xorshift64*) for jitter: the caller seeds it, so
/// tests are reproducible and two browsers seeded differently spread their retries.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        // Scrambled (splitmix64) so nearby seeds give unrelated sequences; never zero,
        // xorshift's one fixed point.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Jitter((z ^ (z >> 31)) | 1)
    }

    /// A fraction in [0, 1).
    pub fn next_fraction(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Exponential backoff: `base`, `2·base`, `4·base`, … up to `max`, each stretched by a
/// random 0–50 % so that many clients do not retry in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Millis,
    max: Millis,
    attempt: u32,
    jitter: Jitter,
}

impl Backoff {
    pub fn new(base: Millis, max: Millis, seed: u64) -> Backoff {
        Backoff {
            base,
            max: max.max(base),
            attempt: 0,
            jitter: Jitter::new(seed),
        }
    }

    /// The wait before the next attempt; each call counts one attempt.
    pub fn next_delay(&mut self) -> Millis {
        let doublings = self.attempt.min(20);
        self.attempt = self.attempt.saturating_add(1);
        let plain = self
            .base
            .as_millis()
            .saturating_mul(1u64 << doublings)
            .min(self.max.as_millis());
        let stretch = 1.0 + 0.5 * self.jitter.next_fraction();
        Millis::from_millis((plain as f64 * stretch) as u64)
    }

    /// Attempts so far (since the last [`reset`](Self::reset)).
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// After a success: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// A peer connection's state as recovery sees it (`RTCPeerConnection.connectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkCondition {
    /// `new` or `connecting`.
    Connecting,
    Connected,
    Disconnected,
    Failed,
}

/// Whether a link must be made anew rather than restarted: its connection failed
/// while ICE works (`ice`: `iceConnectionState`), so DTLS is what failed. Firefox fails
/// DTLS along with ICE (when an interface goes down, say), and an ICE restart does not
/// bring it back; only a new connection does.
pub fn needs_new_connection(condition: Option<LinkCondition>, ice: &str) -> bool {
    condition == Some(LinkCondition::Failed) && matches!(ice, "connected" | "completed")
}

/// What to do to a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryAction {
    /// `restartIce()`: new ICE credentials and candidates, through the usual negotiation.
    RestartIce,
    /// Switch to `iceTransportPolicy: "relay"` (TURN only), then restart ICE.
    RestartIceRelayOnly,
    /// Nothing worked; stop trying and say so.
    GiveUp,
}

/// Timings of [`LinkRecovery`].
#[derive(Debug, Clone)]
pub struct RecoveryConfig {
    /// How long `disconnected` may last before a restart (browsers often recover by
    /// themselves from a short blip).
    pub disconnected_grace: Millis,
    /// How long a restart gets to reach `connected` before the next attempt.
    pub attempt_timeout: Millis,
    /// Backoff between attempts (base and cap).
    pub backoff_base: Millis,
    pub backoff_max: Millis,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Extra wait for the side that does not initiate (the older participant): the
    /// initiator restarts first, and the other only steps in if that did not happen.
    pub responder_delay: Millis,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            disconnected_grace: Millis::from_millis(2_500),
            attempt_timeout: Millis::from_secs(8),
            backoff_base: Millis::from_secs(1),
            backoff_max: Millis::from_secs(15),
            max_attempts: 8,
            responder_delay: Millis::from_secs(6),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Connected, or connecting for the first time: nothing to do.
    Calm,
    /// Trouble seen; act at `at` unless it clears.
    Waiting {
        at: Time,
    },
    /// A restart is under way; the next attempt at `at` if not connected by then.
    Restarting {
        at: Time,
    },
    GaveUp,
}

/// Recovery policy for one peer link.
///
/// Only the initiator of the link (see [`crate::negotiation::Role`]) restarts at
/// once; the other side waits [`RecoveryConfig::responder_delay`] longer, so normally
/// one side restarts and perfect negotiation carries the other along; if both do,
/// perfect negotiation resolves the glare. The first attempt is a plain ICE restart;
/// from the second on, if a relay is configured, the link goes relay-only.
#[derive(Debug, Clone)]
pub struct LinkRecovery {
    config: RecoveryConfig,
    initiator: bool,
    relay_available: bool,
    relay_only: bool,
    attempts: u32,
    phase: Phase,
    backoff: Backoff,
}

impl LinkRecovery {
    pub fn new(config: RecoveryConfig, initiator: bool, relay_available: bool, seed: u64) -> Self {
        let backoff = Backoff::new(config.backoff_base, config.backoff_max, seed);
        LinkRecovery {
            config,
            initiator,
            relay_available,
            relay_only: false,
            attempts: 0,
            phase: Phase::Calm,
            backoff,
        }
    }

    /// Whether TURN servers are configured (relay-only makes sense).
    pub fn set_relay_available(&mut self, available: bool) {
        self.relay_available = available;
    }

    /// Whether the link was switched to the relay only.
    pub fn relay_only(&self) -> bool {
        self.relay_only
    }

    /// Whether a restart is being waited for or under way (the tile says "Reconnecting…").
    pub fn recovering(&self) -> bool {
        matches!(self.phase, Phase::Waiting { .. } | Phase::Restarting { .. })
    }

    pub fn gave_up(&self) -> bool {
        self.phase == Phase::GaveUp
    }

    /// The link's connection state changed (or was sampled) at `now`.
    pub fn on_state(&mut self, now: Time, condition: LinkCondition) {
        let delay = if self.initiator {
            Millis::ZERO
        } else {
            self.config.responder_delay
        };
        match (self.phase, condition) {
            (_, LinkCondition::Connected) => {
                self.phase = Phase::Calm;
                self.attempts = 0;
                self.backoff.reset();
            }
            (Phase::GaveUp, _) | (_, LinkCondition::Connecting) => {}
            (Phase::Calm, LinkCondition::Disconnected) => {
                self.phase = Phase::Waiting {
                    at: now + self.config.disconnected_grace + delay,
                };
            }
            (Phase::Calm, LinkCondition::Failed) => {
                self.phase = Phase::Waiting { at: now + delay };
            }
            (Phase::Waiting { at }, LinkCondition::Failed) => {
                // Failed is final: no need to wait out the disconnected grace.
                self.phase = Phase::Waiting {
                    at: at.min(now + delay),
                };
            }
            (Phase::Waiting { .. } | Phase::Restarting { .. }, LinkCondition::Disconnected)
            | (Phase::Restarting { .. }, LinkCondition::Failed) => {}
        }
    }

    /// When [`poll`](Self::poll) next has something to say.
    pub fn next_deadline(&self) -> Option<Time> {
        match self.phase {
            Phase::Waiting { at } | Phase::Restarting { at } => Some(at),
            Phase::Calm | Phase::GaveUp => None,
        }
    }

    /// What to do now, if anything.
    pub fn poll(&mut self, now: Time) -> Option<RecoveryAction> {
        let at = self.next_deadline()?;
        if now < at {
            return None;
        }
        if self.attempts >= self.config.max_attempts {
            self.phase = Phase::GaveUp;
            return Some(RecoveryAction::GiveUp);
        }
        self.attempts += 1;
        let action = if self.attempts >= 2 && self.relay_available && !self.relay_only {
            self.relay_only = true;
            RecoveryAction::RestartIceRelayOnly
        } else {
            RecoveryAction::RestartIce
        };
        self.phase = Phase::Restarting {
            at: now + self.config.attempt_timeout + self.backoff.next_delay(),
        };
        Some(action)
    }
}

/// Notices a link whose media stopped arriving before the browser says so: ICE
/// consent checks take several seconds to call a path `disconnected`, and until then
/// the picture would just freeze with no explanation. Fed the link's total of
/// received RTP packets (audio and video) at each check.
///
/// A link only counts as stalled after media has flowed on it: a participant who sends
/// nothing at all (no camera, no microphone) is not mistaken for a broken link. A muted
/// microphone still sends packets (silence), so muting does not look like a stall.
#[derive(Debug, Clone, Default)]
pub struct InboundWatch {
    last_total: Option<u64>,
    last_growth: Option<Time>,
}

/// How long without a single inbound packet before a flowing link counts as stalled.
pub const STALL_AFTER: Millis = Millis::from_millis(2_000);

impl InboundWatch {
    /// Records the packet total read at `now`; returns whether the link is stalled.
    pub fn observe(&mut self, now: Time, packets_received: u64) -> bool {
        let grew = self.last_total.is_some_and(|last| packets_received > last);
        if grew || (self.last_total.is_none() && packets_received > 0) {
            self.last_growth = Some(now);
        }
        self.last_total = Some(packets_received);
        self.stalled(now)
    }

    pub fn stalled(&self, now: Time) -> bool {
        self.last_growth
            .is_some_and(|at| now.since(at) > STALL_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    fn recovery(initiator: bool, relay: bool) -> LinkRecovery {
        LinkRecovery::new(RecoveryConfig::default(), initiator, relay, 7)
    }

    /// Polls every 100 ms from `from` to `to`, collecting (time, action).
    fn run(r: &mut LinkRecovery, from: u64, to: u64) -> Vec<(u64, RecoveryAction)> {
        (from..=to)
            .step_by(100)
            .filter_map(|ms| r.poll(t(ms)).map(|a| (ms, a)))
            .collect()
    }

    #[test]
    fn a_short_blip_needs_nothing() {
        let mut r = recovery(true, true);
        r.on_state(t(0), LinkCondition::Connected);
        r.on_state(t(1_000), LinkCondition::Disconnected);
        assert!(r.recovering());
        assert!(run(&mut r, 1_000, 3_000).is_empty());
        r.on_state(t(3_000), LinkCondition::Connected);
        assert!(!r.recovering());
        assert!(run(&mut r, 3_000, 60_000).is_empty());
    }

    #[test]
    fn a_long_disconnect_restarts_ice_then_goes_relay_only_with_growing_waits() {
        let mut r = recovery(true, true);
        r.on_state(t(0), LinkCondition::Connected);
        r.on_state(t(1_000), LinkCondition::Disconnected);
        let actions = run(&mut r, 1_000, 40_000);
        assert_eq!(actions[0], (3_500, RecoveryAction::RestartIce));
        assert_eq!(actions[1].1, RecoveryAction::RestartIceRelayOnly);
        assert!(actions[2..]
            .iter()
            .all(|(_, a)| *a == RecoveryAction::RestartIce));
        let gaps: Vec<u64> = actions.windows(2).map(|w| w[1].0 - w[0].0).collect();
        // attempt timeout (8 s) plus a backoff of 1, 2, 4 s… each stretched by up to 50 %.
        assert!((9_000..=9_600).contains(&gaps[0]), "{gaps:?}");
        assert!(gaps.windows(2).all(|w| w[1] >= w[0]), "{gaps:?}");
        assert!(r.relay_only());
    }

    #[test]
    fn failed_acts_at_once_and_recovery_resets_after_success() {
        let mut r = recovery(true, false);
        r.on_state(t(0), LinkCondition::Failed);
        assert_eq!(r.poll(t(0)), Some(RecoveryAction::RestartIce));
        // No relay configured: later attempts stay plain restarts.
        let next = run(&mut r, 100, 10_000);
        assert_eq!(next.len(), 1, "{next:?}");
        assert!((9_000..=9_500).contains(&next[0].0), "{next:?}");
        assert_eq!(next[0].1, RecoveryAction::RestartIce);
        r.on_state(t(12_000), LinkCondition::Connected);
        r.on_state(t(20_000), LinkCondition::Failed);
        assert_eq!(r.poll(t(20_000)), Some(RecoveryAction::RestartIce));
        assert!(!r.relay_only());
    }

    #[test]
    fn the_responder_waits_for_the_initiator() {
        let mut r = recovery(false, true);
        r.on_state(t(0), LinkCondition::Connected);
        r.on_state(t(0), LinkCondition::Disconnected);
        let actions = run(&mut r, 0, 9_000);
        assert_eq!(actions, [(8_500, RecoveryAction::RestartIce)]);
        // The initiator's restart worked before that: nothing.
        let mut r = recovery(false, true);
        r.on_state(t(0), LinkCondition::Disconnected);
        r.on_state(t(4_000), LinkCondition::Connected);
        assert!(run(&mut r, 0, 20_000).is_empty());
    }

    #[test]
    fn it_gives_up_after_the_last_attempt_and_stays_quiet() {
        let config = RecoveryConfig {
            max_attempts: 3,
            ..RecoveryConfig::default()
        };
        let mut r = LinkRecovery::new(config, true, true, 1);
        r.on_state(t(0), LinkCondition::Failed);
        let actions = run(&mut r, 0, 120_000);
        assert_eq!(actions.len(), 4);
        assert_eq!(actions[3].1, RecoveryAction::GiveUp);
        assert!(r.gave_up());
        r.on_state(t(130_000), LinkCondition::Failed);
        assert!(run(&mut r, 130_000, 200_000).is_empty());
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_bounded_jitter_and_differs_by_seed() {
        let mut b = Backoff::new(Millis::from_millis(500), Millis::from_secs(8), 42);
        let delays: Vec<u64> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        for (i, d) in delays.iter().enumerate() {
            let plain = (500u64 << i.min(20)).min(8_000);
            assert!(
                (plain..=plain * 3 / 2).contains(d),
                "attempt {i}: {d} vs {plain}"
            );
        }
        assert_eq!(b.attempts(), 8);
        b.reset();
        assert!(b.next_delay().as_millis() <= 750);
        let mut other = Backoff::new(Millis::from_millis(500), Millis::from_secs(8), 43);
        let theirs: Vec<u64> = (0..8).map(|_| other.next_delay().as_millis()).collect();
        assert_ne!(delays, theirs, "different seeds spread the retries");
        let mut again = Backoff::new(Millis::from_millis(500), Millis::from_secs(8), 42);
        let same: Vec<u64> = (0..8).map(|_| again.next_delay().as_millis()).collect();
        assert_eq!(delays, same, "the same seed repeats");
    }

    #[test]
    fn a_link_whose_packets_stop_counts_as_stalled_until_they_return() {
        let t = Time::from_millis;
        let mut w = InboundWatch::default();
        assert!(!w.observe(t(0), 0), "nothing flowed yet");
        assert!(
            !w.observe(t(5_000), 0),
            "a peer that sends nothing is not stalled"
        );
        assert!(!w.observe(t(5_500), 40));
        assert!(!w.observe(t(6_000), 65));
        assert!(
            !w.observe(t(7_500), 65),
            "1.5 s without packets is within the allowance"
        );
        assert!(w.observe(t(8_100), 65), "more than 2 s without packets");
        assert!(!w.observe(t(8_600), 70), "packets again: recovered");
    }

    #[test]
    fn only_a_connection_failed_with_ice_working_is_made_anew() {
        use LinkCondition::*;
        assert!(needs_new_connection(Some(Failed), "connected"));
        assert!(needs_new_connection(Some(Failed), "completed"));
        // ICE failed too: ICE restarts (and the relay) are the way back.
        assert!(!needs_new_connection(Some(Failed), "failed"));
        assert!(!needs_new_connection(Some(Failed), "disconnected"));
        assert!(!needs_new_connection(Some(Connected), "connected"));
        assert!(!needs_new_connection(None, "connected"));
    }
}
