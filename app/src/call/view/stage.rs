//! What the stage shows beyond the tiles: video sizes, who is speaking, the layout
//! mode, pin and page, and the layout itself, computed by the core's pure [`layout`]
//! from these signals. The computed [`StageView::layout`] also tells which tiles are
//! hidden (off-page or without room): the receiver hints follow it.

use leptos::prelude::*;
use nonstop_core::call::TileModel;
use nonstop_core::layout::{
    layout, Layout, LayoutParams, LayoutRequest, Mode, Rect, Size, Tile as LayoutTile, TileId,
};
use nonstop_core::vec_map::{VecMap, VecSet};
use nonstop_core::ParticipantId;

/// The stage's signals. `Copy`: every field is a signal handle.
#[derive(Clone, Copy)]
pub struct StageView {
    /// Video aspect ratios (videoWidth / videoHeight) once the videos know them.
    pub aspects: RwSignal<VecMap<TileId, f64>>,
    /// Everyone speaking now (we included, when our microphone picks up sound).
    pub speaking: RwSignal<VecSet<ParticipantId>>,
    /// The spotlight of speaker mode (never us).
    pub active_speaker: RwSignal<Option<ParticipantId>>,
    pub mode: RwSignal<Mode>,
    pub pinned: RwSignal<Option<TileId>>,
    pub page: RwSignal<usize>,
    /// The stage container, in CSS pixels (measured by the stage component).
    pub size: RwSignal<Size>,
    /// Where every tile goes: `placed` (visible, with rectangles) and `hidden`.
    pub layout: Memo<Layout>,
}

impl StageView {
    pub fn new(tiles: RwSignal<Vec<TileModel>>) -> Self {
        let aspects = RwSignal::new(VecMap::new());
        let speaking = RwSignal::new(VecSet::new());
        let active_speaker = RwSignal::new(None);
        let mode = RwSignal::new(Mode::Auto);
        let pinned = RwSignal::new(None);
        let page = RwSignal::new(0);
        let size = RwSignal::new(Size::new(0.0, 0.0));
        let layout = Memo::new(move |_| {
            let tiles =
                tiles.with(|ts| layout_tiles(ts, &aspects.get(), &speaking.get(), pinned.get()));
            layout(&LayoutRequest {
                container: size.get(),
                tiles: &tiles,
                mode: mode.get(),
                active_speaker: active_speaker.get(),
                page: page.get(),
                params: LayoutParams::default(),
            })
        });
        Self {
            aspects,
            speaking,
            active_speaker,
            mode,
            pinned,
            page,
            size,
            layout,
        }
    }

    /// The rectangle of `id`, if it is placed.
    pub fn rect_of(&self, id: TileId) -> Option<Rect> {
        self.layout.with(|l| l.rect_of(id))
    }

    /// The rectangle of `id` now, without subscribing (for the receiver hints).
    pub fn placed_rect(&self, id: TileId) -> Option<Rect> {
        self.layout.with_untracked(|l| l.rect_of(id))
    }

    /// A tile went away: forget its pin and aspect, and its owner's speaking state
    /// when it was their camera.
    pub fn forget(&self, id: TileId) {
        if self.pinned.get_untracked() == Some(id) {
            self.pinned.set(None);
        }
        if !id.is_screen() {
            self.speaking.update(|s| {
                s.remove(&id.participant);
            });
        }
        self.aspects.update(|a| {
            a.remove(&id);
        });
    }

    pub fn clear(&self) {
        self.speaking.set(VecSet::new());
        self.active_speaker.set(None);
        self.pinned.set(None);
        self.page.set(0);
    }
}

/// The layout engine's tiles, in display order.
fn layout_tiles(
    tiles: &[TileModel],
    aspects: &VecMap<TileId, f64>,
    speaking: &VecSet<ParticipantId>,
    pinned: Option<TileId>,
) -> Vec<LayoutTile> {
    tiles
        .iter()
        .map(|t| {
            let screen = t.key.is_screen();
            LayoutTile {
                id: t.key,
                aspect: (screen || t.media.video).then(|| {
                    aspects
                        .get(&t.key)
                        .copied()
                        .unwrap_or(nonstop_core::layout::DEFAULT_ASPECT)
                }),
                local: t.local,
                pinned: pinned == Some(t.key),
                speaking: !screen && speaking.contains(&t.key.participant),
            }
        })
        .collect()
}
