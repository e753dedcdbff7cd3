//! The local camera and microphone: `getUserMedia` with fallbacks, and the reasons it
//! can fail told apart, so the pre-join screen can say what is wrong and joining still
//! works without one or both devices.

use nonstop_core::adaptation::CAMERA_CAPTURE;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::MediaStreamConstraints;
pub use web_sys::{MediaStream, MediaStreamTrack};

use super::devices::{self, DeviceKind};
use super::{js_error_name, js_error_text};

/// The camera constraints, as JSON: the size core's adaptation and simulcast layers
/// count on ([`CAMERA_CAPTURE`]), at a frame rate that looks fluid.
pub(crate) fn video_constraints() -> String {
    format!(
        r#"{{"width":{{"ideal":{}}},"height":{{"ideal":{}}},"frameRate":{{"ideal":24,"max":30}}}}"#,
        CAMERA_CAPTURE.width, CAMERA_CAPTURE.height
    )
}

/// The local tracks. Either may be missing (denied, no device): the call then still
/// receives, and sends what it has.
#[derive(Clone)]
pub struct LocalMedia {
    pub stream: MediaStream,
    pub audio: Option<MediaStreamTrack>,
    pub video: Option<MediaStreamTrack>,
}

impl LocalMedia {
    fn from_stream(stream: MediaStream) -> Self {
        let first = |tracks: js_sys::Array| tracks.get(0).dyn_into::<MediaStreamTrack>().ok();
        Self {
            audio: first(stream.get_audio_tracks()),
            video: first(stream.get_video_tracks()),
            stream,
        }
    }

    /// These tracks, in a new stream (so every `<video>` showing it reloads).
    pub fn from_tracks(
        audio: Option<MediaStreamTrack>,
        video: Option<MediaStreamTrack>,
    ) -> Option<Self> {
        let stream = MediaStream::new().ok()?;
        for t in audio.iter().chain(video.iter()) {
            stream.add_track(t);
        }
        Some(Self {
            stream,
            audio,
            video,
        })
    }

    /// No tracks at all: the receive-only case.
    pub fn empty() -> Self {
        // `new MediaStream()` only fails where WebRTC is missing altogether.
        let stream = MediaStream::new().expect("MediaStream constructor");
        Self {
            stream,
            audio: None,
            video: None,
        }
    }

    /// Ends the tracks so the camera light goes off.
    pub fn stop(&self) {
        for track in self.audio.iter().chain(self.video.iter()) {
            track.stop();
        }
    }
}

/// Why a device is not available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The person or the browser's settings said no.
    Blocked,
    /// There is no such device.
    Missing,
    /// Another application holds it, or it failed to start.
    Busy,
    /// The page cannot ask at all (not a secure context, or no WebRTC).
    Unsupported,
}

impl Cause {
    pub(crate) fn from_error_name(name: Option<&str>) -> Cause {
        match name {
            Some("NotAllowedError" | "SecurityError" | "PermissionDeniedError") => Cause::Blocked,
            Some("NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError") => {
                Cause::Missing
            }
            Some("TypeError") => Cause::Unsupported,
            _ => Cause::Busy,
        }
    }
}

/// What could not be had, for the message on the pre-join screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaProblem {
    pub camera: Option<Cause>,
    pub microphone: Option<Cause>,
}

impl MediaProblem {
    pub fn message(&self) -> String {
        let why = |cause: Cause| match cause {
            Cause::Blocked => {
                "access is blocked (allow it in the browser's site settings and reload)"
            }
            Cause::Missing => "no device was found",
            Cause::Busy => "the device could not be started (is another app using it?)",
            Cause::Unsupported => "this browser or page cannot use it (open the link over https)",
        };
        let tail = "You can still join and see and hear the others.";
        match (self.camera, self.microphone) {
            (Some(c), Some(m)) if c == m => {
                format!("Camera and microphone unavailable: {}. {tail}", why(c))
            }
            (Some(c), Some(m)) => format!(
                "Camera unavailable: {}. Microphone unavailable: {}. {tail}",
                why(c),
                why(m)
            ),
            (Some(c), None) => format!(
                "Camera unavailable: {}. Others will hear you but not see you.",
                why(c)
            ),
            (None, Some(m)) => format!(
                "Microphone unavailable: {}. Others will see you but not hear you.",
                why(m)
            ),
            (None, None) => String::new(),
        }
    }
}

