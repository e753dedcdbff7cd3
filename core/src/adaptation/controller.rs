//! The controller: samples and hints in, per-link send parameters and quality out.
//! It owns no timer and reads no clock: every call carries `now`.

use super::config::Config;
use super::decision::{LinkDecision, LinkStatus};
use super::estimate::Estimate;
use super::link::Link;
use super::sample::{Content, QualityLimitation, ReceiverHint, StatsSample, VideoSource};
use super::signal::{Cause, Congestion};
use super::units::Bitrate;
use crate::time::Time;
use crate::vec_map::VecMap;

/// Per-link quality adaptation for one participant's outgoing media. `L` names a
/// link (the remote participant's id, in the app).
#[derive(Debug, Clone)]
pub struct Controller<L> {
    pub(super) config: Config,
    pub(super) source: VideoSource,
    pub(super) links: VecMap<L, Link>,
    /// The participant's uplink, known only once every link was congested at once.
    pub(super) uplink: Option<Estimate>,
    /// Since when every link has looked clear (see [`Config::uplink_release_after`]).
    clear_since: Option<Time>,
    /// Since when some link has lost packets in every sample with the uplink estimate
    /// at the links' delay floors: the uplink's counterpart of `Link::loss_at_floor_since`.
    uplink_loss_at_floor_since: Option<Time>,
    /// What got through the shared uplink when it was last congested at the links'
    /// floors (not for a busy CPU): where the estimate stops, the measure of it.
    uplink_delivered: Option<Bitrate>,
}

