//! Who is speaking: the core's [`SpeakerDetector`] fed from each link's sample (the
//! remote microphone's level from its energy counters, [`EnergyMeter`]) and our own
//! microphone's level, written into the stage's signals.

use leptos::prelude::*;
use nonstop_core::call::EnergyMeter;
use nonstop_core::speaker::SpeakerDetector;
use nonstop_core::time::Time;
use nonstop_core::vec_map::VecSet;
use nonstop_core::ParticipantId;

use super::transport::LinkSample;
use super::view::StageView;

pub struct Speaking {
    detector: SpeakerDetector,
    meter: EnergyMeter,
    /// Remote participants the detector has heard of.
    known: VecSet<ParticipantId>,
}

impl Speaking {
    pub fn new(me: ParticipantId) -> Self {
        let mut detector = SpeakerDetector::default();
        detector.set_local(Some(me));
        Speaking {
            detector,
            meter: EnergyMeter::default(),
            known: VecSet::new(),
        }
    }

    /// One round of samples (every link, read at `now`).
    pub fn observe(&mut self, now: Time, me: ParticipantId, samples: &[LinkSample]) {
        let mut local_level = None;
        for s in samples {
            local_level = local_level.or(s.local_audio_level);
            let Some(r) = &s.remote_audio else { continue };
            let level = self.meter.level(s.peer, r.energy, r.duration, r.level);
            if let Some(level) = level {
                self.known.insert(s.peer);
                self.detector.observe(now, s.peer, level);
            }
        }
        if let Some(level) = local_level {
            self.detector.observe(now, me, level);
        }
    }

    /// Forgets everyone not in `present`.
    pub fn retain(&mut self, present: &[ParticipantId]) {
        self.meter.retain(|id| present.contains(&id));
        let gone: Vec<ParticipantId> = self
            .known
            .iter()
            .filter(|id| !present.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.known.remove(&id);
            self.detector.remove(id);
        }
    }

    pub fn next_deadline(&self) -> Option<Time> {
        self.detector.next_deadline()
    }

    /// Advances to `now` and shows the result on the stage.
    pub fn show(&mut self, now: Time, stage: StageView) {
        self.detector.advance(now);
        // Not `collect`, which sorts first (a sort costs the wasm a few KB).
        let mut speaking = VecSet::new();
        speaking.extend(self.detector.speaking());
        if stage.speaking.try_with_untracked(|s| *s != speaking) == Some(true) {
            stage.speaking.set(speaking);
        }
        let active = self.detector.active();
        if stage
            .active_speaker
            .try_get_untracked()
            .is_some_and(|a| a != active)
        {
            stage.active_speaker.set(active);
        }
    }
}
