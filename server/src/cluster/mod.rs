//! Several signaling nodes sharing rooms through Redis (`--redis-url`).
//!
//! Each room lives on one node at a time, its *home*: that node's [`Hub`] holds the
//! room exactly as a single server does, so the room keeps one order of events, one
//! capacity count and one topology decision, with no distributed locking inside the
//! call. Redis holds what the nodes must agree on:
//! - which nodes are alive (`nonstop:nodes`, a sorted set of last heartbeats, by
//!   Redis's own clock so nodes' clocks do not matter);
//! - each room's home (`nonstop:room:<name>`, a lease its home renews each heartbeat).
//!   Claiming it is one script ([`placement`]), so two nodes can never both be home
//!   of one room: two nodes admitting the 200th participant at once are admitting
//!   into one and the same `Rooms`;
//! - the session secret, when none is configured, so a resume token issued by one
//!   node is good on every other.
//!
//! A participant's WebSocket lands on any node (its *edge*, [`edge`]). If the edge is
//! the room's home the socket is served there; otherwise its frames go to the home
//! over pub/sub ([`bus`]) and the home serves it ([`home`]) with the same
//! `connection::run` as a local socket.
//!
//! Failures: a node that stops heartbeating is taken for dead after
//! [`ALIVE_WINDOW`]. Its rooms are claimed again by the node the next joiner or
//! resumer lands on, and the sockets it served elsewhere end, so their clients resume
//! (the resume token carries who they were; the new home re-admits them like a
//! restarted server does). The connections a dead edge forwarded end too, and their
//! seats are held for a resume through another node.

pub mod bus;
pub mod edge;
pub mod home;
pub mod placement;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use std::error::Error;
use std::fmt::Display;
use std::net::IpAddr;

use axum::extract::ws::{close_code, CloseFrame, Message};
use futures_util::{Sink, Stream, StreamExt};
use nonstop_core::names::RoomName;
use nonstop_core::protocol::ServerMsg;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::Settings;
use crate::connection;
use crate::hub::Hub;
use bus::{ConnKey, Envelope};

/// How often a node renews its heartbeat and its rooms' leases.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A node whose last heartbeat is older than this is taken for dead.
pub const ALIVE_WINDOW: Duration = Duration::from_secs(3);
/// A node that has not heartbeated for this long lets its rooms go (fences itself):
/// the others took it for dead long ago and may have claimed them, and a call must not
/// go on in two copies. Longer than [`ALIVE_WINDOW`] so that Redis restarting (a few
/// seconds) disturbs no call: while nobody reaches Redis, nobody can claim anything.
pub const FENCE_AFTER: Duration = Duration::from_secs(10);
/// Longest wait for one answer from Redis.
const REDIS_TIMEOUT: Duration = Duration::from_secs(3);
/// Frames queued towards one forwarded connection before it is taken for stuck.
const ROUTE_QUEUE: usize = 256;

/// What serving a WebSocket needs, on whichever node serves it.
#[derive(Clone)]
pub struct Serving {
    pub hub: Arc<Hub>,
    pub settings: Arc<Settings>,
    pub shutdown: CancellationToken,
    pub connections: TaskTracker,
}

impl Serving {
    /// Serves one socket here until it ends (`connection::run`).
    pub async fn run<W, R, E>(self, sink: W, frames: R, peer: IpAddr)
    where
        W: Sink<Message> + Send + Unpin + 'static,
        W::Error: Display,
        R: Stream<Item = Result<Message, E>> + Unpin,
        E: Error + 'static,
    {
        connection::run(sink, frames, self.hub, self.settings, self.shutdown, peer).await;
    }
}

/// What tells a client to come back shortly (it resumes, or joins again) as a stopping
/// server does: `going_away`, then a 1001 close.
pub fn come_back_frames() -> [Message; 2] {
    [
        Message::Text(ServerMsg::going_away().to_json().into()),
        Message::Close(Some(CloseFrame {
            code: close_code::AWAY,
            reason: MOVED.into(),
        })),
    ]
}