impl<L: Copy + Ord> Controller<L> {
    pub fn new(config: Config) -> Controller<L> {
        Controller {
            config,
            source: VideoSource::default(),
            links: VecMap::new(),
            uplink: None,
            clear_since: None,
            uplink_loss_at_floor_since: None,
            uplink_delivered: None,
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
        self.links.get_or_insert_with(link, || Link::new(config));
    }

    pub fn remove_link(&mut self, link: L) {
        self.links.remove(&link);
    }

    /// A `getStats()` sample of `link`, taken at `now` (an unknown link is added).
    pub fn handle_sample(&mut self, now: Time, link: L, sample: StatsSample) {
        let config = &self.config;
        let state = self.links.get_or_insert_with(link, || Link::new(config));
        let mut sample = sample;
        if !state.browser_estimate_settled(now, config) {
            sample.available_outgoing_bitrate = None;
        }
        state.last = Some(state.meter.measure(now, sample, config));
        state.watch_overshoot(now, config);
        state.fresh = true;
    }

    /// The remote's hint for `link` (an unknown link is added).
    pub fn set_hint(&mut self, _now: Time, link: L, hint: ReceiverHint) {
        let config = &self.config;
        self.links
            .get_or_insert_with(link, || Link::new(config))
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

    /// What the uplink carries, as far as the links show: what their paths carry
    /// together (see [`Link::carries`]), or the shared uplink estimate while it limits
    /// them, or what got through it when that is less (the estimate stops at the
    /// links' floors, a full uplink does not). `None` until every link has had a
    /// sample (what it starts from is a guess).
    pub fn uplink_carries(&self, now: Time) -> Option<Bitrate> {
        if self.links.is_empty() || self.links.values().any(|l| l.last.is_none()) {
            return None;
        }
        let links: Bitrate = self
            .links
            .values()
            .map(|l| l.carries(now, &self.config))
            .sum();
        let shared = self.uplink_estimate().map(|u| match self.uplink_delivered {
            Some(delivered) => u.min(delivered),
            None => u,
        });
        Some(shared.map_or(links, |u| u.min(links)))
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
    /// on its own. Queueing delay alone lowers an estimate no further than
    /// [`Config::delay_floor`]: it never switches video off. Loss does, once it has
    /// lasted [`Config::video_off_grace`] at that floor: on one link, or on the shared
    /// uplink at every link's floor.
    fn react(&mut self, now: Time) {
        let config = &self.config;
        let window = config.shared_vote_window;
        let voters: Vec<&Link> = self
            .links
            .values()
            .filter(|l| l.last.as_ref().is_some_and(|m| now.since(m.at) <= window))
            .collect();
        let signals: Vec<Congestion> = voters.iter().filter_map(|l| l.congestion(config)).collect();
        let shared = voters.len() >= 2 && signals.iter().all(|c| c.is_congested());
        let any_loss = signals.contains(&Congestion::Congested(Cause::Loss));
        let all_unclear = signals.iter().all(|c| !c.is_clear());
        let all_clear = !signals.is_empty() && signals.iter().all(|c| c.is_clear());
        let delivered: Bitrate = voters.iter().map(|l| l.delivered(config)).sum();
        let uplink_cap: Bitrate = self.links.values().map(|l| l.growth_cap(config)).sum();
        let n = self.links.len().max(1) as u64;

        // Only a camera has smaller sizes to step down to (a screen keeps its size).
        let camera = self.source.content == Content::Camera;
        for link in self.links.values_mut().filter(|l| l.fresh) {
            link.fresh = false;
            let (Some(m), Some(congestion)) = (link.last, link.congestion(config)) else {
                continue;
            };
            let sends_video = link.sends_video();
            // "Lasting" loss means loss in every sample: one without it (queueing
            // delay alone included) starts the count again.
            if congestion != Congestion::Congested(Cause::Loss) {
                link.loss_at_floor_since = None;
            }
            match congestion {
                _ if shared => link.estimate.hold(now),
                // Queueing delay, or the browser's estimate below what we send: down,
                // but not below the delay floor. Neither switches video off by itself:
                // delay is often the browser's own queue on a busy CPU, and after a path
                // is capped GCC's estimate dips for seconds far below what the path
                // carries (a 150 kb/s path lost its video that way, issue 8). Loss does.
                Congestion::Congested(Cause::Rtt | Cause::Bandwidth) => {
                    let floor = config.delay_floor();
                    link.estimate.decrease_to(now, m.delivered(), floor, config);
                }
                // Loss on a link that carries video: down, first to the delay floor
                // (thin audio and the lowest video), below it only once loss has
                // lasted `video_off_grace` there. An encoder at a few dozen kb/s
                // overshoots on key frames, and a path that just carries the lowest
                // video loses a burst now and then: the drop that follows one burst
                // would switch video off for the time it takes to come back.
                Congestion::Congested(_)
                    if sends_video && !link.loss_outlasted_floor(now, config) =>
                {
                    let floor = config.delay_floor();
                    if link.estimate.rate() <= floor && !link.overflow_draining(now) {
                        // A smaller size first, if there is one; the loss still counts
                        // (a path that loses at any size loses its video as before).
                        if camera {
                            link.shrink_for_loss(now, config);
                        }
                        link.loss_at_floor_since.get_or_insert(now);
                    }
                    link.estimate.decrease_to(now, m.delivered(), floor, config);
                }
                Congestion::Congested(_) => {
                    link.estimate.decrease(now, m.delivered(), config);
                }
                Congestion::Clear if sends_video && !link.browser_estimate_settled(now, config) => {
                    // Video just (re)started and the browser's estimate is not read
                    // yet: nothing shows the link carries more, so stay at the resume
                    // rung until it can be checked (else every probe ramps, then drops).
                    link.estimate.hold(now)
                }
                Congestion::Clear => {
                    let cap = link.growth_cap(config);
                    let min_step = if sends_video {
                        Bitrate::ZERO
                    } else {
                        config.audio_only_increase_step
                    };
                    link.estimate
                        .increase_by_at_least(now, cap, min_step, config);
                }
                Congestion::Hold(_) => link.estimate.hold(now),
            }
            if sends_video {
                // The browser's estimate bounds a link that sends video; without video
                // it has little to measure and would keep video off for good. (It is
                // already dropped while it settles after video resumed.) Not below the
                // delay floor either (see above): our own loss signal decides whether
                // video fits.
                if let Some(available) = m.sample.available_outgoing_bitrate {
                    link.estimate
                        .limit_to(available.max(config.delay_floor()), config);
                }
                // An encoder held back by the CPU gets no more than it can use, so the
                // ladder lowers the resolution and eases the CPU; video stays on.
                if m.sample.quality_limitation == QualityLimitation::Cpu {
                    if let Some(sent) = m.sent {
                        let usable = sent
                            .scaled(config.app_limit_factor)
                            .max(config.delay_floor());
                        link.estimate.limit_to(usable, config);
                    }
                }
            }
        }

        // The uplink follows a link's rules: no lower than every link's delay floor
        // for queueing delay or the browser's estimate, nor for loss until it has
        // lasted there. A starved CPU or the encoders' key frames lose a burst on every
        // link at once, and that alone must not switch all video off. Lasting means
        // loss on some link in every sample: behind a full uplink one link may lose
        // while another only queues, now and then not "congested" at all.
        let floors = Bitrate::bps(config.delay_floor().as_bps() * n);
        let at_floors = self.uplink.as_ref().is_some_and(|u| u.rate() <= floors);
        if !any_loss {
            self.uplink_loss_at_floor_since = None;
        } else if at_floors {
            self.uplink_loss_at_floor_since.get_or_insert(now);
        }
        let loss_outlasted = self
            .uplink_loss_at_floor_since
            .is_some_and(|t| now.since(t) >= config.video_off_grace);
        let floor = if loss_outlasted {
            Bitrate::ZERO
        } else {
            floors
        };
        // At the floors, what gets through is the measure of a full uplink (a busy
        // CPU's queue says nothing of it).
        if shared && !signals.contains(&Congestion::Congested(Cause::Cpu)) {
            self.uplink_delivered = at_floors.then_some(delivered);
        }
        match (&mut self.uplink, shared) {
            (Some(uplink), true) => {
                uplink.decrease_to(now, Some(delivered), floor, config);
            }
            (None, true) => {
                // From what the links were given, so that the floor holds as it does
                // for a link (what got through may already be below it).
                let given: Bitrate = self.links.values().map(|l| l.budget).sum();
                let mut uplink = Estimate::new(given.max(delivered));
                uplink.decrease_to(now, Some(delivered), floor, config);
                self.uplink = Some(uplink);
            }
            (Some(uplink), false) if all_unclear => uplink.hold(now),
            (Some(uplink), false) => uplink.increase(now, uplink_cap, config),
            (None, false) => {}
        }

        // Every link clear for a while: whatever limited the uplink is gone. Each link
        // goes on from its share (not from its older, higher estimate) on its own.
        self.clear_since = if all_clear {
            Some(self.clear_since.unwrap_or(now))
        } else {
            None
        };
        let released = self
            .clear_since
            .is_some_and(|t| now.since(t) >= config.uplink_release_after);
        if let (Some(uplink), true) = (&self.uplink, released) {
            let share = Bitrate::bps(uplink.rate().as_bps() / n);
            for link in self.links.values_mut() {
                let keep = share.max(link.budget);
                link.estimate.limit_to(keep, config);
            }
            self.uplink = None;
            self.uplink_delivered = None;
        }
        // Once the links' own estimates fit under it, the uplink no longer limits.
        let links_total: Bitrate = self.links.values().map(|l| l.estimate.rate()).sum();
        if self
            .uplink
            .as_ref()
            .is_some_and(|u| u.rate() >= links_total)
        {
            self.uplink = None;
            self.uplink_delivered = None;
        }
    }
}
