//! An `RTCPeerConnection` toward the SFU. The mesh's wrapper (`peer_connection.rs`)
//! negotiates symmetrically; the SFU's two connections need other things: send-only
//! transceivers with simulcast encodings (the publisher), explicit offers and answers
//! (Janus always offers to subscribers), and each received track's mid (the
//! subscriber: one connection carries everyone, the mid says whose track it is).

use js_sys::{Array, Object, Reflect};
use nonstop_core::janus::simulcast::{LayerCap, SimulcastLayer};
use nonstop_core::janus::{Candidate, Delivered, Trickled};
use nonstop_core::protocol::IceServer;
use nonstop_core::recovery::LinkCondition;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStreamTrack, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcRtpParameters,
    RtcRtpTransceiver, RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSdpType,
    RtcSessionDescriptionInit, RtcTrackEvent,
};

use super::js_error_text;
use super::listener::EventListener;
use super::peer_connection;
use super::stats;

pub struct SfuPeer {
    pc: RtcPeerConnection,
    listeners: Vec<EventListener>,
}

/// One send-only transceiver of the publisher connection.
pub struct Sender(RtcRtpTransceiver);

impl Sender {
    /// Its mid, once an offer has been made.
    pub fn mid(&self) -> Option<String> {
        self.0.mid()
    }

    /// Sends `track` (or nothing) without renegotiating; the encodings stay.
    pub async fn replace_track(&self, track: Option<&MediaStreamTrack>) -> Result<(), String> {
        JsFuture::from(self.0.sender().replace_track(track))
            .await
            .map(drop)
            .map_err(|e| js_error_text(&e))
    }

    /// Caps its simulcast layers (sent as [`LAYERS`](nonstop_core::janus::simulcast::LAYERS)).
    pub async fn cap_layers(&self, caps: &[LayerCap; 3]) -> Result<(), String> {
        stats::apply_layers(&self.0.sender(), caps).await
    }

    /// Stops it (the next offer marks its m-line inactive).
    pub fn stop(&self) {
        self.0.stop();
    }
}

/// `sendEncodings` for `layers`, lowest first.
fn encodings(layers: &[SimulcastLayer]) -> Array {
    layers
        .iter()
        .map(|layer| {
            let e = Object::new();
            let set = |k: &str, v: JsValue| Reflect::set(&e, &k.into(), &v);
            // Setting a property on a fresh object cannot fail.
            set("rid", layer.rid.into()).expect("rid");
            set("scaleResolutionDownBy", layer.scale_down_by.into()).expect("scale");
            set("maxBitrate", (layer.max_bitrate.as_bps() as f64).into()).expect("bitrate");
            JsValue::from(e)
        })
        .collect()
}

impl SfuPeer {
    pub fn new(ice_servers: &[IceServer]) -> Result<Self, String> {
        Ok(SfuPeer {
            pc: peer_connection::new_rtc_peer_connection(ice_servers)?,
            listeners: Vec::new(),
        })
    }

    /// A send-only transceiver for `kind` ("audio" or "video"), sending `track` if
    /// there is one, in `layers` (none: one encoding). Chromium takes the layers as
    /// `sendEncodings`; Firefox may keep one encoding, and gets them by `setParameters`
    /// before the offer.
    pub async fn add_sender(
        &self,
        kind: &str,
        track: Option<&MediaStreamTrack>,
        layers: &[SimulcastLayer],
    ) -> Result<Sender, String> {
        let init = RtcRtpTransceiverInit::new();
        init.set_direction(RtcRtpTransceiverDirection::Sendonly);
        if !layers.is_empty() {
            init.set_send_encodings(&encodings(layers));
        }
        let transceiver = match track {
            Some(t) => self
                .pc
                .add_transceiver_with_media_stream_track_and_init(t, &init),
            None => self.pc.add_transceiver_with_str_and_init(kind, &init),
        };
        let sender = transceiver.sender();
        let params: RtcRtpParameters = sender.get_parameters();
        let have = params.get_encodings().map_or(0, |e| e.length() as usize);
        if have < layers.len() {
            // Chromium rejects parameters not from getParameters(): change those.
            Reflect::set(&params, &"encodings".into(), &encodings(layers))
                .map_err(|e| js_error_text(&e))?;
            JsFuture::from(sender.set_parameters_with_parameters(&params))
                .await
                .map_err(|e| js_error_text(&e))?;
        }
        Ok(Sender(transceiver))
    }

