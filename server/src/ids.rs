//! Participant ids that never repeat across server runs.
//!
//! An id is `epoch << COUNTER_BITS | counter`, at most 2^53 − 1 so JavaScript reads it
//! exactly. The epoch is the run's start time in ticks of [`TICK_MS`] (125 ms) since
//! 2025-01-01 (33 bits: good until 2059); the counter starts at a random offset below
//! 2^19 and counts up, so a run has at least 2^19 (half a million) ids before it moves
//! to a later epoch (the current tick, by then long after its start). The server hands
//! out no id before its start tick is over ([`IdGen::ready_in`]), so any run started
//! after another has handed out ids has a larger epoch.
//!
//! What this gives:
//! - ids grow with join order, within a run and across runs (a later run has a later
//!   epoch), which "oldest first" lists and [`nonstop_core::negotiation::Role`] rely on;
//!   participants resumed from an earlier run keep their smaller ids and sort first;
//! - a token from an earlier run names an id of an earlier epoch, never one this run
//!   hands out;
//! - the next id cannot be guessed from an id seen in an earlier run (random offset).

/// Low bits: the counter within one epoch.
pub const COUNTER_BITS: u32 = 20;
/// High bits: ticks since [`EPOCH_BASE_UNIX`].
pub const EPOCH_BITS: u32 = 53 - COUNTER_BITS;
/// 2025-01-01T00:00:00Z.
pub const EPOCH_BASE_UNIX: u64 = 1_735_689_600;
/// The epoch's unit, in milliseconds.
pub const TICK_MS: u64 = 125;

const COUNTER_LIMIT: u64 = 1 << COUNTER_BITS;
/// Random start offsets stay below this, leaving at least as many ids again.
const OFFSET_LIMIT: u64 = 1 << (COUNTER_BITS - 1);
/// Largest epoch that fits.
const EPOCH_MAX: u64 = (1 << EPOCH_BITS) - 1;

/// Hands out this run's ids.
#[derive(Debug, Clone)]
pub struct IdGen {
    epoch: u64,
    counter: u64,
    /// Where to read the time (Unix milliseconds) when the epoch runs out (`None`: a
    /// test's fixed sequence, which just moves to the next epoch).
    clock: Option<fn() -> u64>,
}

/// Unix time in milliseconds (0 for a clock before 1970).
fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl IdGen {
    /// For a server run: epoch from the current time, random counter offset.
    pub fn for_this_run() -> IdGen {
        let mut offset = [0u8; 8];
        // The OS random source failing is not something to serve meetings through.
        getrandom::fill(&mut offset).expect("the OS random source works");
        IdGen {
            epoch: epoch_of(unix_millis()),
            counter: u64::from_le_bytes(offset) % OFFSET_LIMIT,
            clock: Some(unix_millis),
        }
        .skip_zero()
    }

    /// How long until this run's start tick is over: the server waits that long (at
    /// most [`TICK_MS`]) before it accepts anyone, so that a run started later (even
    /// right after a crash) has a later epoch.
    pub fn ready_in(&self) -> std::time::Duration {
        let end = (EPOCH_BASE_UNIX * 1000).saturating_add((self.epoch + 1) * TICK_MS);
        std::time::Duration::from_millis(end.saturating_sub(unix_millis()).min(TICK_MS))
    }

    /// 1, 2, 3, … (tests and tools that want readable ids).
    pub fn sequential(first: u64) -> IdGen {
        let first = first.max(1);
        IdGen {
            epoch: first >> COUNTER_BITS,
            counter: first & (COUNTER_LIMIT - 1),
            clock: None,
        }
    }

    /// With a given epoch and counter offset (tests).
    pub fn at(epoch: u64, counter: u64) -> IdGen {
        IdGen {
            epoch: epoch.min(EPOCH_MAX),
            counter: counter % COUNTER_LIMIT,
            clock: None,
        }
        .skip_zero()
    }

    /// The next id: larger than every id handed out before.
    pub fn next_id(&mut self) -> u64 {
        if self.counter >= COUNTER_LIMIT {
            let now = self.clock.map_or(0, |c| epoch_of(c()));
            self.epoch = now.max(self.epoch + 1).min(EPOCH_MAX);
            self.counter = 0;
        }
        let id = self.epoch << COUNTER_BITS | self.counter;
        self.counter += 1;
        id
    }

    /// An id re-admitted from elsewhere (a resume after a restart): if it lies in this
    /// run's epoch ahead of the counter, later ids go above it.
    pub fn observe(&mut self, id: u64) {
        if id >> COUNTER_BITS == self.epoch {
            self.counter = self.counter.max((id & (COUNTER_LIMIT - 1)) + 1);
        }
    }

    /// The epoch of this run's ids (tests).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Id 0 is never handed out.
    fn skip_zero(mut self) -> IdGen {
        if self.epoch == 0 && self.counter == 0 {
            self.counter = 1;
        }
        self
    }
}

