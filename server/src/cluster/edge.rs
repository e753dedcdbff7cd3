//! A WebSocket on this node, for a room whose home may be another node.
//!
//! The socket's first text frame says which room it is for (`join` or `resume` both
//! name it). If this node is that room's home, or the frame names no valid room (the
//! local connection then answers with the usual error), the socket is served here.
//! Otherwise its frames are forwarded to the home and the home's back to it.

use std::error::Error;
use std::fmt::Display;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ws::{close_code, CloseFrame, Message};
use futures_util::{stream, Sink, SinkExt, Stream, StreamExt};
use nonstop_core::names::RoomName;
use nonstop_core::protocol::ClientMsg;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::bus::Envelope;
use super::{Cluster, Serving};

/// Frames read before the first text frame, at most; a client that sends more is
/// served here, where the usual checks deal with it.
const MAX_EARLY_FRAMES: usize = 8;

/// Serves one WebSocket from `peer`, here or through the room's home.
pub async fn serve<W, R, E>(
    cluster: Arc<Cluster>,
    serving: Serving,
    mut sink: W,
    mut from_client: R,
    peer: IpAddr,
) where
    W: Sink<Message> + Send + Unpin + 'static,
    W::Error: Display,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: Error + 'static,
{
    let mut early = Vec::new();
    let first_text = timeout(serving.settings.join_timeout, async {
        while early.len() < MAX_EARLY_FRAMES {
            match from_client.next().await {
                Some(Ok(frame)) => {
                    let room = room_of(&frame);
                    let text = matches!(frame, Message::Text(_));
                    early.push(frame);
                    if text {
                        return room;
                    }
                }
                // Gone before saying anything: nothing to serve.
                Some(Err(_)) | None => return None,
            }
        }
        None
    })
    .await;
    let Ok(room) = first_text else {
        // As a local connection does: the deadline is not restarted by passing it on.
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: close_code::POLICY,
                reason: "no join in time".into(),
            })))
            .await;
        return;
    };

    let home = match &room {
        Some(room) => match cluster.home_of(room.as_str()).await {
            Ok(home) => Some(home),
            Err(e) => {
                warn!(error = %e, "cluster: cannot look up a room's home; the client is asked to come back");
                go_away(&mut sink).await;
                return;
            }
        },
        None => None,
    };
    let replay = stream::iter(early.into_iter().map(Ok));
    match (room, home) {
        // Its answers would come over this node's channel, which is not heard now (the
        // subscription is being made again): the client comes back in a moment.
        (Some(_), Some(home)) if home != cluster.node && !cluster.is_listening() => {
            debug!("cluster: not listening on this node's channel; the client comes back");
            go_away(&mut sink).await;
        }
        (Some(room), Some(home)) if home != cluster.node => {
            let shutdown = serving.shutdown.clone();
            let to = Home { room, node: home };
            forward(cluster, sink, replay.chain(from_client), peer, to, shutdown).await;
        }
        _ => serving.run(sink, replay.chain(from_client), peer).await,
    }
}

/// The room a frame's `join` or `resume` names, if valid.
fn room_of(frame: &Message) -> Option<RoomName> {
    let Message::Text(text) = frame else {
        return None;
    };
    match ClientMsg::parse(text.as_str()).ok()? {
        ClientMsg::Join { room, .. } | ClientMsg::Resume { room, .. } => {
            RoomName::parse(&room).ok()
        }
        _ => None,
    }
}

/// A room and the node that is its home.
struct Home {
    room: RoomName,
    node: String,
}

/// Pumps frames between the client and the room's home until either side ends, or
/// this node shuts down (the client then resumes through another node).
async fn forward<W, R, E>(
    cluster: Arc<Cluster>,
    mut sink: W,
    mut from_client: R,
    peer: IpAddr,
    Home { room, node: home }: Home,
    shutdown: CancellationToken,
) where
    W: Sink<Message> + Send + Unpin + 'static,
    W::Error: Display,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: Error + 'static,
{
    let conn = cluster.next_key();
    let mut from_home = cluster.add_route(conn.clone());
    let opened = Envelope::Open {
        conn: conn.clone(),
        peer,
    };
    debug!(room = %room, home = %home, n = conn.n, "cluster: forwarding a socket to the room's home");
    if !delivered(&cluster, &home, &opened).await {
        cluster.drop_route(&conn);
        go_away(&mut sink).await;
        return;
    }
    // A home that dies says nothing: its heartbeats stop.
    let mut check_home = tokio::time::interval_at(
        tokio::time::Instant::now() + super::HEARTBEAT,
        super::HEARTBEAT,
    );
    // Whether the client's side is still open when the home's side ends.
    let client_open = loop {
        tokio::select! {
            _ = check_home.tick() => {
                if !cluster.home_alive(&home).await {
                    debug!(home = %home, "cluster: the room's home died; the client comes back");
                    break true;
                }
            }
            frame = from_client.next() => match frame {
                Some(Ok(frame)) => {
                    let closing = matches!(frame, Message::Close(_));
                    let sent = Envelope::FromClient { conn: conn.clone(), frame };
                    if !delivered(&cluster, &home, &sent).await {
                        break !closing;
                    }
                    if closing {
                        break false;
                    }
                }
                Some(Err(_)) | None => {
                    let _ = cluster.publish(&home, &Envelope::Gone { conn: conn.clone() }).await;
                    break false;
                }
            },
            frame = from_home.recv() => match frame {
                Some(frame) => {
                    let closing = matches!(frame, Message::Close(_));
                    if sink.send(frame).await.is_err() {
                        let _ = cluster.publish(&home, &Envelope::Gone { conn: conn.clone() }).await;
                        break false;
                    }
                    if closing {
                        break false;
                    }
                }
                // The home ended its side without a close frame, or it (or this node's
                // subscription) was lost.
                None => break true,
            },
            () = shutdown.cancelled() => {
                // The seat is kept for the resume through another node.
                let _ = cluster.publish(&home, &Envelope::Gone { conn: conn.clone() }).await;
                break true;
            }
        }
    };
    cluster.drop_route(&conn);
    if client_open {
        go_away(&mut sink).await;
    }
}

/// Publishes to `home`; false if the home did not hear it (then it is gone).
async fn delivered(cluster: &Cluster, home: &str, envelope: &Envelope) -> bool {
    match cluster.publish(home, envelope).await {
        Ok(0) => {
            debug!(home = %home, "cluster: the room's home is not listening");
            false
        }
        Ok(_) => true,
        Err(e) => {
            warn!(error = %e, "cluster: cannot forward to the room's home");
            false
        }
    }
}

/// Tells the client to come back shortly and closes the socket.
async fn go_away<W>(sink: &mut W)
where
    W: Sink<Message> + Unpin,
{
    for frame in super::come_back_frames() {
        let _ = sink.send(frame).await;
    }
}
