//! What one connection may send: the sender pays for its own traffic, so a flooder is
//! slowed down and then closed, never its receivers.
//!
//! Every frame costs one message and its size from the connection's budget. On top of
//! that, `media` (broadcast to the whole room) has its own stricter bucket, and each
//! target of `offer`/`answer`/`candidate` has its own, so nobody can bury one peer.
//! A frame over any limit is dropped with a `rate_limited` error; each such frame also
//! takes from a "patience" bucket, and a client that empties it (sustained abuse, not a
//! short burst) is closed.

use std::collections::HashMap;

use nonstop_core::ParticipantId;
use tokio::time::Instant;

use super::token_bucket::{Rate, TokenBucket};

/// Most peers one connection keeps a per-target bucket for; above the largest room
/// capacity anyone would set. Buckets of quiet peers are forgotten first.
const MAX_TRACKED_PEERS: usize = 1024;

/// The limits of one connection (the same for every connection of a server).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// Frames of any kind (WebSocket pings included).
    pub messages: Rate,
    /// Bytes of any kind.
    pub bytes: Rate,
    /// `media` messages, which go to the whole room.
    pub media: Rate,
    /// `chat` messages, which go to the whole room too.
    pub chat: Rate,
    /// `offer`, `answer` and `candidate` messages to one peer.
    pub messages_per_peer: Rate,
    /// Bytes of `offer`, `answer` and `candidate` to one peer.
    pub bytes_per_peer: Rate,
    /// Frames over a limit before the connection is closed.
    pub patience: Rate,
}

/// Messages per second per connection unless `--message-rate` says otherwise. A
/// joiner to a full room of 200 sends 199 offers and up to a couple of thousand
/// candidates within seconds; the burst (5 s worth) covers that. Messages cost the
/// server little beyond parsing (relays go to one peer, `media` is coalesced); the
/// byte and per-peer limits are the tight ones.
pub const DEFAULT_MESSAGE_RATE: u32 = 500;
/// Bytes per second per connection unless `--byte-rate` says otherwise; the burst is
/// 4 s worth (199 offers of 8 KB fit).
pub const DEFAULT_BYTE_RATE: u32 = 1024 * 1024;

impl RateLimits {
    /// The limits for `message_rate` frames and `byte_rate` bytes per second; the
    /// per-type and per-peer limits follow from what a browser sends.
    pub fn new(message_rate: u32, byte_rate: u32) -> Self {
        RateLimits {
            messages: Rate::per_sec_with_burst_of(message_rate.into(), 5.0),
            bytes: Rate::per_sec_with_burst_of(byte_rate.into(), 4.0),
            // Holding down the mute key repeats about 30 times a second; coalescing
            // (see `media_coalescer`) makes what gets through cheap anyway.
            media: Rate::per_sec_with_burst_of(20.0, 3.0),
            // Faster than anyone types, with room for a pasted burst; each line is
            // copied to everyone in the room.
            chat: Rate::per_sec_with_burst_of(2.0, 5.0),
            // A link's candidates (several interfaces, TURN over UDP, TCP and TLS)
            // and a renegotiation or two.
            messages_per_peer: Rate::per_sec_with_burst_of(50.0, 4.0),
            bytes_per_peer: Rate::per_sec_with_burst_of(64.0 * 1024.0, 4.0),
            patience: Rate::per_sec_with_burst_of(10.0, 10.0),
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::new(DEFAULT_MESSAGE_RATE, DEFAULT_BYTE_RATE)
    }
}

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Drop it and say `rate_limited`.
    Reject,
    /// Over the limit for too long: close the connection.
    Close,
}

/// One connection's buckets.
#[derive(Debug)]
pub struct MessageBudget {
    limits: RateLimits,
    messages: TokenBucket,
    bytes: TokenBucket,
    media: TokenBucket,
    chat: TokenBucket,
    peers: HashMap<ParticipantId, (TokenBucket, TokenBucket)>,
    patience: TokenBucket,
}

impl MessageBudget {
    pub fn new(limits: RateLimits, now: Instant) -> Self {
        MessageBudget {
            messages: TokenBucket::full(limits.messages, now),
            bytes: TokenBucket::full(limits.bytes, now),
            media: TokenBucket::full(limits.media, now),
            chat: TokenBucket::full(limits.chat, now),
            peers: HashMap::new(),
            patience: TokenBucket::full(limits.patience, now),
            limits,
        }
    }

