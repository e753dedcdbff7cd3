//! Event listeners owned as values: dropping one detaches it, so nothing leaks through
//! `Closure::forget` and a closed connection stops calling back into the app.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

pub struct EventListener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

impl EventListener {
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        handler: impl FnMut(Event) + 'static,
    ) -> Self {
        let callback = Closure::<dyn FnMut(Event)>::new(handler);
        // Adding a listener with a valid function cannot fail.
        target
            .add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref())
            .expect("addEventListener");
        Self {
            target: target.clone(),
            kind,
            callback,
        }
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ignored_no_such_listener = self
            .target
            .remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}
