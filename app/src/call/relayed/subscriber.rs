//! The subscriber connection: one multistream connection receiving everyone we want
//! through the SFU. Janus offers, we answer. Tracks are known by their m-line's mid;
//! the core's `JanusClient` says whose source each mid carries, and each source's
//! tracks become the stream its tile plays.

use std::cell::RefCell;
use std::rc::Rc;

use nonstop_core::janus::{JanusClient, Trickled};
use nonstop_core::layout::TileId;
use nonstop_core::protocol::IceServer;
use nonstop_core::vec_map::VecMap;
use web_sys::{MediaStream, MediaStreamTrack};

use crate::call::transport::TransportEvent;
use crate::platform::sfu_peer::SfuPeer;

#[derive(Default)]
pub struct Subscriber {
    peer: RefCell<Option<Rc<SfuPeer>>>,
    /// The track received on each mid.
    tracks: Rc<RefCell<VecMap<String, MediaStreamTrack>>>,
    /// Per tile shown: its tracks' ids.
    shown: RefCell<VecMap<TileId, Vec<String>>>,
}

impl Subscriber {
    /// Answers Janus's offer, on a connection made for the first one.
    /// `on_track`: a track arrived (the tiles must be mapped again).
    pub async fn answer(
        &self,
        ice_servers: &[IceServer],
        offer: &str,
        on_candidate: impl FnMut(Trickled) + 'static,
        on_track: impl Fn() + 'static,
    ) -> Result<String, String> {
        let existing = self.peer.borrow().clone();
        let peer = match existing {
            Some(peer) => peer,
            None => {
                let mut peer = SfuPeer::new(ice_servers)?;
                peer.on_ice_candidate(on_candidate);
                let tracks = Rc::clone(&self.tracks);
                peer.on_track(move |mid, track| {
                    tracks.borrow_mut().insert(mid, track);
                    on_track();
                });
                let peer = Rc::new(peer);
                self.peer.replace(Some(Rc::clone(&peer)));
                peer
            }
        };
        peer.answer(offer).await
    }

    pub fn peer(&self) -> Option<Rc<SfuPeer>> {
        self.peer.borrow().clone()
    }

    /// The tiles whose tracks changed since the last call, with their new stream
    /// (`None`: nothing of theirs is received any more).
    pub fn remap(&self, client: &JanusClient) -> Vec<TransportEvent> {
        let mut now: VecMap<TileId, Vec<MediaStreamTrack>> = VecMap::new();
        for (mid, track) in self.tracks.borrow().iter() {
            if let Some(s) = client.carried_by(mid) {
                let tile = TileId {
                    participant: s.participant,
                    kind: s.source,
                };
                now.get_or_insert_with(tile, Vec::new).push(track.clone());
            }
        }
        let mut shown = self.shown.borrow_mut();
        let mut events = Vec::new();
        shown.retain(|tile, _| {
            let kept = now.contains_key(tile);
            if !kept {
                events.push(TransportEvent::RemoteMedia {
                    source: *tile,
                    stream: None,
                });
            }
            kept
        });
        for (tile, tracks) in now {
            let ids: Vec<String> = tracks.iter().map(|t| t.id()).collect();
            if shown.get(&tile) == Some(&ids) {
                continue;
            }
            let Ok(stream) = MediaStream::new() else {
                continue;
            };
            for track in &tracks {
                stream.add_track(track);
            }
            shown.insert(tile, ids);
            events.push(TransportEvent::RemoteMedia {
                source: tile,
                stream: Some(stream),
            });
        }
        events
    }

    /// Closes the connection; every tile it fed ends.
    pub fn close(&self) -> Vec<TransportEvent> {
        self.peer.take();
        self.tracks.borrow_mut().clear();
        std::mem::take(&mut *self.shown.borrow_mut())
            .into_iter()
            .map(|(source, _)| TransportEvent::RemoteMedia {
                source,
                stream: None,
            })
            .collect()
    }
}