    /// Any frame of `len` bytes, before it is parsed.
    pub fn frame(&mut self, len: usize, now: Instant) -> Verdict {
        // Both buckets are charged even if the first refuses, so that a flood of
        // small frames and one of large frames both drain what they use.
        let counted = self.messages.try_take(1.0, now);
        let sized = self.bytes.try_take(len as f64, now);
        self.verdict(counted && sized, now)
    }

    /// A `media` message (after [`frame`](Self::frame)).
    pub fn media(&mut self, now: Instant) -> Verdict {
        let ok = self.media.try_take(1.0, now);
        self.verdict(ok, now)
    }

    /// A `chat` message (after [`frame`](Self::frame)).
    pub fn chat(&mut self, now: Instant) -> Verdict {
        let ok = self.chat.try_take(1.0, now);
        self.verdict(ok, now)
    }

    /// An `offer`, `answer` or `candidate` of `len` bytes for `to` (after
    /// [`frame`](Self::frame)).
    pub fn signal(&mut self, to: ParticipantId, len: usize, now: Instant) -> Verdict {
        if self.peers.len() >= MAX_TRACKED_PEERS && !self.peers.contains_key(&to) {
            // A full bucket holds nothing worth remembering.
            self.peers
                .retain(|_, (messages, bytes)| !(messages.is_full(now) && bytes.is_full(now)));
        }
        let ok = if self.peers.len() >= MAX_TRACKED_PEERS && !self.peers.contains_key(&to) {
            // Signalling over a thousand peers at once: nobody honest does that.
            false
        } else {
            let limits = &self.limits;
            let (messages, bytes) = self.peers.entry(to).or_insert_with(|| {
                (
                    TokenBucket::full(limits.messages_per_peer, now),
                    TokenBucket::full(limits.bytes_per_peer, now),
                )
            });
            let counted = messages.try_take(1.0, now);
            let sized = bytes.try_take(len as f64, now);
            counted && sized
        };
        self.verdict(ok, now)
    }

    fn verdict(&mut self, ok: bool, now: Instant) -> Verdict {
        if ok {
            Verdict::Allow
        } else if self.patience.try_take(1.0, now) {
            Verdict::Reject
        } else {
            Verdict::Close
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_short_burst_passes_and_a_flood_is_refused_then_closed() {
        let t0 = Instant::now();
        let mut budget = MessageBudget::new(RateLimits::new(100, 1 << 20), t0);
        let verdicts: Vec<_> = (0..2_000).map(|_| budget.frame(100, t0)).collect();
        assert!(verdicts[..500].iter().all(|v| *v == Verdict::Allow));
        assert_eq!(verdicts[500], Verdict::Reject);
        assert_eq!(verdicts.last(), Some(&Verdict::Close));
        let allowed_later = (0..200)
            .map(|_| budget.frame(100, t0 + Duration::from_secs(1)))
            .filter(|v| *v == Verdict::Allow)
            .count();
        assert_eq!(allowed_later, 100, "the steady rate comes back");
    }

    #[test]
    fn big_frames_drain_the_byte_budget() {
        let t0 = Instant::now();
        let mut budget = MessageBudget::new(RateLimits::new(1_000, 64 * 1024), t0);
        let allowed = (0..10)
            .filter(|_| budget.frame(64 * 1024, t0) == Verdict::Allow)
            .count();
        assert_eq!(allowed, 4);
    }

    #[test]
    fn media_is_stricter_than_the_rest() {
        let t0 = Instant::now();
        let mut budget = MessageBudget::new(RateLimits::default(), t0);
        let allowed = (0..300)
            .filter(|_| budget.media(t0) == Verdict::Allow)
            .count();
        assert_eq!(allowed, 60);
    }

    #[test]
    fn each_peer_has_its_own_budget() {
        let t0 = Instant::now();
        let mut budget = MessageBudget::new(RateLimits::default(), t0);
        let (ada, bob) = (ParticipantId::new(1), ParticipantId::new(2));
        let to_ada = (0..300)
            .filter(|_| budget.signal(ada, 100, t0) == Verdict::Allow)
            .count();
        assert_eq!(to_ada, 200);
        assert_eq!(budget.signal(bob, 100, t0), Verdict::Allow);
    }

    #[test]
    fn spraying_many_targets_keeps_the_map_bounded() {
        let t0 = Instant::now();
        let limits = RateLimits {
            patience: Rate {
                burst: 1e9,
                per_sec: 0.0,
            },
            ..RateLimits::default()
        };
        let mut budget = MessageBudget::new(limits, t0);
        for n in 1..=5_000 {
            budget.signal(ParticipantId::new(n), 10, t0);
        }
        assert!(budget.peers.len() <= MAX_TRACKED_PEERS);
    }
}