/// Asks for camera and microphone; on failure, for each alone (unless the person refused:
/// asking again would only repeat the prompt they just answered).
pub async fn acquire() -> (LocalMedia, Option<MediaProblem>) {
    // The devices chosen last time first; if one is gone, whatever the browser gives.
    let first = match get_user_media(true, true, true).await {
        Err(Cause::Missing | Cause::Busy)
            if [DeviceKind::Camera, DeviceKind::Microphone]
                .iter()
                .any(|k| devices::stored(*k).is_some()) =>
        {
            get_user_media(true, true, false).await
        }
        result => result,
    };
    match first {
        Ok(stream) => (LocalMedia::from_stream(stream), None),
        Err(cause @ (Cause::Blocked | Cause::Unsupported)) => (
            LocalMedia::empty(),
            Some(MediaProblem {
                camera: Some(cause),
                microphone: Some(cause),
            }),
        ),
        Err(_) => {
            let audio = get_user_media(true, false, false).await;
            let video = get_user_media(false, true, false).await;
            let media = LocalMedia::empty();
            for stream in audio.iter().chain(video.iter()) {
                for track in stream.get_tracks().iter() {
                    media.stream.add_track(track.unchecked_ref());
                }
            }
            let media = LocalMedia::from_stream(media.stream);
            let problem = MediaProblem {
                camera: video.err(),
                microphone: audio.err(),
            };
            (media, Some(problem))
        }
    }
}

/// `preferred`: ask for the stored devices exactly (no stored choice: any device).
async fn get_user_media(audio: bool, video: bool, preferred: bool) -> Result<MediaStream, Cause> {
    let devices = web_sys::window()
        .and_then(|w| w.navigator().media_devices().ok())
        .ok_or(Cause::Unsupported)?;
    let constraints = MediaStreamConstraints::new();
    use super::devices::constraint;
    let pick = |kind| preferred.then(|| devices::stored(kind)).flatten();
    if audio {
        let mic = pick(DeviceKind::Microphone);
        constraints.set_audio(&constraint(DeviceKind::Microphone, mic.as_deref(), true));
    } else {
        constraints.set_audio(&false.into());
    }
    if video {
        let cam = pick(DeviceKind::Camera);
        constraints.set_video(&constraint(DeviceKind::Camera, cam.as_deref(), true));
    } else {
        constraints.set_video(&false.into());
    }
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| Cause::from_error_name(js_error_name(&e).as_deref()))?;
    match JsFuture::from(promise).await {
        Ok(stream) => Ok(stream.unchecked_into()),
        Err(e) => {
            leptos::logging::warn!(
                "getUserMedia(audio={audio}, video={video}): {}",
                js_error_text(&e)
            );
            Err(Cause::from_error_name(js_error_name(&e).as_deref()))
        }
    }
}

/// The tracks received from one participant's camera and microphone, as the one stream
/// their tile plays. Each change gives a new handle to set on the tile, which makes the
/// `<video>` reload with the new tracks.
pub struct RemoteStream(MediaStream);

impl RemoteStream {
    pub fn new() -> Result<Self, String> {
        MediaStream::new()
            .map(RemoteStream)
            .map_err(|e| js_error_text(&e))
    }

    pub fn add(&self, track: &MediaStreamTrack) -> MediaStream {
        self.0.add_track(track);
        Clone::clone(&self.0)
    }

    pub fn remove(&self, track: &MediaStreamTrack) -> MediaStream {
        self.0.remove_track(track);
        Clone::clone(&self.0)
    }
}
