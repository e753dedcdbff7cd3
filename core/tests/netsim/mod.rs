//! A seeded, fluid-model network that drives the adaptation controller faster than
//! real time: one participant's links, each through the participant's uplink queue
//! (shared) and then its own path queue, both drop-tail. Loss appears above capacity
//! and RTT rises as the queues fill, as on a real bottleneck.
//!
//! One line per condition: a scenario is a list of links and a function from time to
//! capacities.

#![allow(dead_code)] // each test file uses a different part

pub mod harness;

use nonstop_core::adaptation::{
    Bitrate, Config, Controller, Millis, ReceiverHint, Resolution, SendParams, StatsSample, Time,
};

/// splitmix64: tiny, seeded, good enough for noise.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A drop-tail bottleneck, as fluid: bits in, bits out at `capacity`, bits dropped
/// when the backlog would exceed `max_delay` worth of capacity.
struct Queue {
    backlog: f64,
}

impl Queue {
    /// Returns per flow (bits out, bits dropped) for one tick of `dt` seconds.
    fn step(
        &mut self,
        capacity: f64,
        max_delay: f64,
        arrivals: &[f64],
        dt: f64,
    ) -> Vec<(f64, f64)> {
        let total: f64 = arrivals.iter().sum();
        let limit = capacity * max_delay;
        let mut backlog = self.backlog + total;
        let dropped = (backlog - capacity * dt - limit).max(0.0);
        backlog -= dropped;
        let out = backlog.min(capacity * dt);
        self.backlog = backlog - out;
        arrivals
            .iter()
            .map(|a| {
                let share = if total > 0.0 { a / total } else { 0.0 };
                (out * share, dropped * share)
            })
            .collect()
    }

    fn delay(&self, capacity: f64) -> f64 {
        if capacity > 0.0 {
            self.backlog / capacity
        } else {
            1.0
        }
    }
}

pub struct LinkSpec {
    pub name: &'static str,
    pub base_rtt_ms: u64,
    /// Random loss on the path, independent of the rate (wifi, line noise).
    pub random_loss: f64,
    pub hint: ReceiverHint,
    /// When in each second this link's stats are read, a multiple of the 20 ms tick
    /// (links read at different moments exercise the controller's shared-congestion
    /// vote).
    pub sample_offset_ms: u64,
}

impl LinkSpec {
    pub fn new(name: &'static str, base_rtt_ms: u64, tile: (u32, u32)) -> LinkSpec {
        LinkSpec {
            name,
            base_rtt_ms,
            random_loss: 0.0,
            hint: ReceiverHint::Shown(Resolution::new(tile.0, tile.1)),
            sample_offset_ms: 0,
        }
    }
}

/// Capacities at one moment, bits per second.
pub struct Capacities {
    pub uplink: f64,
    pub paths: Vec<f64>,
}

pub struct Scenario {
    pub links: Vec<LinkSpec>,
    pub seconds: u64,
    pub capacity: Box<dyn Fn(f64) -> Capacities>,
    /// Model Chromium's `availableOutgoingBitrate` (Firefox reports none).
    pub browser_estimate: bool,
    /// (link, from, to, bits per second): meanwhile that link's browser estimate reads
    /// at most this, as GCC's loss-based estimate does for a while after a path is
    /// suddenly capped.
    pub estimate_dip: Option<(usize, f64, f64, f64)>,
    /// How the encoder follows its cap.
    pub encoder: Encoder,
    pub seed: u64,
}

/// How the simulated encoder follows `maxBitrate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoder {
    /// Within a few hundred milliseconds, whatever the cap (Chromium).
    #[default]
    FollowsCap,
    /// Never below a floor per picture size, whatever the cap: Firefox's VP8 has a
    /// minimum of 100 kb/s from 176×144 up (40 kb/s below) and was measured sending
    /// 100 to 140 kb/s at 320×180 with its cap at 60 to 80.
    Floors,
}

impl Encoder {
    /// The least this encoder sends at `short_side`, bits per second.
    fn floor(self, short_side: f64) -> f64 {
        match self {
            Encoder::FollowsCap => 0.0,
            Encoder::Floors if short_side >= 144.0 => 130_000.0,
            Encoder::Floors => 40_000.0,
        }
    }
}

/// One link over one second.
#[derive(Debug, Clone, Copy)]
pub struct Second {
    /// Bits per second put on the wire, audio and video.
    pub sent: f64,
    pub delivered: f64,
    /// Bits per second of audio put on the wire.
    pub audio_sent: f64,
    pub loss: f64,
    pub rtt_ms: f64,
    /// RTT above the path's base: time spent in queues.
    pub queue_ms: f64,
    pub params: SendParams,
}

