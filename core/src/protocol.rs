//! The signaling protocol: every message the browser and the server exchange over the
//! signaling WebSocket, defined once and used by both sides.
//!
//! Messages are JSON objects tagged by `"type"`. Each direction has its own enum
//! ([`ClientMsg`] from browser to server, [`ServerMsg`] from server to browser), so a
//! client can never send something only the server may say. `docs/protocol.md` is the
//! prose version; its examples are checked by this module's tests.

use serde::{Deserialize, Serialize};

use crate::ids::ParticipantId;

mod read;
mod wire_enum;

use wire_enum::wire_enum;

/// Version of this protocol. A client states it in [`ClientMsg::Join`]; the server
/// refuses other versions with [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame the server handles, in bytes. Larger frames get
/// [`ErrorCode::TooLarge`] (or, beyond twice this, a close with code 1009). An SDP
/// offer with audio and video is a few kilobytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The WebSocket close code of a client that gives up on its socket but not on its
/// session (the server went silent, or said `going_away`): the server holds the seat
/// for a `resume`, as for a socket that dropped. Any other close from the client, like
/// a closed tab's, ends the session at once.
pub const CLOSE_RESUMING: u16 = 4000;

/// The WebSocket close code ("going away") the server ends a socket with after
/// [`ServerMsg::GoingAway`]: come back shortly, as that message says.
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// How often the server sends [`ServerMsg::Ping`], in milliseconds.
pub const HEARTBEAT_INTERVAL_MS: u64 = 2_000;

/// A connection that has sent nothing (not even [`ClientMsg::Pong`]) for this long is
/// dropped and its peers are told it left, in milliseconds.
pub const HEARTBEAT_TIMEOUT_MS: u64 = 6_000;

/// [`ServerMsg::GoingAway`]'s `reconnect_after_ms`: the stopping server stops accepting
/// at once, so clients wait this long (plus jitter) before their first attempt.
pub const GOING_AWAY_RECONNECT_AFTER_MS: u64 = 250;

/// [`ServerMsg::GoingAway`]'s `back_within_ms`: how long a restart is expected to take;
/// clients retry at a short interval until then, and back off after.
pub const GOING_AWAY_BACK_WITHIN_MS: u64 = 15_000;

/// Messages from a browser to the signaling server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message on a connection: enter `room` as `name`.
    Join {
        protocol: u32,
        room: String,
        name: String,
        /// Initial microphone/camera state, so others draw the tile right away.
        #[serde(default)]
        media: MediaState,
        /// The meeting's passcode. The first joiner of a room sets it (the room then
        /// refuses joins without it); later joiners must give the same one. Absent or
        /// empty: none. Older clients omit it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passcode: Option<String>,
        /// A meeting token from the rooms API (the meeting link's `?t=`): required by
        /// private rooms; its user name, if it has one, replaces `name`. Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// An SDP offer for participant `to`.
    Offer { to: ParticipantId, sdp: String },
    /// An SDP answer for participant `to`.
    Answer { to: ParticipantId, sdp: String },
    /// A trickled ICE candidate for participant `to`.
    Candidate {
        to: ParticipantId,
        candidate: IceCandidate,
    },
    /// The sender's microphone/camera state changed; the server tells the room.
    Media { media: MediaState },
    /// Answer to [`ServerMsg::Ping`].
    Pong,
    /// Leaving on purpose (the server also notices a closed socket).
    Leave,
    /// Instead of [`ClientMsg::Join`] on a new connection: continue the session of
    /// participant `id` after the signaling connection was lost, with the `token` the
    /// server gave in [`ServerMsg::Session`]. The other fields let a server that
    /// restarted meanwhile re-admit the participant under the same id.
    Resume {
        protocol: u32,
        room: String,
        name: String,
        #[serde(default)]
        media: MediaState,
        id: ParticipantId,
        token: String,
    },
    /// This client receives everyone on the `mode` path it was told to prepare
    /// ([`ServerMsg::Topology`] with [`SwitchPhase::Prepare`]): the server may commit.
    TopologyReady { mode: TopologyMode },
    /// What this client's uplink can carry now, in bits per second (all its links
    /// together). The server relays a call whose mesh an uplink cannot carry.
    Uplink { bps: u64 },
    /// A chat line for everyone else in the room, sent this way while the call is
    /// relayed (in a mesh, chat goes browser to browser over the data channels).
    /// `text` follows [`crate::peer_msg::chat_text`]; `sent_at` is the sender's clock,
    /// in milliseconds since the Unix epoch.
    Chat { text: String, sent_at: u64 },
    /// The room's owner (a meeting token with `is_owner`) takes `participant` out of
    /// the call; anyone else gets [`ErrorCode::NotOwner`].
    Remove { participant: ParticipantId },
    /// The room's owner ends the call for everyone in it.
    EndCall,
}

