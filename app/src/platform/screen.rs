//! Screen capture (`getDisplayMedia`) and the send-only transceiver that carries it.

use js_sys::{Array, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DisplayMediaStreamConstraints, MediaStream, MediaStreamTrack, RtcPeerConnection,
    RtcRtpTransceiver, RtcRtpTransceiverDirection, RtcRtpTransceiverInit,
};

use super::listener::EventListener;
use super::{js_error_name, js_error_text};

/// Our screen: the track, and the stream it is sent with (the receiver tells it from
/// the camera by that stream's id).
#[derive(Clone)]
pub struct ScreenTrack {
    pub track: MediaStreamTrack,
    pub stream: MediaStream,
}

impl ScreenTrack {
    pub fn stream_id(&self) -> String {
        self.stream.id()
    }

    pub fn stop(&self) {
        self.track.stop();
    }

    /// Calls `ended` when the browser's own "Stop sharing" ends the track; the
    /// listener lives as long as the returned value.
    pub fn on_ended(&self, ended: impl FnMut(web_sys::Event) + 'static) -> EventListener {
        EventListener::new(&self.track, "ended", ended)
    }
}

/// Asks the browser for a screen or window. `Err` says why not, for the person.
pub async fn capture() -> Result<ScreenTrack, String> {
    let devices = web_sys::window()
        .and_then(|w| w.navigator().media_devices().ok())
        .ok_or("This browser cannot share the screen.")?;
    let constraints = DisplayMediaStreamConstraints::new();
    constraints.set_audio(&false.into());
    // The constant is valid JSON.
    constraints
        .set_video(&js_sys::JSON::parse(r#"{"frameRate":{"ideal":15,"max":30}}"#).expect("json"));
    let promise = devices
        .get_display_media_with_constraints(&constraints)
        .map_err(|e| js_error_text(&e))?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(|e| match js_error_name(&e).as_deref() {
            Some("NotAllowedError") => {
                "Screen sharing was cancelled or is not allowed.".to_string()
            }
            _ => format!("Could not share the screen: {}", js_error_text(&e)),
        })?
        .unchecked_into();
    let track = stream
        .get_video_tracks()
        .get(0)
        .dyn_into::<MediaStreamTrack>()
        .map_err(|_| "The browser gave no screen video.".to_string())?;
    // Text and slides: keep detail, drop frames first.
    let _older_browsers_ignore_it = Reflect::set(&track, &"contentHint".into(), &"detail".into());
    Ok(ScreenTrack { track, stream })
}

/// A send-only transceiver on `pc` carrying `screen` with its stream, set to keep
/// resolution over frame rate (sharpness for text and slides).
pub fn add_transceiver(pc: &RtcPeerConnection, screen: &ScreenTrack) -> RtcRtpTransceiver {
    let init = RtcRtpTransceiverInit::new();
    init.set_direction(RtcRtpTransceiverDirection::Sendonly);
    init.set_streams(&Array::of1(&screen.stream));
    let t = pc.add_transceiver_with_media_stream_track_and_init(&screen.track, &init);
    let sender = t.sender();
    wasm_bindgen_futures::spawn_local(async move {
        let params = sender.get_parameters();
        let _ = Reflect::set(
            &params,
            &"degradationPreference".into(),
            &"maintain-resolution".into(),
        );
        // Firefox may not know the field: the share still works, at its default.
        if let Err(e) = JsFuture::from(sender.set_parameters_with_parameters(&params)).await {
            leptos::logging::warn!(
                "screen: degradationPreference not set: {}",
                js_error_text(&e)
            );
        }
    });
    t
}

/// A new stream holding `track` alone (what a `<video>` shows).
pub fn stream_of(track: &MediaStreamTrack) -> Option<MediaStream> {
    let stream = MediaStream::new().ok()?;
    stream.add_track(track);
    Some(stream)
}
