//! Opening a signaling session: connect, send `join` (or `resume`), and wait for the
//! server's `welcome` (or `resumed`), answering its pings meanwhile. One handshake for
//! the first join and every resume.

use futures::future::{select, Either};
use leptos::logging::warn;
use nonstop_core::protocol::{ClientMsg, ErrorCode, ServerMsg};
use nonstop_core::reconnect::{JoinFailure, Outage, ATTEMPT_TIMEOUT};

use crate::platform::clock::sleep;
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
    /// is restarting (and when to come back), by `going_away` or a 1001 close.
    Unreachable {
        why: String,
        going_away: Option<Outage>,
    },
}

impl Refused {
    fn unreachable(why: impl Into<String>) -> Refused {
        Refused::Unreachable {
            why: why.into(),
            going_away: None,
        }
    }

    /// How the attempt failed, as the core's retry policy for a first join sees it.
    pub fn join_failure(&self) -> JoinFailure {
        match self {
            Refused::Refused { .. } => JoinFailure::Refused,
            Refused::Unreachable {
                going_away: Some(outage),
                ..
            } => JoinFailure::GoingAway(*outage),
            Refused::Unreachable {
                going_away: None, ..
            } => JoinFailure::Unreachable,
        }
    }
}

/// Connects to the server that served the app and sends `hello` (`join` or `resume`).
pub async fn open(hello: ClientMsg) -> Result<Accepted, Refused> {
    let (sender, mut receiver) =
        signaling::connect(&signaling::endpoint()).map_err(Refused::unreachable)?;
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
                going_away = Some(Outage::going_away(reconnect_after_ms, back_within_ms));
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
            Some(Err(ReceiveError::Closed { why, code })) => {
                // A 1001 close says the same as `going_away`, should that not have come.
                going_away = going_away.or_else(|| code.and_then(Outage::going_away_close));
                why
            }
            None => "connection closed".into(),
        };
        return Err(Refused::Unreachable { why, going_away });
    }
}

/// One attempt after a failed one (a resume, or a first join tried again): [`open`],
/// but only once the server answers over HTTP (see [`signaling::server_answers`]), and
/// abandoned after [`ATTEMPT_TIMEOUT`] (a socket that neither opens nor fails would
/// stall the retries).
pub async fn retry(hello: ClientMsg) -> Result<Accepted, Refused> {
    let attempt = Box::pin(async {
        if !signaling::server_answers().await {
            return Err(Refused::unreachable("the server does not answer"));
        }
        open(hello).await
    });
    match select(attempt, Box::pin(sleep(ATTEMPT_TIMEOUT))).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(((), _)) => Err(Refused::unreachable("no answer in time")),
    }
}
