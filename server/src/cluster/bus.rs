//! What nodes tell each other over Redis pub/sub, and its bytes.
//!
//! Each node listens on one channel ([`channel`]). A participant's WebSocket ends at
//! one node (its *edge*); its room lives on one node (the room's *home*). When the two
//! differ, the edge forwards the socket's frames to the home, which runs the very
//! same connection logic as for a local socket, and the home's frames come back the
//! same way. A connection is named by its edge node and the edge's number for it.
//!
//! The encoding is a few length-prefixed fields, not JSON: most payloads are already
//! JSON text, which a JSON envelope would escape a second time.

use std::net::IpAddr;

use axum::extract::ws::{CloseFrame, Message};

/// The channel every node listens on, for news about rooms.
pub const ROOMS_CHANNEL: &str = "nonstop:rooms";

/// The pub/sub channel a node listens on.
pub fn channel(node: &str) -> String {
    format!("nonstop:node:{node}")
}

/// One connection, cluster-wide: the node its WebSocket is on, and that node's number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnKey {
    pub edge: String,
    pub n: u64,
}

/// One message on a node's channel.
#[derive(Debug, PartialEq)]
pub enum Envelope {
    /// Edge → home: a socket opened; its client is at `peer`.
    Open { conn: ConnKey, peer: IpAddr },
    /// Edge → home: a frame from the client.
    FromClient { conn: ConnKey, frame: Message },
    /// Edge → home: the client's socket ended without a close frame.
    Gone { conn: ConnKey },
    /// Home → edge: a frame for the client.
    ToClient { n: u64, frame: Message },
    /// Home → edge: the home's side of the connection has ended.
    End { n: u64 },
    /// Node `from` → all ([`ROOMS_CHANNEL`]): the rooms API changed or deleted `room`.
    RoomChanged {
        from: String,
        room: String,
        deleted: bool,
    },
}

const OPEN: u8 = 1;
const FROM_CLIENT: u8 = 2;
const GONE: u8 = 3;
const TO_CLIENT: u8 = 4;
const END: u8 = 5;
const ROOM_CHANGED: u8 = 6;

const TEXT: u8 = 1;
const BINARY: u8 = 2;
const PING: u8 = 3;
const PONG: u8 = 4;
const CLOSE: u8 = 5;
const CLOSE_EMPTY: u8 = 6;

impl Envelope {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            Envelope::Open { conn, peer } => {
                out.push(OPEN);
                put_conn(&mut out, conn);
                put_str(&mut out, &peer.to_string());
            }
            Envelope::FromClient { conn, frame } => {
                out.push(FROM_CLIENT);
                put_conn(&mut out, conn);
                put_frame(&mut out, frame);
            }
            Envelope::Gone { conn } => {
                out.push(GONE);
                put_conn(&mut out, conn);
            }
            Envelope::ToClient { n, frame } => {
                out.push(TO_CLIENT);
                out.extend_from_slice(&n.to_be_bytes());
                put_frame(&mut out, frame);
            }
            Envelope::End { n } => {
                out.push(END);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Envelope::RoomChanged {
                from,
                room,
                deleted,
            } => {
                out.push(ROOM_CHANGED);
                put_str(&mut out, from);
                put_str(&mut out, room);
                out.push(u8::from(*deleted));
            }
        }
        out
    }

    /// `None` for bytes no node of this version wrote.
    pub fn decode(bytes: &[u8]) -> Option<Envelope> {
        let mut r = Reader(bytes);
        let envelope = match r.u8()? {
            OPEN => Envelope::Open {
                conn: r.conn()?,
                peer: r.str()?.parse().ok()?,
            },
            FROM_CLIENT => Envelope::FromClient {
                conn: r.conn()?,
                frame: r.frame()?,
            },
            GONE => Envelope::Gone { conn: r.conn()? },
            TO_CLIENT => Envelope::ToClient {
                n: r.u64()?,
                frame: r.frame()?,
            },
            END => Envelope::End { n: r.u64()? },
            ROOM_CHANGED => Envelope::RoomChanged {
                from: r.str()?.to_owned(),
                room: r.str()?.to_owned(),
                deleted: match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return None,
                },
            },
            _ => return None,
        };
        r.0.is_empty().then_some(envelope)
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Node ids, room names and addresses: all far below 4 GiB.
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_conn(out: &mut Vec<u8>, conn: &ConnKey) {
    put_str(out, &conn.edge);
    out.extend_from_slice(&conn.n.to_be_bytes());
}

