//! Janus's own frames on the WebSocket (subprotocol `janus-protocol`): what the client
//! sends (`create`, `attach`, `message`, `trickle`, `keepalive`, `detach`, `destroy`)
//! and what Janus sends back (`success`, `error`, `ack`, `event`, and the notices
//! `webrtcup`, `media`, `hangup`, `slowlink`, `timeout`, `detached`, `trickle`).
//! Plugin bodies and plugin data are the VideoRoom's business (`videoroom.rs`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::videoroom::Body;

/// The plugin every handle attaches to.
pub const VIDEOROOM: &str = "janus.plugin.videoroom";

/// A session or handle id: Janus's 64-bit numbers.
pub type JanusId = u64;

/// A frame to Janus. `token` (token_auth) goes with every request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "janus", rename_all = "lowercase")]
pub enum Request {
    Create {
        transaction: String,
        token: String,
    },
    Attach {
        transaction: String,
        token: String,
        session_id: JanusId,
        plugin: &'static str,
    },
    Message {
        transaction: String,
        token: String,
        session_id: JanusId,
        handle_id: JanusId,
        body: Body,
        #[serde(skip_serializing_if = "Option::is_none")]
        jsep: Option<Jsep>,
    },
    Trickle {
        transaction: String,
        token: String,
        session_id: JanusId,
        handle_id: JanusId,
        candidate: Trickled,
    },
    Keepalive {
        transaction: String,
        token: String,
        session_id: JanusId,
    },
    Detach {
        transaction: String,
        token: String,
        session_id: JanusId,
        handle_id: JanusId,
    },
    Destroy {
        transaction: String,
        token: String,
        session_id: JanusId,
    },
}

impl Request {
    pub fn to_json(&self) -> String {
        // Plain structs and strings: serializing cannot fail.
        serde_json::to_string(self).expect("a Janus request serializes")
    }
}

/// An offer or an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jsep {
    #[serde(rename = "type")]
    pub kind: SdpKind,
    pub sdp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpKind {
    Offer,
    Answer,
}

/// One ICE candidate, as the browser's `RTCIceCandidate` has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub candidate: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp_m_line_index: Option<u16>,
}

/// A trickled candidate, or the end of gathering (`{"completed": true}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Trickled {
    Candidate(Candidate),
    Completed { completed: bool },
}

/// A frame from Janus.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "janus", rename_all = "lowercase")]
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
        #[serde(rename = "type")]
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
    #[serde(other)]
    Other,
}

impl Reply {
    pub fn parse(text: &str) -> Result<Reply, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Created {
    pub id: JanusId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CoreError {
    pub code: i64,
    pub reason: String,
}

/// What a plugin said; the VideoRoom's `data` is read by `videoroom.rs`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PluginData {
    pub plugin: String,
    pub data: Value,
}
