//! Messages between two participants over their link's data channel. They go browser
//! to browser, never through the server: chat text and per-link hints stay between
//! the two people concerned.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::adaptation::{ReceiverHint, Resolution};
use crate::json;

/// Largest peer message we send or accept, in bytes. Well under the 16 KiB that every
/// browser delivers as one SCTP message.
pub const MAX_PEER_MSG_BYTES: usize = 12 * 1024;

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// The channel's label; both sides create it pre-negotiated with this id.
pub const CHANNEL_LABEL: &str = "nonstop";
pub const CHANNEL_ID: u16 = 0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PeerMsg {
    /// A chat message to everyone, sent on each link. `sent_at` is the sender's clock
    /// (Unix milliseconds), shown as the time of the message.
    Chat { text: String, sent_at: u64 },
    /// The sender's screen share: the id of the `MediaStream` its video track is sent
    /// in (the SDP `msid`, which the receiver sees as the track event's stream), or
    /// `None` when it stopped. Camera and microphone are sent without a stream, so the
    /// receiver can tell the screen track from the camera by this id alone. Sent on every
    /// link when sharing starts or stops, and when a link's channel opens while sharing.
    Screen { stream: Option<String> },
    /// How the sender shows the receiver's camera video on this link: the tile's size in
    /// device pixels (CSS size × `devicePixelRatio`) and whether it is shown at all (a
    /// hidden page or a tile off the stage is not). Sent when it changes (debounced) and
    /// when the channel opens; the receiver's adaptation controller sends no more pixels
    /// than this, and no video at all while it is not visible.
    ViewHint {
        width: u32,
        height: u32,
        visible: bool,
    },
}

/// Largest tile side a [`PeerMsg::ViewHint`] may name, in device pixels (an 8K screen).
pub const MAX_VIEW_SIDE: u32 = 8192;

/// Why a peer message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMsgError {
    TooLarge(usize),
    Malformed(String),
    /// Valid JSON, but a chat message that breaks the rules (empty, too long).
    Invalid(&'static str),
}

/// For the log: what was wrong (written by hand, not `Debug`, which would bring
/// string escaping into the app's wasm).
impl std::fmt::Display for PeerMsgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerMsgError::TooLarge(n) => write!(f, "{n} bytes, over {MAX_PEER_MSG_BYTES}"),
            PeerMsgError::Malformed(e) => write!(f, "malformed: {e}"),
            PeerMsgError::Invalid(why) => f.write_str(why),
        }
    }
}

impl PeerMsg {
    pub fn parse(text: &str) -> Result<PeerMsg, PeerMsgError> {
        if text.len() > MAX_PEER_MSG_BYTES {
            return Err(PeerMsgError::TooLarge(text.len()));
        }
        let msg = PeerMsg::read(text).map_err(|e| PeerMsgError::Malformed(e.to_string()))?;
        msg.validate()?;
        Ok(msg)
    }

    /// Read by hand through a `serde_json::Value` as the derived `Deserialize` reads it
    /// (tested against it), but without a derived deserializer in the app's wasm (see
    /// `crate::json`).
    fn read(text: &str) -> Result<PeerMsg, serde_json::Error> {
        let v: Value = serde_json::from_str(text)?;
        let v = &v;
        Ok(match json::string(v, "type")?.as_str() {
            "chat" => PeerMsg::Chat {
                text: json::string(v, "text")?,
                sent_at: json::u64(v, "sent_at")?,
            },
            "screen" => PeerMsg::Screen {
                stream: json::opt_str(v, "stream")?,
            },
            "view_hint" => PeerMsg::ViewHint {
                width: json::u32(v, "width")?,
                height: json::u32(v, "height")?,
                visible: json::bool(v, "visible")?,
            },
            other => {
                let known = &["chat", "screen", "view_hint"];
                return Err(serde::de::Error::unknown_variant(other, known));
            }
        })
    }

    pub fn to_json(&self) -> String {
        // Plain data; serializing cannot fail.
        serde_json::to_string(self).expect("PeerMsg serializes")
    }

