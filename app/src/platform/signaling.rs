//! The signaling WebSocket: [`ClientMsg`]s out, [`ServerMsg`]s in.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::StreamExt;
use leptos::task::spawn_local;
use nonstop_core::protocol::{ClientMsg, ServerMsg, CLOSE_RESUMING};
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::js_error_text;
use super::listener::EventListener;

enum Outgoing {
    Msg(ClientMsg),
    Close,
}

/// The close code the receiver reports when this client closed the socket itself
/// (the browser's own close event, if it ever comes, is dropped).
const CLOSED_HERE: u16 = CLOSE_RESUMING;

/// Most messages held back while the socket is down (the oldest go first): an outage
/// of a minute produces a few hundred at most (ICE candidates of restarts).
const HOLD_AT_MOST: usize = 500;

/// Sends on the socket; cheap to clone. After a reconnect, every clone sends on the
/// new socket ([`SignalingSender::switch_to`]). What is sent while the socket is down
/// (an ICE restart's offer and candidates, a media change) is held and goes out on the
/// next socket, in order: dropping it would leave a negotiation waiting for an answer
/// that never comes.
#[derive(Clone)]
pub struct SignalingSender {
    link: Rc<RefCell<Link>>,
}

/// One socket's writer, and where it puts back what it could not send.
#[derive(Clone)]
struct Link {
    // Unbounded: the app produces a handful of messages per peer and second at most,
    // and the writer drains them as fast as the socket takes them.
    tx: mpsc::UnboundedSender<Outgoing>,
    held: Rc<RefCell<Vec<ClientMsg>>>,
}

fn hold(held: &RefCell<Vec<ClientMsg>>, msg: ClientMsg) {
    // A pong answers one ping of one socket: nothing to send later.
    if matches!(msg, ClientMsg::Pong) {
        return;
    }
    let mut held = held.borrow_mut();
    if held.len() == HOLD_AT_MOST {
        held.remove(0);
    }
    held.push(msg);
}

impl SignalingSender {
    pub fn send(&self, msg: ClientMsg) {
        let link = self.link.borrow();
        if let Err(e) = link.tx.unbounded_send(Outgoing::Msg(msg)) {
            if let Outgoing::Msg(msg) = e.into_inner() {
                hold(&link.held, msg);
            }
        }
    }

    /// Sends what is queued, then closes the socket with [`CLOSE_RESUMING`] (after a
    /// `leave` the server has ended the session already). The receiver ends at once: a
    /// socket given up for silence may take the browser a minute to close (Chromium
    /// waits that long for the server's half of the closing handshake), and the call
    /// reconnects meanwhile.
    pub fn close(&self) {
        let _already_closed_is_fine = self.link.borrow().tx.unbounded_send(Outgoing::Close);
    }

    /// From now on this sender and all its clones send on `other`'s socket, starting
    /// with what was held back while this one was down.
    pub fn switch_to(&self, other: &SignalingSender) {
        let next = other.link.borrow().clone();
        let old = self.link.replace(next);
        let held: Vec<ClientMsg> = old.held.borrow_mut().drain(..).collect();
        for msg in held {
            self.send(msg);
        }
    }
}

/// Yields server messages until the socket closes.
pub struct SignalingReceiver {
    incoming: mpsc::UnboundedReceiver<Incoming>,
    _socket: Rc<Socket>,
}

/// What the socket's listeners pass on to the receiver, in the order they fired.
enum Incoming {
    Text(String),
    Binary,
    Failed,
    Closed { code: u16, reason: String },
}

/// The socket and its listeners. The writer task and the receiver each hold it; when both
/// are done with it, it closes.
struct Socket {
    ws: WebSocket,
    _listeners: [EventListener; 4],
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _closing_a_closed_socket_is_fine = self.ws.close();
    }
}

/// Why a frame from the server could not be used.
#[derive(Debug, Clone)]
pub enum ReceiveError {
    /// The socket failed (`code`: `None`) or closed with `code`.
    Closed { why: String, code: Option<u16> },
    /// A frame that is not a message this client understands (a newer server?).
    Unreadable(String),
}

impl SignalingReceiver {
    /// The next message; `None` once the socket is closed for good.
    pub async fn next(&mut self) -> Option<Result<ServerMsg, ReceiveError>> {
        match self.incoming.next().await? {
            Incoming::Text(text) => Some(
                ServerMsg::parse(&text)
                    .map_err(|e| ReceiveError::Unreadable(format!("{e}: {text}"))),
            ),
            Incoming::Binary => Some(Err(ReceiveError::Unreadable("binary frame".into()))),
            Incoming::Failed => Some(Err(ReceiveError::Closed {
                why: "WebSocket connection failed".into(),
                code: None,
            })),
            Incoming::Closed { code, reason } => {
                // Nothing comes after the close.
                self.incoming.close();
                Some(Err(ReceiveError::Closed {
                    why: format!("WebSocket Closed: code: {code}, reason: {reason}"),
                    code: Some(code),
                }))
            }
        }
    }
}

