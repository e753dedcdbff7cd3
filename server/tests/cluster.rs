//! Several signaling nodes sharing rooms through a real Redis (`--redis-url`).
//!
//! Each node runs on its own Tokio runtime, so a node can be crashed: its runtime is
//! dropped with every task and socket it holds, and nothing it would do on a graceful
//! stop happens. Redis listens on a Unix socket in a temporary folder (no port); a node
//! may reach it through a [`RedisLink`] instead, which the test can cut.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{join_msg, resume_msg, Client, Event, TempDir};
use nonstop_core::protocol::{ClientMsg, ErrorCode, ServerMsg, TopologyMode};
use nonstop_core::topology::TopologyConfig;
use nonstop_core::ParticipantId;
use nonstop_server::api::ApiConfig;
use nonstop_server::cluster::FENCE_AFTER;
use nonstop_server::Settings;
use tokio::net::{TcpListener, UnixStream};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

const ROOM: &str = "calm-otter";

/// A `redis-server` of its own, stopped (by its PID) on drop.
struct Redis {
    child: Child,
    url: String,
    socket: PathBuf,
    _dir: TempDir,
}

impl Redis {
    /// `None` (and the test skipped) when Redis is not installed, except under CI.
    fn start() -> Option<Redis> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server is not installed, and under CI=true the cluster tests must run: scripts/setup installs the Debian package redis-server"
            );
            eprintln!("skipped: redis-server is not installed (scripts/setup installs it)");
            return None;
        }
        let dir = TempDir::new();
        let socket = dir.path().join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "redis-server made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Redis {
            child,
            url: format!("redis+unix://{}", socket.display()),
            socket,
            _dir: dir,
        })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One node's own way to Redis (TCP, piped to Redis's Unix socket), which the test
/// cuts (every connection dropped, new ones refused) and restores: a network partition
/// between that node and Redis while the other nodes still reach it.
struct RedisLink {
    url: String,
    cut: Arc<AtomicBool>,
    /// Ends the connections piped so far.
    piped: Arc<Mutex<CancellationToken>>,
}

impl RedisLink {
    async fn open(redis: &Redis) -> RedisLink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let cut = Arc::new(AtomicBool::new(false));
        let piped = Arc::new(Mutex::new(CancellationToken::new()));
        let (socket, is_cut, pipes) = (redis.socket.clone(), cut.clone(), piped.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                if is_cut.load(Ordering::SeqCst) {
                    continue;
                }
                let ended = pipes.lock().unwrap().clone();
                let socket = socket.clone();
                tokio::spawn(async move {
                    let Ok(mut unix) = UnixStream::connect(&socket).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix) => {}
                        () = ended.cancelled() => {}
                    }
                });
            }
        });
        RedisLink { url, cut, piped }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let mut piped = self.piped.lock().unwrap();
        piped.cancel();
        *piped = CancellationToken::new();
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// One signaling node on its own runtime.
struct Node {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    _stop: oneshot::Sender<()>,
}

impl Node {
    fn start(redis: &Redis, capacity: usize) -> Node {
        Node::start_with_api(&redis.url, capacity, None)
    }

