//! Per-link quality adaptation: the core's [`Controller`] fed from the link samples,
//! its decisions applied through the transport, and receiver hints sent from where the
//! layout shows each camera ([`hint_for`], [`HintSender`]).
//!
//! With adaptation disabled (`?adapt=off`, see platform/page.rs) everything runs but
//! nothing is applied: the browser's own congestion control alone, for comparison.

use nonstop_core::adaptation::{
    Bitrate, Config, Content, Controller, Framerate, Quality, ReceiverHint, Resolution, SendParams,
    UplinkReporter, VideoSource,
};
use nonstop_core::call::{hint_for, HintSender};
use nonstop_core::layout::TileId;
use nonstop_core::time::{Millis, Time};
use nonstop_core::vec_map::VecMap;
use nonstop_core::ParticipantId;

use super::transport::LinkSample;
use super::view::{LinkStats, StageView};
use crate::platform::media::MediaStreamTrack;
use crate::platform::page;
use crate::platform::stats::{track_settings, LinkReport};

/// The controller works on one sample per link and second.
const CONTROLLER_PERIOD: Millis = Millis::from_millis(950);
/// How much history the panel's plots show.
const HISTORY: Millis = Millis::from_secs(60);

pub struct Adaptation {
    /// Whether decisions are applied.
    pub enabled: bool,
    ctl: Controller<ParticipantId>,
    source: Option<VideoSource>,
    links: VecMap<ParticipantId, LinkAdaptation>,
    uplink: UplinkReporter,
}

#[derive(Default)]
struct LinkAdaptation {
    /// The previous report handed to the controller, for rates.
    prev: Option<(Time, LinkReport)>,
    stats: LinkStats,
    desired: Option<SendParams>,
    applied: Option<SendParams>,
    quality: Option<Quality>,
    hints: HintSender,
}

impl Adaptation {
    pub fn new(enabled: bool) -> Self {
        Adaptation {
            enabled,
            ctl: Controller::new(Config {
                watch_encoder_floors: page::is_gecko(),
                ..Config::default()
            }),
            source: None,
            links: VecMap::new(),
            uplink: UplinkReporter::default(),
        }
    }

    /// The links to adapt: one per remote participant we send to.
    pub fn set_peers(&mut self, now: Time, peers: &[ParticipantId]) {
        for id in peers {
            if !self.links.contains_key(id) {
                self.ctl.add_link(now, *id);
                self.links.insert(*id, LinkAdaptation::default());
            }
        }
        let ctl = &mut self.ctl;
        self.links.retain(|id, _| {
            let keep = peers.contains(id);
            if !keep {
                ctl.remove_link(*id);
            }
            keep
        });
    }

    /// Our camera's track (its size and frame rate are what the controller scales).
    pub fn set_camera(&mut self, track: Option<&MediaStreamTrack>) {
        let source = track
            .and_then(track_settings)
            .map(|(w, h, fps)| VideoSource {
                resolution: Resolution::new(w, h),
                framerate: Framerate::from_f64(fps),
                content: Content::Camera,
            });
        if let Some(source) = source {
            if self.source != Some(source) {
                self.source = Some(source);
                self.ctl.set_source(source);
            }
        }
    }

    /// How large participant `from` shows our video.
    pub fn hint_received(&mut self, now: Time, from: ParticipantId, hint: ReceiverHint) {
        self.ctl.set_hint(now, from, hint);
    }

    /// The hints to send now: how large we show each remote camera, from the layout.
    pub fn hints_due(
        &mut self,
        now: Time,
        stage: &StageView,
        device_pixel_ratio: f64,
        page_hidden: bool,
    ) -> Vec<(ParticipantId, ReceiverHint)> {
        let mut due = Vec::new();
        for (id, link) in &mut self.links {
            let rect = stage.placed_rect(TileId::camera(*id));
            let hint = hint_for(rect, device_pixel_ratio, page_hidden);
            if let Some(hint) = link.hints.observe(now, hint) {
                due.push((*id, hint));
            }
        }
        due
    }

    /// A hint could not be delivered (the channel is not open yet): try again.
    pub fn hint_undelivered(&mut self, id: ParticipantId) {
        if let Some(link) = self.links.get_mut(&id) {
            link.hints.sent_failed();
        }
    }

