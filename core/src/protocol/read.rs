//! [`ServerMsg`] read by hand from a `serde_json::Value` (see `crate::json`): the
//! browser parses only these, and a derived deserializer per variant was the largest
//! piece of serde code in the app's wasm. Reads as the derived `Deserialize` does
//! (tested against it): unknown fields ignored, an unknown `type` is
//! [`ServerMsg::Unknown`], absent `#[serde(default)]` fields take their default.

use serde::Deserialize;
use serde_json::{Error, Value};

use super::{
    default_back_within_ms, default_reconnect_after_ms, IceCandidate, IceServer, MediaState,
    Participant, ServerMsg, SfuGrant,
};
use crate::ids::ParticipantId;
use crate::json;

pub(super) fn server_msg(text: &str) -> Result<ServerMsg, Error> {
    let v: Value = serde_json::from_str(text)?;
    let v = &v;
    let id = |key| json::u64(v, key).map(ParticipantId::new);
    let the_participant = || participant(json::field(v, "participant")?);
    Ok(match json::string(v, "type")?.as_str() {
        "welcome" => ServerMsg::Welcome {
            protocol: json::u32(v, "protocol")?,
            you: id("you")?,
            room: json::string(v, "room")?,
            participants: json::vec(v, "participants", participant)?,
            ice_servers: ice_servers(v)?,
            heartbeat_interval_ms: json::opt_u64(v, "heartbeat_interval_ms")?,
            name: json::opt_str(v, "name")?,
            owner: json::opt_bool(v, "owner")?.unwrap_or(false),
        },
        "joined" => ServerMsg::Joined {
            participant: the_participant()?,
        },
        "left" => ServerMsg::Left {
            id: id("id")?,
            reason: named(v, "reason")?,
        },
        "interrupted" => ServerMsg::Interrupted { id: id("id")? },
        "back" => ServerMsg::Back {
            participant: the_participant()?,
        },
        "offer" => ServerMsg::Offer {
            from: id("from")?,
            sdp: json::string(v, "sdp")?,
        },
        "answer" => ServerMsg::Answer {
            from: id("from")?,
            sdp: json::string(v, "sdp")?,
        },
        "candidate" => ServerMsg::Candidate {
            from: id("from")?,
            candidate: ice_candidate(json::field(v, "candidate")?)?,
        },
        "media" => ServerMsg::Media {
            from: id("from")?,
            media: media(json::field(v, "media")?)?,
        },
        "ping" => ServerMsg::Ping,
        "session" => ServerMsg::Session {
            token: json::string(v, "token")?,
        },
        "resumed" => ServerMsg::Resumed {
            you: id("you")?,
            participants: json::vec(v, "participants", participant)?,
            ice_servers: ice_servers(v)?,
            continued: json::bool(v, "continued")?,
            heartbeat_interval_ms: json::opt_u64(v, "heartbeat_interval_ms")?,
        },
        "ice_servers" => ServerMsg::IceServers {
            ice_servers: json::vec(v, "ice_servers", ice_server)?,
        },
        "error" => ServerMsg::Error {
            code: named(v, "code")?,
            message: json::string(v, "message")?,
        },
        "going_away" => ServerMsg::GoingAway {
            reconnect_after_ms: json::opt_u64(v, "reconnect_after_ms")?
                .unwrap_or_else(default_reconnect_after_ms),
            back_within_ms: json::opt_u64(v, "back_within_ms")?
                .unwrap_or_else(default_back_within_ms),
        },
        "topology" => ServerMsg::Topology {
            mode: named(v, "mode")?,
            phase: named(v, "phase")?,
            sfu: json::opt(v, "sfu").map(sfu_grant).transpose()?,
        },
        "sfu_grant" => ServerMsg::SfuGrant {
            sfu: sfu_grant(json::field(v, "sfu")?)?,
        },
        "chat" => ServerMsg::Chat {
            from: id("from")?,
            text: json::string(v, "text")?,
            sent_at: json::u64(v, "sent_at")?,
        },
        _ => ServerMsg::Unknown,
    })
}

/// A field holding one of the protocol's named values (a unit enum, by its derive).
fn named<'a, T: Deserialize<'a>>(v: &'a Value, key: &'static str) -> Result<T, Error> {
    T::deserialize(json::field(v, key)?)
}

fn participant(v: &Value) -> Result<Participant, Error> {
    Ok(Participant {
        id: ParticipantId::new(json::u64(v, "id")?),
        name: json::string(v, "name")?,
        media: media(json::field(v, "media")?)?,
    })
}

fn media(v: &Value) -> Result<MediaState, Error> {
    Ok(MediaState {
        audio: json::bool(v, "audio")?,
        video: json::bool(v, "video")?,
    })
}

/// `ice_servers`, empty if absent.
fn ice_servers(v: &Value) -> Result<Vec<IceServer>, Error> {
    Ok(json::list(v, "ice_servers", ice_server)?.unwrap_or_default())
}

fn ice_server(v: &Value) -> Result<IceServer, Error> {
    Ok(IceServer {
        urls: json::vec(v, "urls", |url| {
            url.as_str()
                .map(str::to_string)
                .ok_or_else(|| serde::de::Error::custom("`urls`: expected strings"))
        })?,
        username: json::opt_str(v, "username")?,
        credential: json::opt_str(v, "credential")?,
    })
}

fn ice_candidate(v: &Value) -> Result<IceCandidate, Error> {
    Ok(IceCandidate {
        candidate: json::string(v, "candidate")?,
        sdp_mid: json::opt_str(v, "sdpMid")?,
        sdp_m_line_index: json::opt_u16(v, "sdpMLineIndex")?,
        username_fragment: json::opt_str(v, "usernameFragment")?,
    })
}

fn sfu_grant(v: &Value) -> Result<SfuGrant, Error> {
    Ok(SfuGrant {
        path: json::string(v, "path")?,
        room: json::string(v, "room")?,
        pin: json::string(v, "pin")?,
        token: json::string(v, "token")?,
        room_token: json::string(v, "room_token")?,
        expires_in: json::u64(v, "expires_in")?,
    })
}
