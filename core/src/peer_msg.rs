//! Messages between two participants over their link's data channel. They go browser
//! to browser, never through the server: chat text and per-link hints stay between
//! the two people concerned.

use serde::{Deserialize, Serialize};

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
}

/// Why a peer message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMsgError {
    TooLarge(usize),
    Malformed(String),
    /// Valid JSON, but a chat message that breaks the rules (empty, too long).
    Invalid(&'static str),
}

impl PeerMsg {
    pub fn parse(text: &str) -> Result<PeerMsg, PeerMsgError> {
        if text.len() > MAX_PEER_MSG_BYTES {
            return Err(PeerMsgError::TooLarge(text.len()));
        }
        let msg: PeerMsg =
            serde_json::from_str(text).map_err(|e| PeerMsgError::Malformed(e.to_string()))?;
        msg.validate()?;
        Ok(msg)
    }

    pub fn to_json(&self) -> String {
        // Plain data; serializing cannot fail.
        serde_json::to_string(self).expect("PeerMsg serializes")
    }

    fn validate(&self) -> Result<(), PeerMsgError> {
        match self {
            PeerMsg::Chat { text, .. } => chat_text(text).map(drop),
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
