//! A connection forwarded by another node (its edge), served here, its room's home.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ws::Message;
use futures_util::{sink, stream};
use tokio::sync::mpsc;

use super::bus::{ConnKey, Envelope};
use super::{Cluster, Serving};

/// Serves the connection `conn` from `peer`, whose client frames arrive on
/// `from_client`. Its `join` or `resume` is checked like a local one's: if this node is
/// not (any more) the room's home, the client is told to come back, and its edge then
/// sends it to the right one.
pub async fn serve(
    cluster: Arc<Cluster>,
    serving: Serving,
    conn: ConnKey,
    peer: IpAddr,
    from_client: mpsc::Receiver<Message>,
) {
    let edge = conn.edge.clone();
    let n = conn.n;
    let frames = stream::unfold(from_client, |mut rx| async move {
        rx.recv()
            .await
            .map(|frame| (Ok::<_, Infallible>(frame), rx))
    });
    // A frame nobody received (the edge died, or lost its subscription) ends the
    // connection, as a failed write to a local socket does: the seat is held for a
    // resume, rather than the client missing messages and never knowing.
    let to_edge = sink::unfold(
        (cluster.clone(), edge.clone()),
        move |(cluster, edge), frame: Message| async move {
            let heard = cluster
                .publish(&edge, &Envelope::ToClient { n, frame })
                .await
                .map_err(|e| e.to_string())?;
            if heard == 0 {
                return Err(format!("node {edge} does not hear its channel"));
            }
            Ok::<_, String>((cluster, edge))
        },
    );
    serving.run(Box::pin(to_edge), Box::pin(frames), peer).await;
    cluster.drop_route(&conn);
    let _ = cluster.publish(&edge, &Envelope::End { n }).await;
}
