//! What the stage shows beyond the participant list: screen shares, video sizes, who
//! is speaking, the layout mode, pin and page, and the layout itself, computed by the
//! core's pure [`layout`] from these signals. The computed [`StageView::layout`] is
//! also what tells which tiles are hidden (off-page or without room), for receiver hints.

use std::collections::{BTreeSet, HashMap};

use leptos::prelude::*;
use nonstop_core::layout::{
    layout, Layout, LayoutParams, LayoutRequest, Mode, Rect, Size, Tile as LayoutTile, TileId,
};
use nonstop_core::ParticipantId;
use web_sys::MediaStream;

use super::view::Tile;

/// The stage's signals. `Copy`: every field is a signal handle.
#[derive(Clone, Copy)]
pub struct StageView {
    /// Screen shares being shown, ours included, by participant.
    pub screens: RwSignal<HashMap<ParticipantId, MediaStream>, LocalStorage>,
    /// Video aspect ratios (videoWidth / videoHeight) once the videos know them.
    pub aspects: RwSignal<HashMap<TileId, f64>>,
    /// Everyone speaking now (we included, when our microphone picks up sound).
    pub speaking: RwSignal<BTreeSet<ParticipantId>>,
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
    pub fn new(tiles: RwSignal<Vec<Tile>>) -> Self {
        let screens = RwSignal::new_local(HashMap::new());
        let aspects = RwSignal::new(HashMap::new());
        let speaking = RwSignal::new(BTreeSet::new());
        let active_speaker = RwSignal::new(None);
        let mode = RwSignal::new(Mode::Auto);
        let pinned = RwSignal::new(None);
        let page = RwSignal::new(0);
        let size = RwSignal::new(Size::new(0.0, 0.0));
        let layout = Memo::new(move |_| {
            let screen_ids: BTreeSet<ParticipantId> =
                screens.with(|s: &HashMap<ParticipantId, MediaStream>| s.keys().copied().collect());
            let tiles = tiles.with(|ts| {
                layout_tiles(
                    ts,
                    &screen_ids,
                    &aspects.get(),
                    &speaking.get(),
                    pinned.get(),
                )
            });
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
            screens,
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

    pub fn set_screen(&self, id: ParticipantId, stream: Option<MediaStream>) {
        self.screens.update(|s| match stream {
            Some(stream) => {
                s.insert(id, stream);
            }
            None => {
                s.remove(&id);
            }
        });
        if stream_removed_pinned(self.pinned.get_untracked(), id) {
            self.pinned.set(None);
        }
    }

    pub fn remove(&self, id: ParticipantId) {
        self.set_screen(id, None);
        self.speaking.update(|s| {
            s.remove(&id);
        });
        if self
            .pinned
            .get_untracked()
            .is_some_and(|p| p.participant == id)
        {
            self.pinned.set(None);
        }
        self.aspects
            .update(|a| a.retain(|t, _| t.participant != id));
    }

    pub fn clear(&self) {
        self.screens.update(|s| s.clear());
        self.speaking.set(BTreeSet::new());
        self.active_speaker.set(None);
        self.pinned.set(None);
        self.page.set(0);
    }
}

fn stream_removed_pinned(pinned: Option<TileId>, id: ParticipantId) -> bool {
    pinned == Some(TileId::screen(id))
}

/// The layout engine's tiles, in display order: each camera, followed by that
/// participant's screen share if any.
fn layout_tiles(
    tiles: &[Tile],
    screens: &BTreeSet<ParticipantId>,
    aspects: &HashMap<TileId, f64>,
    speaking: &BTreeSet<ParticipantId>,
    pinned: Option<TileId>,
) -> Vec<LayoutTile> {
    let mut out = Vec::with_capacity(tiles.len() + screens.len());
    for t in tiles {
        let camera = TileId::camera(t.id);
        out.push(LayoutTile {
            id: camera,
            aspect: t.media.video.then(|| {
                aspects
                    .get(&camera)
                    .copied()
                    .unwrap_or(nonstop_core::layout::DEFAULT_ASPECT)
            }),
            local: t.local,
            pinned: pinned == Some(camera),
            speaking: speaking.contains(&t.id),
        });
        if screens.contains(&t.id) {
            let screen = TileId::screen(t.id);
            out.push(LayoutTile {
                id: screen,
                aspect: Some(
                    aspects
                        .get(&screen)
                        .copied()
                        .unwrap_or(nonstop_core::layout::DEFAULT_ASPECT),
                ),
                local: t.local,
                pinned: pinned == Some(screen),
                speaking: false,
            });
        }
    }
    out
}