    /// With the rooms API on `api` (its database shared with the other nodes), and
    /// Redis at `redis_url`.
    fn start_with_api(redis_url: &str, capacity: usize, api: Option<ApiConfig>) -> Node {
        let settings = Settings {
            api,
            static_dir: PathBuf::from("/nonexistent/nonstop-test"),
            capacity,
            max_connections_per_ip: 0,
            // No SFU here: calls stay in mesh, which may then be as large as the room.
            topology: TopologyConfig {
                mesh_limit: capacity,
                ..TopologyConfig::default()
            },
            redis_url: Some(redis_url.to_owned()),
            // The tests read a client only when they expect something of it: one left
            // unread for a while must not be timed out for not answering pings.
            heartbeat_timeout: Duration::from_secs(60),
            ..Settings::default()
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            let served = nonstop_server::serve_with_sfu(listener, settings, None, async {
                stopped.await.ok();
            })
            .await;
            if let Err(e) = served {
                panic!("node failed: {e}");
            }
        });
        Node {
            addr,
            runtime: Some(runtime),
            _stop: stop,
        }
    }

    /// Gone at once: no close frames, no goodbye to Redis, heartbeats just stop.
    fn crash(mut self) {
        self.runtime.take().unwrap().shutdown_background();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn join(addr: SocketAddr, name: &str) -> (Client, ParticipantId, Vec<ParticipantId>) {
    let mut client = Client::connect(addr).await;
    client.send(&join_msg(ROOM, name)).await;
    match client.recv().await {
        ServerMsg::Welcome {
            you, participants, ..
        } => (client, you, participants.iter().map(|p| p.id).collect()),
        other => panic!("{name}: expected welcome, got {other:?}"),
    }
}

/// Waits for the resume token that follows a welcome.
async fn token_of(client: &mut Client) -> String {
    while client.token.is_none() {
        if let Ok(event) =
            tokio::time::timeout(Duration::from_millis(50), client.next_event()).await
        {
            panic!("expected only the token, got {event:?}");
        }
    }
    client.token.clone().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_on_two_nodes_call_each_other_in_one_room() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Node::start(&redis, 200), Node::start(&redis, 200));

    let (mut ada, ada_id, _) = join(a.addr, "Ada").await;
    let (mut bob, bob_id, there) = join(b.addr, "Bob").await;
    assert_eq!(there, vec![ada_id], "Bob, on the other node, sees Ada");
    let ServerMsg::Joined { participant } = ada.recv().await else {
        panic!("Ada hears of Bob")
    };
    assert_eq!(participant.id, bob_id);

    // Offer and answer cross the nodes, stamped with the sender.
    bob.send(&ClientMsg::Offer {
        to: ada_id,
        sdp: "v=0 bob".into(),
    })
    .await;
    assert_eq!(
        ada.recv().await,
        ServerMsg::Offer {
            from: bob_id,
            sdp: "v=0 bob".into()
        }
    );
    ada.send(&ClientMsg::Answer {
        to: bob_id,
        sdp: "v=0 ada".into(),
    })
    .await;
    assert_eq!(
        bob.recv().await,
        ServerMsg::Answer {
            from: ada_id,
            sdp: "v=0 ada".into()
        }
    );

    // A third on Ada's node sees both; Bob leaving is told to both.
    let (mut cy, _, there) = join(a.addr, "Cy").await;
    assert_eq!(there, vec![ada_id, bob_id]);
    bob.send(&ClientMsg::Leave).await;
    for who in [&mut ada, &mut cy] {
        loop {
            match who.recv().await {
                ServerMsg::Left { id, .. } => {
                    assert_eq!(id, bob_id);
                    break;
                }
                ServerMsg::Joined { .. } => {}
                other => panic!("expected Bob's leave, got {other:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_begins_with_a_bad_message_gets_the_usual_error_and_joins_only_on_the_room_s_home(
) {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Node::start(&redis, 200), Node::start(&redis, 200));
    let (_ada, ada_id, _) = join(a.addr, "Ada").await;
    let mut bob = Client::connect(b.addr).await;
    bob.send_text("{not json").await;
    let ServerMsg::Error { code, .. } = bob.recv().await else {
        panic!("an error for a malformed message")
    };
    assert_eq!(code, ErrorCode::Malformed);
    // Served by B itself from then on; B is not the room's home, so the join is not
    // taken there (a second room of that name) but sent back, and the socket closed.
    bob.send(&join_msg(ROOM, "Bob")).await;
    assert!(matches!(bob.recv().await, ServerMsg::GoingAway { .. }));
    assert_eq!(bob.expect_close().await, Some(1001));
    // Coming back as the app does, `join` first: forwarded to A, into Ada's call.
    let (_bob, _, there) = join(b.addr, "Bob").await;
    assert_eq!(there, vec![ada_id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_admit_exactly_the_room_s_capacity() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Node::start(&redis, 200), Node::start(&redis, 200));
    let started = Instant::now();
    let tries: Vec<_> = (0..300)
        .map(|i| {
            let addr = if i % 2 == 0 { a.addr } else { b.addr };
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                client.send(&join_msg(ROOM, &format!("P{i}"))).await;
                let reply = client.recv().await;
                (reply, client)
            })
        })
        .collect();
    let mut admitted = Vec::new();
    let mut full = 0;
    let mut clients = Vec::new();
    for t in tries {
        let (reply, client) = t.await.unwrap();
        match reply {
            ServerMsg::Welcome { you, .. } => admitted.push(you),
            ServerMsg::Error {
                code: ErrorCode::RoomFull,
                message,
            } => {
                assert!(message.contains("full"), "a clear refusal: {message}");
                full += 1;
            }
            other => panic!("expected welcome or room_full, got {other:?}"),
        }
        // Open until everything is counted: a closed seat would free a place.
        clients.push(client);
    }
    println!(
        "300 joins over 2 nodes: {} admitted, {full} room_full, in {} ms",
        admitted.len(),
        started.elapsed().as_millis()
    );
    assert_eq!((admitted.len(), full), (200, 100));
    admitted.sort();
    admitted.dedup();
    assert_eq!(
        admitted.len(),
        200,
        "every admitted participant has its own id"
    );
}

/// Ada joins through `a` (so the room's home is A), then Bob through `b` (forwarded
/// to A): each with its id and resume token, once Ada heard of Bob.
async fn ada_on_a_bob_on_b(a: SocketAddr, b: SocketAddr) -> [(Client, ParticipantId, String); 2] {
    let (mut ada, ada_id, _) = join(a, "Ada").await;
    let ada_token = token_of(&mut ada).await;
    let (mut bob, bob_id, _) = join(b, "Bob").await;
    let bob_token = token_of(&mut bob).await;
    let ServerMsg::Joined { .. } = ada.recv().await else {
        panic!("Ada hears of Bob")
    };
    [(ada, ada_id, ada_token), (bob, bob_id, bob_token)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_node_crashes_its_participants_resume_through_the_other() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Node::start(&redis, 200), Node::start(&redis, 200));
    // The room's home is A; Bob's socket is on B, forwarded to A.
    let [(mut ada, ada_id, ada_token), (mut bob, bob_id, bob_token)] =
        ada_on_a_bob_on_b(a.addr, b.addr).await;

    a.crash();
    let crashed = Instant::now();
    // Both sockets end: Ada's with its node, Bob's when B sees A's heartbeats stop.
    assert!(matches!(ada.next_event().await, Event::Closed(_)));
    let bob_told = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match bob.next_event().await {
                Event::Msg(ServerMsg::GoingAway { .. }) => {}
                Event::Closed(code) => return code,
                Event::Msg(other) => panic!("Bob: unexpected {other:?}"),
            }
        }
    })
    .await
    .expect("Bob's socket ends after his room's home died");
    println!(
        "Bob's socket through B ended {} ms after A crashed (close {bob_told:?})",
        crashed.elapsed().as_millis()
    );

    // Both come back through B, as themselves, and are in one call again.
    let (mut ada, _) = resume_through(b.addr, "Ada", ada_id, &ada_token).await;
    let (mut bob, others) = resume_through(b.addr, "Bob", bob_id, &bob_token).await;
    println!(
        "both resumed through B {} ms after A crashed",
        crashed.elapsed().as_millis()
    );
    assert!(others.contains(&ada_id), "Bob sees Ada again: {others:?}");
    offer_arrives((&mut bob, bob_id), (&mut ada, ada_id), "v=0 again").await;
}