    fn validate(&self) -> Result<(), PeerMsgError> {
        match self {
            PeerMsg::Chat { text, .. } => chat_text(text).map(drop),
            PeerMsg::Screen { stream } => match stream {
                Some(id) if id.is_empty() || id.len() > 128 => {
                    Err(PeerMsgError::Invalid("bad stream id"))
                }
                _ => Ok(()),
            },
            PeerMsg::ViewHint { width, height, .. } => {
                if *width > MAX_VIEW_SIDE || *height > MAX_VIEW_SIDE {
                    Err(PeerMsgError::Invalid("view hint too large"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The hint to send for how we show the remote's video.
    pub fn view_hint(hint: ReceiverHint) -> PeerMsg {
        match hint {
            ReceiverHint::Shown(size) => PeerMsg::ViewHint {
                width: size.width.min(MAX_VIEW_SIDE),
                height: size.height.min(MAX_VIEW_SIDE),
                visible: true,
            },
            ReceiverHint::Hidden => PeerMsg::ViewHint {
                width: 0,
                height: 0,
                visible: false,
            },
        }
    }

    /// A [`PeerMsg::ViewHint`] as the controller's [`ReceiverHint`] (a visible tile of
    /// no size is hidden); `None` for other messages.
    pub fn receiver_hint(&self) -> Option<ReceiverHint> {
        match *self {
            PeerMsg::ViewHint {
                width,
                height,
                visible,
            } => Some(if visible && width > 0 && height > 0 {
                ReceiverHint::Shown(Resolution::new(width, height))
            } else {
                ReceiverHint::Hidden
            }),
            _ => None,
        }
    }
}

/// The text of a chat message as it will be sent: trimmed, not empty, not too long.
pub fn chat_text(raw: &str) -> Result<&str, PeerMsgError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(PeerMsgError::Invalid("empty message"));
    }
    if text.chars().count() > MAX_CHAT_CHARS {
        return Err(PeerMsgError::Invalid("message too long"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_by_hand_agrees_with_the_derived_internally_tagged_reader() {
        for text in [
            r#"{"type":"chat","text":"hi","sent_at":5}"#,
            r#"{"type":"chat","text":"hi"}"#,
            r#"{"type":"chat","text":"hi","sent_at":-1}"#,
            r#"{"type":"screen","stream":"s","extra":1}"#,
            r#"{"type":"screen","stream":null}"#,
            r#"{"type":"screen"}"#,
            r#"{"type":"screen","stream":3}"#,
            r#"{"type":"view_hint","width":640,"height":360,"visible":true}"#,
            r#"{"type":"view_hint","width":4294967296,"height":360,"visible":true}"#,
            r#"{"type":"view_hint","width":640,"height":360}"#,
            r#"{"type":"wave"}"#,
            r#"{"text":"hi"}"#,
            r#"{"type":"chat","text":"hi","sent_at":5} x"#,
            "[]",
            "",
        ] {
            assert_eq!(
                PeerMsg::read(text).ok(),
                serde_json::from_str::<PeerMsg>(text).ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn chat_round_trips() {
        let m = PeerMsg::Chat {
            text: "hello <b>there</b>".into(),
            sent_at: 1_700_000_000_000,
        };
        assert_eq!(PeerMsg::parse(&m.to_json()).unwrap(), m);
        assert_eq!(
            m.to_json(),
            r#"{"type":"chat","text":"hello <b>there</b>","sent_at":1700000000000}"#
        );
    }

    #[test]
    fn screen_round_trips() {
        let m = PeerMsg::Screen {
            stream: Some("{a1b2}".into()),
        };
        assert_eq!(m.to_json(), r#"{"type":"screen","stream":"{a1b2}"}"#);
        assert_eq!(PeerMsg::parse(&m.to_json()).unwrap(), m);
        let off = PeerMsg::Screen { stream: None };
        assert_eq!(
            PeerMsg::parse(r#"{"type":"screen","stream":null}"#).unwrap(),
            off
        );
        assert!(PeerMsg::parse(r#"{"type":"screen","stream":""}"#).is_err());
    }

    #[test]
    fn view_hint_round_trips_and_maps_to_the_controller() {
        let shown = PeerMsg::view_hint(ReceiverHint::Shown(Resolution::new(640, 360)));
        assert_eq!(
            shown.to_json(),
            r#"{"type":"view_hint","width":640,"height":360,"visible":true}"#
        );
        assert_eq!(PeerMsg::parse(&shown.to_json()).unwrap(), shown);
        assert_eq!(
            shown.receiver_hint(),
            Some(ReceiverHint::Shown(Resolution::new(640, 360)))
        );
        let hidden = PeerMsg::view_hint(ReceiverHint::Hidden);
        assert_eq!(PeerMsg::parse(&hidden.to_json()).unwrap(), hidden);
        assert_eq!(hidden.receiver_hint(), Some(ReceiverHint::Hidden));
        // Visible but of no size reads as hidden.
        let empty = PeerMsg::parse(r#"{"type":"view_hint","width":0,"height":90,"visible":true}"#);
        assert_eq!(empty.unwrap().receiver_hint(), Some(ReceiverHint::Hidden));
        let chat = PeerMsg::Chat {
            text: "hi".into(),
            sent_at: 1,
        };
        assert_eq!(chat.receiver_hint(), None);
    }

    #[test]
    fn bad_view_hints_are_refused() {
        assert!(matches!(
            PeerMsg::parse(r#"{"type":"view_hint","width":9000,"height":90,"visible":true}"#),
            Err(PeerMsgError::Invalid(_))
        ));
        assert!(matches!(
            PeerMsg::parse(r#"{"type":"view_hint","width":-1,"height":90,"visible":true}"#),
            Err(PeerMsgError::Malformed(_))
        ));
        assert!(matches!(
            PeerMsg::parse(r#"{"type":"view_hint","width":10,"height":90}"#),
            Err(PeerMsgError::Malformed(_))
        ));
        // Sending clamps rather than producing a message the other side refuses.
        let huge = PeerMsg::view_hint(ReceiverHint::Shown(Resolution::new(20_000, 100)));
        assert!(PeerMsg::parse(&huge.to_json()).is_ok());
    }

    #[test]
    fn bad_peer_messages_are_refused() {
        assert!(matches!(
            PeerMsg::parse("nope"),
            Err(PeerMsgError::Malformed(_))
        ));
        assert!(matches!(
            PeerMsg::parse(r#"{"type":"chat","text":"  ","sent_at":1}"#),
            Err(PeerMsgError::Invalid(_))
        ));
        let long = format!(
            r#"{{"type":"chat","text":"{}","sent_at":1}}"#,
            "x".repeat(MAX_CHAT_CHARS + 1)
        );
        assert!(matches!(
            PeerMsg::parse(&long),
            Err(PeerMsgError::Invalid(_))
        ));
        let huge = "x".repeat(MAX_PEER_MSG_BYTES + 1);
        assert!(matches!(
            PeerMsg::parse(&huge),
            Err(PeerMsgError::TooLarge(_))
        ));
    }
}
