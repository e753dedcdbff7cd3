//! One `getStats()` reading of a link, turned into the core's [`StatsSample`] plus what
//! the stats panel shows that the controller does not need (receive side, route), and
//! the `setParameters` calls that apply the controller's decisions.
//!
//! Chromium and Firefox differ: Firefox has no `availableOutgoingBitrate`, marks the
//! selected pair with `selected`, and has no `mid` on `outbound-rtp`; every field is
//! optional and simply missing where a browser does not report it.

use js_sys::{Array, Map, Promise, Reflect};
use nonstop_core::adaptation::{
    AudioEncoding, AudioParams, Bitrate, Priority, QualityLimitation, Resolution, StatsSample,
    VideoEncoding, VideoParams,
};
use nonstop_core::janus::simulcast::{LayerCap, LAYERS};
use nonstop_core::janus::Delivered;
use nonstop_core::time::Millis;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStreamTrack, RtcPeerConnection, RtcRtpSender, RtcRtpTransceiver,
    RtcRtpTransceiverDirection,
};

use super::ice::{route_of, Route};
use super::js_error_text;

#[wasm_bindgen]
extern "C" {
    /// `RTCRtpSender` parameter methods, as plain objects (no web-sys feature needed;
    /// the object `getParameters()` returns must be the one passed back).
    #[wasm_bindgen(extends = RtcRtpSender, js_name = RTCRtpSender)]
    type SenderExt;

    #[wasm_bindgen(method, js_name = getParameters)]
    fn get_parameters_raw(this: &SenderExt) -> JsValue;

    #[wasm_bindgen(method, js_name = setParameters)]
    fn set_parameters_raw(this: &SenderExt, params: &JsValue) -> Promise;

    /// `MediaStreamTrack.getSettings()` as a plain object.
    #[wasm_bindgen(extends = MediaStreamTrack, js_name = MediaStreamTrack)]
    type TrackExt;

    #[wasm_bindgen(method, js_name = getSettings)]
    fn get_settings_raw(this: &TrackExt) -> JsValue;
}

/// The camera and microphone senders of a link: the first video and the first audio
/// transceiver that sends (they are created before any screen share's; receiving is
/// on transceivers of its own), with their `mid`s to pick their `outbound-rtp` entries.
#[derive(Clone)]
pub struct Senders {
    pub video: Option<(RtcRtpSender, Option<String>)>,
    pub audio: Option<(RtcRtpSender, Option<String>)>,
}

impl Senders {
    pub fn of(pc: &RtcPeerConnection) -> Senders {
        let mut out = Senders {
            video: None,
            audio: None,
        };
        for t in pc.get_transceivers().iter() {
            let t: RtcRtpTransceiver = t.unchecked_into();
            let sends = matches!(
                t.direction(),
                RtcRtpTransceiverDirection::Sendonly | RtcRtpTransceiverDirection::Sendrecv
            );
            if t.stopped() || !sends {
                continue;
            }
            let slot = match t.receiver().track().kind().as_str() {
                "video" => &mut out.video,
                "audio" => &mut out.audio,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some((t.sender(), t.mid()));
            }
        }
        out
    }
}

/// A track's settings: (width, height, frame rate).
pub fn track_settings(track: &MediaStreamTrack) -> Option<(u32, u32, f64)> {
    let s = track.unchecked_ref::<TrackExt>().get_settings_raw();
    let num = |k: &str| Reflect::get(&s, &k.into()).ok().and_then(|v| v.as_f64());
    Some((
        num("width")? as u32,
        num("height")? as u32,
        num("frameRate").unwrap_or(30.0),
    ))
}

/// Everything read from one report.
#[derive(Debug, Clone, Default)]
pub struct LinkReport {
    /// What the controller gets.
    pub sample: StatsSample,
    /// Sum of `inbound-rtp.bytesReceived`, audio and video (a counter).
    pub bytes_received: Option<u64>,
    pub recv_frame: Option<Resolution>,
    pub recv_fps: Option<f64>,
    /// Inbound video `freezeCount` and `totalFreezesDuration` (s).
    pub freezes: Option<(u64, f64)>,
    /// Inbound audio packets (received, lost), counters.
    pub audio_packets: Option<(u64, i64)>,
    /// The selected pair goes through a TURN relay, ours or the peer's (see [`route_of`]).
    pub relayed: Option<bool>,
    /// The route of the selected pair, for the tile.
    pub route: Option<Route>,
    /// Inbound RTP packets, audio and video together (a counter): media still arriving?
    pub packets_received: Option<u64>,
    /// Bytes received on the selected pair, RTCP and data channel included (a counter).
    pub transport_bytes_received: Option<u64>,
    /// The remote microphone.
    pub remote_audio: AudioReading,
    /// Our own microphone's `audioLevel` (its `media-source`).
    pub local_audio_level: Option<f64>,
}