/// The close reason of a socket told to come back because its room lives elsewhere.
pub const MOVED: &str = "the room moved to another node";

/// This node's part in the cluster.
pub struct Cluster {
    node: String,
    client: redis::Client,
    redis: ConnectionManager,
    /// Forwarded connections this node has a side of: on an edge, frames for its
    /// client (key: this node and its number); on a home, frames from the client.
    /// Dropping a sender ends that side.
    routes: Mutex<HashMap<ConnKey, mpsc::Sender<Message>>>,
    /// Nodes alive at the last heartbeat.
    live: Mutex<HashSet<String>>,
    next_conn: AtomicU64,
    /// This node hears its channel now: what other nodes send it arrives. While not,
    /// it forwards no new socket (the home's answers would be lost).
    listening: AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node", &self.node).finish()
    }
}

impl Cluster {
    /// Connects to Redis at `url` as a new node with a random id, and announces it.
    pub async fn connect(url: &str) -> Result<Arc<Cluster>, String> {
        let shown = url.split('@').next_back().unwrap_or("");
        let unreachable = |e: redis::RedisError| format!("cannot reach Redis at {shown}: {e}");
        let client = redis::Client::open(url).map_err(unreachable)?;
        // The library's 500 ms would fail a join on a busy node; a slow answer is
        // better than none, and a dead Redis still fails in a few seconds.
        let config = ConnectionManagerConfig::new().set_response_timeout(Some(REDIS_TIMEOUT));
        let redis = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(unreachable)?;
        let cluster = Arc::new(Cluster {
            node: format!("n-{}", crate::resume::random_nonce()),
            client,
            redis,
            routes: Mutex::default(),
            live: Mutex::default(),
            next_conn: AtomicU64::new(1),
            listening: AtomicBool::new(false),
        });
        Ok(cluster)
    }

    /// Whether this node hears its channel now (see `listening`).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }

    /// This node's id, as the others know it.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The secret all nodes sign resume tokens with: the first node to ask draws it.
    pub async fn shared_secret(&self) -> Result<String, String> {
        let mut redis = self.redis.clone();
        let fresh = crate::resume::random_nonce() + &crate::resume::random_nonce();
        let _: bool = redis
            .set_nx(placement::SECRET_KEY, &fresh)
            .await
            .map_err(|e| format!("Redis: cannot share the session secret: {e}"))?;
        redis
            .get(placement::SECRET_KEY)
            .await
            .map_err(|e| format!("Redis: cannot read the session secret: {e}"))
    }

    /// The home of `room` (a parsed, lower-case name): its current home if that node
    /// is alive, else this node, which then holds it.
    pub async fn home_of(&self, room: &str) -> redis::RedisResult<String> {
        placement::claim(&mut self.redis.clone(), room, &self.node).await
    }

    /// Tells every node that the rooms API changed or deleted `room` here.
    pub async fn announce_room_change(&self, room: &RoomName, deleted: bool) {
        let news = Envelope::RoomChanged {
            from: self.node.clone(),
            room: room.as_str().to_owned(),
            deleted,
        };
        let sent: redis::RedisResult<usize> = self
            .redis
            .clone()
            .publish(bus::ROOMS_CHANNEL, news.encode())
            .await;
        if let Err(e) = sent {
            warn!(error = %e, %room, "cluster: cannot tell the other nodes about a room change");
        }
    }

    /// Sends `envelope` to `node`; the number of nodes that heard it (0: it is not
    /// listening, gone or not yet there).
    async fn publish(&self, node: &str, envelope: &Envelope) -> redis::RedisResult<usize> {
        self.redis
            .clone()
            .publish(bus::channel(node), envelope.encode())
            .await
    }

