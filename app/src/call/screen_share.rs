//! Sharing our screen: `getDisplayMedia`, then the track goes to every link (see
//! `screen_link.rs` for how the other side recognises it). Sharing stops from the app
//! or from the browser's own "Stop sharing" button (the track ends).

use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DisplayMediaStreamConstraints, MediaStream, MediaStreamTrack};

use super::screen_link::ScreenTrack;
use super::Call;
use crate::platform::js_error_text;
use crate::platform::listener::EventListener;

/// Asks the browser for a screen or window and shares it. `Err` says why not (the
/// person cancelled the picker, or the browser cannot share).
pub async fn start(call: &Call) -> Result<(), String> {
    if call.screen().is_some() {
        return Ok(());
    }
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
        .map_err(|e| match crate::platform::js_error_name(&e).as_deref() {
            Some("NotAllowedError") => {
                "Screen sharing was cancelled or is not allowed.".to_string()
            }
            _ => format!("Could not share the screen: {}", js_error_text(&e)),
        })?
        .unchecked_into();
    let Some(track) = stream
        .get_video_tracks()
        .get(0)
        .dyn_into::<MediaStreamTrack>()
        .ok()
    else {
        return Err("The browser gave no screen video.".into());
    };
    if call.has_left() {
        track.stop();
        return Ok(());
    }
    // Text and slides: keep detail, drop frames first.
    let _ = Reflect::set(&track, &"contentHint".into(), &"detail".into());
    let ended_call = call.clone();
    let ended = EventListener::new(&track, "ended", move |_| stop(&ended_call));
    ENDED.with(|e| *e.borrow_mut() = Some(Rc::new(ended)));
    call.view()
        .stage
        .set_screen(call.me(), Some(Clone::clone(&stream)));
    call.set_screen(Some(ScreenTrack { track, stream }));
    Ok(())
}

thread_local! {
    /// The `ended` listener of the shared track: dropped when sharing stops.
    static ENDED: std::cell::RefCell<Option<Rc<EventListener>>> = const { std::cell::RefCell::new(None) };
}

/// Stops sharing (if we share).
pub fn stop(call: &Call) {
    ENDED.with(|e| e.borrow_mut().take());
    if let Some(screen) = call.screen() {
        screen.track.stop();
        call.set_screen(None);
        call.view().stage.set_screen(call.me(), None);
    }
}
