//! `docs/protocol.md` against the code: every ```json block must be one protocol
//! message that survives a round trip unchanged (and every ```json-peer block one
//! data-channel message), every message type and error code must be documented, and
//! the stated limits must be the real ones.

use std::collections::BTreeSet;

use nonstop_core::names::{MAX_DISPLAY_NAME_CHARS, MAX_ROOM_LEN, MIN_ROOM_LEN};
use nonstop_core::peer_msg::{PeerMsg, MAX_CHAT_CHARS, MAX_PEER_MSG_BYTES, MAX_VIEW_SIDE};
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, ServerMsg, SfuGrant, SwitchPhase, TopologyMode, HEARTBEAT_INTERVAL_MS,
    HEARTBEAT_TIMEOUT_MS, MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use serde_json::Value;

const DOC: &str = include_str!("../../docs/protocol.md");

/// Which way a documented message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Direction {
    ToServer,
    ToClient,
}

/// The ```json blocks (signaling messages): (line number, text).
fn json_blocks() -> Vec<(usize, String)> {
    fenced_blocks("```json")
}

/// The blocks fenced with `fence`: (line number, text).
fn fenced_blocks(fence: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in DOC.lines().enumerate() {
        let trimmed = line.trim();
        match &mut current {
            None if trimmed == fence => current = Some((i + 1, String::new())),
            None => {}
            Some(_) if trimmed == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "unterminated {fence} block");
    blocks
}

/// The `type` of each data-channel message, through an exhaustive match so that a new
/// one fails to compile until it is named here (and documented).
fn peer_type(msg: &PeerMsg) -> &'static str {
    match msg {
        PeerMsg::Chat { .. } => "chat",
        PeerMsg::Screen { .. } => "screen",
        PeerMsg::ViewHint { .. } => "view_hint",
    }
}

#[test]
fn every_data_channel_example_is_a_peer_message_that_round_trips() {
    let blocks = fenced_blocks("```json-peer");
    let mut documented = BTreeSet::new();
    for (line, text) in &blocks {
        let msg = PeerMsg::parse(text.trim())
            .unwrap_or_else(|e| panic!("docs/protocol.md:{line}: not a peer message: {e:?}"));
        let written: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            written,
            "docs/protocol.md:{line}: the example does not round-trip"
        );
        documented.insert(peer_type(&msg));
    }
    let every = [
        PeerMsg::Chat {
            text: "hi".into(),
            sent_at: 0,
        },
        PeerMsg::Screen { stream: None },
        PeerMsg::ViewHint {
            width: 1,
            height: 1,
            visible: true,
        },
    ];
    for msg in &every {
        assert!(
            documented.contains(peer_type(msg)),
            "no ```json-peer example of `{}`",
            peer_type(msg)
        );
    }
}

/// Parses `text` as exactly one of the two message sets and checks it serializes
/// back to the same JSON (so examples show every field the code writes, and nothing
/// it does not).
fn check_block(line: usize, text: &str) -> (Direction, String) {
    let written: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("docs/protocol.md:{line}: not JSON: {e}\n{text}"));
    let as_client = ClientMsg::parse(text).ok();
    // Any `type` parses as a server message (`Unknown`, the catch-all): that one does
    // not count as one.
    let as_server = ServerMsg::parse(text)
        .ok()
        .filter(|m| *m != ServerMsg::Unknown);
    let (direction, round_trip) = match (as_client, as_server) {
        (Some(msg), None) => (Direction::ToServer, serde_json::to_value(&msg).unwrap()),
        (None, Some(msg)) => (Direction::ToClient, serde_json::to_value(&msg).unwrap()),
        (Some(c), Some(s)) => {
            panic!("docs/protocol.md:{line}: ambiguous, parses as {c:?} and as {s:?}")
        }
        (None, None) => panic!(
            "docs/protocol.md:{line}: neither a client nor a server message:\n{text}\n\
             as client: {:?}\nas server: {:?}",
            ClientMsg::parse(text).unwrap_err(),
            ServerMsg::parse(text).unwrap_err()
        ),
    };
    assert_eq!(
        round_trip, written,
        "docs/protocol.md:{line}: the example does not round-trip as {direction:?}"
    );
    let kind = written["type"].as_str().unwrap().to_owned();
    (direction, kind)
}

fn client_type(msg: &ClientMsg) -> &'static str {
    // Exhaustive on purpose: a new message fails to compile here until it is listed.
    match msg {
        ClientMsg::Join { .. } => "join",
        ClientMsg::Offer { .. } => "offer",
        ClientMsg::Answer { .. } => "answer",
        ClientMsg::Candidate { .. } => "candidate",
        ClientMsg::Media { .. } => "media",
        ClientMsg::Pong => "pong",
        ClientMsg::Leave => "leave",
        ClientMsg::Resume { .. } => "resume",
        ClientMsg::TopologyReady { .. } => "topology_ready",
        ClientMsg::Uplink { .. } => "uplink",
        ClientMsg::Chat { .. } => "chat",
        ClientMsg::Remove { .. } => "remove",
        ClientMsg::EndCall => "end_call",
    }
}

