//! Counters for `/metrics`, in the Prometheus text format (version 0.0.4).
//!
//! One process-wide set of atomics, so any module records an event with a one-line
//! call (`metrics::rejected(code)`, `metrics::queue_drop()`) and nothing has to be
//! threaded through. Labels come only from our own enums and `&'static str`s, never
//! from what a client sent, so the number of series stays bounded. Room and
//! participant gauges are read from the hub when scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::RwLock;
use std::time::Duration;

use nonstop_core::protocol::{ClientMsg, ErrorCode};

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A client message the server passes on to other participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relayed {
    Offer,
    Answer,
    Candidate,
    /// A `media` change, broadcast to the sender's room (counted once per message).
    Media,
}

impl Relayed {
    const ALL: [Relayed; 4] = [
        Relayed::Offer,
        Relayed::Answer,
        Relayed::Candidate,
        Relayed::Media,
    ];

    /// The kind of `msg`, if it is one the server relays.
    pub fn of(msg: &ClientMsg) -> Option<Relayed> {
        match msg {
            ClientMsg::Offer { .. } => Some(Relayed::Offer),
            ClientMsg::Answer { .. } => Some(Relayed::Answer),
            ClientMsg::Candidate { .. } => Some(Relayed::Candidate),
            ClientMsg::Media { .. } => Some(Relayed::Media),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Relayed::Offer => "offer",
            Relayed::Answer => "answer",
            Relayed::Candidate => "candidate",
            Relayed::Media => "media",
        }
    }
}

/// Upper bounds of the relay latency buckets, in microseconds (`+Inf` implied).
const BUCKETS_US: [u64; 12] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
];

/// A latency histogram: cumulative only when rendered.
#[derive(Default)]
struct Histogram {
    /// `buckets[i]`: observations in `(BUCKETS_US[i-1], BUCKETS_US[i]]`; the last
    /// slot holds those above every bound.
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let slot = BUCKETS_US.partition_point(|&bound| bound < us);
        self.buckets[slot].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }
}

/// Counters keyed by a label value from a small, fixed set (error codes, reasons).
#[derive(Default)]
struct Labeled(RwLock<BTreeMap<&'static str, AtomicU64>>);

impl Labeled {
    fn inc(&self, label: &'static str) {
        // Poisoning cannot leave a map of atomics inconsistent: carry on.
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(label) {
            n.fetch_add(1, Relaxed);
            return;
        }
        drop(map);
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.entry(label).or_default().fetch_add(1, Relaxed);
    }

    fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(k, v)| (*k, v.load(Relaxed))).collect()
    }
}

#[derive(Default)]
struct Metrics {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    relayed: [AtomicU64; Relayed::ALL.len()],
    latency: [Histogram; Relayed::ALL.len()],
    rejected: Labeled,
    refused: Labeled,
    queue_drops: AtomicU64,
    interruptions: AtomicU64,
    switches: Labeled,
    sfu_room_failures: AtomicU64,
    sfu_rooms_lost: AtomicU64,
}

fn metrics() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

/// Counts an open WebSocket connection until the returned guard is dropped.
#[must_use = "the connection counts as open while the guard lives"]
pub fn connection_opened() -> OpenConnection {
    let m = metrics();
    m.connections_open.fetch_add(1, Relaxed);
    m.connections_total.fetch_add(1, Relaxed);
    OpenConnection(())
}

/// See [`connection_opened`].
pub struct OpenConnection(());

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics().connections_open.fetch_sub(1, Relaxed);
    }
}

/// A message of kind `kind` read at `read_at` has been queued for its recipient(s).
pub fn relayed(kind: Relayed, read_at: tokio::time::Instant) {
    let m = metrics();
    m.relayed[kind as usize].fetch_add(1, Relaxed);
    m.latency[kind as usize].observe(read_at.elapsed());
}

/// A client message was refused with an `error` reply carrying `code`.
pub fn rejected(code: ErrorCode) {
    metrics().rejected.inc(code_label(code));
}

