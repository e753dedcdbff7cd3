//! The controller: samples and hints in, per-link send parameters and quality out.
//! It owns no timer and reads no clock: every call carries `now`.

use std::collections::BTreeMap;

use super::config::Config;
use super::decision::{LinkDecision, LinkStatus};
use super::estimate::Estimate;
use super::link::Link;
use super::sample::{ReceiverHint, StatsSample, VideoSource};
use super::units::Bitrate;
use crate::time::Time;

/// Per-link quality adaptation for one participant's outgoing media. `L` names a
/// link (the remote participant's id, in the app).
#[derive(Debug, Clone)]
pub struct Controller<L> {
    pub(super) config: Config,
    pub(super) source: VideoSource,
    pub(super) links: BTreeMap<L, Link>,
    /// The participant's uplink, known only once every link was congested at once.
    pub(super) uplink: Option<Estimate>,
}

impl<L: Copy + Ord> Controller<L> {
    pub fn new(config: Config) -> Controller<L> {
        Controller {
            config,
            source: VideoSource::default(),
            links: BTreeMap::new(),
            uplink: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The local video track changed (size, frame rate, camera or screen).
    pub fn set_source(&mut self, source: VideoSource) {
        self.source = source;
    }

    /// A new connection: the next [`poll`](Self::poll) gives its starting parameters.
    /// The links added and not removed are the links the uplink is shared among.
    pub fn add_link(&mut self, _now: Time, link: L) {
        let config = &self.config;
        self.links.entry(link).or_insert_with(|| Link::new(config));
    }

    pub fn remove_link(&mut self, link: L) {
        self.links.remove(&link);
    }

    /// A `getStats()` sample of `link`, taken at `now` (an unknown link is added).
    pub fn handle_sample(&mut self, now: Time, link: L, sample: StatsSample) {
        let config = &self.config;
        let state = self.links.entry(link).or_insert_with(|| Link::new(config));
        state.last = Some(state.meter.measure(now, sample, config));
        state.fresh = true;
    }

    /// The remote's hint for `link` (an unknown link is added).
    pub fn set_hint(&mut self, _now: Time, link: L, hint: ReceiverHint) {
        let config = &self.config;
        self.links
            .entry(link)
            .or_insert_with(|| Link::new(config))
            .hint = Some(hint);
    }

    /// Reacts to the samples since the last poll and returns, per link, what changed.
    /// Call after each round of samples, after a hint, and by
    /// [`next_deadline`](Self::next_deadline).
    pub fn poll(&mut self, now: Time) -> Vec<(L, LinkDecision)> {
        if self.links.values().any(|l| l.fresh) {
            self.react(now);
        }
        self.allocate(now)
    }

    /// When to poll at the latest even if no sample arrives (a hold ending).
    pub fn next_deadline(&self) -> Option<Time> {
        let hold = self.config.quality_hold;
        self.links
            .values()
            .flat_map(|l| [l.video.deadline(&self.config), l.quality.deadline(hold)])
            .flatten()
            .min()
    }

    /// The shared uplink estimate, while it limits the links.
    pub fn uplink_estimate(&self) -> Option<Bitrate> {
        self.uplink.as_ref().map(Estimate::rate)
    }

    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    /// The numbers behind `link`'s decisions, once it has had one.
    pub fn status(&self, link: L) -> Option<LinkStatus> {
        let l = self.links.get(&link)?;
        let sample = l.last.as_ref().map(|m| m.sample);
        Some(LinkStatus {
            estimate: l.estimate.rate(),
            budget: l.budget,
            sent: l.last.as_ref().and_then(|m| m.sent),
            rtt: sample.and_then(|s| s.rtt),
            loss: sample.and_then(|s| s.fraction_lost),
            jitter: sample.and_then(|s| s.jitter),
            uplink_limited: l.uplink_limited,
            params: l.applied?,
            quality: l.shown_quality?,
        })
    }

    /// Moves the estimates. When every link with a recent sample is congested at once,
    /// the shared uplink is the bottleneck: the uplink estimate steps down and all
    /// links share it, while their own path estimates stay. Otherwise each link reacts
    /// on its own.
    fn react(&mut self, now: Time) {
        let config = &self.config;
        let window = config.shared_vote_window;
        let voters: Vec<&Link> = self
            .links
            .values()
            .filter(|l| l.last.as_ref().is_some_and(|m| now.since(m.at) <= window))
            .collect();
        let congested = |l: &&Link| l.last.as_ref().is_some_and(|m| m.congestion.is_congested());
        let shared = voters.len() >= 2 && voters.iter().all(congested);
        let all_unclear = voters
            .iter()
            .all(|l| l.last.as_ref().is_some_and(|m| !m.congestion.is_clear()));
        let delivered: Bitrate = voters.iter().map(|l| l.delivered(config)).sum();
        let uplink_cap: Bitrate = self.links.values().map(|l| l.growth_cap(config)).sum();

        for link in self.links.values_mut().filter(|l| l.fresh) {
            link.fresh = false;
            let Some(m) = link.last else { continue };
            if shared {
                link.estimate.hold(now);
            } else if m.congestion.is_congested() {
                link.estimate.decrease(now, m.delivered(), config);
            } else if m.congestion.is_clear() {
                let cap = link.growth_cap(config);
                link.estimate.increase(now, cap, config);
            } else {
                link.estimate.hold(now);
            }
            // The browser's estimate bounds a link that sends video; without video
            // it has little to measure and would keep video off for good.
            let sends_video = link.applied.is_some_and(|p| p.video.active);
            if let (Some(available), true) = (m.sample.available_outgoing_bitrate, sends_video) {
                link.estimate.limit_to(available, config);
            }
        }

        match (&mut self.uplink, shared) {
            (Some(uplink), true) => {
                uplink.decrease(now, Some(delivered), config);
            }
            (None, true) => {
                let mut uplink = Estimate::new(delivered);
                uplink.decrease(now, Some(delivered), config);
                self.uplink = Some(uplink);
            }
            (Some(uplink), false) if all_unclear => uplink.hold(now),
            (Some(uplink), false) => uplink.increase(now, uplink_cap, config),
            (None, false) => {}
        }
        // Once the links' own estimates fit under it, the uplink no longer limits.
        let links_total: Bitrate = self.links.values().map(|l| l.estimate.rate()).sum();
        if self
            .uplink
            .as_ref()
            .is_some_and(|u| u.rate() >= links_total)
        {
            self.uplink = None;
        }
    }
}
