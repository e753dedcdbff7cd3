//! The mesh transport: one `RTCPeerConnection` per remote participant, media straight
//! between the two browsers, signaled through the server (offers, answers and ICE
//! candidates, relayed by [`MeshTransport::signal`]).

mod peer_link;
mod screen_link;

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use leptos::logging::warn;
use leptos::task::spawn_local;
use nonstop_core::adaptation::{ReceiverHint, SendParams};
use nonstop_core::layout::TileId;
use nonstop_core::negotiation::{Role, SdpKind};
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::protocol::{IceCandidate, IceServer};
use nonstop_core::vec_map::VecMap;
use nonstop_core::ParticipantId;

use self::peer_link::PeerLink;
use super::transport::{EventSink as Events, LinkSample, MediaTransport, TransportEvent};
use crate::platform::media::LocalMedia;
use crate::platform::screen::ScreenTrack;
use crate::platform::signaling::SignalingSender;

/// A connection set-up message from a participant, relayed by the server.
pub enum Signal {
    Offer(String),
    Answer(String),
    Candidate(IceCandidate),
}

#[derive(Clone)]
pub struct MeshTransport {
    inner: Rc<Mesh>,
}

struct Mesh {
    me: ParticipantId,
    signaling: SignalingSender,
    events: Events,
    ice_servers: RefCell<Vec<IceServer>>,
    local: RefCell<LocalMedia>,
    screen: RefCell<Option<ScreenTrack>>,
    links: RefCell<VecMap<ParticipantId, Rc<PeerLink>>>,
}

impl MeshTransport {
    /// Sends `msg` to every peer over its data channel; returns how many took it.
    pub fn send_to_all(&self, msg: &PeerMsg) -> usize {
        self.links().iter().filter(|l| l.send_peer(msg)).count()
    }

    pub fn new(
        me: ParticipantId,
        signaling: SignalingSender,
        ice_servers: Vec<IceServer>,
        local: LocalMedia,
        events: impl Fn(TransportEvent) + 'static,
    ) -> Self {
        MeshTransport {
            inner: Rc::new(Mesh {
                me,
                signaling,
                events: Rc::new(events),
                ice_servers: RefCell::new(ice_servers),
                local: RefCell::new(local),
                screen: RefCell::new(None),
                links: RefCell::new(VecMap::new()),
            }),
        }
    }

    /// Applies an offer, answer or candidate from `from`. Signals are handled one at a
    /// time, in order, so a description is applied before the candidates that follow.
    pub async fn signal(&self, from: ParticipantId, signal: Signal) {
        let Some(mut link) = self.link(from) else {
            warn!("signaling: {from} is not connected to us; ignored what it sent");
            return;
        };
        if let Signal::Offer(sdp) = &signal {
            if link.superseded_by(sdp) {
                drop(link);
                match self.replace(from, false) {
                    Some(fresh) => link = fresh,
                    None => return,
                }
            }
        }
        match signal {
            Signal::Offer(sdp) => link.remote_description(SdpKind::Offer, sdp).await,
            Signal::Answer(sdp) => link.remote_description(SdpKind::Answer, sdp).await,
            Signal::Candidate(c) => link.remote_candidate(c).await,
        }
    }

    /// Offers on the link to `id` again with a new connection, unless its offer was
    /// answered (see [`CallEffect::Reoffer`](nonstop_core::call::CallEffect::Reoffer)).
    pub fn reoffer(&self, id: ParticipantId) {
        if self.link(id).is_some_and(|link| !link.answered()) {
            warn!("peer {id}: offering again (it was not in the room when we offered)");
            self.replace(id, true);
        }
    }

    /// Makes the link to `id` anew, offering (see
    /// [`CallEffect::Renew`](nonstop_core::call::CallEffect::Renew)).
    pub fn renew(&self, id: ParticipantId) {
        warn!("peer {id}: connected, but nothing arrives on it; making the connection anew");
        self.replace(id, true);
    }

    fn link(&self, id: ParticipantId) -> Option<Rc<PeerLink>> {
        self.inner.links.borrow().get(&id).cloned()
    }

    fn links(&self) -> Vec<Rc<PeerLink>> {
        self.inner.links.borrow().values().cloned().collect()
    }

