//! The video ladder: which resolution and frame rate a video budget buys, never more
//! pixels than the receiver shows, and what gives way first (resolution for a camera,
//! frame rate for a screen).

use super::link::FloorCosts;
use super::sample::{Content, Resolution, VideoSource};
use super::units::{Bitrate, Framerate};

/// Standard sizes by short side ("720p"); the source's own size is the top rung.
const RUNGS: [u32; 8] = [2160, 1440, 1080, 720, 540, 360, 270, 180];
/// A camera keeps its frame rate down to the smallest rung, then drops to these.
const CAMERA_FRAMERATES: [u32; 3] = [24, 20, 15];
/// Below the rungs, for an encoder that cannot send the smallest rung as thinly as
/// its cap asks (see `EncoderFloors`): 160×90 from a 360p camera.
pub(crate) const FLOOR_RUNG: u32 = 90;

/// A screen keeps its resolution and drops to these first.
const SCREEN_FRAMERATES: [u32; 3] = [15, 10, 5];
/// A rung this close to the shown size is enough (a 182-pixel tile gets 180p).
const RUNG_TOLERANCE: f64 = 0.95;
/// The current step is kept until the budget falls below this share of its good rate,
/// so a budget wobbling around a rung does not switch resolution back and forth.
const KEEP_FACTOR: f64 = 0.85;
/// More than this multiple of the good rate buys nothing visible.
const USEFUL_FACTOR: f64 = 2.1;

/// 640×360, where 200 kb/s at 30 fps looks good.
const REFERENCE_PIXELS: f64 = 640.0 * 360.0;
const REFERENCE_BITRATE: f64 = 200_000.0;

/// The bit rate at which `pixels` at `fps` look good: 200 kb/s for 360p30, about
/// 570 kb/s for 720p30, 100 kb/s for 180p30. Cost grows with pixels^0.75 above 360p;
/// below it, small frames cost relatively more (headers, motion vectors), so it falls
/// only with the square root. Frame rate costs with fps^0.6: frames that follow each
/// other closely differ little.
pub(crate) fn good_bitrate(pixels: u64, fps: Framerate) -> Bitrate {
    // Without `powf`: its code and tables cost the app's wasm more than `ln` does
    // (`sqrt` is an instruction, `exp` is there anyway).
    let p = pixels as f64 / REFERENCE_PIXELS;
    let size = if p <= 1.0 {
        p.sqrt()
    } else {
        p.sqrt() * p.sqrt().sqrt()
    };
    let motion = (0.6 * (f64::from(fps.get()) / 30.0).ln()).exp();
    Bitrate::from_bps_f64(REFERENCE_BITRATE * size * motion)
}

/// One video setting the ladder can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub short_side: u32,
    pub framerate: Framerate,
}

/// What to send on one link: a step and its bit rate cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VideoChoice {
    pub step: Step,
    /// `scaleResolutionDownBy`: source short side / sent short side, at least 1.
    pub scale: f64,
    pub max_bitrate: Bitrate,
}

/// The steps open to one link, best first, the first fitting what the receiver shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ladder {
    source: VideoSource,
    steps: Vec<Step>,
    floors: FloorCosts,
}

