//! The detector's tuning.

/// Tuning of the speaker detector. Levels are linear, 0.0 to 1.0, like WebRTC's
/// `audioLevel`; durations are milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeakerConfig {
    /// How fast the smoothed level follows a rise: short, so a word registers at once.
    pub attack_ms: u64,
    /// How fast it follows a fall: longer, to bridge the gaps between syllables.
    pub release_ms: u64,
    /// Time constant of the slow loudness used to compare two people talking at once.
    pub loudness_ms: u64,
    /// The noise floor is the quietest level within this window (minimum statistics):
    /// everyone pauses within a few seconds, a fan never does.
    pub floor_window_ms: u64,
    /// Speaking starts when the smoothed level reaches `on_level` and `on_ratio` × the
    /// noise floor…
    pub on_level: f64,
    pub on_ratio: f64,
    /// …and goes on while it stays above `off_level` and `off_ratio` × the floor
    /// (lower: hysteresis, so a level near the threshold does not flicker).
    pub off_level: f64,
    pub off_ratio: f64,
    /// Speaking lasts this long after the last loud sample, across pauses for breath
    /// (and across the gaps of a beeping test tone).
    pub hangover_ms: u64,
    /// Time someone must have spoken clearly (above the start threshold) in their
    /// current turn to take the spotlight: a cough or a "yes" does not.
    pub takeover_ms: u64,
    /// While the spotlit person still speaks, someone else takes over only when this
    /// many times louder (above their own floors).
    pub overlap_ratio: f64,
    /// A participant without samples for this long is silent (stats stopped coming).
    pub stale_ms: u64,
    /// One sample stands for at most this much time, however long since the last.
    pub max_sample_ms: u64,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        SpeakerConfig {
            attack_ms: 50,
            release_ms: 200,
            loudness_ms: 1000,
            floor_window_ms: 5000,
            on_level: 0.04,
            on_ratio: 3.0,
            off_level: 0.02,
            off_ratio: 2.0,
            hangover_ms: 1000,
            takeover_ms: 1200,
            overlap_ratio: 2.0,
            stale_ms: 2000,
            max_sample_ms: 500,
        }
    }
}
