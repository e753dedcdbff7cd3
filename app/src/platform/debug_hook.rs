//! `window.__nonstop`: a read-only window into the call for the end-to-end tests and for
//! people debugging in the console: `{ you: number|null, peers: Map<number, RTCPeerConnection> }`.
//! Tests read `getStats()` through it to check that media really flows.

use js_sys::{Map, Object, Reflect};
use nonstop_core::ParticipantId;
use wasm_bindgen::JsValue;
use web_sys::RtcPeerConnection;

const HOOK: &str = "__nonstop";

fn hook() -> Option<Object> {
    let window = web_sys::window()?;
    let existing = Reflect::get(&window, &HOOK.into()).ok()?;
    if existing.is_object() {
        return Some(existing.into());
    }
    let obj = Object::new();
    Reflect::set(&obj, &"you".into(), &JsValue::NULL).ok()?;
    Reflect::set(&obj, &"peers".into(), &Map::new()).ok()?;
    Reflect::set(&window, &HOOK.into(), &obj).ok()?;
    Some(obj)
}

fn peers() -> Option<Map> {
    Reflect::get(&hook()?.into(), &"peers".into())
        .ok()
        .map(Into::into)
}

fn id_value(id: ParticipantId) -> JsValue {
    // Ids stay far below 2^53, so they are exact as JS numbers.
    JsValue::from_f64(id.get() as f64)
}

pub fn set_you(id: Option<ParticipantId>) {
    if let Some(h) = hook() {
        let v = id.map(id_value).unwrap_or(JsValue::NULL);
        let _best_effort = Reflect::set(&h, &"you".into(), &v);
    }
}

pub fn add_peer(id: ParticipantId, pc: &RtcPeerConnection) {
    if let Some(p) = peers() {
        p.set(&id_value(id), pc);
    }
}

pub fn remove_peer(id: ParticipantId) {
    if let Some(p) = peers() {
        p.delete(&id_value(id));
    }
}
