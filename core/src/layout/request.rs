//! What the layout engine is asked: the tiles, the mode, the tuning.

use serde::{Deserialize, Serialize};

use super::geometry::{aspect_or, length, Size};
use crate::ids::ParticipantId;

/// What a tile shows. A participant who shares their screen has two tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TileKind {
    Camera,
    Screen,
}

/// A tile: whose, and which of their videos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TileId {
    pub participant: ParticipantId,
    pub kind: TileKind,
}

impl TileId {
    pub const fn camera(participant: ParticipantId) -> TileId {
        TileId {
            participant,
            kind: TileKind::Camera,
        }
    }

    pub const fn screen(participant: ParticipantId) -> TileId {
        TileId {
            participant,
            kind: TileKind::Screen,
        }
    }

    pub fn is_screen(self) -> bool {
        self.kind == TileKind::Screen
    }
}

/// The aspect ratio (width / height) assumed for a tile without video, or with a video
/// whose size is not known yet.
pub const DEFAULT_ASPECT: f64 = 16.0 / 9.0;

/// One tile to lay out.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub id: TileId,
    /// The video's aspect ratio (width / height); `None` when there is no video (the
    /// camera is off), and the tile gets [`LayoutParams::default_aspect`].
    pub aspect: Option<f64>,
    /// This browser's own tile.
    pub local: bool,
    pub pinned: bool,
    pub speaking: bool,
}

impl Tile {
    /// A camera tile with 16:9 video, not local, pinned or speaking.
    pub fn camera(participant: ParticipantId) -> Tile {
        Tile {
            id: TileId::camera(participant),
            aspect: Some(DEFAULT_ASPECT),
            local: false,
            pinned: false,
            speaking: false,
        }
    }

    /// A screen share tile with 16:9 video.
    pub fn screen(participant: ParticipantId) -> Tile {
        Tile {
            id: TileId::screen(participant),
            ..Tile::camera(participant)
        }
    }

    pub fn has_video(&self) -> bool {
        self.aspect.is_some()
    }
}

/// The layout the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Grid; a spotlight on a pinned tile; presentation while a screen is shared.
    #[default]
    Auto,
    Grid,
    Speaker,
    Presentation,
}

/// Tuning that rarely changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayoutParams {
    /// Most tiles on one grid page.
    pub page_size: usize,
    /// Space between tiles, in CSS pixels. The stage's own padding is the app's.
    pub gap: f64,
    /// Share of the stage kept for the thumbnail strip (0.05 to 0.5).
    pub strip_share: f64,
    /// Narrowest useful thumbnail, in CSS pixels: a strip hides what would be smaller.
    pub min_thumb_width: f64,
    /// Aspect ratio of tiles without video.
    pub default_aspect: f64,
}

impl Default for LayoutParams {
    fn default() -> Self {
        LayoutParams {
            page_size: 25,
            gap: 8.0,
            strip_share: 0.2,
            min_thumb_width: 96.0,
            default_aspect: DEFAULT_ASPECT,
        }
    }
}

impl LayoutParams {
    pub(super) fn sanitised(self) -> LayoutParams {
        let share = self.strip_share;
        LayoutParams {
            page_size: self.page_size.max(1),
            gap: length(self.gap),
            strip_share: if share.is_finite() {
                share.clamp(0.05, 0.5)
            } else {
                0.2
            },
            min_thumb_width: length(self.min_thumb_width).max(1.0),
            default_aspect: aspect_or(Some(self.default_aspect), DEFAULT_ASPECT),
        }
    }
}

/// Everything [`layout`](super::layout()) looks at.
#[derive(Debug, Clone)]
pub struct LayoutRequest<'a> {
    /// The stage, in CSS pixels.
    pub container: Size,
    /// In display order, which the layout keeps. A repeated id counts once (the first).
    pub tiles: &'a [Tile],
    pub mode: Mode,
    /// [`crate::speaker::SpeakerDetector::active`]; picks the main tile in speaker
    /// mode. Taken as it is, so give the detector our own id (`set_local`) to keep us
    /// out of the main tile.
    pub active_speaker: Option<ParticipantId>,
    /// The grid page to show, from 0; clamped to the last page.
    pub page: usize,
    pub params: LayoutParams,
}

impl<'a> LayoutRequest<'a> {
    /// Auto mode, page 0, no active speaker, default parameters.
    pub fn new(container: Size, tiles: &'a [Tile]) -> Self {
        LayoutRequest {
            container,
            tiles,
            mode: Mode::Auto,
            active_speaker: None,
            page: 0,
            params: LayoutParams::default(),
        }
    }
}