pub struct Run {
    /// `seconds[link][t]`.
    pub seconds: Vec<Vec<Second>>,
    /// (time in seconds, link) of each `setParameters`.
    pub changes: Vec<(f64, usize)>,
    /// Uplink estimate and the summed cost of all links' parameters, after each poll.
    pub budget_checks: Vec<(Bitrate, Bitrate)>,
}

const TICK: f64 = 0.02;
const UPLINK_QUEUE_S: f64 = 0.25;
const PATH_QUEUE_S: f64 = 0.30;
/// Encoders follow a new target within a few hundred milliseconds.
const ENCODER_LAG_S: f64 = 0.3;

struct Sender {
    params: SendParams,
    video_rate: f64,
    bytes_sent: u64,
    interval_offered: f64,
    interval_dropped: f64,
    sec: Second,
}

pub fn run(scenario: &Scenario) -> Run {
    let n = scenario.links.len();
    let mut rng = Rng::new(scenario.seed);
    let mut ctl: Controller<usize> = Controller::new(Config {
        watch_encoder_floors: scenario.encoder == Encoder::Floors,
        ..Config::default()
    });
    let overhead = ctl.config().audio_overhead;
    for (i, spec) in scenario.links.iter().enumerate() {
        ctl.add_link(Time::ZERO, i);
        ctl.set_hint(Time::ZERO, i, spec.hint);
    }
    let mut senders: Vec<Sender> = Vec::new();
    let mut changes = Vec::new();
    let mut budget_checks = Vec::new();
    let first = ctl.poll(Time::ZERO);
    for (i, (_, d)) in first.iter().enumerate() {
        let params = d.send.expect("every new link gets parameters");
        assert_eq!(first[i].0, i);
        let empty = Second {
            sent: 0.0,
            delivered: 0.0,
            audio_sent: 0.0,
            loss: 0.0,
            rtt_ms: 0.0,
            queue_ms: 0.0,
            params,
        };
        senders.push(Sender {
            params,
            video_rate: 0.0,
            bytes_sent: 0,
            interval_offered: 0.0,
            interval_dropped: 0.0,
            sec: empty,
        });
    }
    let mut uplink = Queue { backlog: 0.0 };
    let mut paths: Vec<Queue> = (0..n).map(|_| Queue { backlog: 0.0 }).collect();
    let mut seconds: Vec<Vec<Second>> = vec![Vec::new(); n];
    let ticks = (scenario.seconds as f64 / TICK).round() as u64;
    for tick in 1..=ticks {
        let t = tick as f64 * TICK;
        let now = Time::from_millis((t * 1000.0).round() as u64);
        let caps = (scenario.capacity)(t);
        // Senders put bits on the wire.
        let mut wire = Vec::with_capacity(n);
        for s in senders.iter_mut() {
            let target = if s.params.video.active {
                let short_side = 720.0 / s.params.video.scale_resolution_down_by;
                (s.params.video.max_bitrate.as_bps() as f64).max(scenario.encoder.floor(short_side))
            } else {
                0.0
            };
            s.video_rate += (target - s.video_rate) * (TICK / ENCODER_LAG_S).min(1.0);
            let video = s.video_rate * (0.9 + 0.1 * rng.unit());
            let audio = s.params.audio.max_bitrate.as_bps() as f64;
            let bits = (video + audio + overhead.as_bps() as f64) * TICK;
            s.bytes_sent += ((video + audio) * TICK / 8.0) as u64;
            s.sec.sent += bits;
            s.sec.audio_sent += (audio + overhead.as_bps() as f64) * TICK;
            wire.push(bits);
        }
        // Through the shared uplink, then each path.
        let up = uplink.step(caps.uplink, UPLINK_QUEUE_S, &wire, TICK);
        for i in 0..n {
            let (out, drop1) = up[i];
            let (through, drop2) = paths[i].step(caps.paths[i], PATH_QUEUE_S, &[out], TICK)[0];
            let noise = through * scenario.links[i].random_loss;
            let s = &mut senders[i];
            s.interval_offered += wire[i];
            s.interval_dropped += drop1 + drop2 + noise;
            s.sec.delivered += through - noise;
        }
        // Stats, read at each link's moment in the second.
        let ms = (t * 1000.0).round() as u64;
        let mut sampled = false;
        for i in 0..n {
            if ms % 1000 != scenario.links[i].sample_offset_ms {
                continue;
            }
            let queue_s = uplink.delay(caps.uplink) + paths[i].delay(caps.paths[i]);
            let rtt_ms = scenario.links[i].base_rtt_ms as f64 + queue_s * 1000.0 + 4.0 * rng.unit();
            let s = &mut senders[i];
            let loss = if s.interval_offered > 0.0 {
                s.interval_dropped / s.interval_offered
            } else {
                0.0
            };
            let scale = s.params.video.scale_resolution_down_by;
            let sample = StatsSample {
                // Like GCC: near the path's share of capacity, and at most 1.5 times
                // what was sent (it cannot see further without probing).
                available_outgoing_bitrate: scenario.browser_estimate.then(|| {
                    let share = caps.paths[i].min(caps.uplink / n as f64);
                    let sent_rate = s.interval_offered; // bits in the last second
                    let dip = match scenario.estimate_dip {
                        Some((link, from, to, bps)) if link == i && (from..to).contains(&t) => bps,
                        _ => f64::INFINITY,
                    };
                    Bitrate::from_bps_f64(
                        (1.5 * sent_rate + 10_000.0)
                            .min(share * (0.9 + 0.1 * rng.unit()))
                            .min(dip),
                    )
                }),
                rtt: Some(Millis::from_millis_f64(rtt_ms)),
                fraction_lost: Some(loss),
                bytes_sent: Some(s.bytes_sent),
                frame_size: s
                    .params
                    .video
                    .active
                    .then(|| Resolution::new((1280.0 / scale) as u32, (720.0 / scale) as u32)),
                ..StatsSample::default()
            };
            ctl.handle_sample(now, i, sample);
            s.interval_offered = 0.0;
            s.interval_dropped = 0.0;
            s.sec.loss = loss;
            s.sec.rtt_ms = rtt_ms;
            s.sec.queue_ms = queue_s * 1000.0;
            sampled = true;
        }
        if sampled || ctl.next_deadline().is_some_and(|d| d <= now) {
            for (i, d) in ctl.poll(now) {
                if let Some(params) = d.send {
                    senders[i].params = params;
                    changes.push((t, i));
                }
            }
            if let Some(u) = ctl.uplink_estimate() {
                let cost = senders.iter().map(|s| s.params.cost(overhead)).sum();
                budget_checks.push((u, cost));
            }
        }
        if ms.is_multiple_of(1000) {
            for (i, s) in senders.iter_mut().enumerate() {
                s.sec.params = s.params;
                seconds[i].push(s.sec);
                s.sec = Second {
                    sent: 0.0,
                    delivered: 0.0,
                    audio_sent: 0.0,
                    ..s.sec
                };
            }
        }
    }
    Run {
        seconds,
        changes,
        budget_checks,
    }
}