fn server_type(msg: &ServerMsg) -> &'static str {
    match msg {
        ServerMsg::Welcome { .. } => "welcome",
        ServerMsg::Joined { .. } => "joined",
        ServerMsg::Left { .. } => "left",
        ServerMsg::Interrupted { .. } => "interrupted",
        ServerMsg::Back { .. } => "back",
        ServerMsg::Offer { .. } => "offer",
        ServerMsg::Answer { .. } => "answer",
        ServerMsg::Candidate { .. } => "candidate",
        ServerMsg::Media { .. } => "media",
        ServerMsg::Ping => "ping",
        ServerMsg::Session { .. } => "session",
        ServerMsg::Resumed { .. } => "resumed",
        ServerMsg::IceServers { .. } => "ice_servers",
        ServerMsg::Error { .. } => "error",
        ServerMsg::GoingAway { .. } => "going_away",
        ServerMsg::Topology { .. } => "topology",
        ServerMsg::SfuGrant { .. } => "sfu_grant",
        ServerMsg::Chat { .. } => "chat",
        // The client's catch-all; the server never sends it.
        ServerMsg::Unknown => "unknown",
    }
}

const ALL_CODES: [ErrorCode; 23] = [
    ErrorCode::Malformed,
    ErrorCode::TooLarge,
    ErrorCode::UnsupportedVersion,
    ErrorCode::InvalidRoom,
    ErrorCode::InvalidName,
    ErrorCode::RoomFull,
    ErrorCode::NotJoined,
    ErrorCode::AlreadyJoined,
    ErrorCode::UnknownParticipant,
    ErrorCode::Overloaded,
    ErrorCode::ResumeFailed,
    ErrorCode::BinaryFrame,
    ErrorCode::RateLimited,
    ErrorCode::PasscodeRequired,
    ErrorCode::WrongPasscode,
    ErrorCode::MeshLimit,
    ErrorCode::TokenRequired,
    ErrorCode::InvalidToken,
    ErrorCode::RoomNotFound,
    ErrorCode::RoomDeleted,
    ErrorCode::NotOwner,
    ErrorCode::Removed,
    ErrorCode::CallEnded,
];

/// Fails to compile when a code is added, as a reminder to extend [`ALL_CODES`].
#[allow(dead_code)]
fn all_codes_is_complete(code: ErrorCode) {
    match code {
        ErrorCode::Malformed
        | ErrorCode::TooLarge
        | ErrorCode::UnsupportedVersion
        | ErrorCode::InvalidRoom
        | ErrorCode::InvalidName
        | ErrorCode::RoomFull
        | ErrorCode::NotJoined
        | ErrorCode::AlreadyJoined
        | ErrorCode::UnknownParticipant
        | ErrorCode::Overloaded
        | ErrorCode::ResumeFailed
        | ErrorCode::BinaryFrame
        | ErrorCode::RateLimited
        | ErrorCode::PasscodeRequired
        | ErrorCode::WrongPasscode
        | ErrorCode::MeshLimit
        | ErrorCode::TokenRequired
        | ErrorCode::InvalidToken
        | ErrorCode::RoomNotFound
        | ErrorCode::RoomDeleted
        | ErrorCode::NotOwner
        | ErrorCode::Removed
        | ErrorCode::CallEnded => {}
        // The client's catch-all for codes of a newer server; never sent.
        ErrorCode::Unknown => {}
    }
}

#[test]
fn every_json_example_is_a_message_that_round_trips() {
    let blocks = json_blocks();
    assert!(
        blocks.len() >= 16,
        "only {} json blocks found",
        blocks.len()
    );
    for (line, text) in &blocks {
        check_block(*line, text);
    }
}

