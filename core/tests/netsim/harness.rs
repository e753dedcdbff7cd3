//! A controller fed once a second with stats that follow its own decisions (the send
//! rate is what it allowed), under link conditions the test sets: for rule tests that
//! need no queue model.

use std::collections::BTreeMap;

use nonstop_core::adaptation::{
    Bitrate, Config, Controller, LinkDecision, Millis, Quality, SendParams, StatsSample, Time,
};

/// What one link's next sample reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    pub rtt_ms: u64,
    pub loss: f64,
    pub available: Option<Bitrate>,
    /// An encoder that sends at least this much video from 180p up, whatever its cap
    /// (Firefox's VP8 has such floors); `None`: it follows its cap.
    pub encoder_floor: Option<Bitrate>,
    /// Video the browser's congestion control lets the encoder send at most, whatever
    /// its cap (a full uplink that only queues); `None`: no such limit.
    pub video_at_most: Option<Bitrate>,
}

impl Conditions {
    pub const CLEAN: Conditions = Conditions {
        rtt_ms: 50,
        loss: 0.0,
        available: None,
        encoder_floor: None,
        video_at_most: None,
    };

    pub fn lossy(loss: f64) -> Conditions {
        Conditions {
            loss,
            ..Conditions::CLEAN
        }
    }
}

pub struct Harness {
    pub ctl: Controller<u64>,
    pub now: Time,
    pub params: BTreeMap<u64, SendParams>,
    pub quality: BTreeMap<u64, Quality>,
    bytes: BTreeMap<u64, u64>,
}

impl Harness {
    /// A controller with `links` links (ids 0..links), after their first poll.
    pub fn new(links: u64) -> Harness {
        Harness::with_config(links, Config::default())
    }

    pub fn with_config(links: u64, config: Config) -> Harness {
        let mut h = Harness {
            ctl: Controller::new(config),
            now: Time::ZERO,
            params: BTreeMap::new(),
            quality: BTreeMap::new(),
            bytes: BTreeMap::new(),
        };
        for id in 0..links {
            h.ctl.add_link(Time::ZERO, id);
        }
        h.poll();
        h
    }

    /// Applies what the controller decided and returns it.
    pub fn poll(&mut self) -> Vec<(u64, LinkDecision)> {
        let decisions = self.ctl.poll(self.now);
        for (id, d) in &decisions {
            if let Some(p) = d.send {
                self.params.insert(*id, p);
            }
            if let Some(q) = d.quality {
                self.quality.insert(*id, q);
            }
        }
        decisions
    }

    /// One second passes; every link reports `conditions(id)`; then a poll.
    pub fn second(&mut self, conditions: impl Fn(u64) -> Conditions) -> Vec<(u64, LinkDecision)> {
        self.now = self.now + Millis::from_secs(1);
        let ids: Vec<u64> = self.params.keys().copied().collect();
        for id in ids {
            let c = conditions(id);
            let p = self.params[&id];
            // The harness's camera is 720p: 180p and up is a scale of 4 or less.
            let floor = c
                .encoder_floor
                .filter(|_| p.video.scale_resolution_down_by <= 4.0)
                .unwrap_or(Bitrate::ZERO);
            let video = if p.video.active {
                let most = c.video_at_most.unwrap_or(Bitrate::MAX);
                p.video.max_bitrate.min(most).max(floor)
            } else {
                Bitrate::ZERO
            };
            let bytes = self.bytes.entry(id).or_insert(0);
            *bytes += (video + p.audio.max_bitrate).as_bps() / 8;
            let sample = StatsSample {
                rtt: Some(Millis::from_millis(c.rtt_ms)),
                fraction_lost: Some(c.loss),
                bytes_sent: Some(*bytes),
                available_outgoing_bitrate: c.available,
                ..StatsSample::default()
            };
            self.ctl.handle_sample(self.now, id, sample);
        }
        self.poll()
    }

    /// `n` seconds of the same conditions; returns every decision with its second.
    pub fn seconds(
        &mut self,
        n: u64,
        conditions: impl Fn(u64) -> Conditions,
    ) -> Vec<(u64, u64, LinkDecision)> {
        let mut all = Vec::new();
        for s in 0..n {
            all.extend(
                self.second(&conditions)
                    .into_iter()
                    .map(|(id, d)| (s, id, d)),
            );
        }
        all
    }

    pub fn video_bitrate(&self, id: u64) -> Bitrate {
        let v = self.params[&id].video;
        if v.active {
            v.max_bitrate
        } else {
            Bitrate::ZERO
        }
    }

    pub fn total_cost(&self) -> Bitrate {
        let overhead = self.ctl.config().audio_overhead;
        self.params.values().map(|p| p.cost(overhead)).sum()
    }
}
