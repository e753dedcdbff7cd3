//! The two wire protocols the generator speaks: Nonstop's (`docs/protocol.md`) and
//! the PeerJS server's (npm `peer`: `/peerjs?key=..&id=..&token=..`, messages
//! `{type, dst, payload}` passed on as they are with `src` added).

use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// nonstop-server: `/ws`, `join` then `offer`/`answer`/`candidate` with `to`.
    Nonstop,
    /// PeerJS server (npm `peer`): ids chosen by the client, `OFFER`/`ANSWER`/`CANDIDATE` with `dst`.
    Peerjs,
}

/// What a client got from the server, as far as the load test cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// The server accepted us: Nonstop's `welcome` (with our id) or PeerJS's `OPEN`.
    Ready(Option<String>),
    /// A heartbeat to answer (Nonstop's `ping`).
    Ping,
    Offer {
        from: String,
        stamp: Option<u64>,
    },
    Answer {
        from: String,
        stamp: Option<u64>,
    },
    Candidate {
        from: String,
        stamp: Option<u64>,
    },
    /// The server refused something: the error's code or text.
    Error(String),
    /// Anything else (`joined`, `session`, `left`, ...).
    Other,
}

impl Target {
    /// The WebSocket URL for a client with `id` (PeerJS only; Nonstop assigns ids).
    pub fn url(self, addr: &str, id: &str) -> String {
        match self {
            Target::Nonstop => format!("ws://{addr}/ws"),
            Target::Peerjs => format!("ws://{addr}/peerjs?key=peerjs&id={id}&token=t{id}"),
        }
    }

    /// The first message after connecting, if the protocol has one.
    pub fn join(self, room: &str, name: &str) -> Option<String> {
        match self {
            Target::Nonstop => Some(
                json!({"type": "join", "protocol": 1, "room": room, "name": name,
                       "media": {"audio": true, "video": true}})
                .to_string(),
            ),
            Target::Peerjs => None,
        }
    }

    /// The answer to [`Incoming::Ping`]; for PeerJS, the heartbeat its client sends
    /// every 5 s on its own.
    pub fn heartbeat(self) -> &'static str {
        match self {
            Target::Nonstop => r#"{"type":"pong"}"#,
            Target::Peerjs => r#"{"type":"HEARTBEAT"}"#,
        }
    }

    /// Whether the client must send [`Target::heartbeat`] unprompted.
    pub fn client_heartbeats(self) -> bool {
        self == Target::Peerjs
    }

    pub fn offer(self, to: &str, sdp: String) -> String {
        self.description(to, "offer", sdp)
    }

    pub fn answer(self, to: &str, sdp: String) -> String {
        self.description(to, "answer", sdp)
    }

    fn description(self, to: &str, kind: &str, sdp: String) -> String {
        match self {
            Target::Nonstop => json!({"type": kind, "to": nonstop_id(to), "sdp": sdp}).to_string(),
            // What the PeerJS browser client sends for a media connection.
            Target::Peerjs => json!({
                "type": kind.to_ascii_uppercase(),
                "dst": to,
                "payload": {"sdp": {"type": kind, "sdp": sdp}, "type": "media",
                            "connectionId": "mc_load", "browser": "chrome"}
            })
            .to_string(),
        }
    }

    pub fn candidate(self, to: &str, candidate: String) -> String {
        let init = json!({"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0});
        match self {
            Target::Nonstop => {
                json!({"type": "candidate", "to": nonstop_id(to), "candidate": init}).to_string()
            }
            Target::Peerjs => json!({
                "type": "CANDIDATE", "dst": to,
                "payload": {"candidate": init, "type": "media", "connectionId": "mc_load"}
            })
            .to_string(),
        }
    }

    pub fn parse(self, text: &str) -> Incoming {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return Incoming::Error(format!("unparsable: {:.80}", text));
        };
        let kind = msg["type"].as_str().unwrap_or_default();
        match self {
            Target::Nonstop => {
                let from = || {
                    msg["from"]
                        .as_u64()
                        .map(|f| f.to_string())
                        .unwrap_or_default()
                };
                match kind {
                    "welcome" => Incoming::Ready(msg["you"].as_u64().map(|id| id.to_string())),
                    "ping" => Incoming::Ping,
                    "offer" => Incoming::Offer {
                        from: from(),
                        stamp: msg["sdp"].as_str().and_then(crate::sdp::stamp),
                    },
                    "answer" => Incoming::Answer {
                        from: from(),
                        stamp: msg["sdp"].as_str().and_then(crate::sdp::stamp),
                    },
                    "candidate" => Incoming::Candidate {
                        from: from(),
                        stamp: msg["candidate"]["candidate"]
                            .as_str()
                            .and_then(crate::sdp::stamp),
                    },
                    "error" => Incoming::Error(msg["code"].as_str().unwrap_or("?").to_owned()),
                    _ => Incoming::Other,
                }
            }
            Target::Peerjs => {
                let from = || msg["src"].as_str().unwrap_or_default().to_owned();
                let payload = &msg["payload"];
                match kind {
                    "OPEN" => Incoming::Ready(None),
                    "OFFER" => Incoming::Offer {
                        from: from(),
                        stamp: payload["sdp"]["sdp"].as_str().and_then(crate::sdp::stamp),
                    },
                    "ANSWER" => Incoming::Answer {
                        from: from(),
                        stamp: payload["sdp"]["sdp"].as_str().and_then(crate::sdp::stamp),
                    },
                    "CANDIDATE" => Incoming::Candidate {
                        from: from(),
                        stamp: payload["candidate"]["candidate"]
                            .as_str()
                            .and_then(crate::sdp::stamp),
                    },
                    "ERROR" | "ID-TAKEN" | "INVALID-KEY" | "EXPIRE" => Incoming::Error(format!(
                        "{kind}: {}",
                        payload["msg"].as_str().unwrap_or_default()
                    )),
                    _ => Incoming::Other,
                }
            }
        }
    }
}

