//! Graceful shutdown over real sockets: clients are told `going_away` after everything
//! relayed to them, nobody is told `left`, the seats survive into a restarted server,
//! and the server exits within its grace whatever is left open.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Client, Event, TestServer, PATIENCE};
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, MediaState, ServerMsg, GOING_AWAY_BACK_WITHIN_MS,
    GOING_AWAY_RECONNECT_AFTER_MS, PROTOCOL_VERSION,
};
use nonstop_core::topology::TopologyConfig;
use nonstop_core::ParticipantId;
use nonstop_server::limits::RateLimits;
use nonstop_server::Settings;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn settings() -> Settings {
    Settings {
        static_dir: PathBuf::from("/nonexistent/nonstop-test"),
        session_secret: Some("shutdown-test-secret".into()),
        // Rooms here are larger than a mesh without an SFU may be; that limit is
        // tested in topology.rs.
        topology: TopologyConfig {
            mesh_limit: 200,
            ..TopologyConfig::default()
        },
        ..Settings::default()
    }
}

const GOING_AWAY: ServerMsg = ServerMsg::GoingAway {
    reconnect_after_ms: GOING_AWAY_RECONNECT_AFTER_MS,
    back_within_ms: GOING_AWAY_BACK_WITHIN_MS,
};

/// Everything a client receives until the socket closes: (messages, close code).
async fn rest_of(client: &mut Client) -> (Vec<ServerMsg>, Option<u16>) {
    let mut msgs = Vec::new();
    loop {
        match client.next_event().await {
            Event::Msg(msg) => msgs.push(msg),
            Event::Closed(code) => return (msgs, code),
        }
    }
}

/// Sends something invalid and waits for the error: every message sent before it has
/// been handled by then (a connection handles its frames in order).
async fn sync(client: &mut Client) {
    client.send_text("sync").await;
    loop {
        match client.recv().await {
            ServerMsg::Error {
                code: ErrorCode::Malformed,
                ..
            } => return,
            ServerMsg::Joined { .. } | ServerMsg::Media { .. } => {}
            other => panic!("unexpected {other:?} before the sync reply"),
        }
    }
}