/// Ticks since [`EPOCH_BASE_UNIX`] at Unix time `unix_ms`, clamped to what fits.
pub fn epoch_of(unix_ms: u64) -> u64 {
    (unix_ms.saturating_sub(EPOCH_BASE_UNIX * 1000) / TICK_MS).min(EPOCH_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JS_MAX_SAFE: u64 = (1 << 53) - 1;

    #[test]
    fn ids_fit_javascript_numbers_and_grow() {
        let mut ids = IdGen::for_this_run();
        let a = ids.next_id();
        let b = ids.next_id();
        assert!(a < b && b <= JS_MAX_SAFE, "{a} {b}");
        let mut last = IdGen::at(EPOCH_MAX, COUNTER_LIMIT - 2);
        assert_eq!(last.next_id(), JS_MAX_SAFE - 1);
        assert_eq!(last.next_id(), JS_MAX_SAFE);
        assert!(
            last.next_id() <= JS_MAX_SAFE,
            "clamped, never above 2^53 - 1"
        );
    }

    #[test]
    fn a_later_run_hands_out_ids_above_every_earlier_one() {
        // The earlier run started at tick 1000 and handed out half a million ids.
        let mut earlier = IdGen::at(1000, OFFSET_LIMIT - 1);
        let mut last = 0;
        for _ in 0..500_000 {
            last = earlier.next_id();
        }
        // A run started one tick later, at the worst random offset (0).
        let mut later = IdGen::at(1001, 0);
        assert!(later.next_id() > last);
    }

    #[test]
    fn running_out_of_counter_moves_to_a_later_epoch() {
        let mut ids = IdGen::at(7, COUNTER_LIMIT - 1);
        let a = ids.next_id();
        let b = ids.next_id();
        assert_eq!(a >> COUNTER_BITS, 7);
        assert_eq!(b >> COUNTER_BITS, 8);
        assert!(b > a);
        let mut now = IdGen {
            clock: Some(|| (EPOCH_BASE_UNIX + 5000) * 1000),
            ..IdGen::at(7, COUNTER_LIMIT - 1)
        };
        now.next_id();
        assert_eq!(
            now.next_id() >> COUNTER_BITS,
            5000 * 1000 / TICK_MS,
            "jumps to the current time"
        );
    }

    #[test]
    fn runs_have_random_offsets() {
        let offsets: std::collections::HashSet<u64> = (0..8)
            .map(|_| IdGen::for_this_run().next_id() & (COUNTER_LIMIT - 1))
            .collect();
        assert!(offsets.len() > 1, "{offsets:?}");
        let run = IdGen::for_this_run();
        assert!(run.epoch() > 0 && run.epoch() < EPOCH_MAX);
        assert!(run.ready_in() <= std::time::Duration::from_millis(TICK_MS));
    }

    #[test]
    fn readmitted_ids_of_this_epoch_push_the_counter() {
        let mut ids = IdGen::at(5, 10);
        ids.observe(5 << COUNTER_BITS | 20);
        assert_eq!(ids.next_id(), 5 << COUNTER_BITS | 21);
        ids.observe(4 << COUNTER_BITS | 900);
        assert_eq!(
            ids.next_id(),
            5 << COUNTER_BITS | 22,
            "earlier epochs change nothing"
        );
    }

    #[test]
    fn sequential_counts_from_its_start() {
        let mut ids = IdGen::sequential(1);
        assert_eq!((ids.next_id(), ids.next_id(), ids.next_id()), (1, 2, 3));
        assert_eq!(IdGen::sequential(1000).next_id(), 1000);
    }
}