    /// Creates and applies an offer; returns its SDP.
    pub async fn offer(&self) -> Result<String, String> {
        let offer = JsFuture::from(self.pc.create_offer())
            .await
            .map_err(|e| js_error_text(&e))?;
        self.set_local(offer.unchecked_ref()).await
    }

    /// Applies Janus's answer to our offer.
    pub async fn accept_answer(&self, sdp: &str) -> Result<(), String> {
        self.set_remote(RtcSdpType::Answer, sdp).await
    }

    /// Applies Janus's offer; creates, applies and returns our answer.
    pub async fn answer(&self, offer: &str) -> Result<String, String> {
        self.set_remote(RtcSdpType::Offer, offer).await?;
        let answer = JsFuture::from(self.pc.create_answer())
            .await
            .map_err(|e| js_error_text(&e))?;
        self.set_local(answer.unchecked_ref()).await
    }

    /// A candidate Janus trickled.
    pub async fn add_candidate(&self, candidate: &Candidate) -> Result<(), String> {
        let init = peer_connection::candidate_init(
            &candidate.candidate,
            candidate.sdp_mid.as_deref(),
            candidate.sdp_m_line_index,
        );
        peer_connection::add_candidate(&self.pc, &init).await
    }

    /// Each received microphone, by the `mid` it arrives on, and what arrives on each
    /// stream (nothing if the browser cannot read its stats).
    pub async fn inbound(&self) -> stats::Inbound {
        stats::inbound(&self.pc).await.unwrap_or_default()
    }

    /// What the publisher connection sends and the SFU reports lost, and our
    /// microphone's level (nothing if the browser cannot read its stats).
    pub async fn outbound(&self) -> (Delivered, Option<f64>) {
        stats::outbound(&self.pc).await.unwrap_or_default()
    }

    /// `connectionState`; `None` once closed.
    pub fn condition(&self) -> Option<LinkCondition> {
        peer_connection::condition_of(&self.pc)
    }

    /// Each local candidate, then the end of gathering.
    pub fn on_ice_candidate(&mut self, mut handler: impl FnMut(Trickled) + 'static) {
        self.listen("icecandidate", move |event| {
            let event: RtcPeerConnectionIceEvent = event.unchecked_into();
            match event.candidate().filter(|c| !c.candidate().is_empty()) {
                Some(c) => handler(Trickled::Candidate(Candidate {
                    candidate: c.candidate(),
                    sdp_mid: c.sdp_mid(),
                    sdp_m_line_index: c.sdp_m_line_index(),
                })),
                None => handler(Trickled::Completed { completed: true }),
            }
        });
    }

    /// Each received track with the mid of its m-line.
    pub fn on_track(&mut self, mut handler: impl FnMut(String, MediaStreamTrack) + 'static) {
        self.listen("track", move |event| {
            let event: RtcTrackEvent = event.unchecked_into();
            if let Some(mid) = event.transceiver().mid() {
                handler(mid, event.track());
            }
        });
    }

    async fn set_local(&self, desc: &RtcSessionDescriptionInit) -> Result<String, String> {
        JsFuture::from(self.pc.set_local_description(desc))
            .await
            .map_err(|e| js_error_text(&e))?;
        self.pc
            .local_description()
            .map(|d| d.sdp())
            .ok_or_else(|| "no local description".to_string())
    }

    async fn set_remote(&self, kind: RtcSdpType, sdp: &str) -> Result<(), String> {
        peer_connection::set_remote(&self.pc, kind, sdp).await
    }

    fn listen(&mut self, kind: &'static str, handler: impl FnMut(web_sys::Event) + 'static) {
        self.listeners
            .push(EventListener::new(&self.pc, kind, handler));
    }
}

impl Drop for SfuPeer {
    fn drop(&mut self) {
        self.listeners.clear();
        self.pc.close();
    }
}
