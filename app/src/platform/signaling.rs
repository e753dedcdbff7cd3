//! The signaling WebSocket: [`ClientMsg`]s out, [`ServerMsg`]s in.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use leptos::task::spawn_local;
use nonstop_core::protocol::{ClientMsg, ServerMsg};

enum Outgoing {
    Msg(ClientMsg),
    Close,
}

/// Sends on the socket; cheap to clone. Sending after the socket closed is a no-op
/// (the call notices the close on the receiving side). After a reconnect, every clone
/// sends on the new socket ([`SignalingSender::switch_to`]).
#[derive(Clone)]
pub struct SignalingSender {
    // Unbounded: the app produces a handful of messages per peer and second at most,
    // and the writer drains them as fast as the socket takes them.
    tx: Rc<RefCell<mpsc::UnboundedSender<Outgoing>>>,
}

impl SignalingSender {
    pub fn send(&self, msg: ClientMsg) {
        if self.tx.borrow().unbounded_send(Outgoing::Msg(msg)).is_err() {
            leptos::logging::warn!("signaling: dropped a message, the socket is closed");
        }
    }

    /// Sends what is queued, then closes the socket.
    pub fn close(&self) {
        let _already_closed_is_fine = self.tx.borrow().unbounded_send(Outgoing::Close);
    }

    /// From now on this sender and all its clones send on `other`'s socket.
    pub fn switch_to(&self, other: &SignalingSender) {
        let next = other.tx.borrow().clone();
        *self.tx.borrow_mut() = next;
    }
}

/// Yields server messages until the socket closes.
pub struct SignalingReceiver {
    stream: futures::stream::SplitStream<WebSocket>,
}

/// Why a frame from the server could not be used.
#[derive(Debug, Clone)]
pub enum ReceiveError {
    /// The socket failed or closed.
    Closed(String),
    /// A frame that is not a message this client understands (a newer server?).
    Unreadable(String),
}

impl SignalingReceiver {
    /// The next message; `None` once the socket is closed for good.
    pub async fn next(&mut self) -> Option<Result<ServerMsg, ReceiveError>> {
        match self.stream.next().await? {
            Ok(Message::Text(text)) => Some(
                ServerMsg::parse(&text)
                    .map_err(|e| ReceiveError::Unreadable(format!("{e}: {text}"))),
            ),
            Ok(Message::Bytes(_)) => Some(Err(ReceiveError::Unreadable("binary frame".into()))),
            Err(e) => Some(Err(ReceiveError::Closed(e.to_string()))),
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
    // A unique query: never an answer from a cache.
    let url = format!("/healthz?probe={}", js_sys::Math::random());
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
    let location = web_sys::window().map(|w| w.location());
    let secure = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .is_some_and(|p| p == "https:");
    let host = location.and_then(|l| l.host().ok()).unwrap_or_default();
    format!("{}://{host}/ws", if secure { "wss" } else { "ws" })
}

pub fn connect(url: &str) -> Result<(SignalingSender, SignalingReceiver), String> {
    let socket = WebSocket::open(url).map_err(|e| e.to_string())?;
    let (mut sink, stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded();
    spawn_local(async move {
        while let Some(out) = rx.next().await {
            match out {
                Outgoing::Msg(msg) => {
                    if let Err(e) = sink.send(Message::Text(msg.to_json())).await {
                        leptos::logging::warn!("signaling: send failed: {e}");
                        break;
                    }
                }
                Outgoing::Close => break,
            }
        }
        let _closing_a_dead_socket_is_fine = sink.close().await;
    });
    Ok((
        SignalingSender {
            tx: Rc::new(RefCell::new(tx)),
        },
        SignalingReceiver { stream },
    ))
}
