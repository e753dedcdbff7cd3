//! A typed wrapper around `RTCPeerConnection`: core types in, core types out, and
//! event handlers held as [`EventListener`]s that detach when the wrapper is dropped.

use js_sys::{Array, Promise, Reflect};
use nonstop_core::negotiation::{offered_for_us_to_send, SdpKind, SignalingState};
use nonstop_core::protocol::{IceCandidate, IceServer};
use nonstop_core::recovery::LinkCondition;
use nonstop_core::ParticipantId;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamTrack, RtcConfiguration, RtcIceCandidateInit, RtcIceServer,
    RtcPeerConnection, RtcPeerConnectionIceEvent, RtcRtpTransceiver, RtcRtpTransceiverDirection,
    RtcRtpTransceiverInit, RtcSdpType, RtcSessionDescriptionInit, RtcTrackEvent,
};

use super::data_channel::DataChannel;
use super::debug_hook;
use super::js_error_text;
use super::listener::EventListener;
use super::screen::{self, ScreenTrack};
use super::stats::{self, LinkReport, Senders};

#[wasm_bindgen]
extern "C" {
    /// `RTCPeerConnection` methods that web-sys lacks.
    #[wasm_bindgen(extends = RtcPeerConnection, js_name = RTCPeerConnection)]
    type PeerConnectionExt;

    /// `setLocalDescription()` without arguments: the browser creates the offer or answer
    /// that fits the current state, which perfect negotiation relies on. web-sys only has
    /// the form that takes a description.
    #[wasm_bindgen(method, js_name = setLocalDescription)]
    fn set_local_description_implicit(this: &PeerConnectionExt) -> Promise;

    /// Asks for new ICE credentials on the next negotiation (fires `negotiationneeded`).
    #[wasm_bindgen(method, js_name = restartIce)]
    fn restart_ice(this: &PeerConnectionExt);
}

/// A track the remote side sends, with the ids of the streams it named for it.
pub struct ReceivedTrack {
    pub track: MediaStreamTrack,
    pub video: bool,
    pub stream_ids: Vec<String>,
}

/// The sending side of our screen on one connection.
pub struct ScreenSender(RtcRtpTransceiver);

impl ScreenSender {
    /// Stops sending (renegotiates: the m-line goes inactive).
    pub fn stop(&self) {
        self.0.stop();
    }
}

/// Media kinds a link carries, one transceiver each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Audio,
    Video,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Audio => "audio",
            Kind::Video => "video",
        }
    }
}

/// Connection states shown to people (`RTCPeerConnection.connectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// A browser connection using `ice_servers` (also the SFU's connections: sfu_peer.rs).
pub(super) fn new_rtc_peer_connection(
    ice_servers: &[IceServer],
) -> Result<RtcPeerConnection, String> {
    let config = RtcConfiguration::new();
    set_ice_servers(&config, ice_servers);
    RtcPeerConnection::new_with_configuration(&config).map_err(|e| js_error_text(&e))
}

fn set_ice_servers(config: &RtcConfiguration, ice_servers: &[IceServer]) {
    let servers: Array = ice_servers.iter().map(rtc_ice_server).collect();
    config.set_ice_servers(&servers);
}

/// `RTCIceServer` from its mirror in the protocol (built by hand: a serde-to-JS
/// serializer for this one shape costs the app more than these lines).
fn rtc_ice_server(server: &IceServer) -> RtcIceServer {
    let rtc = RtcIceServer::new();
    let urls: Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
    rtc.set_urls(&urls);
    if let Some(username) = &server.username {
        rtc.set_username(username);
    }
    if let Some(credential) = &server.credential {
        rtc.set_credential(credential);
    }
    rtc
}

pub struct PeerConnection {
    pc: RtcPeerConnection,
    listeners: Vec<EventListener>,
    /// The id it is listed under in the debug hook, if it is.
    exposed_as: std::cell::Cell<Option<ParticipantId>>,
}

impl PeerConnection {
    pub fn new(ice_servers: &[IceServer]) -> Result<Self, String> {
        Ok(Self {
            pc: new_rtc_peer_connection(ice_servers)?,
            listeners: Vec::new(),
            exposed_as: std::cell::Cell::new(None),
        })
    }

