//! The VideoRoom plugin's side of the conversation: the request bodies this client
//! sends in a `message`, and the `plugindata.data` it gets back, read into
//! [`RoomEvent`]. Ids are strings: the rooms use `string_ids`, and a publisher's id is
//! its participant id in decimal.

use serde_json::{Error, Value};

use crate::json;

/// A publisher's id in the room (its participant id as a string).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedId(pub String);

impl FeedId {
    /// The feed id `key` of `value`, `None` if absent or `null`: a string with
    /// `string_ids`; a number is read too, so a misconfigured room shows up as unknown
    /// feeds rather than unreadable events.
    fn read(value: &Value, key: &str) -> Result<Option<FeedId>, Error> {
        Ok(match json::opt(value, key) {
            None => None,
            Some(Value::String(s)) => Some(FeedId(s.clone())),
            Some(Value::Number(n)) => Some(FeedId(n.to_string())),
            Some(_) => return Err(serde::de::Error::custom("a feed id: expected a string")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ptype {
    Publisher,
    Subscriber,
}

/// A VideoRoom request (`body` of a `message`; its name in `request`).
#[derive(Debug, Clone, PartialEq)]
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
        subscribe: Vec<StreamRef>,
        unsubscribe: Vec<StreamRef>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub ptype: Ptype,
    pub room: String,
    pub pin: String,
    /// The room's signed token (`signed_tokens`).
    pub token: String,
    /// A publisher's own id.
    pub id: Option<FeedId>,
    /// A subscriber's: the private id its publisher got (`require_pvtid`).
    pub private_id: Option<u64>,
    /// A subscriber's first streams.
    pub streams: Vec<StreamRef>,
}

/// Names a published stream so subscribers tell a camera from a screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDescription {
    pub mid: String,
    pub description: String,
}

/// One publisher's stream (`feed`, and its `mid` on the publisher's connection).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamRef {
    pub feed: FeedId,
    pub mid: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Configure {
    pub descriptions: Vec<StreamDescription>,
    pub streams: Vec<LayerChoice>,
}

/// A subscriber's layer choice for one of its video streams (by its own `mid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerChoice {
    pub mid: String,
    pub substream: u8,
    pub temporal: u8,
}

/// A publisher in the room, as `joined` and `event.publishers` list them.
#[derive(Debug, Clone, PartialEq)]
pub struct Publisher {
    pub id: FeedId,
    pub streams: Vec<PublishedStream>,
    /// Talking now, as Janus says in a publisher list (with `audiolevel_event`): a
    /// newcomer learns who is in the middle of speaking, whose `talking` event came
    /// before it joined.
    pub talking: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedStream {
    /// `type`
    pub kind: String,
    pub mid: String,
    pub description: Option<String>,
    pub disabled: bool,
}

/// One m-line of the subscriber connection, as `attached` and `updated` list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribedStream {
    pub mid: String,
    /// `type`
    pub kind: String,
    /// False for an m-line left inactive after its publisher went away.
    pub active: bool,
    pub feed_id: Option<FeedId>,
    pub feed_mid: Option<String>,
}

impl Body {
    pub fn to_value(&self) -> Value {
        let (request, mut fields) = match self {
            Body::Join(join) => ("join", join.fields()),
            Body::Publish { descriptions } => (
                "publish",
                vec![(
                    "descriptions",
                    json::array(descriptions, StreamDescription::to_value),
                )],
            ),
            Body::Configure(configure) => ("configure", configure.fields()),
            Body::Unpublish => ("unpublish", vec![]),
            Body::Leave => ("leave", vec![]),
            Body::Start => ("start", vec![]),
            Body::Update {
                subscribe,
                unsubscribe,
            } => {
                let mut fields = vec![];
                if !subscribe.is_empty() {
                    fields.push(("subscribe", json::array(subscribe, StreamRef::to_value)));
                }
                if !unsubscribe.is_empty() {
                    fields.push(("unsubscribe", json::array(unsubscribe, StreamRef::to_value)));
                }
                ("update", fields)
            }
        };
        fields.push(("request", Value::from(request)));
        json::object(fields)
    }
}

impl Join {
    fn fields(&self) -> Vec<(&'static str, Value)> {
        let ptype = match self.ptype {
            Ptype::Publisher => "publisher",
            Ptype::Subscriber => "subscriber",
        };
        let mut fields = vec![
            ("ptype", Value::from(ptype)),
            ("room", Value::from(self.room.as_str())),
            ("pin", Value::from(self.pin.as_str())),
            ("token", Value::from(self.token.as_str())),
        ];
        if let Some(id) = &self.id {
            fields.push(("id", Value::from(id.0.as_str())));
        }
        if let Some(private_id) = self.private_id {
            fields.push(("private_id", Value::from(private_id)));
        }
        if !self.streams.is_empty() {
            fields.push(("streams", json::array(&self.streams, StreamRef::to_value)));
        }
        fields
    }
}

impl Configure {
    fn fields(&self) -> Vec<(&'static str, Value)> {
        let mut fields = vec![];
        if !self.descriptions.is_empty() {
            let descriptions = json::array(&self.descriptions, StreamDescription::to_value);
            fields.push(("descriptions", descriptions));
        }
        if !self.streams.is_empty() {
            fields.push(("streams", json::array(&self.streams, LayerChoice::to_value)));
        }
        fields
    }
}

impl StreamDescription {
    fn to_value(&self) -> Value {
        json::object(vec![
            ("mid", Value::from(self.mid.as_str())),
            ("description", Value::from(self.description.as_str())),
        ])
    }
}

impl StreamRef {
    fn to_value(&self) -> Value {
        json::object(vec![
            ("feed", Value::from(self.feed.0.as_str())),
            ("mid", Value::from(self.mid.as_str())),
        ])
    }
}

impl LayerChoice {
    fn to_value(&self) -> Value {
        json::object(vec![
            ("mid", Value::from(self.mid.as_str())),
            ("substream", Value::from(self.substream)),
            ("temporal", Value::from(self.temporal)),
        ])
    }
}

impl Publisher {
    fn read(value: &Value) -> Result<Publisher, Error> {
        Ok(Publisher {
            id: FeedId::read(value, "id")?.ok_or_else(|| serde::de::Error::missing_field("id"))?,
            streams: json::list(value, "streams", PublishedStream::read)?.unwrap_or_default(),
            talking: json::opt_bool(value, "talking")?.unwrap_or(false),
        })
    }
}

impl PublishedStream {
    fn read(value: &Value) -> Result<PublishedStream, Error> {
        Ok(PublishedStream {
            kind: json::string(value, "type")?,
            mid: json::string(value, "mid")?,
            description: json::opt_str(value, "description")?,
            disabled: json::opt_bool(value, "disabled")?.unwrap_or(false),
        })
    }
}

impl SubscribedStream {
    fn read(value: &Value) -> Result<SubscribedStream, Error> {
        Ok(SubscribedStream {
            mid: json::string(value, "mid")?,
            kind: json::string(value, "type")?,
            active: json::opt_bool(value, "active")?.unwrap_or(true),
            feed_id: FeedId::read(value, "feed_id")?,
            feed_mid: json::opt_str(value, "feed_mid")?,
        })
    }
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

impl RoomEvent {
    pub fn read(data: Value) -> Result<RoomEvent, Error> {
        let d = &data;
        if let Some(code) = json::opt_i64(d, "error_code")? {
            return Ok(RoomEvent::Error {
                code,
                reason: json::opt_str(d, "error")?.unwrap_or_default(),
            });
        }
        let videoroom = json::string(d, "videoroom")?;
        let publishers = || json::list(d, "publishers", Publisher::read);
        let unpublished = FeedId::read(d, "unpublished")?;
        let leaving = FeedId::read(d, "leaving")?;
        let ours = |id: &Option<FeedId>| id.as_ref().is_some_and(|f| f.0 == "ok");
        Ok(match videoroom.as_str() {
            "joined" => RoomEvent::Joined {
                private_id: json::opt_u64(d, "private_id")?.unwrap_or_default(),
                publishers: publishers()?.unwrap_or_default(),
            },
            "attached" | "updated" => RoomEvent::Streams(
                json::list(d, "streams", SubscribedStream::read)?.unwrap_or_default(),
            ),
            "talking" | "stopped-talking" => match FeedId::read(d, "id")? {
                Some(feed) => RoomEvent::Talking {
                    feed,
                    talking: videoroom == "talking",
                },
                None => RoomEvent::Other,
            },
            "destroyed" => RoomEvent::Destroyed,
            "event" if json::opt_str(d, "configured")?.is_some() => RoomEvent::Configured,
            "event" if json::opt_str(d, "started")?.is_some() => RoomEvent::Started,
            "event" if ours(&unpublished) => RoomEvent::Unpublished,
            "event" if ours(&leaving) => RoomEvent::Left,
            "event" => match (publishers()?, unpublished.or(leaving)) {
                (Some(publishers), _) => RoomEvent::Publishers(publishers),
                (None, Some(feed)) => RoomEvent::Gone(feed),
                (None, None) => RoomEvent::Other,
            },
            _ => RoomEvent::Other,
        })
    }
}
