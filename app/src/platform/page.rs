//! Facts about the page the call logic needs: whether it is hidden, its pixel
//! density, its browser's engine where behaviour differs, and the switches a tester
//! can set in its address or storage.

/// `?adapt=off` in the page address, or `localStorage["nonstop.adapt"] = "off"`: the
/// adaptation controller observes but applies nothing (the browser's own congestion
/// control alone, for comparison: scripts/bench-adaptation).
pub fn adaptation_disabled() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    if query("adapt").as_deref() == Some("off") {
        return true;
    }
    let stored = window
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item("nonstop.adapt").ok().flatten());
    stored.as_deref() == Some("off")
}

/// Device pixels per CSS pixel.
pub fn device_pixel_ratio() -> f64 {
    web_sys::window().map_or(1.0, |w| w.device_pixel_ratio())
}

/// The page is not visible (another tab, minimised).
pub fn hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// Firefox (Gecko), whose VP8 encoder keeps a floor above small caps (the controller
/// watches for it: `Config::watch_encoder_floors`). No feature tells it apart.
pub fn is_gecko() -> bool {
    web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .is_some_and(|ua| ua.contains("Firefox/"))
}

/// Asks the person to confirm a step that cannot be undone (the browser's own
/// dialog: nothing to build, and it is modal and accessible). No window: no.
pub fn confirm(question: &str) -> bool {
    web_sys::window().is_some_and(|w| w.confirm_with_message(question).unwrap_or(false))
}

/// The meeting link's `?t=`: a meeting token from the rooms API, which a private room
/// wants (`ClientMsg::Join::token`). Tokens are base64url and dots: never escaped.
pub fn meeting_token() -> Option<String> {
    query("t").filter(|t| !t.is_empty())
}

/// The value of `name` in the page address's query.
fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .map(str::to_owned)
}
