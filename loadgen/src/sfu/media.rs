//! What a scripted participant sends: VP8 frames from an IVF file, looped at the
//! file's frame rate, and 20 ms Opus frames of silence carrying an audio level
//! (RFC 6464) that makes Janus report a speaker as talking, or not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ivf::Ivf;

/// A valid 20 ms Opus frame of silence (CELT, fullband, mono: TOC 0xF8).
pub const OPUS_SILENCE: [u8; 3] = [0xf8, 0xff, 0xfe];
/// Opus's RTP clock ticks per 20 ms frame (48 kHz).
pub const AUDIO_TICKS: u64 = 960;
pub const AUDIO_FRAME: Duration = Duration::from_millis(20);
/// A speaker's level: -20 dBov, loud enough for Janus's `audio_level_average` (25).
pub const SPEAKER_LEVEL: i8 = 20;
/// Silence (-127 dBov).
pub const SILENT_LEVEL: i8 = 127;
/// A speaker talks this long, then pauses for [`PAUSE`], and again: Janus says
/// `talking` and `stopped-talking` only on a change (a participant who joins while
/// someone talks is not told), so a speaker who never paused would never be heard by
/// later joiners. Janus judges the level over 100 packets (2 s).
pub const TALK: Duration = Duration::from_secs(6);
pub const PAUSE: Duration = Duration::from_secs(4);

/// One participant's send clock over the shared media.
pub struct MediaClock {
    video: Arc<Ivf>,
    audio_payload: Arc<[u8]>,
    start: Instant,
    next_video: Instant,
    next_audio: Instant,
    video_frames: u64,
    audio_frames: u64,
}

/// One item to write.
pub enum Sample {
    /// (RTP time in 90 kHz ticks, the frame)
    Video(u64, Arc<[u8]>),
    /// (RTP time in 48 kHz ticks, the frame, whether a speaker talks now)
    Audio(u64, Arc<[u8]>, bool),
}

impl MediaClock {
    pub fn new(video: Arc<Ivf>, start: Instant) -> MediaClock {
        MediaClock {
            video,
            audio_payload: Arc::from(&OPUS_SILENCE[..]),
            start,
            next_video: start,
            next_audio: start,
            video_frames: 0,
            audio_frames: 0,
        }
    }

    /// When the next sample is due.
    pub fn next_due(&self) -> Instant {
        self.next_video.min(self.next_audio)
    }

    fn video_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.video.fps)
    }

    /// The samples due at `now`. After a stall (a busy machine) it skips ahead rather
    /// than sending a burst: a live camera does not catch up either.
    pub fn due(&mut self, now: Instant, out: &mut Vec<Sample>) {
        if now >= self.next_audio {
            let ticks = self.audio_frames * AUDIO_TICKS;
            let cycle = (now - self.start).as_millis() % (TALK + PAUSE).as_millis();
            let talking = cycle < TALK.as_millis();
            out.push(Sample::Audio(
                ticks,
                Arc::clone(&self.audio_payload),
                talking,
            ));
            self.audio_frames += 1;
            self.next_audio += AUDIO_FRAME;
            if self.next_audio < now {
                let behind = (now - self.next_audio).as_micros() / AUDIO_FRAME.as_micros();
                self.audio_frames += behind as u64 + 1;
                self.next_audio = now + AUDIO_FRAME;
            }
        }
        if now >= self.next_video {
            let n = self.video.frames.len() as u64;
            let frame = Arc::clone(&self.video.frames[(self.video_frames % n) as usize]);
            let ticks = (self.video_frames as f64 * 90_000.0 / self.video.fps) as u64;
            out.push(Sample::Video(ticks, frame));
            self.video_frames += 1;
            let interval = self.video_interval();
            self.next_video += interval;
            if self.next_video < now {
                // Frames are not skipped (a VP8 frame depends on the one before), only time.
                self.next_video = now + interval;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(fps: f64) -> Arc<Ivf> {
        Arc::new(Ivf {
            frames: vec![Arc::from(&[0x10u8][..]), Arc::from(&[0x11u8][..])],
            fps,
            width: 320,
            height: 180,
        })
    }

    #[test]
    fn paces_audio_every_20_ms_and_video_at_the_clip_rate_with_talk_pauses() {
        let start = Instant::now();
        let mut clock = MediaClock::new(clip(10.0), start);
        let (mut audio, mut video, mut loud) = (0, 0, 0);
        let mut out = Vec::new();
        let mut now = start;
        while now < start + Duration::from_secs(10) {
            clock.due(now, &mut out);
            for sample in out.drain(..) {
                match sample {
                    Sample::Audio(ticks, _, talking) => {
                        assert_eq!(ticks, audio * AUDIO_TICKS);
                        audio += 1;
                        loud += u64::from(talking);
                    }
                    Sample::Video(ticks, frame) => {
                        assert_eq!(ticks, video * 9_000);
                        assert_eq!(frame[0], if video % 2 == 0 { 0x10 } else { 0x11 });
                        video += 1;
                    }
                }
            }
            now = clock.next_due();
        }
        assert_eq!((audio, video), (500, 100));
        assert_eq!(loud, 300, "6 s of talk in every 10");
    }

    #[test]
    fn after_a_stall_it_does_not_burst() {
        let start = Instant::now();
        let mut clock = MediaClock::new(clip(15.0), start);
        let mut out = Vec::new();
        clock.due(start, &mut out);
        out.clear();
        let late = start + Duration::from_secs(1);
        clock.due(late, &mut out);
        assert_eq!(
            out.len(),
            2,
            "one audio frame and one video frame, not a second's worth"
        );
        assert!(clock.next_due() > late);
    }
}
