//! The seam between the call and the way media travels. The call says what to publish
//! and what it wants to receive; a transport carries it and reports what arrives. The
//! mesh (`mesh/`: one `RTCPeerConnection` per remote participant) and the relayed one
//! (`relayed/`: through the SFU) implement it; a call holds both while it switches.

use futures::future::LocalBoxFuture;
use nonstop_core::adaptation::{ReceiverHint, SendParams};
use nonstop_core::layout::TileId;
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::protocol::IceServer;
use nonstop_core::recovery::LinkCondition;
use nonstop_core::ParticipantId;

use crate::platform::ice::Route;
use crate::platform::media::{LocalMedia, MediaStream};
use crate::platform::screen::ScreenTrack;
use crate::platform::stats::{AudioReading, LinkReport};

/// Where a transport reports what happens, in order.
pub type EventSink = std::rc::Rc<dyn Fn(TransportEvent)>;

/// What a transport tells the call, in the order it happened.
pub enum TransportEvent {
    /// A remote source's media to play (`Some`, again whenever its tracks change), or
    /// it ended (`None`).
    RemoteMedia {
        source: TileId,
        stream: Option<MediaStream>,
    },
    /// A participant's message that travelled with the media (chat, receiver hints).
    PeerMessage { from: ParticipantId, msg: PeerMsg },
    /// The connection to a participant changed state: worth reading now rather than at
    /// the next round.
    LinkChanged(ParticipantId),
    /// The path broke for good (the SFU's WebSocket or session lost): the transport is
    /// dead and a new one must be made.
    PathLost,
}

/// One reading of the path to a participant: one `getStats()` per connection, shared
/// by link recovery, adaptation and speaker detection.
pub struct LinkSample {
    pub peer: ParticipantId,
    /// `None` once the connection is closed.
    pub condition: Option<LinkCondition>,
    /// `None` when the browser could not read it.
    pub report: Option<LinkReport>,
    /// How the participant's media reaches us: a mesh link's selected pair, or the
    /// SFU. `None` while not known.
    pub route: Option<Route>,
    /// The participant's microphone as received (speaker detection), and our own
    /// microphone's level if this connection sends it. From `report` on a mesh link;
    /// read apart from the SFU's connections, which carry everyone.
    pub remote_audio: Option<AudioReading>,
    pub local_audio_level: Option<f64>,
}

pub trait MediaTransport {
    /// The remote participants to exchange media with: connections are made for new
    /// ones and closed for those no longer listed. `parked`: those among them who seem
    /// gone (their signaling dropped and nothing arrives): kept in case they come back,
    /// but not shown or counted.
    fn set_peers(&self, peers: &[ParticipantId], parked: &[ParticipantId]);
    /// Publish our camera and microphone (again after a device switch).
    fn publish(&self, local: &LocalMedia);
    /// Publish our screen (`Some`) or stop (`None`).
    fn publish_screen(&self, screen: Option<&ScreenTrack>);
    /// "I want this source at this size, or not at all." False if it could not be
    /// told yet (try again later).
    fn want(&self, source: TileId, hint: ReceiverHint) -> bool;
    /// Reads every connection once, or only those to `only`.
    fn sample(&self, only: Option<Vec<ParticipantId>>) -> LocalBoxFuture<'static, Vec<LinkSample>>;
    /// The sending parameters toward one receiver (what the adaptation controller
    /// decided); true once applied.
    fn apply_send(
        &self,
        peer: ParticipantId,
        want: SendParams,
        had: Option<SendParams>,
    ) -> LocalBoxFuture<'static, bool>;
    /// Fresh ICE servers (TURN credentials) for connections made or restarted from now on.
    fn set_ice_servers(&self, servers: Vec<IceServer>);
    /// Restarts ICE toward `peer`, through the relay only if `relay_only`.
    fn restart_ice(&self, peer: ParticipantId, relay_only: bool);
    /// Closes everything.
    fn close(&self);
}
