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
use std::collections::HashMap;

use js_sys::{Array, Reflect};
use leptos::logging::warn;
use leptos::task::spawn_local;
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::ParticipantId;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamTrack, RtcPeerConnection, RtcRtpTransceiver,
    RtcRtpTransceiverDirection, RtcRtpTransceiverInit,
};

use super::view::CallView;

/// Our screen, as handed to every link.
#[derive(Clone)]
pub struct ScreenTrack {
    pub track: MediaStreamTrack,
    pub stream: MediaStream,
}

pub struct ScreenLink {
    remote: ParticipantId,
    view: CallView,
    pc: RtcPeerConnection,
    /// The remote camera's stream (tracks without a screen announcement go there).
    camera_stream: MediaStream,
    outgoing: RefCell<Option<ScreenTrack>>,
    transceiver: RefCell<Option<RtcRtpTransceiver>>,
    /// Received tracks that came with a stream, by stream id.
    received: RefCell<HashMap<String, MediaStreamTrack>>,
    announced: RefCell<Option<String>>,
}

impl ScreenLink {
    pub fn new(
        remote: ParticipantId,
        view: CallView,
        pc: RtcPeerConnection,
        camera_stream: MediaStream,
    ) -> Self {
        Self {
            remote,
            view,
            pc,
            camera_stream,
            outgoing: RefCell::new(None),
            transceiver: RefCell::new(None),
            received: RefCell::new(HashMap::new()),
            announced: RefCell::new(None),
        }
    }

    /// What to announce on this link now.
    pub fn announcement(&self) -> PeerMsg {
        PeerMsg::Screen {
            stream: self.outgoing.borrow().as_ref().map(|s| s.stream.id()),
        }
    }

    /// Starts (Some) or stops (None) sending our screen. `attach_now`: the link's
    /// first negotiation is done (or we make the first offer), so a transceiver can be
    /// added without disturbing it; otherwise [`Self::attach`] does it later.
    pub fn set_outgoing(&self, screen: Option<ScreenTrack>, attach_now: bool) {
        let stopping = screen.is_none();
        *self.outgoing.borrow_mut() = screen;
        if stopping {
            if let Some(t) = self.transceiver.borrow_mut().take() {
                // Stopping renegotiates; the remote side's announcement removes the tile.
                t.stop();
            }
        } else if attach_now {
            self.attach();
        }
    }

    /// Adds the screen transceiver if we share and it is not there yet.
    pub fn attach(&self) {
        let Some(screen) = self.outgoing.borrow().clone() else {
            return;
        };
        if self.transceiver.borrow().is_some() {
            return;
        }
        let init = RtcRtpTransceiverInit::new();
        init.set_direction(RtcRtpTransceiverDirection::Sendonly);
        init.set_streams(&Array::of1(&screen.stream));
        let t = self
            .pc
            .add_transceiver_with_media_stream_track_and_init(&screen.track, &init);
        let sender = t.sender();
        *self.transceiver.borrow_mut() = Some(t);
        let remote = self.remote;
        spawn_local(async move {
            // Sharpness over smoothness for text and slides; Firefox may not know it.
            let params = sender.get_parameters();
            let _ = Reflect::set(
                &params,
                &"degradationPreference".into(),
                &"maintain-resolution".into(),
            );
            if let Err(e) = JsFuture::from(sender.set_parameters_with_parameters(&params)).await {
                warn!(
                    "peer {remote}: degradationPreference not set: {}",
                    crate::platform::js_error_text(&e)
                );
            }
        });
    }

    /// A received track with its streams. Returns true if it is the screen (shown in the
    /// screen tile, not the camera's).
    pub fn track_received(&self, track: &MediaStreamTrack, streams: &Array) -> bool {
        let mut is_screen = false;
        for s in streams.iter() {
            let Ok(stream) = s.dyn_into::<MediaStream>() else {
                continue;
            };
            let id = stream.id();
            if track.kind() == "video" {
                self.received
                    .borrow_mut()
                    .insert(id.clone(), Clone::clone(track));
            }
            if self.announced.borrow().as_deref() == Some(id.as_str()) {
                is_screen = true;
            }
        }
        if is_screen {
            self.show(track);
        }
        is_screen
    }

    /// The remote side's [`PeerMsg::Screen`].
    pub fn announced(&self, stream: Option<String>) {
        *self.announced.borrow_mut() = stream.clone();
        match stream {
            Some(id) => {
                let track = self.received.borrow().get(&id).cloned();
                if let Some(track) = track {
                    // It played as the camera until now: take it out of there.
                    self.camera_stream.remove_track(&track);
                    self.view
                        .set_stream(self.remote, Clone::clone(&self.camera_stream));
                    self.show(&track);
                }
            }
            None => {
                self.received.borrow_mut().clear();
                self.view.stage.set_screen(self.remote, None);
            }
        }
    }

    fn show(&self, track: &MediaStreamTrack) {
        let Ok(stream) = MediaStream::new() else {
            return;
        };
        stream.add_track(track);
        self.view.stage.set_screen(self.remote, Some(stream));
    }
}