#[tokio::test]
async fn a_room_of_ten_is_told_going_away_and_nobody_left_and_the_seats_survive_a_restart() {
    let mut server = TestServer::start(settings()).await;
    let mut members: Vec<(Client, ParticipantId)> = Vec::new();
    for i in 0..10 {
        members.push(server.joined("calm-otter", &format!("P{i}")).await);
    }
    let (mut elsewhere, _) = server.joined("other-room", "Zed").await;
    // Each has heard of everyone who came after it.
    for (i, (client, _)) in members.iter_mut().enumerate() {
        for _ in i + 1..10 {
            assert!(matches!(client.recv().await, ServerMsg::Joined { .. }));
        }
    }

    // In flight when the server stops: offers for P1 (who is not reading) and a media
    // change for the whole room, all handled by the server before the stop.
    let p1 = members[1].1;
    {
        let p0 = &mut members[0].0;
        for i in 0..20 {
            p0.send(&ClientMsg::Offer {
                to: p1,
                sdp: format!("v=0 offer {i}"),
            })
            .await;
        }
        p0.send(&ClientMsg::Media {
            media: MediaState {
                audio: false,
                video: true,
            },
        })
        .await;
        sync(p0).await;
    }

    let started = Instant::now();
    server.begin_shutdown();
    server.finish_shutdown(PATIENCE).await;
    let took = started.elapsed();
    println!("shutdown with 11 participants took {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");

    let p0 = members[0].1;
    let muted = ServerMsg::Media {
        from: p0,
        media: MediaState {
            audio: false,
            video: true,
        },
    };
    let mut tokens = Vec::new();
    for (i, (client, id)) in members.iter_mut().enumerate() {
        let (mut msgs, code) = rest_of(client).await;
        assert_eq!(code, Some(1001), "P{i}: {msgs:?}");
        assert!(
            !msgs.iter().any(|m| matches!(m, ServerMsg::Left { .. })),
            "P{i} was told someone left: {msgs:?}"
        );
        assert_eq!(msgs.pop(), Some(GOING_AWAY), "P{i}: the last message");
        // Everything relayed before the stop arrives, in order, before `going_away`.
        let expected: Vec<ServerMsg> = match i {
            0 => vec![],
            1 => (0..20)
                .map(|n| ServerMsg::Offer {
                    from: p0,
                    sdp: format!("v=0 offer {n}"),
                })
                .chain([muted.clone()])
                .collect(),
            _ => vec![muted.clone()],
        };
        assert_eq!(msgs, expected, "P{i}");
        tokens.push((*id, client.token.clone().expect("a resume token")));
    }
    let (msgs, code) = rest_of(&mut elsewhere).await;
    assert_eq!((msgs, code), (vec![GOING_AWAY], Some(1001)));

    // The restarted server (same secret) takes all ten back under their ids.
    let second = TestServer::start(settings()).await;
    let mut back = Vec::new();
    for (i, (id, token)) in tokens.iter().enumerate() {
        let mut client = second.connect().await;
        client
            .send(&ClientMsg::Resume {
                protocol: PROTOCOL_VERSION,
                room: "calm-otter".into(),
                name: format!("P{i}"),
                media: MediaState::default(),
                id: *id,
                token: token.clone(),
            })
            .await;
        match client.recv().await {
            ServerMsg::Resumed {
                you,
                participants,
                continued,
                heartbeat_interval_ms,
                ..
            } => {
                assert_eq!((you, continued), (*id, false));
                assert_eq!(participants.len(), i);
                assert_eq!(heartbeat_interval_ms, Some(2_000));
            }
            other => panic!("P{i}: expected resumed, got {other:?}"),
        }
        back.push(client);
    }
    let (_newcomer, participants) = {
        let mut c = second.connect().await;
        let (_, participants) = c.join("calm-otter", "Newcomer").await;
        (c, participants)
    };
    assert_eq!(
        participants.iter().map(|p| p.id).collect::<Vec<_>>(),
        tokens.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        "the newcomer finds the whole room"
    );
}

#[tokio::test]
async fn shutdown_ends_within_its_grace_with_half_open_requests_and_clients_that_do_not_read() {
    let grace = Duration::from_millis(1_000);
    // No rate limit and a deep queue for Bob: Ada must be able to fill his socket.
    let mut rate_limits = RateLimits::new(u32::MAX, u32::MAX);
    rate_limits.messages_per_peer = rate_limits.messages;
    rate_limits.bytes_per_peer = rate_limits.bytes;
    let mut server = TestServer::start(Settings {
        shutdown_grace: grace,
        rate_limits,
        send_queue: 1_000,
        send_queue_bytes: 64 << 20,
        ..settings()
    })
    .await;

    // An HTTP request whose head never ends, and a TCP connection that says nothing.
    let mut half_sent = TcpStream::connect(server.addr).await.unwrap();
    half_sent
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let _silent = TcpStream::connect(server.addr).await.unwrap();

    // Bob joins and stops reading; Ada sends him offers until his socket is full.
    let (mut ada, _) = server.joined("calm-otter", "Ada").await;
    let (_bob, bob_id) = server.joined("calm-otter", "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    let sdp = "a".repeat(60_000);
    for _ in 0..120 {
        ada.send(&ClientMsg::Offer {
            to: bob_id,
            sdp: sdp.clone(),
        })
        .await;
    }
    sync(&mut ada).await;

    let started = Instant::now();
    server.begin_shutdown();
    // New connections are refused at once.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "still accepting during shutdown"
    );
    let addr = server.addr;
    server
        .finish_shutdown(grace + Duration::from_millis(500))
        .await;
    let took = started.elapsed();
    println!("shutdown with a half-sent request, a silent socket and a stuck reader took {took:?}");
    assert!(took <= grace + Duration::from_millis(300), "{took:?}");

    // Ada, who reads, was told to come back and closed properly.
    let (msgs, code) = rest_of(&mut ada).await;
    assert_eq!((msgs, code), (vec![GOING_AWAY], Some(1001)));
    assert!(TcpStream::connect(addr).await.is_err());
}
