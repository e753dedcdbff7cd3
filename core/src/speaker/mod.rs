//! Who is speaking, and who is the active speaker (the spotlight), from audio levels
//! sampled for every participant: WebRTC's `audioLevel` (linear, 0.0 to 1.0) from
//! `getStats()` (inbound-rtp for others, media-source for us), or the RMS level from
//! two polls' energy counters: `sqrt(Δ totalAudioEnergy / Δ totalSamplesDuration)`,
//! which also catches sounds shorter than the polling period
//! ([`crate::call::EnergyMeter`] computes it from the counters).
//!
//! Per participant (see `voice.rs`): the level is smoothed (fast attack, slower release),
//! compared with thresholds above that participant's own noise floor (the quietest
//! level of the last few seconds), with hysteresis (a higher level to start than to
//! go on) and a hangover (speaking lasts a second past the last loud sample, which
//! also keeps a periodically beeping test tone "speaking").
//!
//! The spotlight moves only to someone who has spoken clearly for
//! [`SpeakerConfig::takeover_ms`] in their current turn, so a cough does not take it;
//! while the spotlit person still speaks, the newcomer must also be clearly louder.
//! When everyone is silent the last active speaker keeps it; when they leave, it goes
//! back to the one before. The local participant can be marked with
//! [`SpeakerDetector::set_local`]: shown speaking, never spotlit, since nobody needs
//! to watch themselves talk.
//!
//! Sans-IO: the caller passes the time with every input and gets back what changed.

mod config;
mod voice;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod simulated_call;
#[cfg(test)]
mod tests;

use crate::ids::ParticipantId;
use crate::vec_map::VecMap;
use voice::{clamp_level, Voice};

pub use crate::time::Time;
pub use config::SpeakerConfig;

/// A change the UI may want to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakerEvent {
    StartedSpeaking(ParticipantId),
    StoppedSpeaking(ParticipantId),
    /// The spotlight moved (to nobody only when the last candidate left).
    ActiveSpeaker(Option<ParticipantId>),
}

/// How many earlier active speakers are remembered, to fall back on when one leaves.
const HISTORY: usize = 8;

#[derive(Debug, Clone)]
pub struct SpeakerDetector {
    config: SpeakerConfig,
    voices: VecMap<ParticipantId, Voice>,
    now: Time,
    active: Option<ParticipantId>,
    /// Earlier active speakers, most recent last.
    history: Vec<ParticipantId>,
    local: Option<ParticipantId>,
}

impl SpeakerDetector {
    pub fn new(config: SpeakerConfig) -> Self {
        SpeakerDetector {
            config,
            voices: VecMap::new(),
            now: Time::default(),
            active: None,
            history: Vec::new(),
            local: None,
        }
    }

    /// Marks the local participant: they can be speaking but never take the spotlight.
    pub fn set_local(&mut self, local: Option<ParticipantId>) -> Vec<SpeakerEvent> {
        self.local = local;
        let mut events = Vec::new();
        if self.active.is_some() && self.active == local {
            self.fall_back(&mut events);
        }
        self.choose_active(&mut events);
        events
    }

    /// One audio level sample for `id` at `now`. The first sample of a participant
    /// adds them. Out-of-range levels are clamped, NaN reads as silence.
    pub fn observe(&mut self, now: Time, id: ParticipantId, level: f64) -> Vec<SpeakerEvent> {
        let level = clamp_level(level);
        self.now = self.now.max(now);
        let mut events = Vec::new();
        let voice = self
            .voices
            .get_or_insert_with(id, || Voice::new(now, level));
        match voice.observe(now, level, &self.config) {
            Some(true) => events.push(SpeakerEvent::StartedSpeaking(id)),
            Some(false) => events.push(SpeakerEvent::StoppedSpeaking(id)),
            None => {}
        }
        self.expire_stale(&mut events);
        self.choose_active(&mut events);
        events
    }

