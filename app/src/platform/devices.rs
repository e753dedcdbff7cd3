//! Cameras, microphones and speakers: listing them (`enumerateDevices`), opening one
//! device (`getUserMedia` for that device only), playing remote audio on a chosen
//! speaker (`setSinkId`, where the browser has it), the chosen ids in localStorage,
//! and a microphone level from a WebAudio `AnalyserNode`.

use std::cell::RefCell;

use js_sys::{Function, Reflect};
use nonstop_core::devices::Device;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AnalyserNode, AudioContext, HtmlMediaElement, MediaDeviceInfo, MediaDeviceKind, MediaStream,
    MediaStreamAudioSourceNode, MediaStreamConstraints, MediaStreamTrack,
};

use super::media::{video_constraints, Cause};
use super::{js_error_name, js_error_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Camera,
    Microphone,
    Speaker,
}

impl DeviceKind {
    fn storage_key(self) -> &'static str {
        match self {
            DeviceKind::Camera => "nonstop.camera",
            DeviceKind::Microphone => "nonstop.microphone",
            DeviceKind::Speaker => "nonstop.speaker",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeviceKind::Camera => "Camera",
            DeviceKind::Microphone => "Microphone",
            DeviceKind::Speaker => "Speaker",
        }
    }
}

/// Every device the browser lists, by kind, in its order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceList {
    pub cameras: Vec<Device>,
    pub microphones: Vec<Device>,
    pub speakers: Vec<Device>,
}

impl DeviceList {
    pub fn of(&self, kind: DeviceKind) -> &[Device] {
        match kind {
            DeviceKind::Camera => &self.cameras,
            DeviceKind::Microphone => &self.microphones,
            DeviceKind::Speaker => &self.speakers,
        }
    }
}

fn media_devices() -> Option<web_sys::MediaDevices> {
    web_sys::window().and_then(|w| w.navigator().media_devices().ok())
}

/// `enumerateDevices()`; labels are empty until the page has camera/microphone permission.
pub async fn enumerate() -> DeviceList {
    let mut list = DeviceList::default();
    let Some(promise) = media_devices().and_then(|d| d.enumerate_devices().ok()) else {
        return list;
    };
    let Ok(found) = JsFuture::from(promise).await else {
        return list;
    };
    for info in js_sys::Array::from(&found).iter() {
        let Ok(info) = info.dyn_into::<MediaDeviceInfo>() else {
            continue;
        };
        let device = Device {
            id: info.device_id(),
            label: info.label(),
        };
        match info.kind() {
            MediaDeviceKind::Videoinput => list.cameras.push(device),
            MediaDeviceKind::Audioinput => list.microphones.push(device),
            MediaDeviceKind::Audiooutput => list.speakers.push(device),
            _ => {}
        }
    }
    list
}

/// The constraint for one kind: a specific device (`exact`, or only `ideal` so a
/// missing device falls back to another), or any.
pub(crate) fn constraint(kind: DeviceKind, id: Option<&str>, exact: bool) -> JsValue {
    let obj: js_sys::Object = if kind == DeviceKind::Camera {
        // Always valid JSON.
        js_sys::JSON::parse(&video_constraints())
            .expect("video constraints")
            .unchecked_into()
    } else {
        js_sys::Object::new()
    };
    if let Some(id) = id.filter(|id| !id.is_empty()) {
        let want = js_sys::Object::new();
        let _ = Reflect::set(
            &want,
            &(if exact { "exact" } else { "ideal" }).into(),
            &id.into(),
        );
        let _ = Reflect::set(&obj, &"deviceId".into(), &want);
    }
    obj.into()
}

/// Opens one camera or microphone alone (`getUserMedia` for that device only).
pub async fn open(kind: DeviceKind, id: Option<&str>) -> Result<MediaStreamTrack, Cause> {
    let devices = media_devices().ok_or(Cause::Unsupported)?;
    let constraints = MediaStreamConstraints::new();
    let c = constraint(kind, id, true);
    match kind {
        DeviceKind::Camera => {
            constraints.set_video(&c);
            constraints.set_audio(&false.into());
        }
        DeviceKind::Microphone => {
            constraints.set_audio(&c);
            constraints.set_video(&false.into());
        }
        DeviceKind::Speaker => return Err(Cause::Unsupported),
    }
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| Cause::from_error_name(js_error_name(&e).as_deref()))?;
    let stream: MediaStream = match JsFuture::from(promise).await {
        Ok(s) => s.unchecked_into(),
        Err(e) => {
            let id = id.unwrap_or("default");
            leptos::logging::warn!("getUserMedia({kind:?} {id}): {}", js_error_text(&e));
            return Err(Cause::from_error_name(js_error_name(&e).as_deref()));
        }
    };
    stream
        .get_tracks()
        .get(0)
        .dyn_into::<MediaStreamTrack>()
        .map_err(|_| Cause::Missing)
}