    /// Lets the end-to-end tests and the console read this connection's stats
    /// (`window.__nonstop.peers`, see debug_hook.rs) until it is dropped.
    pub fn expose_for_debugging(&self, remote: ParticipantId) {
        if self.exposed_as.replace(Some(remote)).is_none() {
            debug_hook::add_peer(remote, &self.pc);
        }
    }

    /// Whether it is listed in the debug hook.
    pub fn is_exposed(&self) -> bool {
        self.exposed_as.get().is_some()
    }

    /// Takes it out of the debug hook again.
    pub fn hide_from_debugging(&self) {
        if let Some(id) = self.exposed_as.take() {
            debug_hook::remove_peer(id);
        }
    }

    /// `connectionState`, as link recovery sees it; `None` once closed.
    pub fn condition(&self) -> Option<LinkCondition> {
        condition_of(&self.pc)
    }

    /// Sets the ICE servers (fresh TURN credentials) and, with `relay_only`, the policy
    /// `relay`; the other settings stay as they are (changing them is an error).
    pub fn reconfigure_ice(
        &self,
        ice_servers: &[IceServer],
        relay_only: bool,
    ) -> Result<(), String> {
        let config = self.pc.get_configuration();
        set_ice_servers(&config, ice_servers);
        if relay_only {
            config.set_ice_transport_policy(web_sys::RtcIceTransportPolicy::Relay);
        }
        self.pc
            .set_configuration_with_configuration(&config)
            .map_err(|e| js_error_text(&e))
    }

    /// Restarts ICE: the next offer (sent by the link's usual negotiation, on
    /// `negotiationneeded`) has new credentials and gathers afresh.
    pub fn restart_ice(&self) {
        self.pc.unchecked_ref::<PeerConnectionExt>().restart_ice();
    }

    /// The camera and microphone senders.
    pub fn senders(&self) -> Senders {
        Senders::of(&self.pc)
    }

    /// One `getStats()` reading: everything the call's loops need from it.
    pub async fn stats(&self) -> Result<LinkReport, String> {
        stats::read(&self.pc, &self.senders()).await
    }

    /// Puts `track` (or nothing) on the camera (`Kind::Video`) or microphone sender,
    /// without renegotiating. Nothing to do before that sender exists.
    pub async fn replace_track(
        &self,
        kind: Kind,
        track: Option<&MediaStreamTrack>,
    ) -> Result<(), String> {
        let senders = self.senders();
        let slot = match kind {
            Kind::Audio => senders.audio,
            Kind::Video => senders.video,
        };
        let Some((sender, _)) = slot else {
            return Ok(());
        };
        JsFuture::from(sender.replace_track(track))
            .await
            .map(drop)
            .map_err(|e| js_error_text(&e))
    }

    /// Starts sending our screen on its own send-only transceiver.
    pub fn add_screen(&self, screen: &ScreenTrack) -> ScreenSender {
        ScreenSender(screen::add_transceiver(&self.pc, screen))
    }

    /// Opens the link's data channel (see data_channel.rs).
    pub fn open_data_channel(&self, on_message: impl FnMut(String) + 'static) -> DataChannel {
        DataChannel::open(&self.pc, on_message)
    }

    /// Adds the camera and microphone transceivers of the link's first offer, one per
    /// direction: send-only ones carrying our tracks (a missing track can be put in
    /// later without renegotiating), and receive-only ones for the other side's. Sending
    /// and receiving on separate transceivers lets a sender's encoding change without
    /// touching what we receive (Firefox serves both directions of a transceiver with
    /// one media conduit, and re-creates its receive stream on each video encoding change).
    pub fn add_transceivers(
        &self,
        audio: Option<&MediaStreamTrack>,
        video: Option<&MediaStreamTrack>,
    ) {
        let init = |direction| {
            let init = RtcRtpTransceiverInit::new();
            init.set_direction(direction);
            init
        };
        for (kind, track) in [(Kind::Audio, audio), (Kind::Video, video)] {
            let send = init(RtcRtpTransceiverDirection::Sendonly);
            match track {
                Some(t) => self
                    .pc
                    .add_transceiver_with_media_stream_track_and_init(t, &send),
                None => self
                    .pc
                    .add_transceiver_with_str_and_init(kind.as_str(), &send),
            };
        }
        for kind in [Kind::Audio, Kind::Video] {
            let receive = init(RtcRtpTransceiverDirection::Recvonly);
            self.pc
                .add_transceiver_with_str_and_init(kind.as_str(), &receive);
        }
    }