/// A connection or request was turned away before any message (over a connection
/// cap, bad origin, ...); `reason` is a short fixed identifier.
pub fn refused(reason: &'static str) {
    metrics().refused.inc(reason);
}

/// A connection was dropped because its outbound queue was full.
pub fn queue_drop() {
    metrics().queue_drops.fetch_add(1, Relaxed);
}

/// A participant's connection ended without `leave` and its room was told
/// `interrupted` (its seat held for a resume).
pub fn interrupted() {
    metrics().interruptions.fetch_add(1, Relaxed);
}

/// A call committed to `mode` (`"mesh"` or `"relayed"`).
pub fn switched(mode: &'static str) {
    metrics().switches.inc(mode);
}

pub fn sfu_room_failed() {
    metrics().sfu_room_failures.fetch_add(1, Relaxed);
}

pub fn sfu_room_lost() {
    metrics().sfu_rooms_lost.fetch_add(1, Relaxed);
}

/// The error code as it appears on the wire (`room_full`), as a label value.
fn code_label(code: ErrorCode) -> &'static str {
    // The serde name is the stable identifier; leaked once per distinct code (a
    // dozen strings at most), so the label map can hold `&'static str`.
    static NAMES: RwLock<BTreeMap<String, &'static str>> = RwLock::new(BTreeMap::new());
    let name = match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{code:?}"),
    };
    if let Some(label) = NAMES.read().unwrap_or_else(|e| e.into_inner()).get(&name) {
        return label;
    }
    let mut names = NAMES.write().unwrap_or_else(|e| e.into_inner());
    names
        .entry(name.clone())
        .or_insert_with(|| Box::leak(name.into_boxed_str()))
}