/// The device a track comes from (`getSettings().deviceId`).
/// Calls `changed` whenever a device is plugged in or out; stops when the returned
/// listener is dropped. `None` where the browser has no device list.
pub fn on_change(
    changed: impl FnMut(web_sys::Event) + 'static,
) -> Option<super::listener::EventListener> {
    let devices = web_sys::window()?.navigator().media_devices().ok()?;
    Some(super::listener::EventListener::new(
        &devices,
        "devicechange",
        changed,
    ))
}

pub fn track_device_id(track: &MediaStreamTrack) -> Option<String> {
    let f: Function = Reflect::get(track, &"getSettings".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let settings = f.call0(track).ok()?;
    Reflect::get(&settings, &"deviceId".into())
        .ok()?
        .as_string()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The device chosen last time, if any.
pub fn stored(kind: DeviceKind) -> Option<String> {
    storage()
        .and_then(|s| s.get_item(kind.storage_key()).ok().flatten())
        .filter(|id| !id.is_empty())
}

pub fn store(kind: DeviceKind, id: &str) {
    if let Some(s) = storage() {
        let _private_mode_may_refuse = s.set_item(kind.storage_key(), id);
    }
}

/// Whether the browser can send audio to a chosen output (`HTMLMediaElement.setSinkId`).
pub fn sink_supported() -> bool {
    (|| {
        let window = web_sys::window()?;
        let class = Reflect::get(&window, &"HTMLMediaElement".into()).ok()?;
        let proto = Reflect::get(&class, &"prototype".into()).ok()?;
        Reflect::has(&proto, &"setSinkId".into()).ok()
    })()
    .unwrap_or(false)
}

/// Plays `element` on the chosen speaker (the stored choice, see [`set_sink`]; a no-op
/// without one or without `setSinkId`).
pub fn apply_sink(element: &HtmlMediaElement) {
    let Some(id) = stored(DeviceKind::Speaker) else {
        return;
    };
    let Ok(f) = Reflect::get(element, &"setSinkId".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return;
    };
    if let Ok(promise) = f.call1(element, &id.into()) {
        if let Ok(promise) = promise.dyn_into::<js_sys::Promise>() {
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = JsFuture::from(promise).await {
                    leptos::logging::warn!("setSinkId: {}", js_error_text(&e));
                }
            });
        }
    }
}

/// Chooses the speaker for every remote `<video>`/`<audio>` now and later (later ones
/// read the stored choice, so it is remembered first).
pub fn set_sink(id: &str) {
    store(DeviceKind::Speaker, id);
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(nodes) = doc.query_selector_all("video:not(.mirrored), audio") {
        for i in 0..nodes.length() {
            if let Some(el) = nodes
                .item(i)
                .and_then(|n| n.dyn_into::<HtmlMediaElement>().ok())
            {
                apply_sink(&el);
            }
        }
    }
}

/// A live microphone level: WebAudio `AnalyserNode` on the track. The context may start
/// suspended (no user gesture yet, or no audio device): [`LevelMeter::resume`] on a
/// gesture; nothing waits for it.
pub struct LevelMeter {
    ctx: AudioContext,
    analyser: AnalyserNode,
    _source: MediaStreamAudioSourceNode,
    buf: RefCell<Vec<f32>>,
}

impl LevelMeter {
    pub fn new(track: &MediaStreamTrack) -> Result<LevelMeter, String> {
        let err = |e: JsValue| js_error_text(&e);
        let ctx = AudioContext::new().map_err(err)?;
        let stream = MediaStream::new().map_err(err)?;
        stream.add_track(track);
        let source = ctx.create_media_stream_source(&stream).map_err(err)?;
        let analyser = ctx.create_analyser().map_err(err)?;
        // About a third of a second of samples: read every 100 ms, no short sound is missed.
        analyser.set_fft_size(16384);
        source.connect_with_audio_node(&analyser).map_err(err)?;
        let size = analyser.fft_size() as usize;
        let meter = LevelMeter {
            ctx,
            analyser,
            _source: source,
            buf: RefCell::new(vec![0.0; size]),
        };
        meter.resume();
        Ok(meter)
    }

    /// Asks a suspended context to run (best effort, not awaited).
    pub fn resume(&self) {
        if let Ok(p) = self.ctx.resume() {
            wasm_bindgen_futures::spawn_local(async move {
                let _may_stay_suspended = JsFuture::from(p).await;
            });
        }
    }

    /// The level now, 0 to 100: the peak of the last samples on a dB scale.
    pub fn level(&self) -> u32 {
        let mut buf = self.buf.borrow_mut();
        self.analyser.get_float_time_domain_data(&mut buf);
        let peak = buf.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        // -60 dBFS and below is 0, 0 dBFS is 100.
        if peak <= 0.0 {
            return 0;
        }
        let db = 20.0 * peak.log10();
        (((db + 60.0) / 60.0).clamp(0.0, 1.0) * 100.0).round() as u32
    }
}

impl Drop for LevelMeter {
    fn drop(&mut self) {
        let _ = self._source.disconnect();
        if let Ok(p) = self.ctx.close() {
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(p).await;
            });
        }
    }
}
