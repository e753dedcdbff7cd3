//! The browser, behind Rust-typed wrappers: the rest of the app never touches a raw
//! `RtcPeerConnection` or WebSocket. Nothing here decides anything; it only turns
//! web-sys calls and events into `nonstop_core` types and back.

pub mod clock;
pub mod data_channel;
pub mod debug_hook;
pub mod devices;
pub mod ice;
pub mod janus_socket;
pub mod listener;
pub mod location;
pub mod media;
pub mod page;
pub mod peer_connection;
pub mod screen;
pub mod sfu_peer;
pub mod signaling;
pub mod stats;

use wasm_bindgen::JsValue;

/// A readable text for a JS error value (a `DOMException`, an `Error`, or anything).
pub fn js_error_text(err: &JsValue) -> String {
    if let Some(s) = err.as_string() {
        return s;
    }
    let field = |name: &str| {
        js_sys::Reflect::get(err, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    match (field("name"), field("message")) {
        (Some(n), Some(m)) if !m.is_empty() => format!("{n}: {m}"),
        (Some(n), _) => n,
        (None, Some(m)) => m,
        (None, None) => format!("{err:?}"),
    }
}

/// The `name` of a `DOMException` (`"NotAllowedError"`, …), if `err` is one.
pub fn js_error_name(err: &JsValue) -> Option<String> {
    js_sys::Reflect::get(err, &JsValue::from_str("name"))
        .ok()
        .and_then(|v| v.as_string())
}

/// A seed for the core's jitter and backoff (which take randomness from the caller).
pub fn random_seed() -> u64 {
    (js_sys::Math::random() * (u64::MAX as f64)) as u64
}