/// Whether the server that served the app answers `GET /healthz` now. A cheap probe
/// before each reconnect attempt: a WebSocket that fails to connect makes Firefox hold
/// back later ones to the same server (a delay that grows by half each time, up to a
/// minute), which would keep us away long after the server is back.
pub async fn server_answers() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    // A unique query: never an answer from a cache. A whole number: formatting an f64
    // would bring Rust's float formatting (about 12 KB) into the wasm.
    let url = format!("/healthz?probe={}", super::random_seed());
    match wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&url)).await {
        Ok(response) => js_sys::Reflect::get(&response, &"ok".into())
            .ok()
            .and_then(|ok| ok.as_bool())
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// The signaling endpoint on the host that served the app (`ws://host/ws`, or `wss://`
/// when the page came over https).
pub fn endpoint() -> String {
    endpoint_at("/ws")
}

/// A WebSocket at `path` on the host that served the app, e.g. the SFU's (`/janus`).
pub fn endpoint_at(path: &str) -> String {
    let location = web_sys::window().map(|w| w.location());
    let secure = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .is_some_and(|p| p == "https:");
    let host = location.and_then(|l| l.host().ok()).unwrap_or_default();
    format!("{}://{host}{path}", if secure { "wss" } else { "ws" })
}

pub fn connect(url: &str) -> Result<(SignalingSender, SignalingReceiver), String> {
    let ws = WebSocket::new(url).map_err(|e| js_error_text(&e))?;
    let (incoming_tx, incoming) = mpsc::unbounded();
    // Fires once the socket is open, or has failed: sending before that would throw.
    let (settled_tx, mut settled) = mpsc::unbounded::<()>();
    let on_open = {
        let settled_tx = settled_tx.clone();
        EventListener::new(&ws, "open", move |_| {
            let _ = settled_tx.unbounded_send(());
        })
    };
    let on_message = {
        let incoming_tx = incoming_tx.clone();
        EventListener::new(&ws, "message", move |ev| {
            let data = ev.unchecked_into::<MessageEvent>().data();
            let _ = incoming_tx.unbounded_send(match data.as_string() {
                Some(text) => Incoming::Text(text),
                None => Incoming::Binary,
            });
        })
    };
    let on_error = {
        let (incoming_tx, settled_tx) = (incoming_tx.clone(), settled_tx.clone());
        EventListener::new(&ws, "error", move |_| {
            let _ = settled_tx.unbounded_send(());
            let _ = incoming_tx.unbounded_send(Incoming::Failed);
        })
    };
    let incoming_tx_for_close = incoming_tx.clone();
    let on_close = EventListener::new(&ws, "close", move |ev| {
        let close = ev.unchecked_into::<CloseEvent>();
        let _ = settled_tx.unbounded_send(());
        let _ = incoming_tx.unbounded_send(Incoming::Closed {
            code: close.code(),
            reason: close.reason(),
        });
    });
    let socket = Rc::new(Socket {
        ws,
        _listeners: [on_open, on_message, on_error, on_close],
    });

    let (tx, mut rx) = mpsc::unbounded();
    let held: Rc<RefCell<Vec<ClientMsg>>> = Rc::default();
    let writer_held = Rc::clone(&held);
    let writer_socket = Rc::clone(&socket);
    let writer_incoming = incoming_tx_for_close;
    spawn_local(async move {
        // Waits for the socket only with something to send: a sender dropped while the
        // socket is still connecting (an abandoned reconnect attempt) closes it at once.
        while let Some(out) = rx.next().await {
            match out {
                Outgoing::Msg(msg) => {
                    if writer_socket.ws.ready_state() == WebSocket::CONNECTING {
                        let _ = settled.next().await;
                    }
                    // The browser drops what is sent on a closing or closed socket:
                    // held for the next one instead.
                    if writer_socket.ws.ready_state() != WebSocket::OPEN {
                        hold(&writer_held, msg);
                        continue;
                    }
                    if let Err(e) = writer_socket.ws.send_with_str(&msg.to_json()) {
                        let e = js_error_text(&e);
                        leptos::logging::warn!("signaling: send failed: {e}");
                        break;
                    }
                }
                Outgoing::Close => {
                    let _closing_a_closed_socket_is_fine = writer_socket
                        .ws
                        .close_with_code_and_reason(CLOSE_RESUMING, "resuming");
                    let _ = writer_incoming.unbounded_send(Incoming::Closed {
                        code: CLOSED_HERE,
                        reason: "closed by this client".into(),
                    });
                    break;
                }
            }
        }
    });
    Ok((
        SignalingSender {
            link: Rc::new(RefCell::new(Link { tx, held })),
        },
        SignalingReceiver {
            incoming,
            _socket: socket,
        },
    ))
}
