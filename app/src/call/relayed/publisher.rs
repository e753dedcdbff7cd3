//! The publisher connection: our camera (three simulcast layers) and microphone, and
//! our screen when we share it, sent once to the SFU for everyone. A failed publish
//! spoils Janus's handle, and the connection made for it goes too: each `start`
//! makes a fresh one.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::logging::warn;
use nonstop_core::janus::simulcast::{layer_caps, LayerCap, LAYERS};
use nonstop_core::janus::{PathBudget, Trickled};
use nonstop_core::layout::TileKind;
use nonstop_core::protocol::IceServer;

use crate::platform::clock;
use crate::platform::media::LocalMedia;
use crate::platform::screen::ScreenTrack;
use crate::platform::sfu_peer::{Sender, SfuPeer};

/// An offer, and what each of its m-lines carries.
pub type Offer = (String, Vec<(String, TileKind)>);

#[derive(Default)]
pub struct Publisher {
    connection: RefCell<Option<Rc<Connection>>>,
    /// What the SFU reports lost of what we send: our uplink's budget, which the
    /// camera's layers are capped to (`simulcast::layer_caps`).
    uplink: RefCell<PathBudget>,
}

struct Connection {
    peer: Rc<SfuPeer>,
    audio: Sender,
    video: Sender,
    screen: RefCell<Option<Sender>>,
    /// The camera's layer caps in force.
    layers: Cell<[LayerCap; 3]>,
}

impl Publisher {
    /// A fresh connection sending `local`'s tracks (and `screen`); its offer.
    pub async fn start(
        &self,
        ice_servers: &[IceServer],
        local: &LocalMedia,
        screen: Option<&ScreenTrack>,
        on_candidate: impl FnMut(Trickled) + 'static,
    ) -> Result<Offer, String> {
        self.connection.take();
        let mut peer = SfuPeer::new(ice_servers)?;
        peer.on_ice_candidate(on_candidate);
        let audio = peer.add_sender("audio", local.audio.as_ref(), &[]).await?;
        let video = peer
            .add_sender("video", local.video.as_ref(), &LAYERS)
            .await?;
        let screen = match screen {
            Some(s) => Some(peer.add_sender("video", Some(&s.track), &[]).await?),
            None => None,
        };
        let connection = Rc::new(Connection {
            peer: Rc::new(peer),
            audio,
            video,
            screen: RefCell::new(screen),
            // As `add_sender` made them.
            layers: Cell::new(layer_caps(None)),
        });
        self.connection.replace(Some(Rc::clone(&connection)));
        connection.offer().await
    }

    /// Our screen added (`Some`) or taken off (`None`): the offer to renegotiate with,
    /// or `None` before the connection exists (`start` will send the screen).
    pub async fn set_screen(&self, screen: Option<&ScreenTrack>) -> Option<Result<Offer, String>> {
        let connection = self.connection()?;
        if let Some(old) = connection.screen.take() {
            old.stop();
        }
        if let Some(s) = screen {
            match connection
                .peer
                .add_sender("video", Some(&s.track), &[])
                .await
            {
                Ok(sender) => *connection.screen.borrow_mut() = Some(sender),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(connection.offer().await)
    }

    pub async fn accept(&self, answer: &str) -> Result<(), String> {
        match self.connection() {
            Some(c) => c.peer.accept_answer(answer).await,
            None => Err("no publisher connection for Janus's answer".into()),
        }
    }

    /// Sends other tracks (a device switch) without renegotiating.
    pub async fn replace(&self, local: &LocalMedia) -> Result<(), String> {
        let Some(c) = self.connection() else {
            return Ok(());
        };
        c.audio.replace_track(local.audio.as_ref()).await?;
        c.video.replace_track(local.video.as_ref()).await
    }

    pub fn peer(&self) -> Option<Rc<SfuPeer>> {
        self.connection().map(|c| Rc::clone(&c.peer))
    }

    /// One stats round: what we send goes into the uplink's budget and the camera's
    /// layers follow it. Returns our microphone's level.
    pub async fn sample(&self) -> Option<f64> {
        let c = self.connection()?;
        let (sent, level) = c.peer.outbound().await;
        self.uplink.borrow_mut().sample(clock::now(), sent);
        let caps = layer_caps(self.uplink.borrow().budget());
        if c.layers.get() != caps {
            match c.video.cap_layers(&caps).await {
                Ok(()) => c.layers.set(caps),
                Err(e) => warn!("relayed: cannot cap the camera's layers: {e}"),
            }
        }
        level
    }

    pub fn close(&self) {
        self.connection.take();
    }

    fn connection(&self) -> Option<Rc<Connection>> {
        self.connection.borrow().clone()
    }
}

impl Connection {
    async fn offer(&self) -> Result<Offer, String> {
        let sdp = self.peer.offer().await?;
        let screen = self.screen.borrow();
        let mids = [
            (&self.audio, TileKind::Camera),
            (&self.video, TileKind::Camera),
        ]
        .into_iter()
        .chain(screen.iter().map(|s| (s, TileKind::Screen)))
        .filter_map(|(sender, source)| Some((sender.mid()?, source)))
        .collect();
        Ok((sdp, mids))
    }
}