/// Nonstop ids are numbers on the wire.
fn nonstop_id(id: &str) -> Value {
    id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each server would relay: the sent message with the sender stamped in.
    fn relayed(target: Target, sent: &str, from: &str) -> String {
        let mut msg: Value = serde_json::from_str(sent).unwrap();
        match target {
            Target::Nonstop => {
                msg.as_object_mut().unwrap().remove("to");
                msg["from"] = json!(from.parse::<u64>().unwrap());
            }
            Target::Peerjs => msg["src"] = json!(from),
        }
        msg.to_string()
    }

    #[test]
    fn stamps_survive_the_round_trip_in_both_protocols() {
        for target in [Target::Nonstop, Target::Peerjs] {
            let offer = relayed(target, &target.offer("7", crate::sdp::sdp(11)), "3");
            assert_eq!(
                target.parse(&offer),
                Incoming::Offer {
                    from: "3".into(),
                    stamp: Some(11)
                },
                "{target:?}"
            );
            let answer = relayed(target, &target.answer("3", crate::sdp::sdp(12)), "7");
            assert_eq!(
                target.parse(&answer),
                Incoming::Answer {
                    from: "7".into(),
                    stamp: Some(12)
                }
            );
            let cand = relayed(
                target,
                &target.candidate("3", crate::sdp::candidate(13, 1)),
                "7",
            );
            assert_eq!(
                target.parse(&cand),
                Incoming::Candidate {
                    from: "7".into(),
                    stamp: Some(13)
                }
            );
        }
    }

    #[test]
    fn nonstop_messages_parse_with_the_core_types() {
        // The generator builds JSON by hand; the server must accept it as a real client's.
        use nonstop_core::protocol::ClientMsg;
        let t = Target::Nonstop;
        for msg in [
            t.join("load-00001", "l1").unwrap(),
            t.offer("5", crate::sdp::sdp(1)),
            t.answer("5", crate::sdp::sdp(2)),
            t.candidate("5", crate::sdp::candidate(3, 0)),
            t.heartbeat().to_owned(),
        ] {
            assert!(ClientMsg::parse(&msg).is_ok(), "{msg}");
        }
    }
}