    /// After applying the first remote offer: turns the transceivers it offered for us
    /// to send on (its `recvonly` sections, one per kind, see [`Self::add_transceivers`])
    /// into our send-only camera and microphone, with our tracks where we have them.
    pub async fn send_on_offered_transceivers(
        &self,
        audio: Option<&MediaStreamTrack>,
        video: Option<&MediaStreamTrack>,
    ) -> Result<(), String> {
        let offer = self.remote_sdp().unwrap_or_default();
        let ours = offered_for_us_to_send(&offer);
        let (mut audio_free, mut video_free) = (true, true);
        for t in self.pc.get_transceivers().iter() {
            let t: RtcRtpTransceiver = t.unchecked_into();
            if t.stopped() || !t.mid().is_some_and(|mid| ours.contains(&mid)) {
                continue;
            }
            let (free, track) = match t.receiver().track().kind().as_str() {
                "audio" => (&mut audio_free, audio),
                "video" => (&mut video_free, video),
                _ => continue,
            };
            if !std::mem::take(free) {
                continue;
            }
            t.set_direction(RtcRtpTransceiverDirection::Sendonly);
            if let Some(track) = track {
                JsFuture::from(t.sender().replace_track(Some(track)))
                    .await
                    .map_err(|e| js_error_text(&e))?;
            }
        }
        Ok(())
    }

    /// `setLocalDescription()`; returns the description to send.
    pub async fn set_local_description(&self) -> Result<(SdpKind, String), String> {
        JsFuture::from(
            self.pc
                .unchecked_ref::<PeerConnectionExt>()
                .set_local_description_implicit(),
        )
        .await
        .map_err(|e| js_error_text(&e))?;
        let desc = self
            .pc
            .local_description()
            .ok_or_else(|| "no local description after setLocalDescription".to_string())?;
        let kind = match desc.type_() {
            RtcSdpType::Offer => SdpKind::Offer,
            RtcSdpType::Answer => SdpKind::Answer,
            other => return Err(format!("unexpected local description type {other:?}")),
        };
        Ok((kind, desc.sdp()))
    }

    pub async fn set_remote_description(&self, kind: SdpKind, sdp: &str) -> Result<(), String> {
        let kind = match kind {
            SdpKind::Offer => RtcSdpType::Offer,
            SdpKind::Answer => RtcSdpType::Answer,
        };
        set_remote(&self.pc, kind, sdp).await
    }

    pub async fn add_ice_candidate(&self, candidate: &IceCandidate) -> Result<(), String> {
        let init = candidate_init(
            &candidate.candidate,
            candidate.sdp_mid.as_deref(),
            candidate.sdp_m_line_index,
        );
        if let Some(ufrag) = &candidate.username_fragment {
            Reflect::set(&init, &"usernameFragment".into(), &ufrag.into())
                .map_err(|e| js_error_text(&e))?;
        }
        add_candidate(&self.pc, &init).await
    }

