//! The VideoRoom plugin's side of the conversation: the request bodies this client
//! sends in a `message`, and the `plugindata.data` it gets back, read into
//! [`RoomEvent`]. Ids are strings: the rooms use `string_ids`, and a publisher's id is
//! its participant id in decimal.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A publisher's id in the room (its participant id as a string).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct FeedId(pub String);

impl<'de> Deserialize<'de> for FeedId {
    /// A string with `string_ids`; a number is read too, so a misconfigured room
    /// shows up as unknown feeds rather than unreadable events.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FeedId, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(FeedId(s)),
            Value::Number(n) => Ok(FeedId(n.to_string())),
            other => Err(serde::de::Error::custom(format!("feed id {other}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ptype {
    Publisher,
    Subscriber,
}

/// A VideoRoom request (`body` of a `message`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "request", rename_all = "lowercase")]
pub enum Body {
    /// Join as a publisher (`ptype: publisher`), or open the subscriber connection
    /// (`ptype: subscriber`, with `private_id` and the first `streams`).
    Join(Join),
    /// Send our offer (the first time).
    Publish {
        descriptions: Vec<StreamDescription>,
    },
    /// Renegotiate what we publish, or (on a subscriber) choose layers.
    Configure(Configure),
    Unpublish,
    Leave,
    /// The subscriber's answer goes with this.
    Start,
    /// Change the subscriber connection: add and remove streams in one renegotiation.
    Update {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        subscribe: Vec<StreamRef>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        unsubscribe: Vec<StreamRef>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Join {
    pub ptype: Ptype,
    pub room: String,
    pub pin: String,
    /// The room's signed token (`signed_tokens`).
    pub token: String,
    /// A publisher's own id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<FeedId>,
    /// A subscriber's: the private id its publisher got (`require_pvtid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_id: Option<u64>,
    /// A subscriber's first streams.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<StreamRef>,
}

/// Names a published stream so subscribers tell a camera from a screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamDescription {
    pub mid: String,
    pub description: String,
}

/// One publisher's stream (`feed`, and its `mid` on the publisher's connection).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StreamRef {
    pub feed: FeedId,
    pub mid: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Configure {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub descriptions: Vec<StreamDescription>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<LayerChoice>,
}

/// A subscriber's layer choice for one of its video streams (by its own `mid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerChoice {
    pub mid: String,
    pub substream: u8,
    pub temporal: u8,
}

/// A publisher in the room, as `joined` and `event.publishers` list them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Publisher {
    pub id: FeedId,
    #[serde(default)]
    pub streams: Vec<PublishedStream>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublishedStream {
    #[serde(rename = "type")]
    pub kind: String,
    pub mid: String,
    pub description: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

/// One m-line of the subscriber connection, as `attached` and `updated` list them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubscribedStream {
    pub mid: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// False for an m-line left inactive after its publisher went away.
    #[serde(default = "yes")]
    pub active: bool,
    pub feed_id: Option<FeedId>,
    pub feed_mid: Option<String>,
}

fn yes() -> bool {
    true
}

/// What a VideoRoom `data` means to this client.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomEvent {
    /// We joined as a publisher; these were already publishing.
    Joined {
        private_id: u64,
        publishers: Vec<Publisher>,
    },
    /// Publishers started publishing or changed their streams.
    Publishers(Vec<Publisher>),
    /// A publisher stopped (or left).
    Gone(FeedId),
    /// Our `publish`/`configure` was applied.
    Configured,
    /// Our `unpublish` was applied.
    Unpublished,
    /// Our `leave` was applied.
    Left,
    /// The subscriber connection was set up (`attached`) or changed (`updated`): its
    /// m-lines now. An offer comes with it when the browser must renegotiate.
    Streams(Vec<SubscribedStream>),
    /// Our `start` was applied.
    Started,
    Talking {
        feed: FeedId,
        talking: bool,
    },
    /// The room was destroyed.
    Destroyed,
    /// The VideoRoom refused the request.
    Error {
        code: i64,
        reason: String,
    },
    /// Something this client does not act on (layer switches, display names, …).
    Other,
}

#[derive(Deserialize)]
struct Data {
    videoroom: String,
    private_id: Option<u64>,
    id: Option<FeedId>,
    publishers: Option<Vec<Publisher>>,
    streams: Option<Vec<SubscribedStream>>,
    unpublished: Option<FeedId>,
    leaving: Option<FeedId>,
    configured: Option<String>,
    started: Option<String>,
    error_code: Option<i64>,
    error: Option<String>,
}

impl RoomEvent {
    pub fn read(data: Value) -> Result<RoomEvent, serde_json::Error> {
        let d: Data = serde_json::from_value(data)?;
        if let Some(code) = d.error_code {
            return Ok(RoomEvent::Error {
                code,
                reason: d.error.unwrap_or_default(),
            });
        }
        let ours = |id: &Option<FeedId>| id.as_ref().is_some_and(|f| f.0 == "ok");
        Ok(match d.videoroom.as_str() {
            "joined" => RoomEvent::Joined {
                private_id: d.private_id.unwrap_or_default(),
                publishers: d.publishers.unwrap_or_default(),
            },
            "attached" | "updated" => RoomEvent::Streams(d.streams.unwrap_or_default()),
            "talking" | "stopped-talking" => match d.id {
                Some(feed) => RoomEvent::Talking {
                    feed,
                    talking: d.videoroom == "talking",
                },
                None => RoomEvent::Other,
            },
            "destroyed" => RoomEvent::Destroyed,
            "event" if d.configured.is_some() => RoomEvent::Configured,
            "event" if d.started.is_some() => RoomEvent::Started,
            "event" if ours(&d.unpublished) => RoomEvent::Unpublished,
            "event" if ours(&d.leaving) => RoomEvent::Left,
            "event" => match (d.publishers, d.unpublished.or(d.leaving)) {
                (Some(publishers), _) => RoomEvent::Publishers(publishers),
                (None, Some(feed)) => RoomEvent::Gone(feed),
                (None, None) => RoomEvent::Other,
            },
            _ => RoomEvent::Other,
        })
    }
}