    /// Lets time pass without samples: participants whose samples stopped coming
    /// (see [`SpeakerConfig::stale_ms`]) stop speaking. Call at [`Self::next_deadline`].
    pub fn advance(&mut self, now: Time) -> Vec<SpeakerEvent> {
        self.now = self.now.max(now);
        let mut events = Vec::new();
        self.expire_stale(&mut events);
        self.choose_active(&mut events);
        events
    }

    /// A participant left. Unknown ids are ignored.
    pub fn remove(&mut self, id: ParticipantId) -> Vec<SpeakerEvent> {
        let mut events = Vec::new();
        if self.voices.remove(&id).is_some_and(|v| v.speaking()) {
            events.push(SpeakerEvent::StoppedSpeaking(id));
        }
        self.history.retain(|h| *h != id);
        if self.active == Some(id) {
            self.fall_back(&mut events);
        }
        self.choose_active(&mut events);
        events
    }

    pub fn is_speaking(&self, id: ParticipantId) -> bool {
        self.voices.get(&id).is_some_and(Voice::speaking)
    }

    /// Everyone speaking now, by id.
    pub fn speaking(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        self.voices
            .iter()
            .filter(|(_, v)| v.speaking())
            .map(|(id, _)| *id)
    }

    /// Who has the spotlight: `None` until someone has spoken long enough.
    pub fn active(&self) -> Option<ParticipantId> {
        self.active
    }

    /// When [`Self::advance`] could change something if no sample arrives before:
    /// the moment a speaking participant's samples count as stopped.
    pub fn next_deadline(&self) -> Option<Time> {
        self.voices
            .values()
            .filter(|v| v.speaking())
            .map(|v| v.last_sample().plus(self.config.stale_ms + 1))
            .min()
    }

    pub fn config(&self) -> &SpeakerConfig {
        &self.config
    }

    fn expire_stale(&mut self, events: &mut Vec<SpeakerEvent>) {
        for (id, voice) in &mut self.voices {
            if voice.speaking()
                && self.now.since(voice.last_sample()).as_millis() > self.config.stale_ms
            {
                voice.silence();
                events.push(SpeakerEvent::StoppedSpeaking(*id));
            }
        }
    }

    /// The spotlit participant left (or turned out to be us): back to the one before.
    fn fall_back(&mut self, events: &mut Vec<SpeakerEvent>) {
        let previous = self
            .history
            .iter()
            .rev()
            .find(|h| Some(**h) != self.local)
            .copied();
        self.history.retain(|h| Some(*h) != previous);
        self.active = previous;
        events.push(SpeakerEvent::ActiveSpeaker(previous));
    }

    fn choose_active(&mut self, events: &mut Vec<SpeakerEvent>) {
        let cfg = &self.config;
        let current = self
            .active
            .and_then(|id| self.voices.get(&id))
            .filter(|v| v.speaking());
        // Loudest clear speaker; on a tie the lower id, so the outcome never depends
        // on the order samples arrived in.
        let challenger = self
            .voices
            .iter()
            .filter(|(id, v)| {
                Some(**id) != self.active
                    && Some(**id) != self.local
                    && v.speaking()
                    && v.voiced_ms() >= cfg.takeover_ms
                    && current.is_none_or(|c| v.excess() > c.excess() * cfg.overlap_ratio)
            })
            .max_by(|(a_id, a), (b_id, b)| a.excess().total_cmp(&b.excess()).then(b_id.cmp(a_id)))
            .map(|(id, _)| *id);
        let Some(next) = challenger else { return };
        if let Some(previous) = self.active.replace(next) {
            self.history.retain(|h| *h != previous);
            self.history.push(previous);
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
        events.push(SpeakerEvent::ActiveSpeaker(Some(next)));
    }
}

impl Default for SpeakerDetector {
    fn default() -> Self {
        SpeakerDetector::new(SpeakerConfig::default())
    }
}