/// Messages from the signaling server to a browser.
///
/// Unlike [`ClientMsg`], this is lenient, so that an older client survives a newer
/// server: unknown fields are ignored, and a message of an unknown `type` parses as
/// [`ServerMsg::Unknown`] (which a client ignores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// Reply to a successful [`ClientMsg::Join`].
    Welcome {
        protocol: u32,
        /// The id the server assigned to this participant.
        you: ParticipantId,
        room: String,
        /// Everyone already in the room, oldest first (the joiner excluded).
        participants: Vec<Participant>,
        /// ICE servers (STUN/TURN) for `RTCPeerConnection`; may be empty.
        #[serde(default)]
        ice_servers: Vec<IceServer>,
        /// How often this server pings, so the client can tell a dead socket from a
        /// quiet one ([`crate::reconnect::silence_timeout`]). Absent from older
        /// servers: [`HEARTBEAT_INTERVAL_MS`] then.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat_interval_ms: Option<u64>,
        /// The joiner's name as the room sees it: what `join` gave, or a meeting
        /// token's user name. Absent from older servers: the name the client gave.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The joiner owns the room (its meeting token says so): it may remove people
        /// and end the call ([`ClientMsg::Remove`], [`ClientMsg::EndCall`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        owner: bool,
    },
    /// Someone entered the room.
    Joined { participant: Participant },
    /// Someone left the room (on purpose, closed, or timed out).
    Left {
        id: ParticipantId,
        reason: LeaveReason,
    },
    /// Participant `id`'s signaling connection ended without `leave` (socket closed or
    /// failed, or silent past the heartbeat timeout). The server holds its seat for
    /// the resume grace: [`ServerMsg::Back`] follows if it resumes,
    /// [`ServerMsg::Left`] if not. Its media links may still be up: each client judges
    /// from its own link whether the participant is gone.
    Interrupted { id: ParticipantId },
    /// A participant that was [`ServerMsg::Interrupted`] resumed its seat (same id).
    Back { participant: Participant },
    /// An SDP offer from participant `from`.
    Offer { from: ParticipantId, sdp: String },
    /// An SDP answer from participant `from`.
    Answer { from: ParticipantId, sdp: String },
    /// A trickled ICE candidate from participant `from`.
    Candidate {
        from: ParticipantId,
        candidate: IceCandidate,
    },
    /// Participant `from` changed its microphone/camera state.
    Media {
        from: ParticipantId,
        media: MediaState,
    },
    /// Heartbeat; answer with [`ClientMsg::Pong`].
    Ping,
    /// Sent right after `welcome`: the token for [`ClientMsg::Resume`], which lets
    /// this participant reconnect as itself after losing the signaling connection.
    Session { token: String },
    /// Reply to a successful [`ClientMsg::Resume`]: the session goes on under the
    /// same id. `participants` is everyone in the room now (the resumer excluded).
    /// `continued` is true when the server kept the session through the outage, so
    /// the list is complete; false when it re-admitted the participant (the server
    /// restarted), so others may still be on their way back.
    Resumed {
        you: ParticipantId,
        participants: Vec<Participant>,
        #[serde(default)]
        ice_servers: Vec<IceServer>,
        continued: bool,
        /// As in [`ServerMsg::Welcome`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat_interval_ms: Option<u64>,
    },
    /// Fresh ICE servers (new time-limited TURN credentials) for connections and ICE
    /// restarts from now on; sent before the previous credentials expire.
    IceServers { ice_servers: Vec<IceServer> },
    /// Something went wrong. `code` is stable, `message` is for people.
    Error { code: ErrorCode, message: String },
    /// The server is shutting down (a restart, usually). It keeps the client's seat:
    /// reconnect and `resume` after about `reconnect_after_ms` (plus jitter), retrying
    /// at a short interval for about `back_within_ms`, then with backoff
    /// ([`crate::reconnect::ReconnectSchedule`]). Nobody is told `left`. The last
    /// message on the connection; a close (1001) follows.
    GoingAway {
        #[serde(default = "default_reconnect_after_ms")]
        reconnect_after_ms: u64,
        #[serde(default = "default_back_within_ms")]
        back_within_ms: u64,
    },
    /// Which way media travels in this call, and which step of a switch this is (see
    /// "Topology" in docs/protocol.md). `sfu` is this participant's grant whenever
    /// `mode` is [`TopologyMode::Relayed`], `None` otherwise.
    Topology {
        mode: TopologyMode,
        phase: SwitchPhase,
        #[serde(default)]
        sfu: Option<SfuGrant>,
    },
    /// A fresh grant for the call's SFU room, sent before the previous one expires.
    SfuGrant { sfu: SfuGrant },
    /// A chat line from participant `from` ([`ClientMsg::Chat`]).
    Chat {
        from: ParticipantId,
        text: String,
        sent_at: u64,
    },
    /// A message of a `type` this client does not know (from a newer server): ignore it.
    #[serde(other)]
    Unknown,
}