/// `from` sends `to` an offer with `sdp`, and it arrives, stamped with the sender (news
/// of the others' comings and goings may come first, and after a re-admission the
/// call's path: mesh).
async fn offer_arrives(
    (from, from_id): (&mut Client, ParticipantId),
    (to, to_id): (&mut Client, ParticipantId),
    sdp: &str,
) {
    from.send(&ClientMsg::Offer {
        to: to_id,
        sdp: sdp.into(),
    })
    .await;
    loop {
        match to.recv().await {
            ServerMsg::Offer { from, sdp: got } => {
                assert_eq!((from, got.as_str()), (from_id, sdp));
                return;
            }
            ServerMsg::Joined { .. } | ServerMsg::Back { .. } => {}
            ServerMsg::Topology {
                mode: TopologyMode::Mesh,
                ..
            } => {}
            other => panic!("expected an offer, got {other:?}"),
        }
    }
}

/// Waits (at most `within`) for `client` to be told to come back: `going_away`, then
/// the socket's close (its code).
async fn told_to_come_back(client: &mut Client, name: &str, within: Duration) -> Option<u16> {
    tokio::time::timeout(within, async {
        let mut going_away = false;
        loop {
            match client.next_event().await {
                Event::Msg(ServerMsg::GoingAway { .. }) => going_away = true,
                Event::Closed(code) => {
                    assert!(going_away, "{name}: closed ({code:?}) without going_away");
                    return code;
                }
                // News of the others (on the other side of a split, someone interrupted).
                Event::Msg(_) => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{name} was not told to come back within {within:?}"))
}

/// Ada's socket on A (the room's home), Bob's on B; then A is cut off from Redis. B
/// takes A for dead: Bob's socket ends, and he resumes through B, which takes the room.
/// Returns the link, the nodes, Ada (still on A's copy of the room) with her id and
/// token, Bob on B with his id, and when the link was cut.
async fn split_by_a_cut(
    redis: &Redis,
) -> (
    RedisLink,
    (Node, Node),
    (Client, ParticipantId, String),
    (Client, ParticipantId),
    Instant,
) {
    let link = RedisLink::open(redis).await;
    let (a, b) = (
        Node::start_with_api(&link.url, 200, None),
        Node::start(redis, 200),
    );
    let [(ada, ada_id, ada_token), (mut bob, bob_id, bob_token)] =
        ada_on_a_bob_on_b(a.addr, b.addr).await;

    link.cut();
    let cut = Instant::now();
    told_to_come_back(&mut bob, "Bob", Duration::from_secs(10)).await;
    let (bob, _) = resume_through(b.addr, "Bob", bob_id, &bob_token).await;
    println!(
        "Bob resumed through B, the room's new home, {} ms after A was cut off",
        cut.elapsed().as_millis()
    );
    (link, (a, b), (ada, ada_id, ada_token), (bob, bob_id), cut)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_redis_lets_its_rooms_go_and_the_call_is_whole_on_the_other() {
    let Some(redis) = Redis::start() else { return };
    let (link, (a, b), (mut ada, ada_id, ada_token), (bob, bob_id), cut) =
        split_by_a_cut(&redis).await;
    // A cannot tell whether another node took its room. After FENCE_AFTER without a
    // heartbeat it lets the room go: Ada is told to come back, and her call is one again.
    let code = told_to_come_back(&mut ada, "Ada", FENCE_AFTER * 2).await;
    let fenced = cut.elapsed();
    println!(
        "A let Ada go {} ms after it was cut off (close {code:?})",
        fenced.as_millis()
    );
    assert_eq!(code, Some(1001));
    assert!(
        fenced >= FENCE_AFTER,
        "not before {FENCE_AFTER:?}: {fenced:?}"
    );
    let (_ada, others) = resume_through(b.addr, "Ada", ada_id, &ada_token).await;
    assert!(others.contains(&bob_id), "Ada sees Bob again: {others:?}");

    // A reaches Redis again, and is no home of the room: a newcomer through A lands in
    // the one call, on B.
    link.restore();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_cy, _, others) = join(a.addr, "Cy").await;
    assert!(
        others.contains(&ada_id) && others.contains(&bob_id),
        "Cy, through A, sees Ada and Bob: {others:?}"
    );
    drop(bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_back_from_a_short_cut_lets_go_of_a_room_another_node_took() {
    let Some(redis) = Redis::start() else { return };
    let (link, (a, _b), (mut ada, ada_id, ada_token), (mut bob, bob_id), cut) =
        split_by_a_cut(&redis).await;
    // Back before it would fence itself: its first renewal finds B holding the room's
    // lease, and Ada, on A's copy of the call, is told to come back at once.
    link.restore();
    let restored = Instant::now();
    let code = told_to_come_back(&mut ada, "Ada", Duration::from_secs(5)).await;
    println!(
        "A let Ada go {} ms after it reached Redis again ({} ms after the cut; close {code:?})",
        restored.elapsed().as_millis(),
        cut.elapsed().as_millis()
    );
    assert!(
        cut.elapsed() < FENCE_AFTER,
        "before A would have fenced itself"
    );
    // She resumes through A, which forwards her to B: one call again.
    let (mut ada, others) = resume_through(a.addr, "Ada", ada_id, &ada_token).await;
    assert!(others.contains(&bob_id), "Ada sees Bob again: {others:?}");
    offer_arrives((&mut bob, bob_id), (&mut ada, ada_id), "v=0 whole").await;
}

/// Resumes `id` through `addr`, trying again while the room has no live home yet
/// (the client is told `going_away`): (client, who else is there).
async fn resume_through(
    addr: SocketAddr,
    name: &str,
    id: ParticipantId,
    token: &str,
) -> (Client, Vec<ParticipantId>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(Instant::now() < deadline, "{name} could not resume in 15 s");
        let mut client = Client::connect(addr).await;
        client.send(&resume_msg(ROOM, name, id, token)).await;
        match client.next_event().await {
            Event::Msg(ServerMsg::Resumed {
                you, participants, ..
            }) => {
                assert_eq!(you, id);
                return (client, participants.iter().map(|p| p.id).collect());
            }
            Event::Msg(ServerMsg::GoingAway { .. }) | Event::Closed(_) => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Event::Msg(other) => panic!("{name}: unexpected reply to resume: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_deleted_through_one_node_ends_its_call_on_the_other() {
    let Some(redis) = Redis::start() else { return };
    let dir = TempDir::new();
    let key_file = dir.path().join("keys");
    std::fs::write(&key_file, "test-key-0123456789\n").unwrap();
    let api = ApiConfig {
        key_file,
        database_url: format!("sqlite:{}", dir.path().join("nonstop.db").display()),
        rooms_on_demand: true,
    };
    let a = Node::start_with_api(&redis.url, 200, Some(api.clone()));
    // Ada's join makes A the room's home (and A has made the database by then).
    let (mut ada, _, _) = join(a.addr, "Ada").await;
    let b = Node::start_with_api(&redis.url, 200, Some(api));
    let auth = [("authorization", "Bearer test-key-0123456789")];
    let body = format!(r#"{{"name":"{ROOM}"}}"#);
    let (status, _, _) =
        common::http_request(b.addr, "POST", "/api/rooms", &auth, Some(&body)).await;
    assert_eq!(status, 201, "the room made through B");

    let path = format!("/api/rooms/{ROOM}");
    let (status, _, reply) = common::http_request(b.addr, "DELETE", &path, &auth, None).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    // The call lives on A: it ends there, as it would on a single server.
    let told = tokio::time::timeout(Duration::from_secs(10), ada.recv()).await;
    let Ok(ServerMsg::Error { code, message }) = told else {
        panic!("Ada is told the call ended, got {told:?}")
    };
    assert_eq!(code, ErrorCode::RoomDeleted, "{message}");
    assert!(matches!(ada.next_event().await, Event::Closed(_)));
}