impl Ladder {
    /// `shown`: the tile size; `None` for "not told yet", which caps nothing.
    pub(crate) fn new(source: VideoSource, shown: Option<Resolution>) -> Ladder {
        let source_short = source.resolution.short_side().max(1);
        let fps = source.framerate;
        let mut rungs = vec![source_short];
        rungs.extend(RUNGS.iter().copied().filter(|r| *r < source_short));
        let needed = shown.map_or(f64::from(source_short), |s| {
            needed_short_side(source.resolution, s)
        });
        let top = rungs
            .iter()
            .rposition(|r| f64::from(*r) >= needed * RUNG_TOLERANCE)
            .unwrap_or(0);
        let rungs = &rungs[top..];
        let lower_rates = |rates: &'static [u32]| {
            rates
                .iter()
                .copied()
                .filter(move |r| *r < fps.get())
                .map(Framerate::fps)
        };
        let steps = match source.content {
            Content::Camera => {
                let smallest = *rungs.last().unwrap_or(&source_short);
                let mut steps: Vec<Step> = rungs
                    .iter()
                    .map(|&r| Step {
                        short_side: r,
                        framerate: fps,
                    })
                    .collect();
                steps.extend(lower_rates(&CAMERA_FRAMERATES).map(|f| Step {
                    short_side: smallest,
                    framerate: f,
                }));
                steps
            }
            Content::Screen => {
                let largest = rungs[0];
                let mut steps = vec![Step {
                    short_side: largest,
                    framerate: fps,
                }];
                steps.extend(lower_rates(&SCREEN_FRAMERATES).map(|f| Step {
                    short_side: largest,
                    framerate: f,
                }));
                let slowest = steps.last().map_or(fps, |s| s.framerate);
                steps.extend(rungs[1..].iter().map(|&r| Step {
                    short_side: r,
                    framerate: slowest,
                }));
                steps
            }
        };
        Ladder {
            source,
            steps,
            floors: FloorCosts::default(),
        }
    }

    /// The ladder for an encoder with these floors: each size costs at least what
    /// its floor needs, and a camera may go down to [`FLOOR_RUNG`] while any holds.
    pub(crate) fn with_floors(mut self, floors: FloorCosts) -> Ladder {
        if floors.is_empty() {
            return self;
        }
        let last = self.steps.last().copied();
        if let Some(last) =
            last.filter(|l| self.source.content == Content::Camera && l.short_side > FLOOR_RUNG)
        {
            let fps = self.source.framerate;
            self.steps.push(Step {
                short_side: FLOOR_RUNG,
                framerate: fps,
            });
            if last.framerate < fps {
                self.steps.push(Step {
                    short_side: FLOOR_RUNG,
                    framerate: last.framerate,
                });
            }
        }
        self.floors = floors;
        self
    }

    /// The most video bit rate this link can use: the useful rate of the best step.
    pub(crate) fn demand(&self) -> Bitrate {
        self.steps
            .first()
            .map_or(Bitrate::ZERO, |s| self.useful(*s))
    }

    /// The short side the receiver's tile calls for (capped at the source's).
    pub(crate) fn top_short_side(&self) -> Option<u32> {
        self.steps.first().map(|s| s.short_side)
    }

    /// The best step `budget` buys. `current` (what is sent now) is kept while the
    /// budget stays within [`KEEP_FACTOR`] of its cost. Below the cheapest step, the
    /// cheapest (the caller turns video off below its minimum anyway).
    pub(crate) fn choose(&self, budget: Bitrate, current: Option<Step>) -> VideoChoice {
        let fits = self.steps.iter().position(|s| self.cost(*s) <= budget);
        let best = fits.unwrap_or(self.steps.len().saturating_sub(1));
        let kept = current
            .and_then(|c| self.steps.iter().position(|s| *s == c))
            .filter(|&i| i < best && budget >= self.cost(self.steps[i]).scaled(KEEP_FACTOR));
        let step = self
            .steps
            .get(kept.unwrap_or(best))
            .copied()
            .unwrap_or(Step {
                short_side: self.source.resolution.short_side(),
                framerate: self.source.framerate,
            });
        VideoChoice {
            step,
            scale: f64::from(self.source.resolution.short_side().max(1))
                / f64::from(step.short_side.max(1)),
            max_bitrate: budget.min(self.useful(step)),
        }
    }

    fn pixels(&self, step: Step) -> u64 {
        let ratio =
            f64::from(step.short_side) / f64::from(self.source.resolution.short_side().max(1));
        (self.source.resolution.pixels() as f64 * ratio * ratio) as u64
    }

    fn good(&self, step: Step) -> Bitrate {
        good_bitrate(self.pixels(step), step.framerate)
    }

    /// What a step needs: its good rate, or what this encoder's floor there needs.
    fn cost(&self, step: Step) -> Bitrate {
        self.good(step).max(self.floors.at(step.short_side))
    }

    fn useful(&self, step: Step) -> Bitrate {
        self.good(step).scaled(USEFUL_FACTOR)
    }
}