fn default_reconnect_after_ms() -> u64 {
    GOING_AWAY_RECONNECT_AFTER_MS
}

fn default_back_within_ms() -> u64 {
    GOING_AWAY_BACK_WITHIN_MS
}

/// Which way media travels in a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopologyMode {
    /// Every two participants share a peer connection.
    Mesh,
    /// Every participant publishes once to the call's SFU room and subscribes there.
    Relayed,
}

wire_enum!(TopologyMode { Mesh = "mesh", Relayed = "relayed" });

/// Make before break: `Prepare` = build the new path while the old one keeps carrying media;
/// `Commit` = the new path is the one, tear the old one down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchPhase {
    Prepare,
    Commit,
}

wire_enum!(SwitchPhase { Prepare = "prepare", Commit = "commit" });

/// What a browser needs to use the call's SFU room (Janus VideoRoom). Never the admin key,
/// the room secret or Janus's admin secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SfuGrant {
    /// Path on the signaling server's own origin where Janus's WebSocket is proxied: "/janus".
    pub path: String,
    /// The VideoRoom's (random, unguessable) string id.
    pub room: String,
    /// The room's pin.
    pub pin: String,
    /// Janus core signed token (token_auth): sent as `token` in every Janus request.
    pub token: String,
    /// VideoRoom signed token for this room only (`signed_tokens`): sent as `token` in `join`.
    pub room_token: String,
    /// Seconds until `token`/`room_token` expire; the server sends a fresh grant before then.
    pub expires_in: u64,
}

/// A participant as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: ParticipantId,
    pub name: String,
    pub media: MediaState,
}

/// Whether a participant's microphone and camera are on (sending) or muted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaState {
    pub audio: bool,
    pub video: bool,
}

impl Default for MediaState {
    fn default() -> Self {
        Self {
            audio: true,
            video: true,
        }
    }
}

/// An ICE candidate as `RTCIceCandidateInit` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default)]
    pub sdp_mid: Option<String>,
    #[serde(default)]
    pub sdp_m_line_index: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why a participant left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// It sent [`ClientMsg::Leave`].
    Left,
    /// Its WebSocket closed without a goodbye (tab closed, network gone).
    Disconnected,
    /// It stopped answering heartbeats.
    TimedOut,
}

wire_enum!(LeaveReason { Left = "left", Disconnected = "disconnected", TimedOut = "timed_out" });

