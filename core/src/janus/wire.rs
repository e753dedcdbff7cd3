//! Janus's own frames on the WebSocket (subprotocol `janus-protocol`): what the client
//! sends (`create`, `attach`, `message`, `trickle`, `keepalive`, `detach`, `destroy`)
//! and what Janus sends back (`success`, `error`, `ack`, `event`, and the notices
//! `webrtcup`, `media`, `hangup`, `slowlink`, `timeout`, `detached`, `trickle`).
//! Plugin bodies and plugin data are the VideoRoom's business (`videoroom.rs`).

use serde_json::{Error, Value};

use super::videoroom::Body;
use crate::json;

/// The plugin every handle attaches to.
pub const VIDEOROOM: &str = "janus.plugin.videoroom";

/// A session or handle id: Janus's 64-bit numbers.
pub type JanusId = u64;

/// A frame to Janus: what it asks, and for whom. `token` (token_auth) goes with every
/// request; the session and the handle with those about them.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub transaction: String,
    pub token: String,
    pub session_id: Option<JanusId>,
    pub handle_id: Option<JanusId>,
    pub verb: Verb,
}

/// What a [`Request`] asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Verb {
    Create,
    Attach { plugin: &'static str },
    Message { body: Body, jsep: Option<Jsep> },
    Trickle { candidate: Trickled },
    Session(SessionVerb),
    Detach,
}

/// What [`Verb::Session`] asks of the session alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionVerb {
    Keepalive,
    /// Take the session over on a new WebSocket (the old one dropped): within Janus's
    /// `reclaim_session_timeout` its handles and media live on.
    Claim,
    Destroy,
}

impl Request {
    pub fn to_json(&self) -> String {
        let janus = match &self.verb {
            Verb::Create => "create",
            Verb::Attach { .. } => "attach",
            Verb::Message { .. } => "message",
            Verb::Trickle { .. } => "trickle",
            Verb::Session(SessionVerb::Keepalive) => "keepalive",
            Verb::Session(SessionVerb::Claim) => "claim",
            Verb::Session(SessionVerb::Destroy) => "destroy",
            Verb::Detach => "detach",
        };
        let mut fields = vec![
            ("janus", Value::from(janus)),
            ("transaction", Value::from(self.transaction.as_str())),
            ("token", Value::from(self.token.as_str())),
        ];
        if let Some(id) = self.session_id {
            fields.push(("session_id", Value::from(id)));
        }
        if let Some(id) = self.handle_id {
            fields.push(("handle_id", Value::from(id)));
        }
        match &self.verb {
            Verb::Attach { plugin } => fields.push(("plugin", Value::from(*plugin))),
            Verb::Message { body, jsep } => {
                fields.push(("body", body.to_value()));
                if let Some(jsep) = jsep {
                    fields.push(("jsep", jsep.to_value()));
                }
            }
            Verb::Trickle { candidate } => fields.push(("candidate", candidate.to_value())),
            _ => {}
        }
        // A `Value` of strings and numbers: printing it cannot fail.
        serde_json::to_string(&json::object(fields)).expect("a Janus request serializes")
    }
}

/// An offer or an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jsep {
    /// `type`
    pub kind: SdpKind,
    pub sdp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    Offer,
    Answer,
}

impl Jsep {
    fn to_value(&self) -> Value {
        let kind = match self.kind {
            SdpKind::Offer => "offer",
            SdpKind::Answer => "answer",
        };
        json::object(vec![
            ("type", Value::from(kind)),
            ("sdp", Value::from(self.sdp.as_str())),
        ])
    }

    fn read(value: &Value) -> Result<Jsep, Error> {
        let kind = match json::string(value, "type")?.as_str() {
            "offer" => SdpKind::Offer,
            "answer" => SdpKind::Answer,
            other => return Err(serde::de::Error::custom(format!("jsep type {other}"))),
        };
        Ok(Jsep {
            kind,
            sdp: json::string(value, "sdp")?,
        })
    }
}

/// One ICE candidate, as the browser's `RTCIceCandidate` has it (`sdpMid`,
/// `sdpMLineIndex` on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_m_line_index: Option<u16>,
}

/// A trickled candidate, or the end of gathering (`{"completed": true}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trickled {
    Candidate(Candidate),
    Completed { completed: bool },
}

impl Trickled {
    fn to_value(&self) -> Value {
        match self {
            Trickled::Candidate(c) => {
                let mut fields = vec![("candidate", Value::from(c.candidate.as_str()))];
                if let Some(mid) = &c.sdp_mid {
                    fields.push(("sdpMid", Value::from(mid.as_str())));
                }
                if let Some(index) = c.sdp_m_line_index {
                    fields.push(("sdpMLineIndex", Value::from(index)));
                }
                json::object(fields)
            }
            Trickled::Completed { completed } => {
                json::object(vec![("completed", Value::from(*completed))])
            }
        }
    }