    /// One round of link samples.
    pub fn observe(&mut self, now: Time, samples: &[LinkSample]) {
        for s in samples {
            let (Some(report), Some(link)) = (&s.report, self.links.get_mut(&s.peer)) else {
                continue;
            };
            if link
                .prev
                .as_ref()
                .is_some_and(|(then, _)| now.since(*then) < CONTROLLER_PERIOD)
            {
                continue;
            }
            if s.condition != Some(nonstop_core::recovery::LinkCondition::Connected) {
                continue;
            }
            // The controller itself ignores the browser's estimate while it settles
            // after video resumes (`Config::browser_estimate_grace`).
            self.ctl.handle_sample(now, s.peer, report.sample);
            link.stats.record(now, report, link.prev.as_ref());
            link.prev = Some((now, report.clone()));
        }
    }

    /// The controller's decisions as of `now`; returns the parameters to apply
    /// (nothing while disabled).
    pub fn decide(&mut self, now: Time) -> Vec<(ParticipantId, SendParams, Option<SendParams>)> {
        for (id, decision) in self.ctl.poll(now) {
            let Some(link) = self.links.get_mut(&id) else {
                continue;
            };
            if let Some(send) = decision.send {
                link.desired = Some(send);
            }
            if let Some(q) = decision.quality {
                link.quality = Some(q);
            }
        }
        if !self.enabled {
            return Vec::new();
        }
        self.links
            .iter()
            .filter_map(|(id, l)| match l.desired {
                Some(want) if l.applied != Some(want) => Some((*id, want, l.applied)),
                _ => None,
            })
            .collect()
    }

    /// The senders changed under the controller (a new camera track): everything is
    /// applied again on the next decision (on Firefox a paused link takes the new track
    /// off again).
    pub fn reapply(&mut self) {
        for link in self.links.values_mut() {
            link.applied = None;
        }
    }

    /// `params` took effect on the link to `id`.
    pub fn applied(&mut self, id: ParticipantId, params: SendParams) {
        if let Some(link) = self.links.get_mut(&id) {
            link.applied = Some(params);
        }
    }

    /// What to tell the server our uplink carries, when it is time to (see
    /// `UplinkReporter`): only while the mesh is shown and we have a camera, since
    /// only then do the links' estimates measure what the mesh costs our uplink.
    pub fn uplink_report(&mut self, now: Time, mesh_shown: bool) -> Option<Bitrate> {
        let measured = self.enabled && mesh_shown && self.source.is_some();
        let carries = measured.then(|| self.ctl.uplink_carries(now)).flatten();
        self.uplink.observe(now, carries)
    }

    pub fn next_deadline(&self) -> Option<Time> {
        let hints = self.links.values().filter_map(|l| l.hints.next_deadline());
        hints.chain(self.ctl.next_deadline()).min()
    }

    /// Each link's numbers for the badges and the stats panel.
    pub fn panel(&self) -> VecMap<ParticipantId, LinkStats> {
        let mut panel = VecMap::new();
        for (id, link) in &self.links {
            let mut s = link.stats.clone();
            s.quality = link.quality;
            let status = self.ctl.status(*id);
            s.budget = status.map(|st| st.budget);
            s.video_off = status.is_some_and(|st| !st.params.video.active);
            panel.insert(*id, s);
        }
        panel
    }
}

impl LinkStats {
    /// Takes in one report (`before`: the previous one, for rates).
    fn record(&mut self, now: Time, report: &LinkReport, before: Option<&(Time, LinkReport)>) {
        if let Some((then, before)) = before {
            let span = now.since(*then);
            let rate = |a: Option<u64>, b: Option<u64>| match (a, b) {
                (Some(a), Some(b)) if a >= b && span > Millis::ZERO => {
                    Some(Bitrate::from_bytes_in(a - b, span))
                }
                _ => None,
            };
            self.send_bitrate = rate(report.sample.bytes_sent, before.sample.bytes_sent);
            self.recv_bitrate = rate(report.bytes_received, before.bytes_received);
        }
        self.send_frame = report.sample.frame_size;
        self.send_fps = report.sample.frames_per_second;
        self.recv_frame = report.recv_frame;
        self.recv_fps = report.recv_fps;
        self.rtt = report.sample.rtt;
        self.loss = report.sample.fraction_lost;
        self.relayed = report.relayed;
        let kbps = |b: Option<Bitrate>| b.map_or(0.0, |b| b.as_kbps_f64());
        self.history.push((
            now,
            kbps(self.send_bitrate),
            kbps(self.recv_bitrate),
            self.rtt.map_or(0.0, |r| r.as_millis() as f64),
        ));
        self.history.retain(|(t, ..)| now.since(*t) <= HISTORY);
    }
}
