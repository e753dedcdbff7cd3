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
    let search = window.location().search().unwrap_or_default();
    if search
        .trim_start_matches('?')
        .split('&')
        .any(|kv| kv == "adapt=off")
    {
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
