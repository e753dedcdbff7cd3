//! Why the relayed path failed, in words a log reader (and the UI) can use.

use std::fmt;

/// Which request a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    CreateSession,
    Attach,
    JoinAsPublisher,
    Publish,
    Subscribe,
    Start,
    Configure,
    Keepalive,
    /// Taking our session over on a new WebSocket.
    Claim,
}

/// A failure that ends the client: the app tears the relayed path down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JanusError {
    /// Janus or its VideoRoom refused a request.
    Refused {
        step: Step,
        code: i64,
        reason: String,
    },
    /// No answer in time.
    NoReply(Step),
    /// Janus ended our session (no keepalive arrived in time, or it restarted).
    SessionLost,
    /// The room is gone.
    RoomDestroyed,
    /// Publishing failed again on a fresh handle.
    PublishFailed { code: i64, reason: String },
}

/// What the codes this client can meet mean (Janus core 4xx, VideoRoom 42x-43x).
fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        403 => "the SFU token was refused",
        458 => "the SFU session is gone",
        459 => "the SFU handle is gone",
        426 => "no such room",
        428 => "no such feed",
        432 => "the room has its maximum of publishers",
        433 => "the room pin or room token was refused",
        434 => "already publishing",
        436 => "this participant id is already in the room",
        437 => "the SFU could not read our SDP",
        _ => return None,
    })
}

impl fmt::Display for JanusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JanusError::Refused { step, code, reason } => {
                write!(f, "the SFU refused {step:?} ({code}")?;
                if let Some(m) = meaning(*code) {
                    write!(f, ": {m}")?;
                }
                write!(f, "): {reason}")
            }
            JanusError::NoReply(step) => write!(f, "the SFU did not answer {step:?} in time"),
            JanusError::SessionLost => write!(f, "the SFU session ended"),
            JanusError::RoomDestroyed => write!(f, "the SFU room was destroyed"),
            JanusError::PublishFailed { code, reason } => {
                write!(f, "publishing to the SFU failed twice ({code}): {reason}")
            }
        }
    }
}

impl std::error::Error for JanusError {}
