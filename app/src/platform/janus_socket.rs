//! Janus's WebSocket (subprotocol `janus-protocol`), reached through the signaling
//! server's own origin (the server proxies the grant's path, `/janus`, to Janus). Text
//! frames out, text frames in; what they mean is `nonstop_core::janus`'s business.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::js_error_text;
use super::listener::EventListener;

/// What the socket reports, in order.
pub enum SocketEvent {
    Frame(String),
    /// The socket failed or closed; nothing follows.
    Closed(String),
}

/// The open socket; dropping it closes it.
pub struct JanusSocket {
    ws: WebSocket,
    /// Frames sent before the socket opened, sent on `open`.
    held: Rc<RefCell<Vec<String>>>,
    _listeners: [EventListener; 4],
}

pub fn connect(
    url: &str,
    on_event: impl FnMut(SocketEvent) + 'static,
) -> Result<JanusSocket, String> {
    let ws = WebSocket::new_with_str(url, "janus-protocol").map_err(|e| js_error_text(&e))?;
    let on_event = Rc::new(RefCell::new(on_event));
    let held: Rc<RefCell<Vec<String>>> = Rc::default();
    let on_open = {
        let (ws, held) = (ws.clone(), Rc::clone(&held));
        EventListener::new(&ws.clone(), "open", move |_| {
            for frame in held.borrow_mut().drain(..) {
                let _closed_meanwhile_reported_by_close = ws.send_with_str(&frame);
            }
        })
    };
    let on_message = {
        let on_event = Rc::clone(&on_event);
        EventListener::new(&ws, "message", move |ev| {
            if let Some(text) = ev.unchecked_into::<MessageEvent>().data().as_string() {
                (on_event.borrow_mut())(SocketEvent::Frame(text));
            }
        })
    };
    let on_error = {
        let on_event = Rc::clone(&on_event);
        EventListener::new(&ws, "error", move |_| {
            (on_event.borrow_mut())(SocketEvent::Closed("the SFU's WebSocket failed".into()));
        })
    };
    let on_close = EventListener::new(&ws, "close", move |ev| {
        let close = ev.unchecked_into::<CloseEvent>();
        let why = format!(
            "the SFU's WebSocket closed ({}): {}",
            close.code(),
            close.reason()
        );
        (on_event.borrow_mut())(SocketEvent::Closed(why));
    });
    Ok(JanusSocket {
        ws,
        held,
        _listeners: [on_open, on_message, on_error, on_close],
    })
}

impl JanusSocket {
    pub fn send(&self, frame: String) {
        match self.ws.ready_state() {
            WebSocket::CONNECTING => self.held.borrow_mut().push(frame),
            WebSocket::OPEN => {
                if let Err(e) = self.ws.send_with_str(&frame) {
                    leptos::logging::warn!("janus: send failed: {}", js_error_text(&e));
                }
            }
            // Closing or closed: the close event has told the owner.
            _ => {}
        }
    }
}

impl Drop for JanusSocket {
    fn drop(&mut self) {
        let _closing_a_closed_socket_is_fine = self.ws.close();
    }
}