/// The short side to send so that the picture covers a tile of `shown` (the tile may
/// crop it; the same scale applies to both sides).
fn needed_short_side(source: Resolution, shown: Resolution) -> f64 {
    let scale_w = f64::from(source.width) / f64::from(shown.width.max(1));
    let scale_h = f64::from(source.height) / f64::from(shown.height.max(1));
    f64::from(source.short_side()) / scale_w.min(scale_h).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAM: VideoSource = VideoSource {
        resolution: Resolution::new(1280, 720),
        framerate: Framerate::fps(30),
        content: Content::Camera,
    };

    fn shown(w: u32, h: u32) -> Option<Resolution> {
        Some(Resolution::new(w, h))
    }

    #[test]
    fn good_rates_match_the_reference_points() {
        let fps30 = Framerate::fps(30);
        let kbps = |w: u64, h: u64| good_bitrate(w * h, fps30).as_bps() / 1000;
        assert_eq!(kbps(640, 360), 200);
        assert_eq!(kbps(320, 180), 100);
        assert_eq!(kbps(1280, 720), 565);
        let useful_720 = Ladder::new(CAM, None).demand();
        assert!(useful_720 > Bitrate::kbps(1150) && useful_720 < Bitrate::kbps(1250));
    }

    #[test]
    fn a_thumbnail_does_not_get_720p() {
        let ladder = Ladder::new(CAM, shown(320, 180));
        let choice = ladder.choose(Bitrate::mbps(2), None);
        assert_eq!(choice.step.short_side, 180);
        assert_eq!(choice.scale, 4.0);
        assert!(choice.max_bitrate <= Bitrate::kbps(210));
        // A tile a little over 180 pixels high still gets 180p; a bigger one 270p.
        assert_eq!(
            Ladder::new(CAM, shown(330, 186))
                .choose(Bitrate::mbps(2), None)
                .step
                .short_side,
            180
        );
        assert_eq!(
            Ladder::new(CAM, shown(400, 225))
                .choose(Bitrate::mbps(2), None)
                .step
                .short_side,
            270
        );
        // A large tile gets the source size, never more.
        assert_eq!(
            Ladder::new(CAM, shown(2560, 1440))
                .choose(Bitrate::mbps(2), None)
                .scale,
            1.0
        );
    }

    #[test]
    fn a_tile_of_another_shape_is_covered() {
        // A portrait tile 360 wide, 640 high crops a landscape picture: it needs the
        // full 640 pixels of height, so 720p.
        let choice = Ladder::new(CAM, shown(360, 640)).choose(Bitrate::mbps(2), None);
        assert_eq!(choice.step.short_side, 720);
    }

    #[test]
    fn camera_gives_up_resolution_before_frame_rate() {
        let ladder = Ladder::new(CAM, None);
        let mut seen = Vec::new();
        for kbps in (80..=1300).rev().step_by(10) {
            let c = ladder.choose(Bitrate::kbps(kbps), None);
            seen.push((c.step.short_side, c.step.framerate.get()));
        }
        let first_lower_fps = seen
            .iter()
            .position(|(_, f)| *f < 30)
            .expect("frame rate drops at the end");
        assert!(seen[..first_lower_fps].windows(2).all(|w| w[1].0 <= w[0].0));
        assert!(seen[first_lower_fps..].iter().all(|(side, _)| *side == 180));
        assert_eq!(seen[0], (720, 30));
        assert_eq!(
            ladder.choose(Bitrate::kbps(360), None).step,
            Step {
                short_side: 360,
                framerate: Framerate::fps(30)
            }
        );
        assert_eq!(*seen.last().unwrap(), (180, 20));
    }

    #[test]
    fn screen_gives_up_frame_rate_before_resolution() {
        let screen = VideoSource {
            resolution: Resolution::new(1920, 1080),
            framerate: Framerate::fps(30),
            content: Content::Screen,
        };
        let ladder = Ladder::new(screen, None);
        let c = ladder.choose(Bitrate::kbps(600), None);
        assert_eq!((c.step.short_side, c.step.framerate.get()), (1080, 10));
        let c = ladder.choose(Bitrate::kbps(150), None);
        assert_eq!(c.step.framerate.get(), 5);
        assert!(c.step.short_side < 1080);
    }

    #[test]
    fn the_current_step_is_kept_while_the_budget_wobbles() {
        let ladder = Ladder::new(CAM, None);
        let at_360 = ladder.choose(Bitrate::kbps(210), None);
        assert_eq!(at_360.step.short_side, 360);
        let wobble = ladder.choose(Bitrate::kbps(185), Some(at_360.step));
        assert_eq!(wobble.step.short_side, 360);
        assert_eq!(wobble.max_bitrate, Bitrate::kbps(185));
        assert_eq!(
            ladder
                .choose(Bitrate::kbps(160), Some(at_360.step))
                .step
                .short_side,
            270
        );
    }

    #[test]
    fn odd_sources_do_not_break_the_ladder() {
        for resolution in [
            Resolution::new(0, 0),
            Resolution::new(160, 120),
            Resolution::new(720, 1280),
        ] {
            let source = VideoSource { resolution, ..CAM };
            for tile in [None, shown(1, 1), shown(4000, 4000)] {
                let c = Ladder::new(source, tile).choose(Bitrate::kbps(300), None);
                assert!(c.scale >= 1.0 && c.scale.is_finite());
            }
        }
    }
}