#[test]
fn every_message_type_has_an_example() {
    let documented: BTreeSet<(Direction, String)> = json_blocks()
        .iter()
        .map(|(line, text)| check_block(*line, text))
        .collect();
    // One value of each variant, named through the exhaustive matches above.
    let sdp = String::new;
    let to = nonstop_core::ParticipantId::new(1);
    let candidate = nonstop_core::protocol::IceCandidate {
        candidate: String::new(),
        sdp_mid: None,
        sdp_m_line_index: None,
        username_fragment: None,
    };
    let media = nonstop_core::protocol::MediaState::default();
    let participant = nonstop_core::protocol::Participant {
        id: to,
        name: String::new(),
        media,
    };
    let client = [
        ClientMsg::Join {
            protocol: PROTOCOL_VERSION,
            room: String::new(),
            name: String::new(),
            media,
            passcode: None,
            token: None,
        },
        ClientMsg::Offer { to, sdp: sdp() },
        ClientMsg::Answer { to, sdp: sdp() },
        ClientMsg::Candidate {
            to,
            candidate: candidate.clone(),
        },
        ClientMsg::Media { media },
        ClientMsg::Pong,
        ClientMsg::Leave,
        ClientMsg::Resume {
            protocol: PROTOCOL_VERSION,
            room: String::new(),
            name: String::new(),
            media,
            id: to,
            token: String::new(),
        },
        ClientMsg::TopologyReady {
            mode: TopologyMode::Mesh,
        },
        ClientMsg::Uplink { bps: 0 },
        ClientMsg::Chat {
            text: String::new(),
            sent_at: 0,
        },
        ClientMsg::Remove { participant: to },
        ClientMsg::EndCall,
    ];
    let server = [
        ServerMsg::Welcome {
            protocol: PROTOCOL_VERSION,
            you: to,
            room: String::new(),
            participants: vec![],
            ice_servers: vec![],
            heartbeat_interval_ms: None,
            name: None,
            owner: false,
        },
        ServerMsg::Joined {
            participant: participant.clone(),
        },
        ServerMsg::Left {
            id: to,
            reason: nonstop_core::protocol::LeaveReason::Left,
        },
        ServerMsg::Interrupted { id: to },
        ServerMsg::Back { participant },
        ServerMsg::Offer {
            from: to,
            sdp: sdp(),
        },
        ServerMsg::Answer {
            from: to,
            sdp: sdp(),
        },
        ServerMsg::Candidate {
            from: to,
            candidate,
        },
        ServerMsg::Media { from: to, media },
        ServerMsg::Ping,
        ServerMsg::Session {
            token: String::new(),
        },
        ServerMsg::Resumed {
            you: to,
            participants: vec![],
            ice_servers: vec![],
            continued: true,
            heartbeat_interval_ms: None,
        },
        ServerMsg::IceServers {
            ice_servers: vec![],
        },
        ServerMsg::error(ErrorCode::Malformed, ""),
        ServerMsg::GoingAway {
            reconnect_after_ms: 0,
            back_within_ms: 0,
        },
        ServerMsg::Topology {
            mode: TopologyMode::Mesh,
            phase: SwitchPhase::Commit,
            sfu: None,
        },
        ServerMsg::SfuGrant {
            sfu: SfuGrant {
                path: String::new(),
                room: String::new(),
                pin: String::new(),
                token: String::new(),
                room_token: String::new(),
                expires_in: 0,
            },
        },
        ServerMsg::Chat {
            from: to,
            text: String::new(),
            sent_at: 0,
        },
    ];
    let expected: BTreeSet<(Direction, String)> = client
        .iter()
        .map(|m| (Direction::ToServer, client_type(m).to_owned()))
        .chain(
            server
                .iter()
                .map(|m| (Direction::ToClient, server_type(m).to_owned())),
        )
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "no example in docs/protocol.md for {missing:?}"
    );
}

#[test]
fn the_error_table_lists_every_code_and_whether_it_is_fatal() {
    for code in ALL_CODES {
        let id = serde_json::to_value(code).unwrap();
        let id = id.as_str().unwrap();
        let row = DOC
            .lines()
            .find(|l| l.starts_with(&format!("| `{id}` ")))
            .unwrap_or_else(|| panic!("no row for `{id}` in the error table"));
        let fatal_cell = row.split('|').nth(2).unwrap().trim();
        let expected = if code.is_fatal() { "yes" } else { "no" };
        assert_eq!(fatal_cell, expected, "fatal column for `{id}`");
    }
}

#[test]
fn the_stated_limits_are_the_real_ones() {
    for needle in [
        format!("`{MAX_MESSAGE_BYTES}` bytes"),
        format!("`{HEARTBEAT_INTERVAL_MS}` ms"),
        format!("`{HEARTBEAT_TIMEOUT_MS}` ms"),
        format!("**{HEARTBEAT_INTERVAL_MS} ms**"),
        format!("**{HEARTBEAT_TIMEOUT_MS} ms**"),
        format!("{MIN_ROOM_LEN} to {MAX_ROOM_LEN} characters"),
        format!("1 to {MAX_DISPLAY_NAME_CHARS} characters"),
        format!("version **{PROTOCOL_VERSION}**"),
        format!("at most `{MAX_PEER_MSG_BYTES}` bytes"),
        format!("chat text is 1 to {MAX_CHAT_CHARS} characters"),
        format!("at most {MAX_VIEW_SIDE} device pixels"),
    ] {
        assert!(
            DOC.contains(&needle),
            "docs/protocol.md does not say {needle:?}"
        );
    }
}
