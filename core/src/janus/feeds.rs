//! The room as this client sees it: who publishes which streams, and what each m-line
//! of our subscriber connection carries. From these the app maps a received track (by
//! its mid) to a participant's camera or screen, audio or video.

use super::videoroom::{FeedId, Publisher, StreamRef, SubscribedStream};
use crate::layout::TileKind;
use crate::ParticipantId;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    fn read(kind: &str) -> Option<MediaKind> {
        match kind {
            "audio" => Some(MediaKind::Audio),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }
}

/// One stream of one participant's source: what the app asks for and what a
/// subscriber m-line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RemoteStream {
    pub participant: ParticipantId,
    pub source: TileKind,
    pub kind: MediaKind,
}

/// How a published stream is described, so subscribers tell a screen from a camera.
pub fn description(source: TileKind) -> &'static str {
    match source {
        TileKind::Camera => "camera",
        TileKind::Screen => "screen",
    }
}

/// The feed id of a participant (its id in decimal: the room uses `string_ids`).
pub fn feed_of(participant: ParticipantId) -> FeedId {
    FeedId(participant.to_string())
}

/// The participant a feed id names, if it names one.
pub(super) fn participant_of(feed: &FeedId) -> Option<ParticipantId> {
    feed.0.parse().ok().map(ParticipantId::new)
}

/// The publishers in the room (ourselves excluded) and the m-lines of our subscriber
/// connection. Lists rather than maps: a few entries each, and each map type would cost
/// the app's wasm its own copy of the B-tree code.
#[derive(Debug, Default)]
pub struct Feeds {
    /// Per publisher's stream (feed, its mid): what it carries. Only feeds whose id is
    /// a participant id and streams that are audio or video.
    published: Vec<(StreamRef, RemoteStream)>,
    /// Per mid of our subscriber connection: the publisher's stream it carries.
    subscribed: Vec<(String, StreamRef)>,
}

impl Feeds {
    /// A publisher appeared or changed what it publishes: its list replaces the old one.
    pub fn publisher(&mut self, publisher: &Publisher) {
        self.gone(&publisher.id);
        let Some(participant) = participant_of(&publisher.id) else {
            return;
        };
        for stream in publisher.streams.iter().filter(|s| !s.disabled) {
            let Some(kind) = MediaKind::read(&stream.kind) else {
                continue;
            };
            let source = match stream.description.as_deref() {
                Some("screen") => TileKind::Screen,
                _ => TileKind::Camera,
            };
            let at = StreamRef {
                feed: publisher.id.clone(),
                mid: stream.mid.clone(),
            };
            self.published.retain(|(a, _)| *a != at);
            self.published.push((
                at,
                RemoteStream {
                    participant,
                    source,
                    kind,
                },
            ));
        }
    }

    /// A publisher stopped publishing or left.
    pub fn gone(&mut self, feed: &FeedId) {
        self.published.retain(|(at, _)| &at.feed != feed);
    }

    /// Our subscriber connection's m-lines, as Janus last listed them.
    pub fn subscribed(&mut self, streams: &[SubscribedStream]) {
        self.subscribed = streams
            .iter()
            .filter(|s| s.active)
            .filter_map(|s| {
                let at = StreamRef {
                    feed: s.feed_id.clone()?,
                    mid: s.feed_mid.clone()?,
                };
                Some((s.mid.clone(), at))
            })
            .collect();
    }

    /// What the subscriber connection's m-line `mid` carries.
    pub fn carried_by(&self, mid: &str) -> Option<RemoteStream> {
        let (_, at) = self.subscribed.iter().find(|(m, _)| m == mid)?;
        self.stream_at(at)
    }

    fn stream_at(&self, at: &StreamRef) -> Option<RemoteStream> {
        self.published
            .iter()
            .find(|(a, _)| a == at)
            .map(|(_, stream)| *stream)
    }

    /// The subscriber connection's m-line carrying `stream`.
    pub fn mid_of(&self, stream: RemoteStream) -> Option<&str> {
        self.subscribed
            .iter()
            .find(|(_, at)| self.stream_at(at) == Some(stream))
            .map(|(mid, _)| mid.as_str())
    }

    /// Where `stream` is published, if it is.
    pub fn published_at(&self, stream: RemoteStream) -> Option<&StreamRef> {
        self.published
            .iter()
            .find(|(_, s)| *s == stream)
            .map(|(at, _)| at)
    }

    /// The publishers' streams our subscriber connection carries.
    pub fn subscriptions(&self) -> impl Iterator<Item = &StreamRef> {
        self.subscribed.iter().map(|(_, at)| at)
    }

    /// Every stream published in the room.
    pub fn available(&self) -> impl Iterator<Item = RemoteStream> + '_ {
        self.published.iter().map(|(_, stream)| *stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::janus::videoroom::PublishedStream;

    fn stream(kind: &str, mid: &str, description: Option<&str>) -> PublishedStream {
        PublishedStream {
            kind: kind.into(),
            mid: mid.into(),
            description: description.map(Into::into),
            disabled: false,
        }
    }

    fn sub(mid: &str, feed: &str, feed_mid: &str) -> SubscribedStream {
        SubscribedStream {
            mid: mid.into(),
            kind: "video".into(),
            active: true,
            feed_id: Some(FeedId(feed.into())),
            feed_mid: Some(feed_mid.into()),
        }
    }

    #[test]
    fn a_subscriber_mid_maps_to_the_participants_source_and_kind() {
        let mut feeds = Feeds::default();
        feeds.publisher(&Publisher {
            id: FeedId("7".into()),
            streams: vec![
                stream("audio", "0", Some("camera")),
                stream("video", "1", Some("camera")),
                stream("video", "2", Some("screen")),
                stream("data", "3", None),
            ],
            talking: false,
        });
        feeds.subscribed(&[sub("0", "7", "1"), sub("1", "7", "2")]);
        let p = ParticipantId::new(7);
        let camera = RemoteStream {
            participant: p,
            source: TileKind::Camera,
            kind: MediaKind::Video,
        };
        assert_eq!(feeds.carried_by("0"), Some(camera));
        assert_eq!(
            feeds.carried_by("1").map(|s| s.source),
            Some(TileKind::Screen)
        );
        assert_eq!(feeds.mid_of(camera), Some("0"));
        assert_eq!(feeds.available().count(), 3, "data is not a medium");
        feeds.gone(&FeedId("7".into()));
        assert_eq!(feeds.carried_by("0"), None);
    }

    #[test]
    fn feeds_that_are_not_participants_and_inactive_lines_are_ignored() {
        let mut feeds = Feeds::default();
        feeds.publisher(&Publisher {
            id: FeedId("recorder".into()),
            streams: vec![stream("video", "0", None)],
            talking: false,
        });
        assert_eq!(feeds.available().count(), 0);
        let mut inactive = sub("0", "7", "1");
        inactive.active = false;
        feeds.subscribed(&[inactive]);
        assert_eq!(feeds.subscriptions().count(), 0);
    }
}