/// One received microphone, as speaker detection reads it: `totalAudioEnergy`,
/// `totalSamplesDuration` (counters) and `audioLevel`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AudioReading {
    pub energy: Option<f64>,
    pub duration: Option<f64>,
    pub level: Option<f64>,
}

impl AudioReading {
    fn of(inbound: &JsValue) -> AudioReading {
        AudioReading {
            energy: num(inbound, "totalAudioEnergy"),
            duration: num(inbound, "totalSamplesDuration"),
            level: num(inbound, "audioLevel"),
        }
    }
}

/// What a connection that carries several people's media (the SFU's subscriber)
/// receives: `(mid, reading)` for every inbound audio stream, and each inbound
/// stream's totals by SSRC (its downlink).
pub async fn inbound(pc: &RtcPeerConnection) -> Result<Inbound, String> {
    let mut audio = Vec::new();
    let mut streams = Vec::new();
    for e in entries(pc).await? {
        if text(&e, "type").as_deref() != Some("inbound-rtp") {
            continue;
        }
        let totals = Delivered {
            bytes: count(&e, "bytesReceived").unwrap_or(0),
            packets: count(&e, "packetsReceived").unwrap_or(0),
            // Negative when duplicates arrive: `count` leaves those out.
            lost: count(&e, "packetsLost").unwrap_or(0),
        };
        let mid = text(&e, "mid");
        if let (Some("audio"), Some(mid)) = (text(&e, "kind").as_deref(), &mid) {
            audio.push((mid.clone(), AudioReading::of(&e)));
        }
        streams.push((mid, count(&e, "ssrc").unwrap_or(0) as u32, totals));
    }
    Ok((audio, streams))
}

/// Each received microphone by `mid`, and each inbound stream's totals by its `mid`
/// and SSRC.
pub type Inbound = (
    Vec<(String, AudioReading)>,
    Vec<(Option<String>, u32, Delivered)>,
);

/// What a connection that sends for everyone (the SFU's publisher) puts out, audio
/// and video together, with what the SFU reports lost of it (its uplink), and our own
/// microphone's `audioLevel`.
pub async fn outbound(pc: &RtcPeerConnection) -> Result<(Delivered, Option<f64>), String> {
    let mut total = Delivered::default();
    let mut level = None;
    for e in entries(pc).await? {
        match text(&e, "type").as_deref() {
            Some("outbound-rtp") => {
                total.bytes += count(&e, "bytesSent").unwrap_or(0);
                total.packets += count(&e, "packetsSent").unwrap_or(0);
            }
            Some("remote-inbound-rtp") => total.lost += count(&e, "packetsLost").unwrap_or(0),
            Some("media-source") if text(&e, "kind").as_deref() == Some("audio") => {
                level = num(&e, "audioLevel");
            }
            _ => {}
        }
    }
    // `Delivered` counts what arrived: what was sent less what was lost.
    total.packets = total.packets.saturating_sub(total.lost);
    Ok((total, level))
}

/// Caps the simulcast encodings of `sender` (sending [`LAYERS`], by `rid`).
pub async fn apply_layers(sender: &RtcRtpSender, caps: &[LayerCap; 3]) -> Result<(), String> {
    let ext: &SenderExt = sender.unchecked_ref();
    let params = ext.get_parameters_raw();
    let Some(encodings) = field(&params, "encodings") else {
        return Ok(());
    };
    for e in encodings.unchecked_into::<Array>().iter() {
        let rid = text(&e, "rid");
        let Some(i) = LAYERS.iter().position(|l| rid.as_deref() == Some(l.rid)) else {
            continue;
        };
        set(&e, "active", &JsValue::from_bool(caps[i].active))?;
        set_max_bitrate(&e, caps[i].max_bitrate)?;
    }
    set_parameters(ext, &params).await
}

/// Every entry of `pc.getStats()`.
async fn entries(pc: &RtcPeerConnection) -> Result<Vec<JsValue>, String> {
    let report = JsFuture::from(pc.get_stats())
        .await
        .map_err(|e| js_error_text(&e))?;
    let map: Map = report.unchecked_into();
    let mut entries: Vec<JsValue> = Vec::new();
    map.for_each(&mut |value, _| entries.push(value));
    Ok(entries)
}

