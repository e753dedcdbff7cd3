//! From estimates to parameters: audio first on every link, then video shared under
//! the uplink estimate, then each link's ladder step, video switch and quality.

use super::config::Config;
use super::controller::Controller;
use super::decision::{AudioParams, LinkDecision, Priority, SendParams, VideoParams};
use super::estimate::Estimate;
use super::ladder::Ladder;
use super::link::Link;
use super::quality::{assess, QualityInputs};
use super::sample::{Content, QualityLimitation, ReceiverHint, VideoSource};
use super::share::max_min_fair;
use super::units::Bitrate;
use crate::time::Time;

impl<L: Copy + Ord> Controller<L> {
    /// Budgets from the estimates: audio first on every link, then video shared
    /// max-min fairly under the uplink estimate (if any), each link capped by its own
    /// path and by what the receiver's tile can use.
    pub(super) fn allocate(&mut self, now: Time) -> Vec<(L, LinkDecision)> {
        let config = &self.config;
        let n = self.links.len().max(1) as u64;
        let uplink = self.uplink.as_ref().map(Estimate::rate);
        let mut audio = Vec::with_capacity(self.links.len());
        let mut wants = Vec::with_capacity(self.links.len());
        let mut ladders = Vec::with_capacity(self.links.len());
        for link in self.links.values_mut() {
            let own = link.estimate.rate();
            let total = uplink.map_or(own, |u| own.min(Bitrate::bps(u.as_bps() / n)));
            let audio_bitrate = link.choose_audio(total, config);
            let ladder = match link.hint {
                Some(ReceiverHint::Hidden) => None,
                Some(hint) => hint.shown_size().map(|s| Ladder::new(self.source, Some(s))),
                None => Some(Ladder::new(self.source, None)),
            }
            .map(|l| l.with_floors(link.floors.in_force(now)));
            let demand = ladder.as_ref().map_or(Bitrate::ZERO, Ladder::demand);
            wants.push((own - config.audio_cost(audio_bitrate)).min(demand));
            audio.push(audio_bitrate);
            ladders.push(ladder);
        }
        let audio_costs: Bitrate = audio.iter().map(|a| config.audio_cost(*a)).sum();
        let video = match uplink {
            Some(u) => max_min_fair(u - audio_costs, &wants),
            None => wants.clone(),
        };

        let mut decisions = Vec::new();
        let parts = audio.into_iter().zip(wants).zip(video).zip(ladders);
        for ((id, link), (((audio_bitrate, want), budget), ladder)) in
            self.links.iter_mut().zip(parts)
        {
            let on = ladder.is_some() && link.video.update(now, budget, config);
            let previous = link.applied.map(|p| p.video);
            let video = match (&ladder, on) {
                (Some(ladder), true) => {
                    let choice = ladder.choose(budget, link.step);
                    link.step = Some(choice.step);
                    let cap = if link.overflow_draining(now) {
                        // The encoder's overflow left a queue on the path: send less
                        // than the path carries for a moment, or it never drains (and
                        // what it drops brings key frames that refill it).
                        choice.max_bitrate.scaled(DRAIN_SHARE).max(DRAIN_MIN)
                    } else {
                        choice.max_bitrate
                    };
                    VideoParams {
                        active: true,
                        max_bitrate: cap.round_down_to(config.bitrate_step),
                        scale_resolution_down_by: choice.scale,
                        max_framerate: choice.step.framerate,
                    }
                }
                _ => previous.map_or_else(
                    || lowest_video(self.source, config),
                    |v| VideoParams { active: false, ..v },
                ),
            };
            let params = SendParams {
                video,
                audio: AudioParams {
                    max_bitrate: audio_bitrate,
                    priority: Priority::High,
                },
            };
            link.budget =
                config.audio_cost(audio_bitrate) + if on { budget } else { Bitrate::ZERO };
            link.uplink_limited = budget < want;

            let inputs = quality_inputs(link, ladder.as_ref(), video, self.source.content);
            let quality = link
                .quality
                .update(now, assess(&inputs), config.quality_hold);
            let decision = LinkDecision {
                send: (link.applied != Some(params)).then_some(params),
                quality: (link.shown_quality != Some(quality)).then_some(quality),
            };
            if params.video.active && !link.sends_video() {
                link.video_started = Some(now);
            }
            if decision.send.is_some() {
                link.applying(now, &params);
            }
            link.applied = Some(params);
            link.shown_quality = Some(quality);
            if decision.send.is_some() || decision.quality.is_some() {
                decisions.push((*id, decision));
            }
        }
        decisions
    }
}

/// While an encoder's overflow drains, video gets this share of its cap...
const DRAIN_SHARE: f64 = 0.5;
/// ...but not less than this (what Firefox's VP8 keeps at 160×90).
const DRAIN_MIN: Bitrate = Bitrate::kbps(40);

/// Video parameters for a link that has never sent video: off, at the bottom.
fn lowest_video(source: VideoSource, config: &Config) -> VideoParams {
    let choice = Ladder::new(source, None).choose(config.video_min, None);
    VideoParams {
        active: false,
        max_bitrate: choice.max_bitrate.round_down_to(config.bitrate_step),
        scale_resolution_down_by: choice.scale,
        max_framerate: choice.step.framerate,
    }
}

fn quality_inputs(
    link: &Link,
    ladder: Option<&Ladder>,
    video: VideoParams,
    content: Content,
) -> QualityInputs {
    let m = link.last.as_ref();
    let sample = m.map(|m| m.sample).unwrap_or_default();
    let sent_side = sample
        .frame_size
        .map(|s| s.short_side())
        .or(link.step.map(|s| s.short_side));
    let sharpness = match (
        ladder.and_then(Ladder::top_short_side),
        sent_side,
        video.active,
    ) {
        (Some(shown), Some(sent), true) => Some(f64::from(sent) / f64::from(shown.max(1))),
        _ => None,
    };
    // A screen sends frames only when it changes: few frames are no symptom there.
    let smoothness = match (m.and_then(|m| m.fps), video.active, content) {
        (Some(fps), true, Content::Camera) => Some(fps / f64::from(video.max_framerate.get())),
        _ => None,
    };
    QualityInputs {
        loss: m.map_or(0.0, |m| m.loss),
        rtt: sample.rtt,
        video_off_for_bandwidth: ladder.is_some() && !video.active,
        sharpness,
        smoothness,
        cpu_limited: sample.quality_limitation == QualityLimitation::Cpu,
    }
}