/// The frame's kind, then its payload to the end of the message.
fn put_frame(out: &mut Vec<u8>, frame: &Message) {
    match frame {
        Message::Text(text) => {
            out.push(TEXT);
            out.extend_from_slice(text.as_bytes());
        }
        Message::Binary(bytes) => {
            out.push(BINARY);
            out.extend_from_slice(bytes);
        }
        Message::Ping(bytes) => {
            out.push(PING);
            out.extend_from_slice(bytes);
        }
        Message::Pong(bytes) => {
            out.push(PONG);
            out.extend_from_slice(bytes);
        }
        Message::Close(Some(CloseFrame { code, reason })) => {
            out.push(CLOSE);
            out.extend_from_slice(&code.to_be_bytes());
            out.extend_from_slice(reason.as_bytes());
        }
        Message::Close(None) => out.push(CLOSE_EMPTY),
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }

    fn conn(&mut self) -> Option<ConnKey> {
        Some(ConnKey {
            edge: self.str()?.to_owned(),
            n: self.u64()?,
        })
    }

    /// The rest of the message as one frame.
    fn frame(&mut self) -> Option<Message> {
        let kind = self.u8()?;
        let rest = std::mem::take(&mut self.0);
        Some(match kind {
            TEXT => Message::Text(std::str::from_utf8(rest).ok()?.into()),
            BINARY => Message::Binary(rest.to_vec().into()),
            PING => Message::Ping(rest.to_vec().into()),
            PONG => Message::Pong(rest.to_vec().into()),
            CLOSE => {
                let code = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?);
                let reason = std::str::from_utf8(&rest[2..]).ok()?;
                Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))
            }
            CLOSE_EMPTY if rest.is_empty() => Message::Close(None),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> ConnKey {
        ConnKey {
            edge: "node-a1b2".into(),
            n: 42,
        }
    }

    #[test]
    fn every_envelope_reads_back_as_written() {
        let frames = [
            Message::Text(r#"{"type":"pong"}"#.into()),
            Message::Text("".into()),
            Message::Binary(vec![0, 255, 7].into()),
            Message::Ping(vec![1].into()),
            Message::Pong(vec![].into()),
            Message::Close(Some(CloseFrame {
                code: 1001,
                reason: "server shutting down".into(),
            })),
            Message::Close(None),
        ];
        let mut all = vec![
            Envelope::Open {
                conn: conn(),
                peer: "2001:db8::7".parse().unwrap(),
            },
            Envelope::Gone { conn: conn() },
            Envelope::End { n: u64::MAX },
            Envelope::RoomChanged {
                from: "node-a1b2".into(),
                room: "calm-otter".into(),
                deleted: true,
            },
        ];
        for frame in frames {
            all.push(Envelope::FromClient {
                conn: conn(),
                frame: frame.clone(),
            });
            all.push(Envelope::ToClient { n: 7, frame });
        }
        for envelope in all {
            assert_eq!(Envelope::decode(&envelope.encode()), Some(envelope));
        }
    }

    #[test]
    fn bytes_no_node_wrote_are_refused() {
        assert_eq!(Envelope::decode(b""), None);
        assert_eq!(Envelope::decode(&[99]), None);
        let good = Envelope::Gone { conn: conn() }.encode();
        // Cut short, or with bytes left over.
        assert_eq!(Envelope::decode(&good[..good.len() - 1]), None);
        let mut long = good.clone();
        long.push(0);
        assert_eq!(Envelope::decode(&long), None);
        // A text frame that is not UTF-8.
        let mut bad = Envelope::ToClient {
            n: 1,
            frame: Message::Text("x".into()),
        }
        .encode();
        *bad.last_mut().unwrap() = 0xff;
        assert_eq!(Envelope::decode(&bad), None);
    }
}
