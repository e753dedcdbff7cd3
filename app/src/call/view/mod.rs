//! What the UI shows of a call, as signals: a leaf data model keyed by source
//! (participant, camera or screen). The call writes it; components read it. Nothing
//! here imports call logic.

mod chat;
mod link_stats;
mod stage;

use leptos::prelude::*;
use nonstop_core::call::TileModel;
use nonstop_core::layout::TileId;
use nonstop_core::vec_map::VecMap;
use nonstop_core::ParticipantId;

use crate::platform::ice::Route;
use crate::platform::media::MediaStream;

pub use chat::{ChatLine, ChatView};
pub use link_stats::{reason_text, AdaptationView, LinkStats};
pub use nonstop_core::call::LinkState;
pub use stage::StageView;

/// One tile: a participant's camera or screen, with what its badges show.
pub type Tile = TileModel;

/// The call's observable state. `Copy`: every field is a signal handle.
#[derive(Clone, Copy)]
pub struct CallView {
    /// Our camera first, then everyone else's in join order, each screen share right
    /// after its owner's camera (the core's `CallState::tiles`).
    pub tiles: RwSignal<Vec<Tile>>,
    /// The media each tile plays.
    pub streams: RwSignal<VecMap<TileId, MediaStream>, LocalStorage>,
    /// A problem with the call as a whole (lost signaling), shown as an alert.
    pub alert: RwSignal<Option<String>>,
    /// Layout, video sizes, who is speaking.
    pub stage: StageView,
    pub chat: ChatView,
    /// Each remote link's route (direct, relay over UDP/TCP).
    pub routes: RwSignal<VecMap<ParticipantId, Route>>,
    /// We hold the room's owner rights (a meeting token with `is_owner`): the page
    /// offers removing others and ending the call for everyone.
    pub owner: RwSignal<bool>,
}

impl CallView {
    pub fn new() -> Self {
        let tiles = RwSignal::new(Vec::new());
        Self {
            tiles,
            streams: RwSignal::new_local(VecMap::new()),
            alert: RwSignal::new(None),
            stage: StageView::new(tiles),
            chat: ChatView::new(),
            routes: RwSignal::new(VecMap::new()),
            owner: RwSignal::new(false),
        }
    }

    /// The tile of `id`, if it is shown.
    pub fn tile(&self, id: TileId) -> Option<Tile> {
        self.tiles
            .with(|ts| ts.iter().find(|t| t.key == id).cloned())
    }

    /// A participant's name as their camera tile shows it.
    pub fn name_of(&self, id: ParticipantId) -> Option<String> {
        self.tiles.with_untracked(|ts| {
            ts.iter()
                .find(|t| t.key == TileId::camera(id))
                .map(|t| t.name.clone())
        })
    }

    /// Replaces the tiles (when they changed), and forgets what belonged to tiles that
    /// are gone: their streams, pin, speaking state and aspect.
    pub fn set_tiles(&self, tiles: Vec<Tile>) {
        if self.tiles.with_untracked(|ts| *ts == tiles) {
            return;
        }
        let gone: Vec<TileId> = self.tiles.with_untracked(|ts| {
            ts.iter()
                .map(|t| t.key)
                .filter(|k| !tiles.iter().any(|t| t.key == *k))
                .collect()
        });
        self.tiles.set(tiles);
        for id in gone {
            self.set_stream(id, None);
            self.stage.forget(id);
        }
        let present: Vec<ParticipantId> = self
            .tiles
            .with_untracked(|ts| ts.iter().map(|t| t.key.participant).collect());
        self.routes
            .update(|r| r.retain(|id, _| present.contains(id)));
    }

    pub fn set_stream(&self, id: TileId, stream: Option<MediaStream>) {
        if stream.is_none() && self.streams.with_untracked(|s| !s.contains_key(&id)) {
            return;
        }
        self.streams.update(|s| match stream {
            Some(stream) => {
                s.insert(id, stream);
            }
            None => {
                s.remove(&id);
            }
        });
    }

    pub fn set_route(&self, id: ParticipantId, route: Option<Route>) {
        if self.routes.with_untracked(|r| r.get(&id).copied()) == route {
            return;
        }
        self.routes.update(|r| match route {
            Some(route) => {
                r.insert(id, route);
            }
            None => {
                r.remove(&id);
            }
        });
    }

    pub fn clear(&self) {
        self.tiles.set(Vec::new());
        self.streams.update(|s| s.clear());
        self.routes.update(|r| r.clear());
        self.stage.clear();
        self.chat.clear();
        self.owner.set(false);
    }
}

impl Default for CallView {
    fn default() -> Self {
        Self::new()
    }
}