/// Stable error identifiers; the accompanying text is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Not JSON, or not a message this protocol knows.
    Malformed,
    /// Text frame larger than [`MAX_MESSAGE_BYTES`].
    TooLarge,
    /// A binary frame: this protocol is JSON text only.
    BinaryFrame,
    /// [`ClientMsg::Join`] with another protocol version.
    UnsupportedVersion,
    /// The room name is not valid (see [`crate::names::RoomName`]).
    InvalidRoom,
    /// The display name is not valid (see [`crate::names::DisplayName`]).
    InvalidName,
    /// The room already holds its capacity.
    RoomFull,
    /// A message that needs a joined participant came before `join`.
    NotJoined,
    /// A second `join` on the same connection.
    AlreadyJoined,
    /// `to` names nobody in the sender's room.
    UnknownParticipant,
    /// The server cannot keep up with this connection; it will be closed.
    Overloaded,
    /// A [`ClientMsg::Resume`] the server cannot honour (bad token, or the session
    /// already ended and the room was told); join again instead.
    ResumeFailed,
    /// The sender went over its message or byte rate; the message was dropped. A
    /// client that keeps sending over the limit is closed.
    RateLimited,
    /// The room has a passcode and the join carried none: ask for it and join again.
    PasscodeRequired,
    /// The join carried a passcode that is not the room's (or not a valid one).
    WrongPasscode,
    /// No SFU is reachable and the room is at the mesh limit.
    MeshLimit,
    /// The room is private (rooms API) and the join carried no meeting token.
    TokenRequired,
    /// The join's meeting token is not valid: not signed by this server, for another
    /// room, or expired.
    InvalidToken,
    /// No such room: the server only opens rooms made through its API, or the room
    /// has expired.
    RoomNotFound,
    /// The room was deleted through the API, or reached its `expires_at`: the call is
    /// over for everyone in it.
    RoomDeleted,
    /// `remove` or `end_call` from someone who does not own the room.
    NotOwner,
    /// The room's owner took this participant out of the call.
    Removed,
    /// The room's owner ended the call for everyone.
    CallEnded,
    /// A code this client does not know (from a newer server); the message says what
    /// happened. Not fatal as far as the client can tell.
    Unknown,
}

wire_enum!(ErrorCode {
    Malformed = "malformed",
    TooLarge = "too_large",
    BinaryFrame = "binary_frame",
    UnsupportedVersion = "unsupported_version",
    InvalidRoom = "invalid_room",
    InvalidName = "invalid_name",
    RoomFull = "room_full",
    NotJoined = "not_joined",
    AlreadyJoined = "already_joined",
    UnknownParticipant = "unknown_participant",
    Overloaded = "overloaded",
    ResumeFailed = "resume_failed",
    RateLimited = "rate_limited",
    PasscodeRequired = "passcode_required",
    WrongPasscode = "wrong_passcode",
    MeshLimit = "mesh_limit",
    TokenRequired = "token_required",
    InvalidToken = "invalid_token",
    RoomNotFound = "room_not_found",
    RoomDeleted = "room_deleted",
    NotOwner = "not_owner",
    Removed = "removed",
    CallEnded = "call_ended",
} else Unknown);

impl ErrorCode {
    /// Whether the connection is over after this error (the client should not retry
    /// blindly), as opposed to one bad message that was dropped.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ErrorCode::UnsupportedVersion
                | ErrorCode::InvalidRoom
                | ErrorCode::InvalidName
                | ErrorCode::RoomFull
                | ErrorCode::Overloaded
                | ErrorCode::PasscodeRequired
                | ErrorCode::WrongPasscode
                | ErrorCode::MeshLimit
                | ErrorCode::TokenRequired
                | ErrorCode::InvalidToken
                | ErrorCode::RoomNotFound
                | ErrorCode::RoomDeleted
                | ErrorCode::Removed
                | ErrorCode::CallEnded
        )
    }
}

impl ErrorCode {
    /// Whether the call is over for this client by someone's decision (the room was
    /// deleted or expired, the owner removed it or ended the call): it must not
    /// reconnect or rejoin on its own, which would only open the room again.
    pub fn ends_the_call(self) -> bool {
        matches!(
            self,
            ErrorCode::RoomDeleted | ErrorCode::Removed | ErrorCode::CallEnded
        )
    }

