//! The signaling socket's comeback: noticing a silent server, and reconnecting on the
//! core's [`ReconnectSchedule`] until the server takes our session back. Media keeps
//! flowing on the existing connections meanwhile.

use leptos::prelude::*;
use nonstop_core::protocol::{ErrorCode, ServerMsg};
use nonstop_core::reconnect::{silence_timeout, Outage, ReconnectSchedule};
use nonstop_core::time::{Millis, Time};

use super::handshake::{self, Accepted, Refused};
use crate::platform::clock::{now, sleep};

/// What the call knows about its signaling session.
pub struct SignalingWatch {
    token: Option<String>,
    last_heard: Time,
    /// The server's ping interval as it stated it (`None`: an older server).
    heartbeat_interval: Option<Millis>,
    /// The server said `going_away`: how the next reconnect is scheduled.
    going_away: Option<Outage>,
}

impl SignalingWatch {
    pub fn new(now: Time, heartbeat_interval_ms: Option<u64>) -> Self {
        SignalingWatch {
            token: None,
            last_heard: now,
            heartbeat_interval: heartbeat_interval_ms.map(Millis::from_millis),
            going_away: None,
        }
    }

    /// A message from the server arrived; keeps what concerns the session.
    pub fn heard(&mut self, now: Time, msg: &ServerMsg) {
        self.last_heard = now;
        match msg {
            ServerMsg::Session { token } => self.token = Some(token.clone()),
            ServerMsg::GoingAway {
                reconnect_after_ms,
                back_within_ms,
            } => self.going_away = Some(Outage::going_away(*reconnect_after_ms, *back_within_ms)),
            ServerMsg::Resumed {
                heartbeat_interval_ms,
                ..
            } => self.heartbeat_interval = heartbeat_interval_ms.map(Millis::from_millis),
            _ => {}
        }
    }

    /// When a server that said nothing since counts as gone (from the ping interval it
    /// announced).
    pub fn silence_deadline(&self) -> Time {
        self.last_heard + silence_timeout(self.heartbeat_interval)
    }

    pub fn token(&self) -> Option<String> {
        self.token.clone()
    }

    /// Why the socket went, for the schedule of the reconnect that starts now.
    pub fn take_outage(&mut self) -> Outage {
        self.going_away.take().unwrap_or(Outage::Unannounced)
    }
}

/// Reconnects until the server takes us back (`resumed`), or says our session is over
/// (`Err`: join again). `hello` makes the `resume` message of each attempt (it carries
/// our media state, which may change meanwhile). Quick reconnects (a restart, a blip)
/// go unannounced; a long one shows `alert` until it is over.
pub async fn reconnect(
    hello: impl Fn() -> nonstop_core::protocol::ClientMsg,
    outage: Outage,
    seed: impl Fn() -> u64,
    alert: RwSignal<Option<String>>,
) -> Result<Accepted, String> {
    let mut schedule = ReconnectSchedule::new(now(), outage, seed());
    let mut told = false;
    let result = loop {
        sleep(schedule.next_delay(now())).await;
        if !told && schedule.notice_due(now()) {
            told = true;
            alert.try_set(Some(
                "Reconnecting to the meeting server… People already here can still see and hear you."
                    .into(),
            ));
        }
        match handshake::retry(hello()).await {
            Ok(accepted) => break Ok(accepted),
            Err(Refused::Refused { code, message })
                if code == ErrorCode::ResumeFailed || code.is_fatal() =>
            {
                break Err(message)
            }
            Err(Refused::Refused { message, .. }) => {
                leptos::logging::warn!("signaling: reconnect attempt refused: {message}");
            }
            Err(Refused::Unreachable { why, going_away }) => {
                leptos::logging::warn!(
                    "signaling: reconnect attempt {} failed: {why}",
                    schedule.attempts()
                );
                // The server we reached is itself going away: its schedule now.
                if let Some(outage) = going_away {
                    schedule = ReconnectSchedule::new(now(), outage, seed());
                }
            }
        }
    };
    if result.is_ok() && told {
        alert.try_set(None);
    }
    result
}