    fn routes(&self) -> MutexGuard<'_, HashMap<ConnKey, mpsc::Sender<Message>>> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add_route(&self, key: ConnKey) -> mpsc::Receiver<Message> {
        let (tx, rx) = mpsc::channel(ROUTE_QUEUE);
        self.routes().insert(key, tx);
        rx
    }

    fn drop_route(&self, key: &ConnKey) {
        self.routes().remove(key);
    }

    /// Hands `frame` to the route's side; a route that cannot take it (gone, or
    /// stuck behind `ROUTE_QUEUE` frames) is dropped, which ends that connection.
    fn to_route(&self, key: &ConnKey, frame: Message) {
        let mut routes = self.routes();
        if let Some(tx) = routes.get(key) {
            if tx.try_send(frame).is_err() {
                routes.remove(key);
            }
        }
    }

    /// Whether `node` is alive: at once from the last heartbeat's list, and asked of
    /// Redis when that list lacks it (it may predate the node).
    async fn home_alive(&self, node: &str) -> bool {
        if self.is_live(node) {
            return true;
        }
        // Redis unreachable: the home may well be alive; the heartbeat deals with it.
        placement::is_alive(&mut self.redis.clone(), node)
            .await
            .unwrap_or(true)
    }

    fn is_live(&self, node: &str) -> bool {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(node)
    }

    /// Renews this node's heartbeat and reads who else is alive.
    async fn heartbeat(&self) -> redis::RedisResult<()> {
        let live = placement::heartbeat(&mut self.redis.clone(), &self.node).await?;
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = live.into_iter().collect();
        Ok(())
    }

    /// Listens on this node's channel, then announces the node alive and keeps it so,
    /// until `serving`'s shutdown. In that order: a node other nodes think alive
    /// hears what they send it, and none serves a socket before it is alive (another
    /// node would take its rooms).
    pub async fn start(self: &Arc<Self>, serving: Serving) -> Result<(), String> {
        let messages = self
            .subscribe()
            .await
            .map_err(|e| format!("Redis: cannot subscribe to this node's channel: {e}"))?;
        self.heartbeat()
            .await
            .map_err(|e| format!("Redis: cannot announce this node: {e}"))?;
        self.listening.store(true, Ordering::SeqCst);
        tokio::spawn(self.clone().listen(messages, serving.clone()));
        tokio::spawn(self.clone().keep_alive(serving));
        info!(node = %self.node, "cluster: sharing rooms through Redis");
        Ok(())
    }

    async fn subscribe(&self) -> redis::RedisResult<redis::aio::PubSubStream> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(bus::channel(&self.node)).await?;
        pubsub.subscribe(bus::ROOMS_CHANNEL).await?;
        Ok(pubsub.into_on_message())
    }

    /// Heartbeats, renews the leases of this node's rooms, and ends forwarded
    /// connections whose edge died.
    async fn keep_alive(self: Arc<Self>, serving: Serving) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        let mut failing = false;
        // When the last heartbeat that Redis took was sent: Redis's record of this
        // node is at least that recent.
        let mut heard_since = tokio::time::Instant::now();
        let mut fenced = false;
        // Rooms whose lease another node holds and whose participants were let go.
        let mut let_go = HashSet::new();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = serving.shutdown.cancelled() => {
                    // Not alive any more: the clients told to come back find their
                    // rooms a new home at once, not after the alive window.
                    if let Err(e) = placement::leave(&mut self.redis.clone(), &self.node).await {
                        warn!(error = %e, "cluster: cannot take this node off the live list");
                    }
                    return;
                }
            }
            let rooms = serving.hub.room_names();
            let sent = tokio::time::Instant::now();
            let renewed = async {
                self.heartbeat().await?;
                placement::renew(&mut self.redis.clone(), &rooms, &self.node).await
            }
            .await;
            match renewed {
                Ok(lost) => {
                    if failing {
                        info!("cluster: Redis answers again");
                        failing = false;
                    }
                    heard_since = sent;
                    fenced = false;
                    // A room stays listed here until its held seats expire; told once.
                    let_go.retain(|room| rooms.contains(room));
                    for room in lost {
                        if let_go.insert(room.clone()) {
                            let told = RoomName::parse(&room).map_or(0, |r| serving.hub.let_go(&r));
                            warn!(room = %room, told, "cluster: another node took this room's lease (this node missed heartbeats); its participants here go there");
                        }
                    }
                }
                Err(e) => {
                    if !failing {
                        warn!(error = %e, "cluster: cannot heartbeat through Redis");
                        failing = true;
                    }
                    if !fenced && heard_since.elapsed() >= FENCE_AFTER {
                        fenced = true;
                        let told: usize = rooms
                            .iter()
                            .filter_map(|room| RoomName::parse(room).ok())
                            .map(|room| serving.hub.let_go(&room))
                            .sum();
                        warn!(rooms = rooms.len(), told, "cluster: no heartbeat through Redis for {} s: other nodes may have taken this node's rooms, so their participants are told to come back and find the rooms' homes", FENCE_AFTER.as_secs());
                    }
                    continue;
                }
            }
            // A dead edge's sockets are gone: their seats wait for a resume elsewhere.
            let mut routes = self.routes();
            let before = routes.len();
            routes.retain(|key, _| key.edge == self.node || self.is_live(&key.edge));
            if routes.len() < before {
                info!(
                    count = before - routes.len(),
                    "cluster: ended connections forwarded by a dead node"
                );
            }
        }
    }

    /// Reads this node's channel and hands each message to its connection; subscribes
    /// again when the subscription is lost.
    async fn listen(self: Arc<Self>, mut messages: redis::aio::PubSubStream, serving: Serving) {
        loop {
            loop {
                let msg = tokio::select! {
                    msg = messages.next() => msg,
                    () = serving.shutdown.cancelled() => return,
                };
                let Some(msg) = msg else { break };
                match Envelope::decode(msg.get_payload_bytes()) {
                    Some(envelope) => self.dispatch(envelope, &serving),
                    None => warn!("cluster: unreadable message on this node's channel"),
                }
            }
            // Messages sent while nobody listened are lost: every forwarded connection
            // ends, and its client resumes.
            warn!("cluster: lost the subscription; ending forwarded connections");
            self.listening.store(false, Ordering::SeqCst);
            self.routes().clear();
            let mut backoff = Duration::from_millis(100);
            messages = loop {
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = serving.shutdown.cancelled() => return,
                }
                match self.subscribe().await {
                    Ok(messages) => {
                        info!("cluster: listening on this node's channel again");
                        self.listening.store(true, Ordering::SeqCst);
                        break messages;
                    }
                    Err(e) => warn!(error = %e, "cluster: cannot subscribe to this node's channel"),
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            };
        }
    }

    fn dispatch(self: &Arc<Self>, envelope: Envelope, serving: &Serving) {
        match envelope {
            Envelope::Open { conn, peer } => {
                let from_client = self.add_route(conn.clone());
                let work = home::serve(self.clone(), serving.clone(), conn, peer, from_client);
                serving.connections.spawn(work);
            }
            Envelope::FromClient { conn, frame } => self.to_route(&conn, frame),
            Envelope::Gone { conn } => self.drop_route(&conn),
            Envelope::ToClient { n, frame } => self.to_route(&self.key(n), frame),
            Envelope::End { n } => self.drop_route(&self.key(n)),
            Envelope::RoomChanged {
                from,
                room,
                deleted,
            } => {
                if from == self.node {
                    return; // its own news, acted on already
                }
                let Ok(room) = RoomName::parse(&room) else {
                    return;
                };
                let hub = serving.hub.clone();
                tokio::spawn(async move { hub.room_changed_elsewhere(&room, deleted).await });
            }
        }
    }

    /// The key of this node's connection number `n`.
    fn key(&self, n: u64) -> ConnKey {
        ConnKey {
            edge: self.node.clone(),
            n,
        }
    }

    fn next_key(&self) -> ConnKey {
        self.key(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }
}