    /// Whether a client shows this error's `message` to the user: the fatal ones (the
    /// connection is over and the user must act), and codes it does not know (a newer
    /// server's, whose text may matter). The others are about one dropped message.
    pub fn tell_the_user(self) -> bool {
        self.is_fatal() || self == ErrorCode::Unknown
    }
}

impl ClientMsg {
    /// Parses one text frame, mapping every failure to the error the server replies with.
    pub fn parse(text: &str) -> Result<ClientMsg, ProtocolError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(ProtocolError::new(
                ErrorCode::TooLarge,
                format!(
                    "message is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                    text.len()
                ),
            ));
        }
        serde_json::from_str(text).map_err(|e| {
            ProtocolError::new(ErrorCode::Malformed, format!("malformed message: {e}"))
        })
    }

    pub fn to_json(&self) -> String {
        // Serializing these plain data types cannot fail: no maps with non-string keys,
        // no custom Serialize impls.
        serde_json::to_string(self).expect("ClientMsg serializes")
    }
}

impl ServerMsg {
    /// `going_away` with this server's usual hints: come back after
    /// [`GOING_AWAY_RECONNECT_AFTER_MS`], expect it back within
    /// [`GOING_AWAY_BACK_WITHIN_MS`].
    pub fn going_away() -> ServerMsg {
        ServerMsg::GoingAway {
            reconnect_after_ms: GOING_AWAY_RECONNECT_AFTER_MS,
            back_within_ms: GOING_AWAY_BACK_WITHIN_MS,
        }
    }

    pub fn parse(text: &str) -> Result<ServerMsg, serde_json::Error> {
        // By hand (read.rs), not by the derived `Deserialize`: see there.
        read::server_msg(text)
    }

    pub fn to_json(&self) -> String {
        // See ClientMsg::to_json.
        serde_json::to_string(self).expect("ServerMsg serializes")
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> ServerMsg {
        ServerMsg::Error {
            code,
            message: message.into(),
        }
    }
}

/// A rejected message or request: what the server answers with [`ServerMsg::Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
}

impl ProtocolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ProtocolError {}

