//! A remote participant's audio level from `getStats()`, as [`crate::speaker`] takes
//! it: the RMS level between two readings of the inbound audio's energy counters,
//! which also catches sounds shorter than the polling period, or the instantaneous
//! `audioLevel` where the counters are missing.

use crate::ids::ParticipantId;
use crate::vec_map::VecMap;

/// The previous energy reading per participant, for levels between two readings.
#[derive(Debug, Clone, Default)]
pub struct EnergyMeter {
    /// (`totalAudioEnergy`, `totalSamplesDuration`) at the last reading.
    last: VecMap<ParticipantId, (f64, f64)>,
}

impl EnergyMeter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The level (linear, 0.0 to 1.0) of `id`'s inbound audio from this reading:
    /// `sqrt(Δ totalAudioEnergy / Δ totalSamplesDuration)` since the previous reading
    /// when both counters are present and the duration grew, else `audio_level`, else
    /// `None` (nothing to tell). Values that are not finite count as missing.
    pub fn level(
        &mut self,
        id: ParticipantId,
        total_audio_energy: Option<f64>,
        total_samples_duration: Option<f64>,
        audio_level: Option<f64>,
    ) -> Option<f64> {
        let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
        let from_counters = match (finite(total_audio_energy), finite(total_samples_duration)) {
            (Some(energy), Some(duration)) => self
                .last
                .insert(id, (energy, duration))
                .filter(|&(_, d0)| duration > d0)
                .map(|(e0, d0)| ((energy - e0) / (duration - d0)).max(0.0).sqrt()),
            _ => None,
        };
        from_counters
            .or(finite(audio_level).map(|l| l.max(0.0)))
            .map(|l| l.min(1.0))
    }

    /// Forgets `id` (it left).
    pub fn remove(&mut self, id: ParticipantId) {
        self.last.remove(&id);
    }

    /// Keeps only the participants `keep` says yes to.
    pub fn retain(&mut self, keep: impl Fn(ParticipantId) -> bool) {
        self.last.retain(|id, _| keep(*id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: ParticipantId = ParticipantId::new(1);
    const BOB: ParticipantId = ParticipantId::new(2);

    #[test]
    fn the_rms_level_between_two_readings() {
        let mut m = EnergyMeter::new();
        // The first reading has nothing to compare with: the instantaneous level.
        assert_eq!(m.level(ADA, Some(1.0), Some(10.0), Some(0.3)), Some(0.3));
        assert_eq!(m.level(ADA, Some(1.0), Some(10.0), None), None);
        // 0.25 energy over 1 s of samples: RMS 0.5, whatever audioLevel says.
        let level = m.level(ADA, Some(1.25), Some(11.0), Some(0.01)).unwrap();
        assert!((level - 0.5).abs() < 1e-9, "{level}");
        // Participants are apart.
        assert_eq!(m.level(BOB, Some(5.0), Some(11.0), None), None);
    }

    #[test]
    fn without_counters_or_growth_the_instantaneous_level() {
        let mut m = EnergyMeter::new();
        assert_eq!(m.level(ADA, None, None, Some(0.2)), Some(0.2));
        assert_eq!(m.level(ADA, None, Some(3.0), None), None);
        m.level(ADA, Some(1.0), Some(3.0), None);
        // The duration did not grow (no new samples), or went back (a new track).
        assert_eq!(m.level(ADA, Some(1.0), Some(3.0), Some(0.1)), Some(0.1));
        assert_eq!(m.level(ADA, Some(0.0), Some(1.0), None), None);
        // From the reading after the reset on.
        let level = m.level(ADA, Some(0.04), Some(2.0), None).unwrap();
        assert!((level - 0.2).abs() < 1e-9, "{level}");
    }

    #[test]
    fn odd_numbers_are_clamped_or_ignored() {
        let mut m = EnergyMeter::new();
        assert_eq!(
            m.level(ADA, Some(f64::NAN), Some(1.0), Some(f64::NAN)),
            None
        );
        assert_eq!(m.level(ADA, None, None, Some(-0.5)), Some(0.0));
        assert_eq!(m.level(ADA, None, None, Some(7.0)), Some(1.0));
        m.level(BOB, Some(5.0), Some(1.0), None);
        // Energy going backwards gives silence, not a NaN.
        assert_eq!(m.level(BOB, Some(4.0), Some(2.0), None), Some(0.0));
    }

    #[test]
    fn forgetting_participants() {
        let mut m = EnergyMeter::new();
        m.level(ADA, Some(1.0), Some(1.0), None);
        m.level(BOB, Some(1.0), Some(1.0), None);
        m.retain(|id| id == BOB);
        assert_eq!(m.level(ADA, Some(2.0), Some(2.0), None), None);
        m.remove(BOB);
        assert_eq!(m.level(BOB, Some(2.0), Some(2.0), None), None);
    }
}
