//! Screen sharing on one link, both directions.
//!
//! How the receiver tells the screen from the camera: camera and microphone are sent
//! without a stream (their SDP `msid` names none), while the screen track goes out on
//! its own `sendonly` transceiver *with* the sharer's screen `MediaStream`, and the
//! sharer announces that stream's id over the data channel
//! ([`PeerMsg::Screen`](nonstop_core::peer_msg::PeerMsg::Screen)). A received track
//! counts as the screen only when its stream id is the announced one, whichever of the
//! two arrives first; until then it plays in the camera's stream as before (a browser
//! that names a stream for its camera therefore changes nothing). The announcement is
//! repeated when the data channel (re)opens, so someone joining while we share gets it.
//! Stopping stops the transceiver (renegotiation) and announces `None`.

use std::cell::RefCell;

use nonstop_core::layout::TileId;
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::vec_map::VecMap;
use nonstop_core::ParticipantId;

use crate::call::transport::{EventSink as Events, TransportEvent};
use crate::platform::media::{MediaStreamTrack, RemoteStream};
use crate::platform::peer_connection::{PeerConnection, ReceivedTrack, ScreenSender};
use crate::platform::screen::{self, ScreenTrack};

pub struct ScreenLink {
    remote: ParticipantId,
    events: Events,
    outgoing: RefCell<Option<ScreenTrack>>,
    sender: RefCell<Option<ScreenSender>>,
    /// Received video tracks that came with a stream, by stream id.
    received: RefCell<VecMap<String, MediaStreamTrack>>,
    announced: RefCell<Option<String>>,
}

impl ScreenLink {
    pub fn new(remote: ParticipantId, events: Events) -> Self {
        Self {
            remote,
            events,
            outgoing: RefCell::new(None),
            sender: RefCell::new(None),
            received: RefCell::new(VecMap::new()),
            announced: RefCell::new(None),
        }
    }

    /// What to announce on this link now.
    pub fn announcement(&self) -> PeerMsg {
        PeerMsg::Screen {
            stream: self.outgoing.borrow().as_ref().map(ScreenTrack::stream_id),
        }
    }

    /// Starts (Some) or stops (None) sending our screen. `pc`: the connection, when its
    /// first negotiation is done (or we make the first offer), so a transceiver can be
    /// added without disturbing it; otherwise [`Self::attach`] does it later.
    pub fn set_outgoing(&self, screen: Option<ScreenTrack>, pc: Option<&PeerConnection>) {
        let stopping = screen.is_none();
        *self.outgoing.borrow_mut() = screen;
        if stopping {
            if let Some(sender) = self.sender.borrow_mut().take() {
                // Stopping renegotiates; the remote side's announcement removes the tile.
                sender.stop();
            }
        } else if let Some(pc) = pc {
            self.attach(pc);
        }
    }

    /// Adds the screen transceiver if we share and it is not there yet.
    pub fn attach(&self, pc: &PeerConnection) {
        let Some(screen) = self.outgoing.borrow().clone() else {
            return;
        };
        if self.sender.borrow().is_some() {
            return;
        }
        *self.sender.borrow_mut() = Some(pc.add_screen(&screen));
    }

    /// A received track. Returns true if it is the screen (its own source, not played
    /// with the camera).
    pub fn track_received(&self, received: &ReceivedTrack) -> bool {
        let announced = self.announced.borrow().clone();
        let mut is_screen = false;
        for id in &received.stream_ids {
            if received.video {
                self.received
                    .borrow_mut()
                    .insert(id.clone(), Clone::clone(&received.track));
            }
            is_screen |= announced.as_deref() == Some(id.as_str());
        }
        if is_screen {
            self.show(&received.track);
        }
        is_screen
    }

    /// The remote side's [`PeerMsg::Screen`]. `camera`: the stream the camera plays in,
    /// which a track taken for the screen leaves.
    pub fn announced(&self, stream: Option<String>, camera: &RemoteStream) {
        *self.announced.borrow_mut() = stream.clone();
        match stream {
            Some(id) => {
                let track = self.received.borrow().get(&id).cloned();
                if let Some(track) = track {
                    // It played as the camera until now: take it out of there.
                    let camera_stream = camera.remove(&track);
                    (self.events)(TransportEvent::RemoteMedia {
                        source: TileId::camera(self.remote),
                        stream: Some(camera_stream),
                    });
                    self.show(&track);
                }
            }
            None => {
                self.received.borrow_mut().clear();
                (self.events)(TransportEvent::RemoteMedia {
                    source: TileId::screen(self.remote),
                    stream: None,
                });
            }
        }
    }

    fn show(&self, track: &MediaStreamTrack) {
        if let Some(stream) = screen::stream_of(track) {
            (self.events)(TransportEvent::RemoteMedia {
                source: TileId::screen(self.remote),
                stream: Some(stream),
            });
        }
    }
}