    pub fn signaling_state(&self) -> SignalingState {
        let state = Reflect::get(&self.pc, &"signalingState".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        SignalingState::from_js(&state)
    }

    /// Calls `handler` for each local ICE candidate (not for the end-of-candidates marker).
    pub fn on_ice_candidate(&mut self, mut handler: impl FnMut(IceCandidate) + 'static) {
        self.listen("icecandidate", move |event| {
            let event: RtcPeerConnectionIceEvent = event.unchecked_into();
            let Some(c) = event.candidate() else { return };
            if c.candidate().is_empty() {
                return;
            }
            let username_fragment = Reflect::get(&c, &"usernameFragment".into())
                .ok()
                .and_then(|v| v.as_string());
            handler(IceCandidate {
                candidate: c.candidate(),
                sdp_mid: c.sdp_mid(),
                sdp_m_line_index: c.sdp_m_line_index(),
                username_fragment,
            });
        });
    }

    /// Calls `handler` with each received track.
    pub fn on_track(&mut self, mut handler: impl FnMut(ReceivedTrack) + 'static) {
        self.listen("track", move |event| {
            let event: RtcTrackEvent = event.unchecked_into();
            let stream_ids = event
                .streams()
                .iter()
                .filter_map(|s| s.dyn_into::<MediaStream>().ok())
                .map(|s| s.id())
                .collect();
            let track = event.track();
            handler(ReceivedTrack {
                video: track.kind() == "video",
                track,
                stream_ids,
            });
        });
    }

    pub fn on_negotiation_needed(&mut self, mut handler: impl FnMut() + 'static) {
        self.listen("negotiationneeded", move |_| handler());
    }

    pub fn on_connection_state_change(
        &mut self,
        mut handler: impl FnMut(ConnectionState) + 'static,
    ) {
        let pc = self.pc.clone();
        self.listen("connectionstatechange", move |_| {
            handler(read_connection_state(&pc))
        });
    }

    /// Calls `handler` once when the link must be made anew
    /// ([`recovery::needs_new_connection`](nonstop_core::recovery::needs_new_connection)).
    pub fn on_dtls_failed(&mut self, handler: impl FnMut() + 'static) {
        let handler = std::rc::Rc::new(std::cell::RefCell::new(Some(handler)));
        for kind in ["connectionstatechange", "iceconnectionstatechange"] {
            let (pc, handler) = (self.pc.clone(), handler.clone());
            self.listen(kind, move |_| {
                let ice = Reflect::get(&pc, &"iceConnectionState".into())
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default();
                if nonstop_core::recovery::needs_new_connection(condition_of(&pc), &ice) {
                    if let Some(mut h) = handler.borrow_mut().take() {
                        h();
                    }
                }
            });
        }
    }

    /// The remote description in force, if any.
    pub fn remote_sdp(&self) -> Option<String> {
        self.pc.remote_description().map(|d| d.sdp())
    }

    fn listen(&mut self, kind: &'static str, handler: impl FnMut(web_sys::Event) + 'static) {
        self.listeners
            .push(EventListener::new(&self.pc, kind, handler));
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        if let Some(id) = self.exposed_as.get() {
            debug_hook::remove_peer(id);
        }
        self.listeners.clear();
        self.pc.close();
    }
}

/// `connectionState` of any of our connections (mesh links and the SFU's), as link
/// recovery sees it; `None` once closed.
pub(super) fn condition_of(pc: &RtcPeerConnection) -> Option<LinkCondition> {
    Some(match read_connection_state(pc) {
        ConnectionState::Connected => LinkCondition::Connected,
        ConnectionState::Disconnected => LinkCondition::Disconnected,
        ConnectionState::Failed => LinkCondition::Failed,
        ConnectionState::Closed => return None,
        ConnectionState::New | ConnectionState::Connecting => LinkCondition::Connecting,
    })
}

/// `setRemoteDescription` with `sdp` of `kind`.
pub(super) async fn set_remote(
    pc: &RtcPeerConnection,
    kind: RtcSdpType,
    sdp: &str,
) -> Result<(), String> {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&init))
        .await
        .map(drop)
        .map_err(|e| js_error_text(&e))
}

/// A remote candidate as `addIceCandidate` takes it.
pub(super) fn candidate_init(
    candidate: &str,
    sdp_mid: Option<&str>,
    sdp_m_line_index: Option<u16>,
) -> RtcIceCandidateInit {
    let init = RtcIceCandidateInit::new(candidate);
    init.set_sdp_mid(sdp_mid);
    init.set_sdp_m_line_index(sdp_m_line_index);
    init
}

/// `addIceCandidate`.
pub(super) async fn add_candidate(
    pc: &RtcPeerConnection,
    init: &RtcIceCandidateInit,
) -> Result<(), String> {
    JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(init)))
        .await
        .map(drop)
        .map_err(|e| js_error_text(&e))
}

fn read_connection_state(pc: &RtcPeerConnection) -> ConnectionState {
    let state = Reflect::get(pc, &"connectionState".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    match state.as_str() {
        "new" => ConnectionState::New,
        "connecting" => ConnectionState::Connecting,
        "connected" => ConnectionState::Connected,
        "disconnected" => ConnectionState::Disconnected,
        "failed" => ConnectionState::Failed,
        _ => ConnectionState::Closed,
    }
}