    /// A candidate if it reads as one, else the end of gathering.
    fn read(value: &Value) -> Result<Trickled, Error> {
        let candidate = || -> Result<Candidate, Error> {
            Ok(Candidate {
                candidate: json::string(value, "candidate")?,
                sdp_mid: json::opt_str(value, "sdpMid")?,
                sdp_m_line_index: json::opt_u16(value, "sdpMLineIndex")?,
            })
        };
        match candidate() {
            Ok(c) => Ok(Trickled::Candidate(c)),
            Err(_) => Ok(Trickled::Completed {
                completed: json::bool(value, "completed")?,
            }),
        }
    }
}

/// A frame from Janus (its kind in `janus`).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A synchronous request's result: `data.id` for `create`/`attach`.
    Success {
        transaction: Option<String>,
        data: Option<Created>,
    },
    /// Janus itself refused a request (bad token, unknown session or handle, …).
    Error {
        transaction: Option<String>,
        error: CoreError,
    },
    /// An asynchronous request was taken; its result comes as an `event`.
    Ack { transaction: Option<String> },
    /// The plugin speaks: the result of a request (with its `transaction`) or news
    /// from the room (without).
    Event {
        transaction: Option<String>,
        sender: JanusId,
        plugindata: PluginData,
        jsep: Option<Jsep>,
    },
    /// ICE and DTLS are up on this handle's connection.
    Webrtcup { sender: JanusId },
    /// Janus started or stopped receiving a medium on this handle.
    Media {
        sender: JanusId,
        /// `type`
        kind: String,
        receiving: bool,
    },
    /// This handle's connection is gone.
    Hangup {
        sender: JanusId,
        reason: Option<String>,
    },
    /// Janus sees losses on this handle's connection (`uplink`: from Janus's point of view).
    Slowlink { sender: JanusId, uplink: bool },
    /// The session expired (no keepalive in time).
    Timeout { session_id: JanusId },
    /// The handle is gone.
    Detached { sender: JanusId },
    /// A candidate from Janus (only with `full_trickle`).
    Trickle {
        sender: JanusId,
        candidate: Trickled,
    },
    /// A frame this client has no use for.
    Other,
}

impl Reply {
    pub fn parse(text: &str) -> Result<Reply, Error> {
        let mut frame: Value = serde_json::from_str(text)?;
        let f = &frame;
        let transaction = || json::opt_str(f, "transaction");
        let sender = || json::u64(f, "sender");
        Ok(match json::string(f, "janus")?.as_str() {
            "success" => Reply::Success {
                transaction: transaction()?,
                data: match json::opt(f, "data") {
                    Some(data) => Some(Created {
                        id: json::u64(data, "id")?,
                    }),
                    None => None,
                },
            },
            "error" => {
                let error = json::field(f, "error")?;
                Reply::Error {
                    transaction: transaction()?,
                    error: CoreError {
                        code: json::i64(error, "code")?,
                        reason: json::string(error, "reason")?,
                    },
                }
            }
            "ack" => Reply::Ack {
                transaction: transaction()?,
            },
            "event" => {
                let transaction = transaction()?;
                let sender = sender()?;
                let jsep = json::opt(f, "jsep").map(Jsep::read).transpose()?;
                let plugindata = json::field(f, "plugindata")?;
                let plugin = json::string(plugindata, "plugin")?;
                json::field(plugindata, "data")?;
                Reply::Event {
                    transaction,
                    sender,
                    plugindata: PluginData {
                        plugin,
                        data: frame["plugindata"]["data"].take(),
                    },
                    jsep,
                }
            }
            "webrtcup" => Reply::Webrtcup { sender: sender()? },
            "media" => Reply::Media {
                sender: sender()?,
                kind: json::string(f, "type")?,
                receiving: json::bool(f, "receiving")?,
            },
            "hangup" => Reply::Hangup {
                sender: sender()?,
                reason: json::opt_str(f, "reason")?,
            },
            "slowlink" => Reply::Slowlink {
                sender: sender()?,
                uplink: json::bool(f, "uplink")?,
            },
            "timeout" => Reply::Timeout {
                session_id: json::u64(f, "session_id")?,
            },
            "detached" => Reply::Detached { sender: sender()? },
            "trickle" => Reply::Trickle {
                sender: sender()?,
                candidate: Trickled::read(json::field(f, "candidate")?)?,
            },
            _ => Reply::Other,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    pub id: JanusId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreError {
    pub code: i64,
    pub reason: String,
}

/// What a plugin said; the VideoRoom's `data` is read by `videoroom.rs`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginData {
    pub plugin: String,
    pub data: Value,
}
