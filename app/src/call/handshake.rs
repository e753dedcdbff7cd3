//! Opening a signaling session: connect, send `join` (or `resume`), and wait for the
//! server's `welcome` (or `resumed`), answering its pings meanwhile. One handshake for
//! the first join and every resume.

use leptos::logging::warn;
use nonstop_core::protocol::{ClientMsg, ErrorCode, ServerMsg};
use nonstop_core::reconnect::Outage;
use nonstop_core::time::Millis;

use crate::platform::signaling::{self, ReceiveError, SignalingReceiver, SignalingSender};

/// A session the server accepted.
pub struct Accepted {
    pub sender: SignalingSender,
    pub receiver: SignalingReceiver,
    /// `welcome` or `resumed`.
    pub answer: ServerMsg,
    /// What the server sent before it (e.g. fresh credentials), in order.
    pub before: Vec<ServerMsg>,
}

pub enum Refused {
    /// The server said no, with its reason.
    Refused { code: ErrorCode, message: String },
    /// No answer: the socket failed or closed first. `going_away`: the server said it
    /// is restarting (and when to come back).
    Unreachable {
        why: String,
        going_away: Option<Outage>,
    },
}

/// Connects to the server that served the app and sends `hello` (`join` or `resume`).
pub async fn open(hello: ClientMsg) -> Result<Accepted, Refused> {
    let unreachable = |why: String| Refused::Unreachable {
        why,
        going_away: None,
    };
    let (sender, mut receiver) = signaling::connect(&signaling::endpoint()).map_err(unreachable)?;
    sender.send(hello);
    let mut before = Vec::new();
    let mut going_away = None;
    loop {
        let why = match receiver.next().await {
            Some(Ok(answer @ (ServerMsg::Welcome { .. } | ServerMsg::Resumed { .. }))) => {
                return Ok(Accepted {
                    sender,
                    receiver,
                    answer,
                    before,
                });
            }
            Some(Ok(ServerMsg::Ping)) => {
                sender.send(ClientMsg::Pong);
                continue;
            }
            Some(Ok(ServerMsg::Error { code, message })) => {
                sender.close();
                return Err(Refused::Refused { code, message });
            }
            Some(Ok(ServerMsg::GoingAway {
                reconnect_after_ms,
                back_within_ms,
            })) => {
                going_away = Some(Outage::Announced {
                    reconnect_after: Millis::from_millis(reconnect_after_ms),
                    back_within: Millis::from_millis(back_within_ms),
                });
                continue;
            }
            Some(Ok(other)) => {
                before.push(other);
                continue;
            }
            Some(Err(ReceiveError::Unreadable(e))) => {
                warn!("signaling: {e}");
                continue;
            }
            Some(Err(ReceiveError::Closed(e))) => e,
            None => "connection closed".into(),
        };
        return Err(Refused::Unreachable { why, going_away });
    }
}
