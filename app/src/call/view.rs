//! What the UI shows of a call, as signals. The call writes them; components read them.

use std::collections::HashMap;

use leptos::prelude::*;
use nonstop_core::protocol::MediaState;
use nonstop_core::ParticipantId;
use web_sys::MediaStream;

pub use super::chat_state::{ChatLine, ChatView};
pub use super::recovery::RoutesView;
pub use super::stage_state::StageView;

/// How a remote participant's connection is doing, as people should see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Connected,
    /// Was connected; the browser is trying to get the path back.
    Interrupted,
    Failed,
}

/// One participant's tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub id: ParticipantId,
    pub name: String,
    pub local: bool,
    pub media: MediaState,
    pub link: LinkState,
}

/// The call's observable state. `Copy`: every field is a signal handle.
#[derive(Clone, Copy)]
pub struct CallView {
    /// Local participant first, then remote ones in join order.
    pub tiles: RwSignal<Vec<Tile>>,
    /// Media per participant (local preview and remote streams).
    pub streams: RwSignal<HashMap<ParticipantId, MediaStream>, LocalStorage>,
    /// A problem with the call as a whole (lost signaling), shown as an alert.
    pub alert: RwSignal<Option<String>>,
    /// Layout, screen shares, speaking (see `stage_state.rs`).
    pub stage: StageView,
    pub chat: ChatView,
    /// Each remote link's route (direct, relay over UDP/TCP), see `recovery.rs`.
    pub routes: RoutesView,
}

impl CallView {
    pub fn new() -> Self {
        let tiles = RwSignal::new(Vec::new());
        Self {
            tiles,
            streams: RwSignal::new_local(HashMap::new()),
            alert: RwSignal::new(None),
            stage: StageView::new(tiles),
            chat: ChatView::new(),
            routes: RoutesView::new(),
        }
    }

    pub fn upsert_tile(&self, tile: Tile) {
        self.tiles
            .update(|tiles| match tiles.iter_mut().find(|t| t.id == tile.id) {
                Some(existing) => *existing = tile,
                None => tiles.push(tile),
            });
    }

    pub fn update_tile(&self, id: ParticipantId, change: impl FnOnce(&mut Tile)) {
        self.tiles.update(|tiles| {
            if let Some(t) = tiles.iter_mut().find(|t| t.id == id) {
                change(t);
            }
        });
    }

    pub fn remove(&self, id: ParticipantId) {
        self.tiles.update(|tiles| tiles.retain(|t| t.id != id));
        self.streams.update(|s| {
            s.remove(&id);
        });
        self.stage.remove(id);
    }

    pub fn set_stream(&self, id: ParticipantId, stream: MediaStream) {
        self.streams.update(|s| {
            s.insert(id, stream);
        });
    }

    pub fn clear(&self) {
        self.tiles.set(Vec::new());
        self.streams.update(|s| s.clear());
        self.stage.clear();
        self.chat.clear();
    }
}