    /// Closes the link to `id` and opens a new one in its place (same parked state);
    /// the tiles keep the old media until the new link's arrives.
    fn replace(&self, id: ParticipantId, offer_first: bool) -> Option<Rc<PeerLink>> {
        let old = self.inner.links.borrow_mut().remove(&id)?;
        let parked = old.is_parked();
        // A task may still hold the old link: its late drop must neither take the new
        // one's debug hook entry nor the media the new one shows.
        old.set_parked(true);
        old.set_replaced();
        drop(old);
        let link = self.connect(id, offer_first)?;
        link.set_parked(parked);
        self.inner.links.borrow_mut().insert(id, link.clone());
        Some(link)
    }

    /// A new link to `id`; `offer_first` as for [`PeerLink::new`].
    fn connect(&self, id: ParticipantId, offer_first: bool) -> Option<Rc<PeerLink>> {
        let mesh = &self.inner;
        let weak = Rc::downgrade(&self.inner);
        // A connection whose DTLS failed is replaced by a new one that offers; the other
        // side notices the new certificate in that offer and starts afresh as well
        // (see `signal`). Later, not from inside the failed connection's own event.
        let on_dtls_failed = move || {
            let weak = weak.clone();
            spawn_local(async move {
                if let Some(inner) = weak.upgrade() {
                    warn!("peer {id}: the connection failed beyond an ICE restart; replacing it");
                    MeshTransport { inner }.replace(id, true);
                }
            });
        };
        let link = PeerLink::new(
            mesh.me,
            id,
            &mesh.ice_servers.borrow(),
            &mesh.local.borrow(),
            &mesh.signaling,
            mesh.events.clone(),
            offer_first,
            on_dtls_failed,
        );
        match link {
            Ok(link) => {
                if let Some(screen) = mesh.screen.borrow().clone() {
                    link.set_screen(Some(screen));
                }
                Some(link)
            }
            Err(e) => {
                warn!("peer {id}: could not create a connection: {e}");
                None
            }
        }
    }
}

impl MediaTransport for MeshTransport {
    fn set_peers(&self, peers: &[ParticipantId], parked: &[ParticipantId]) {
        let mut links = self.inner.links.borrow_mut();
        links.retain(|id, _| peers.contains(id));
        for id in peers {
            if *id != self.inner.me && !links.contains_key(id) {
                let offer_first = Role::between(self.inner.me, *id).initiator;
                if let Some(link) = self.connect(*id, offer_first) {
                    links.insert(*id, link);
                }
            }
        }
        for (id, link) in links.iter() {
            link.set_parked(parked.contains(id));
        }
    }

    fn publish(&self, local: &LocalMedia) {
        *self.inner.local.borrow_mut() = local.clone();
        for link in self.links() {
            let local = local.clone();
            spawn_local(async move { link.set_local(local).await });
        }
    }

    fn publish_screen(&self, screen: Option<&ScreenTrack>) {
        *self.inner.screen.borrow_mut() = screen.cloned();
        for link in self.links() {
            link.set_screen(screen.cloned());
        }
    }

    fn want(&self, source: TileId, hint: ReceiverHint) -> bool {
        // The mesh sender adapts its camera per link; a screen is always sent whole.
        if source.is_screen() {
            return true;
        }
        self.link(source.participant)
            .is_some_and(|l| l.send_peer(&PeerMsg::view_hint(hint)))
    }

    fn sample(&self, only: Option<Vec<ParticipantId>>) -> LocalBoxFuture<'static, Vec<LinkSample>> {
        let links: Vec<Rc<PeerLink>> = match only {
            Some(ids) => ids.into_iter().filter_map(|id| self.link(id)).collect(),
            None => self.links(),
        };
        Box::pin(async move {
            let mut out = Vec::with_capacity(links.len());
            for link in links {
                out.push(link.sample().await);
            }
            out
        })
    }

    fn apply_send(
        &self,
        peer: ParticipantId,
        want: SendParams,
        had: Option<SendParams>,
    ) -> LocalBoxFuture<'static, bool> {
        let link = self.link(peer);
        Box::pin(async move {
            match link {
                Some(link) => link.apply_send(want, had).await,
                None => false,
            }
        })
    }

    fn set_ice_servers(&self, servers: Vec<IceServer>) {
        *self.inner.ice_servers.borrow_mut() = servers;
    }

    fn restart_ice(&self, peer: ParticipantId, relay_only: bool) {
        if let Some(link) = self.link(peer) {
            link.reconfigure_and_restart_ice(&self.inner.ice_servers.borrow(), relay_only);
        }
    }

    fn close(&self) {
        self.inner.links.borrow_mut().clear();
    }
}
