//! An IVF file (what `vpxenc --ivf` writes): a 32-byte header, then frames of a
//! 12-byte header (size, timestamp) and the frame. Read whole into memory once and
//! shared by every participant.

use std::sync::Arc;

/// The frames of a VP8 IVF file and its frame rate.
#[derive(Debug, Clone)]
pub struct Ivf {
    pub frames: Vec<Arc<[u8]>>,
    /// Frames per second, from the header's time base.
    pub fps: f64,
    pub width: u16,
    pub height: u16,
}

impl Ivf {
    pub fn parse(bytes: &[u8]) -> Result<Ivf, String> {
        if bytes.len() < 32 || &bytes[0..4] != b"DKIF" {
            return Err("not an IVF file (no DKIF signature)".into());
        }
        if &bytes[8..12] != b"VP80" {
            return Err(format!(
                "the IVF file's codec is {:?}, not VP80",
                String::from_utf8_lossy(&bytes[8..12])
            ));
        }
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let header_len = usize::from(u16_at(6));
        let (width, height) = (u16_at(12), u16_at(14));
        let (rate, scale) = (u32_at(16), u32_at(20));
        if rate == 0 || scale == 0 {
            return Err("the IVF header has no frame rate".into());
        }
        let u64_at = |i: usize| u64::from(u32_at(i)) | u64::from(u32_at(i + 4)) << 32;
        let mut frames = Vec::new();
        let mut stamps = Vec::new();
        let mut at = header_len.max(32);
        while at + 12 <= bytes.len() {
            let size = u32_at(at) as usize;
            stamps.push(u64_at(at + 4));
            let start = at + 12;
            let Some(frame) = bytes.get(start..start + size) else {
                break; // a cut-off last frame
            };
            frames.push(Arc::from(frame));
            at = start + size;
        }
        if frames.is_empty() {
            return Err("the IVF file has no frames".into());
        }
        if !is_keyframe(&frames[0]) {
            return Err("the IVF file does not start with a keyframe: it cannot loop".into());
        }
        // The time base is `scale / rate` seconds (vpxenc writes 1/1000 unless told);
        // the rate is what the frames' timestamps say, else one frame per tick.
        let tick = f64::from(scale) / f64::from(rate);
        let span = stamps[frames.len() - 1].saturating_sub(stamps[0]) as f64 * tick;
        let fps = if frames.len() > 1 && span > 0.0 {
            (frames.len() - 1) as f64 / span
        } else {
            1.0 / tick
        };
        Ok(Ivf {
            frames,
            fps,
            width,
            height,
        })
    }

    /// Frames between keyframes at most (how long a new receiver may wait).
    pub fn max_keyframe_distance(&self) -> usize {
        let keys: Vec<usize> = (0..self.frames.len())
            .filter(|&i| is_keyframe(&self.frames[i]))
            .chain([self.frames.len()])
            .collect();
        keys.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
    }
}

/// VP8's frame tag: bit 0 of the first byte is 0 on a keyframe.
pub fn is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivf(frames: &[&[u8]]) -> Vec<u8> {
        ivf_in(frames, 15, 1)
    }

    /// In a time base of 1/`rate` s, frames `per_frame` ticks apart.
    fn ivf_in(frames: &[&[u8]], rate: u32, per_frame: u64) -> Vec<u8> {
        let mut out = b"DKIF".to_vec();
        out.extend(0u16.to_le_bytes());
        out.extend(32u16.to_le_bytes());
        out.extend(b"VP80");
        out.extend(320u16.to_le_bytes());
        out.extend(180u16.to_le_bytes());
        out.extend(rate.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend((frames.len() as u32).to_le_bytes());
        out.extend(0u32.to_le_bytes());
        for (i, f) in frames.iter().enumerate() {
            out.extend((f.len() as u32).to_le_bytes());
            out.extend((i as u64 * per_frame).to_le_bytes());
            out.extend(*f);
        }
        out
    }

    #[test]
    fn reads_frames_rate_and_keyframe_distance() {
        let file = ivf(&[&[0x10, 1, 2], &[0x11, 3], &[0x11], &[0x10, 9], &[0x11]]);
        let ivf = Ivf::parse(&file).unwrap();
        assert_eq!(ivf.frames.len(), 5);
        assert_eq!(ivf.fps, 15.0);
        assert_eq!((ivf.width, ivf.height), (320, 180));
        assert_eq!(&ivf.frames[1][..], &[0x11, 3]);
        assert_eq!(ivf.max_keyframe_distance(), 3);
    }

    #[test]
    fn the_frame_rate_comes_from_the_timestamps() {
        // vpxenc's default time base is 1/1000: 15 fps is a frame every 66.7 ticks.
        let file = ivf_in(&[&[0x10], &[0x11], &[0x11], &[0x11]], 1000, 200);
        assert_eq!(Ivf::parse(&file).unwrap().fps, 5.0);
    }

    #[test]
    fn refuses_what_cannot_loop() {
        assert!(Ivf::parse(&ivf(&[&[0x11]])).is_err(), "no keyframe first");
        assert!(Ivf::parse(b"RIFF").is_err());
        let mut cut = ivf(&[&[0x10, 1, 2, 3]]);
        cut.truncate(cut.len() - 2);
        assert!(Ivf::parse(&cut).is_err(), "its only frame is cut off");
    }
}