fn field(v: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(v, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}
fn text(v: &JsValue, name: &str) -> Option<String> {
    field(v, name).and_then(|v| v.as_string())
}
fn num(v: &JsValue, name: &str) -> Option<f64> {
    field(v, name)
        .and_then(|v| v.as_f64())
        .filter(|f| f.is_finite())
}
fn count(v: &JsValue, name: &str) -> Option<u64> {
    num(v, name).filter(|f| *f >= 0.0).map(|f| f as u64)
}
fn add(total: &mut Option<u64>, n: Option<u64>) {
    if let Some(n) = n {
        *total = Some(total.unwrap_or(0) + n);
    }
}

/// Reads `pc.getStats()`. `senders` names the camera's and microphone's `mid`s (an
/// `outbound-rtp` of another `mid`, a screen share, counts only in the byte total).
pub async fn read(pc: &RtcPeerConnection, senders: &Senders) -> Result<LinkReport, String> {
    let entries = entries(pc).await?;
    let by_id = |id: &str| {
        entries
            .iter()
            .find(|e| text(e, "id").as_deref() == Some(id))
    };
    let video_mid = senders.video.as_ref().and_then(|(_, m)| m.clone());
    let mut out = LinkReport::default();
    let s = &mut out.sample;

    // The selected candidate pair: the transport's, or the one marked selected
    // (Firefox), or a nominated succeeded one.
    let selected_id = entries
        .iter()
        .filter(|e| text(e, "type").as_deref() == Some("transport"))
        .find_map(|e| text(e, "selectedCandidatePairId"));
    let pair = selected_id.as_deref().and_then(by_id).or_else(|| {
        let pairs = || {
            entries
                .iter()
                .filter(|e| text(e, "type").as_deref() == Some("candidate-pair"))
        };
        pairs()
            .find(|e| field(e, "selected").and_then(|v| v.as_bool()) == Some(true))
            .or_else(|| {
                pairs().find(|e| {
                    field(e, "nominated").and_then(|v| v.as_bool()) == Some(true)
                        && text(e, "state").as_deref() == Some("succeeded")
                })
            })
    });
    out.route = route_of(&entries);
    out.relayed = out.route.map(|r| r != Route::Direct);
    if let Some(pair) = pair {
        out.transport_bytes_received = count(pair, "bytesReceived");
        s.available_outgoing_bitrate =
            num(pair, "availableOutgoingBitrate").map(Bitrate::from_bps_f64);
        s.rtt = num(pair, "currentRoundTripTime").map(Millis::from_secs_f64);
    }

    let mut video_loss = None;
    let mut audio_loss = None;
    for e in &entries {
        let kind = text(e, "kind").unwrap_or_default();
        match text(e, "type").as_deref() {
            Some("outbound-rtp") => {
                add(&mut s.bytes_sent, count(e, "bytesSent"));
                let camera = kind == "video"
                    && match (text(e, "mid"), &video_mid) {
                        (Some(mid), Some(want)) => &mid == want,
                        _ => s.frames_sent.is_none(),
                    };
                if camera {
                    s.camera_bytes_sent = count(e, "bytesSent").map(|sent| {
                        sent.saturating_sub(count(e, "retransmittedBytesSent").unwrap_or(0))
                    });
                    s.frames_sent = count(e, "framesSent");
                    if let (Some(w), Some(h)) = (count(e, "frameWidth"), count(e, "frameHeight")) {
                        s.frame_size = Some(Resolution::new(w as u32, h as u32));
                    }
                    s.frames_per_second = num(e, "framesPerSecond");
                    s.quality_limitation = text(e, "qualityLimitationReason")
                        .map(|r| QualityLimitation::from_js(&r))
                        .unwrap_or_default();
                }
            }
            Some("remote-inbound-rtp") => {
                let lost = num(e, "fractionLost");
                if kind == "video" {
                    video_loss = video_loss.or(lost);
                    s.jitter = s.jitter.or(num(e, "jitter").map(Millis::from_secs_f64));
                } else if kind == "audio" {
                    audio_loss = audio_loss.or(lost);
                }
                if s.rtt.is_none() {
                    s.rtt = num(e, "roundTripTime").map(Millis::from_secs_f64);
                }
            }
            Some("media-source") if kind == "audio" => {
                out.local_audio_level = out.local_audio_level.or(num(e, "audioLevel"));
            }
            Some("inbound-rtp") => {
                add(&mut out.bytes_received, count(e, "bytesReceived"));
                add(&mut out.packets_received, count(e, "packetsReceived"));
                if kind == "video" && out.recv_frame.is_none() {
                    if let (Some(w), Some(h)) = (count(e, "frameWidth"), count(e, "frameHeight")) {
                        out.recv_frame = Some(Resolution::new(w as u32, h as u32));
                    }
                    out.recv_fps = num(e, "framesPerSecond");
                    if let Some(n) = count(e, "freezeCount") {
                        out.freezes = Some((n, num(e, "totalFreezesDuration").unwrap_or(0.0)));
                    }
                } else if kind == "audio" && out.audio_packets.is_none() {
                    out.remote_audio = AudioReading::of(e);
                    if let Some(n) = count(e, "packetsReceived") {
                        out.audio_packets = Some((n, num(e, "packetsLost").unwrap_or(0.0) as i64));
                    }
                }
            }
            _ => {}
        }
    }
    s.fraction_lost = video_loss.or(audio_loss);
    Ok(out)
}

/// Applies video parameters to the camera sender: sets only the fields that differ
/// from what `getParameters()` reports, on the object it returned (Chromium refuses a
/// fresh one), and no `setParameters` at all if none does. `Ok(false)`: nothing to
/// apply to yet.
pub async fn apply_video(sender: &RtcRtpSender, p: &VideoParams) -> Result<bool, String> {
    let ext: &SenderExt = sender.unchecked_ref();
    let params = ext.get_parameters_raw();
    let Some(encoding) = first_encoding(&params) else {
        return Ok(false);
    };
    let current = VideoEncoding {
        active: field(&encoding, "active").and_then(|v| v.as_bool()),
        max_bitrate: num(&encoding, "maxBitrate").map(Bitrate::from_bps_f64),
        scale_resolution_down_by: num(&encoding, "scaleResolutionDownBy"),
        max_framerate: num(&encoding, "maxFramerate"),
    };
    let update = p.update_from(&current);
    if !update.is_empty() {
        if let Some(active) = update.active {
            set(&encoding, "active", &JsValue::from_bool(active))?;
        }
        if let Some(b) = update.max_bitrate {
            set_max_bitrate(&encoding, b)?;
        }
        if let Some(scale) = update.scale_resolution_down_by {
            set(
                &encoding,
                "scaleResolutionDownBy",
                &JsValue::from_f64(scale),
            )?;
        }
        if let Some(fps) = update.max_framerate {
            set(
                &encoding,
                "maxFramerate",
                &JsValue::from_f64(f64::from(fps.get())),
            )?;
        }
        set_parameters(ext, &params).await?;
    }
    Ok(true)
}

/// Applies audio parameters to the microphone sender, only the fields that differ.
pub async fn apply_audio(sender: &RtcRtpSender, p: &AudioParams) -> Result<bool, String> {
    let ext: &SenderExt = sender.unchecked_ref();
    let params = ext.get_parameters_raw();
    let Some(encoding) = first_encoding(&params) else {
        return Ok(false);
    };
    let priority = |key: &str| text(&encoding, key).as_deref().and_then(Priority::from_js);
    let current = AudioEncoding {
        max_bitrate: num(&encoding, "maxBitrate").map(Bitrate::from_bps_f64),
        priority: priority("priority"),
        network_priority: priority("networkPriority"),
    };
    let update = p.update_from(&current);
    if update.is_empty() {
        return Ok(true);
    }
    if let Some(b) = update.max_bitrate {
        set_max_bitrate(&encoding, b)?;
    }
    if let Some(p) = update.priority {
        set(&encoding, "priority", &JsValue::from_str(p.as_str()))?;
    }
    if let Some(p) = update.network_priority {
        set(&encoding, "networkPriority", &JsValue::from_str(p.as_str()))?;
    }
    set_parameters(ext, &params).await.map(|()| true)
}

/// An encoding's `maxBitrate`, in bits per second as the browser takes it.
fn set_max_bitrate(encoding: &JsValue, b: Bitrate) -> Result<(), String> {
    set(
        encoding,
        "maxBitrate",
        &JsValue::from_f64(b.as_bps() as f64),
    )
}

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(drop)
        .map_err(|e| js_error_text(&e))
}

/// The first encoding of a `getParameters()` result; none before negotiation.
fn first_encoding(params: &JsValue) -> Option<JsValue> {
    let encodings: Array = field(params, "encodings")?.unchecked_into();
    (encodings.length() > 0).then(|| encodings.get(0))
}

async fn set_parameters(sender: &SenderExt, params: &JsValue) -> Result<(), String> {
    JsFuture::from(sender.set_parameters_raw(params))
        .await
        .map(drop)
        .map_err(|e| js_error_text(&e))
}