impl From<ProtocolError> for ServerMsg {
    fn from(e: ProtocolError) -> Self {
        ServerMsg::Error {
            code: e.code,
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: u64) -> ParticipantId {
        ParticipantId::new(n)
    }

    fn grant() -> SfuGrant {
        SfuGrant {
            path: "/janus".into(),
            room: "k3Jd9".into(),
            pin: "p1n".into(),
            token: "t0k".into(),
            room_token: "r00m".into(),
            expires_in: 300,
        }
    }

    #[test]
    fn every_client_message_round_trips() {
        let msgs = vec![
            ClientMsg::Join {
                protocol: PROTOCOL_VERSION,
                room: "calm-otter".into(),
                name: "Ada".into(),
                media: MediaState {
                    audio: false,
                    video: true,
                },
                passcode: None,
                token: None,
            },
            ClientMsg::Join {
                protocol: PROTOCOL_VERSION,
                room: "calm-otter".into(),
                name: "Ada".into(),
                media: MediaState::default(),
                passcode: Some("tulip 42".into()),
                token: Some("1.e30.c2ln".into()),
            },
            ClientMsg::Remove {
                participant: pid(2),
            },
            ClientMsg::EndCall,
            ClientMsg::Offer {
                to: pid(2),
                sdp: "v=0\r\n".into(),
            },
            ClientMsg::Answer {
                to: pid(2),
                sdp: "v=0\r\n".into(),
            },
            ClientMsg::Candidate {
                to: pid(3),
                candidate: IceCandidate {
                    candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host".into(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(0),
                    username_fragment: None,
                },
            },
            ClientMsg::Media {
                media: MediaState {
                    audio: true,
                    video: false,
                },
            },
            ClientMsg::Pong,
            ClientMsg::Leave,
            ClientMsg::Resume {
                protocol: PROTOCOL_VERSION,
                room: "calm-otter".into(),
                name: "Ada".into(),
                media: MediaState::default(),
                id: pid(7),
                token: "dG9rZW4".into(),
            },
            ClientMsg::TopologyReady {
                mode: TopologyMode::Relayed,
            },
            ClientMsg::Uplink { bps: 350_000 },
            ClientMsg::Chat {
                text: "hi".into(),
                sent_at: 1_700_000_000_000,
            },
            ClientMsg::Candidate {
                to: pid(3),
                candidate: IceCandidate {
                    candidate: "candidate:2".into(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(1),
                    username_fragment: Some("u".into()),
                },
            },
        ];
        for m in msgs {
            assert_eq!(
                ClientMsg::parse(&m.to_json()).unwrap(),
                m,
                "{}",
                m.to_json()
            );
        }
    }

    #[test]
    fn every_server_message_round_trips() {
        let ada = Participant {
            id: pid(1),
            name: "Ada".into(),
            media: MediaState::default(),
        };
        let msgs = vec![
            ServerMsg::Welcome {
                protocol: PROTOCOL_VERSION,
                you: pid(2),
                room: "r".into(),
                participants: vec![ada.clone()],
                ice_servers: vec![IceServer {
                    urls: vec!["turn:127.0.0.1:3478".into()],
                    username: Some("1700000000:2".into()),
                    credential: Some("c2VjcmV0".into()),
                }],
                heartbeat_interval_ms: Some(2_000),
                name: Some("Grace".into()),
                owner: true,
            },
            ServerMsg::Joined {
                participant: ada.clone(),
            },
            ServerMsg::Left {
                id: pid(1),
                reason: LeaveReason::TimedOut,
            },
            ServerMsg::Interrupted { id: pid(1) },
            ServerMsg::Back {
                participant: ada.clone(),
            },
            ServerMsg::Offer {
                from: pid(1),
                sdp: "v=0".into(),
            },
            ServerMsg::Answer {
                from: pid(1),
                sdp: "v=0".into(),
            },
            ServerMsg::Candidate {
                from: pid(1),
                candidate: IceCandidate {
                    candidate: "".into(),
                    sdp_mid: None,
                    sdp_m_line_index: None,
                    username_fragment: Some("abcd".into()),
                },
            },
            ServerMsg::Media {
                from: pid(1),
                media: MediaState {
                    audio: false,
                    video: false,
                },
            },
            ServerMsg::Ping,
            ServerMsg::Session {
                token: "dG9rZW4".into(),
            },
            ServerMsg::Resumed {
                you: pid(2),
                participants: vec![],
                ice_servers: vec![],
                continued: false,
                heartbeat_interval_ms: None,
            },
            ServerMsg::IceServers {
                ice_servers: vec![],
            },
            ServerMsg::error(ErrorCode::RoomFull, "room is full"),
            ServerMsg::GoingAway {
                reconnect_after_ms: 250,
                back_within_ms: 15_000,
            },
            ServerMsg::Topology {
                mode: TopologyMode::Relayed,
                phase: SwitchPhase::Prepare,
                sfu: Some(grant()),
            },
            ServerMsg::Topology {
                mode: TopologyMode::Mesh,
                phase: SwitchPhase::Commit,
                sfu: None,
            },
            ServerMsg::SfuGrant { sfu: grant() },
            ServerMsg::Chat {
                from: pid(1),
                text: "hi".into(),
                sent_at: 1_700_000_000_000,
            },
        ];
        for m in msgs {
            assert_eq!(
                ServerMsg::parse(&m.to_json()).unwrap(),
                m,
                "{}",
                m.to_json()
            );
        }
    }

    #[test]
    fn wire_format_is_tagged_snake_case() {
        let json = ClientMsg::Candidate {
            to: pid(7),
            candidate: IceCandidate {
                candidate: "c".into(),
                sdp_mid: Some("1".into()),
                sdp_m_line_index: Some(1),
                username_fragment: None,
            },
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"candidate","to":7,"candidate":{"candidate":"c","sdpMid":"1","sdpMLineIndex":1}}"#
        );
        assert_eq!(
            ServerMsg::Interrupted { id: pid(7) }.to_json(),
            r#"{"type":"interrupted","id":7}"#
        );
        assert_eq!(
            ServerMsg::Back {
                participant: Participant {
                    id: pid(7),
                    name: "Ada".into(),
                    media: MediaState::default(),
                },
            }
            .to_json(),
            r#"{"type":"back","participant":{"id":7,"name":"Ada","media":{"audio":true,"video":true}}}"#
        );
        assert_eq!(
            ServerMsg::error(ErrorCode::RoomFull, "x").to_json(),
            r#"{"type":"error","code":"room_full","message":"x"}"#
        );
    }

    #[test]
    fn join_media_defaults_to_on() {
        let m = ClientMsg::parse(r#"{"type":"join","protocol":1,"room":"a","name":"b"}"#).unwrap();
        assert_eq!(
            m,
            ClientMsg::Join {
                protocol: 1,
                room: "a".into(),
                name: "b".into(),
                media: MediaState::default(),
                passcode: None,
                token: None,
            }
        );
    }

    #[test]
    fn bad_frames_are_classified() {
        for bad in [
            "",
            "not json",
            "[]",
            "{}",
            r#"{"type":"nope"}"#,
            r#"{"type":"offer","to":"x","sdp":"v=0"}"#,
            r#"{"type":"offer","to":1}"#,
            r#"{"type":"offer","to":1,"sdp":"v=0","extra":1}"#,
            r#"{"type":"offer","to":-1,"sdp":""}"#,
        ] {
            let err = ClientMsg::parse(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::Malformed, "{bad}");
        }
        let big = format!(
            r#"{{"type":"offer","to":1,"sdp":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(
            ClientMsg::parse(&big).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn an_older_client_survives_what_a_newer_server_adds() {
        // A message type it does not know, with fields.
        assert_eq!(
            ServerMsg::parse(r#"{"type":"raise_hand","from":7,"up":true}"#).unwrap(),
            ServerMsg::Unknown
        );
        assert_eq!(
            ServerMsg::parse(r#"{"type":"recording_started"}"#).unwrap(),
            ServerMsg::Unknown
        );
        // An error code it does not know keeps its message, and is not fatal.
        let ServerMsg::Error { code, message } = ServerMsg::parse(
            r#"{"type":"error","code":"hand_raise_limit","message":"Slow down.","retry_after_ms":500}"#,
        )
        .unwrap() else {
            panic!("an error")
        };
        assert_eq!((code, message.as_str()), (ErrorCode::Unknown, "Slow down."));
        assert!(!code.is_fatal());
        assert!(code.tell_the_user(), "its message is shown");
        assert!(ErrorCode::RoomFull.tell_the_user());
        assert!(!ErrorCode::UnknownParticipant.tell_the_user());
        // New fields in known messages are ignored; the heartbeat interval is optional.
        let welcome = ServerMsg::parse(
            r#"{"type":"welcome","protocol":1,"you":3,"room":"r","participants":[],"passcode_required":false}"#,
        )
        .unwrap();
        assert!(matches!(
            welcome,
            ServerMsg::Welcome {
                heartbeat_interval_ms: None,
                ..
            }
        ));
        // `going_away` without its hints gets the defaults.
        assert_eq!(
            ServerMsg::parse(r#"{"type":"going_away"}"#).unwrap(),
            ServerMsg::GoingAway {
                reconnect_after_ms: GOING_AWAY_RECONNECT_AFTER_MS,
                back_within_ms: GOING_AWAY_BACK_WITHIN_MS,
            }
        );
        // Still not anything at all: the shape of a message is required.
        assert!(ServerMsg::parse(r#"{"code":"x"}"#).is_err());
        assert!(ServerMsg::parse("[]").is_err());
        // The server itself stays strict about what clients send.
        assert_eq!(
            ClientMsg::parse(r#"{"type":"raise_hand"}"#)
                .unwrap_err()
                .code,
            ErrorCode::Malformed
        );
    }

    #[test]
    fn reading_by_hand_agrees_with_the_derived_internally_tagged_reader() {
        for text in [
            r#"{"type":"ping"}"#,
            r#"{"type":"ping","extra":[1,{"a":2}]}"#,
            r#"{"extra":1,"type":"interrupted","id":4}"#,
            r#"{"type":"left","id":4,"reason":"timed_out"}"#,
            r#"{"type":"left","id":4,"reason":"gone"}"#,
            r#"{"type":"offer","from":1}"#,
            r#"{"type":"offer","from":"x","sdp":""}"#,
            r#"{"type":"raise_hand","up":true}"#,
            r#"{"type":7}"#,
            r#"{"type":"welcome","protocol":1,"you":2,"room":"r","participants":[{"id":3,"name":"n","media":{"audio":true,"video":false}}],"ice_servers":[{"urls":["turn:x"],"username":"u","credential":"c"}],"heartbeat_interval_ms":5}"#,
            r#"{"type":"welcome","protocol":1,"you":2,"room":"r","participants":[]}"#,
            r#"{"type":"welcome","protocol":4294967296,"you":2,"room":"r","participants":[]}"#,
            r#"{"type":"welcome","protocol":1,"you":2,"room":"r"}"#,
            r#"{"type":"resumed","you":2,"participants":[],"continued":true}"#,
            r#"{"type":"ice_servers","ice_servers":[{"urls":[]}]}"#,
            r#"{"type":"ice_servers"}"#,
            r#"{"type":"candidate","from":1,"candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":1,"usernameFragment":"f"}}"#,
            r#"{"type":"candidate","from":1,"candidate":{"candidate":"c","sdpMLineIndex":70000}}"#,
            r#"{"type":"media","from":1,"media":{"audio":false,"video":true}}"#,
            r#"{"type":"error","code":"room_full","message":"m"}"#,
            r#"{"type":"error","code":"nope","message":"m"}"#,
            r#"{"type":"going_away"}"#,
            r#"{"type":"going_away","reconnect_after_ms":1,"back_within_ms":2}"#,
            r#"{"type":"topology","mode":"relayed","phase":"prepare","sfu":{"path":"/janus","room":"r","pin":"p","token":"t","room_token":"rt","expires_in":60}}"#,
            r#"{"type":"topology","mode":"mesh","phase":"commit","sfu":null}"#,
            r#"{"type":"sfu_grant","sfu":{"path":"/janus","room":"r","pin":"p","token":"t","room_token":"rt"}}"#,
            r#"{"type":"session","token":"t"}"#,
            r#"{"type":"joined","participant":{"id":3,"name":"n","media":{"audio":true,"video":true}}}"#,
            r#"{"code":"x"}"#,
            r#"{"type":"ping"} x"#,
            "[]",
            "",
        ] {
            assert_eq!(
                ServerMsg::parse(text).ok(),
                serde_json::from_str::<ServerMsg>(text).ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn topology_messages_have_the_shared_wire_shape() {
        assert_eq!(
            ServerMsg::Topology {
                mode: TopologyMode::Mesh,
                phase: SwitchPhase::Prepare,
                sfu: None,
            }
            .to_json(),
            r#"{"type":"topology","mode":"mesh","phase":"prepare","sfu":null}"#
        );
        // A grant may be left out when there is none.
        assert_eq!(
            ServerMsg::parse(r#"{"type":"topology","mode":"mesh","phase":"commit"}"#).unwrap(),
            ServerMsg::Topology {
                mode: TopologyMode::Mesh,
                phase: SwitchPhase::Commit,
                sfu: None,
            }
        );
        assert_eq!(
            ClientMsg::TopologyReady {
                mode: TopologyMode::Relayed
            }
            .to_json(),
            r#"{"type":"topology_ready","mode":"relayed"}"#
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::MeshLimit).unwrap(),
            r#""mesh_limit""#
        );
    }

    #[test]
    fn fatal_errors_are_the_ones_that_end_a_session() {
        assert!(ErrorCode::MeshLimit.is_fatal());
        for code in [
            ErrorCode::RoomDeleted,
            ErrorCode::Removed,
            ErrorCode::CallEnded,
        ] {
            assert!(code.is_fatal() && code.ends_the_call(), "{code:?}");
        }
        assert!(
            !ErrorCode::RoomFull.ends_the_call(),
            "a refused join ends nothing"
        );
        assert!(!ErrorCode::NotOwner.is_fatal());
        assert!(ErrorCode::RoomFull.is_fatal());
        assert!(!ErrorCode::Malformed.is_fatal());
        assert!(!ErrorCode::UnknownParticipant.is_fatal());
    }
}