/// One second of a link (or of all links together) against what it could carry.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub delivered: f64,
    pub sent: f64,
    /// What the bottleneck leaves for it (or what it can use, if less).
    pub available: f64,
    /// Loss as the sender's stats reported it.
    pub loss: f64,
    pub queue_ms: f64,
}

/// How one phase of constant capacity went.
#[derive(Debug, Clone, Copy)]
pub struct PhaseReport {
    /// Seconds from the phase start until the rate stayed in the band.
    pub converge_s: Option<u64>,
    /// Delivered / available, averaged from convergence to the phase end.
    pub utilisation: f64,
    /// Mean reported loss from convergence to the phase end.
    pub loss: f64,
    /// Mean and largest queueing delay from convergence to the phase end: what
    /// probing for more costs in latency.
    pub queue_ms: (f64, f64),
}

/// Judges `[from, to)` of a series: converged from the first second after which, for
/// `hold` seconds, at least 70 % of the available rate gets through and no more than
/// 110 % is sent, or one additive probe step (20 kb/s) over: on a 150 kb/s path that
/// step alone is 13 %, and AIMD must probe above the path to find it.
pub fn phase(series: &[Point], from: usize, to: usize, hold: usize) -> PhaseReport {
    const PROBE_STEP: f64 = 20_000.0;
    let in_band = |p: &Point| {
        p.delivered >= 0.7 * p.available
            && p.sent <= (1.1 * p.available).max(p.available + PROBE_STEP)
    };
    let to = to.min(series.len());
    let converged = (from..to).find(|&t| series[t..(t + hold).min(to)].iter().all(in_band));
    let Some(c) = converged else {
        return PhaseReport {
            converge_s: None,
            utilisation: 0.0,
            loss: 1.0,
            queue_ms: (0.0, 0.0),
        };
    };
    let rest = &series[c..to];
    let mean = |f: fn(&Point) -> f64| rest.iter().map(f).sum::<f64>() / rest.len() as f64;
    PhaseReport {
        converge_s: Some((c - from) as u64),
        utilisation: mean(|p| (p.delivered / p.available).min(1.0)),
        loss: mean(|p| p.loss),
        queue_ms: (
            mean(|p| p.queue_ms),
            rest.iter().map(|p| p.queue_ms).fold(0.0, f64::max),
        ),
    }
}