/// The whole exposition, with the room and participant counts given by the caller.
pub fn render(rooms: usize, participants: usize) -> String {
    let m = metrics();
    let mut out = String::with_capacity(4096);
    let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        );
    };
    gauge(
        &mut out,
        "nonstop_connections_open",
        "WebSocket connections open now (joined or not).",
        m.connections_open.load(Relaxed),
    );
    gauge(
        &mut out,
        "nonstop_rooms",
        "Rooms with at least one participant.",
        rooms as u64,
    );
    gauge(
        &mut out,
        "nonstop_participants",
        "Participants in rooms, including those held for a resume.",
        participants as u64,
    );
    let _ = write!(
        out,
        "# HELP nonstop_connections_total WebSocket connections accepted since start.\n\
         # TYPE nonstop_connections_total counter\n\
         nonstop_connections_total {}\n",
        m.connections_total.load(Relaxed)
    );

    out.push_str(
        "# HELP nonstop_messages_relayed_total Client messages passed on to other participants, by type.\n\
         # TYPE nonstop_messages_relayed_total counter\n",
    );
    for kind in Relayed::ALL {
        let _ = writeln!(
            out,
            "nonstop_messages_relayed_total{{type=\"{}\"}} {}",
            kind.label(),
            m.relayed[kind as usize].load(Relaxed)
        );
    }

    out.push_str(
        "# HELP nonstop_relay_latency_seconds Time from the server reading a message off the socket \
         to its copies being queued for the recipients (parsing, room lookup, queueing; not the \
         recipient's socket write).\n\
         # TYPE nonstop_relay_latency_seconds histogram\n",
    );
    for kind in Relayed::ALL {
        let h = &m.latency[kind as usize];
        let mut cumulative = 0;
        for (i, bound) in BUCKETS_US.iter().enumerate() {
            cumulative += h.buckets[i].load(Relaxed);
            let _ = writeln!(
                out,
                "nonstop_relay_latency_seconds_bucket{{type=\"{}\",le=\"{}\"}} {cumulative}",
                kind.label(),
                *bound as f64 / 1e6
            );
        }
        cumulative += h.buckets[BUCKETS_US.len()].load(Relaxed);
        let label = kind.label();
        let sum = h.sum_us.load(Relaxed) as f64 / 1e6;
        let _ = write!(
            out,
            "nonstop_relay_latency_seconds_bucket{{type=\"{label}\",le=\"+Inf\"}} {cumulative}\n\
             nonstop_relay_latency_seconds_sum{{type=\"{label}\"}} {sum}\n\
             nonstop_relay_latency_seconds_count{{type=\"{label}\"}} {cumulative}\n"
        );
    }

    labeled(
        &mut out,
        "nonstop_rejections_total",
        "Client messages refused with an error reply, by error code.",
        "code",
        &m.rejected,
    );
    labeled(
        &mut out,
        "nonstop_refusals_total",
        "Connections or requests turned away before any message, by reason.",
        "reason",
        &m.refused,
    );
    let _ = write!(
        out,
        "# HELP nonstop_queue_drops_total Connections dropped because their outbound queue was full (a client not reading).\n\
         # TYPE nonstop_queue_drops_total counter\n\
         nonstop_queue_drops_total {}\n",
        m.queue_drops.load(Relaxed)
    );
    let _ = write!(
        out,
        "# HELP nonstop_interruptions_total Participants whose connection ended without leave, announced to their room as interrupted.\n\
         # TYPE nonstop_interruptions_total counter\n\
         nonstop_interruptions_total {}\n",
        m.interruptions.load(Relaxed)
    );
    labeled(
        &mut out,
        "nonstop_topology_switches_total",
        "Calls that committed a switch of topology, by the mode switched to.",
        "mode",
        &m.switches,
    );
    let _ = write!(
        out,
        "# HELP nonstop_sfu_room_failures_total SFU rooms that could not be created (the call stayed in mesh).\n\
         # TYPE nonstop_sfu_room_failures_total counter\n\
         nonstop_sfu_room_failures_total {}\n",
        m.sfu_room_failures.load(Relaxed)
    );
    let _ = write!(
        out,
        "# HELP nonstop_sfu_rooms_lost_total SFU rooms lost during a call (the SFU died or dropped the room; the call went back to mesh).\n\
         # TYPE nonstop_sfu_rooms_lost_total counter\n\
         nonstop_sfu_rooms_lost_total {}\n",
        m.sfu_rooms_lost.load(Relaxed)
    );
    if let Some(rss) = resident_bytes() {
        gauge(
            &mut out,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            rss,
        );
    }
    out
}

fn labeled(out: &mut String, name: &str, help: &str, key: &str, counters: &Labeled) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n");
    for (label, n) in counters.snapshot() {
        let _ = writeln!(out, "{name}{{{key}=\"{label}\"}} {n}");
    }
}

/// This process's resident set size, where `/proc` tells it.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_land_in_the_right_bucket() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_micros(51));
        h.observe(Duration::from_secs(3));
        assert_eq!(h.buckets[0].load(Relaxed), 1, "a bound is inclusive");
        assert_eq!(h.buckets[1].load(Relaxed), 1);
        assert_eq!(h.buckets[BUCKETS_US.len()].load(Relaxed), 1);
    }

    #[test]
    fn error_codes_are_labelled_as_on_the_wire() {
        assert_eq!(code_label(ErrorCode::RoomFull), "room_full");
        assert!(std::ptr::eq(
            code_label(ErrorCode::RoomFull),
            code_label(ErrorCode::RoomFull)
        ));
    }

    #[test]
    fn the_exposition_has_every_family() {
        rejected(ErrorCode::Malformed);
        refused("test_reason");
        let text = render(2, 5);
        for line in [
            "nonstop_rooms 2",
            "nonstop_participants 5",
            "# TYPE nonstop_relay_latency_seconds histogram",
            "nonstop_relay_latency_seconds_bucket{type=\"offer\",le=\"+Inf\"}",
            "nonstop_rejections_total{code=\"malformed\"}",
            "nonstop_refusals_total{reason=\"test_reason\"} 1",
            "nonstop_queue_drops_total",
            "nonstop_interruptions_total",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }
}
