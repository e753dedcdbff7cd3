//! The attacks of issue 10, each against a real server on 127.0.0.1: the attacker
//! gets the right error or close, and honest clients (in its room and in another)
//! keep getting their relays. Memory under the same attacks: `abuse_memory.rs`.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::raw::{self, CLOSE, PING};
use common::{http_get, Client, Event, TestServer, PATIENCE};
use nonstop_core::protocol::{ClientMsg, ErrorCode, MediaState, ServerMsg};
use nonstop_core::topology::TopologyConfig;
use nonstop_core::ParticipantId;
use nonstop_server::client_addr::TrustedProxies;
use nonstop_server::Settings;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

fn settings() -> Settings {
    Settings {
        static_dir: PathBuf::from("/nonexistent/nonstop-test"),
        // Rooms here are larger than a mesh without an SFU may be; that limit is
        // tested in topology.rs.
        topology: TopologyConfig {
            mesh_limit: 200,
            ..TopologyConfig::default()
        },
        ..Settings::default()
    }
}

/// Ada sends Bob an offer and Bob gets it: the relay still works.
async fn relay_works(
    ada: &mut Client,
    bob: &mut Client,
    bob_id: ParticipantId,
    ada_id: ParticipantId,
) {
    ada.send(&ClientMsg::Offer {
        to: bob_id,
        sdp: "v=0 still here".into(),
    })
    .await;
    loop {
        match bob.recv().await {
            ServerMsg::Offer { from, sdp } if from == ada_id => {
                assert_eq!(sdp, "v=0 still here");
                return;
            }
            ServerMsg::Left { id, .. } => assert_ne!(id, ada_id, "the honest sender was dropped"),
            _ => {}
        }
    }
}

/// Two honest members in a room of their own, for "other rooms are unaffected".
async fn bystanders(server: &TestServer) -> [(Client, ParticipantId); 2] {
    let x = server.joined("quiet-room", "X").await;
    let (mut y, y_id) = server.joined("quiet-room", "Y").await;
    let _ = &mut y;
    let (mut x, x_id) = x;
    assert!(matches!(x.recv().await, ServerMsg::Joined { .. }));
    [(x, x_id), (y, y_id)]
}

async fn bystanders_still_relay(pair: &mut [(Client, ParticipantId); 2]) {
    let [(x, x_id), (y, y_id)] = pair;
    relay_works(x, y, *y_id, *x_id).await;
}

#[tokio::test]
async fn a_frame_over_the_limit_closes_with_1009() {
    let server = TestServer::start(settings()).await;
    let (mut bob, _) = server.joined("calm-otter", "Bob").await;
    let attacker = raw::joined(server.addr, "calm-otter", "Mal").await;
    let ServerMsg::Joined { participant } = bob.recv().await else {
        panic!("joined")
    };

    // A 1 MiB text frame, streamed as a client would, while reading what comes back.
    let (mut read, mut write) = attacker.into_split();
    let writing = tokio::spawn(async move { raw::send_mib_frame(&mut write, 64 * 1024).await });
    let (code, _) = raw::read_until_close(&mut read, PATIENCE).await;
    assert_eq!(code, Some(1009), "message too big");
    let _ = writing.await;
    assert!(matches!(bob.recv().await, ServerMsg::Left { id, .. } if id == participant.id));
}

#[tokio::test]
async fn a_socket_that_answers_pings_but_never_joins_is_closed() {
    let server = TestServer::start(Settings {
        join_timeout: Duration::from_millis(400),
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(1_000),
        ..settings()
    })
    .await;
    let started = Instant::now();
    // `Client` answers every ping, as a live browser would.
    let mut lurker = server.connect().await;
    match lurker.recv().await {
        ServerMsg::Error { code, message } => {
            assert_eq!(code, ErrorCode::NotJoined);
            assert!(message.contains("no join"), "{message}");
        }
        other => panic!("expected not_joined, got {other:?}"),
    }
    assert_eq!(lurker.expect_close().await, Some(1008));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(350), "{waited:?}");

    // A client that joins in time is not affected, even long after the deadline.
    let (mut ada, _) = server.joined("calm-otter", "Ada").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    ada.send(&ClientMsg::Pong).await;
    let (_, participants) = server.connect().await.join("calm-otter", "Bob").await;
    assert_eq!(participants.len(), 1);
}

#[tokio::test]
async fn silent_sockets_and_half_sent_headers_are_closed_after_the_header_deadline() {
    let server = TestServer::start(Settings {
        header_timeout: Duration::from_millis(300),
        ..settings()
    })
    .await;
    let started = Instant::now();
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // Meanwhile the server answers others.
    let (status, _, _) = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!(status, 200);
    assert!(
        raw::closed_within(&mut silent, Duration::from_secs(3)).await,
        "silent socket still open"
    );
    assert!(
        raw::closed_within(&mut half, Duration::from_secs(3)).await,
        "half-sent request still open"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed before the deadline: {waited:?}"
    );
}

#[tokio::test]
async fn connections_from_one_address_are_capped_with_429_and_healthz_still_answers() {
    const CAP: usize = 10;
    let server = TestServer::start(Settings {
        max_connections_per_ip: CAP,
        ..settings()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(raw::upgrade(server.addr).await.expect("under the cap"));
    }
    // The attack made 5,000; 500 show the same and keep the test short.
    for i in 0..500 {
        let refused = raw::upgrade(server.addr).await.expect_err("over the cap");
        assert!(
            refused.starts_with("HTTP/1.1 429"),
            "attempt {i}: {refused}"
        );
        assert!(
            refused.contains("Too many connections from your address"),
            "{refused}"
        );
    }
    let (status, _, body) = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!((status, body.as_slice()), (200, b"ok".as_slice()));

    // Closing them gives the places back.
    drop(held);
    let deadline = Instant::now() + PATIENCE;
    loop {
        match raw::upgrade(server.addr).await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("places not given back: {e}"),
        }
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_capped_not_the_proxy() {
    const CAP: usize = 3;
    let server = TestServer::start(Settings {
        max_connections_per_ip: CAP,
        trusted_proxies: TrustedProxies::parse(&["127.0.0.1".to_string()]).unwrap(),
        ..settings()
    })
    .await;
    // Four clients behind the proxy (127.0.0.1), three connections each: far over the
    // per-address cap for the proxy's own address, and all admitted.
    let mut held = Vec::new();
    for client in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ] {
        for _ in 0..CAP {
            held.push(
                raw::upgrade_forwarded_for(server.addr, client)
                    .await
                    .expect("under the cap"),
            );
        }
    }
    // One more from a client that holds its share is refused; a client forging an
    // earlier hop does not escape its own count (the right-most entry is the client).
    for forged in ["198.51.100.1", "203.0.113.9, 198.51.100.1"] {
        let refused = raw::upgrade_forwarded_for(server.addr, forged)
            .await
            .expect_err("over the cap");
        assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    }
    let (status, _, body) = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!((status, body.as_slice()), (200, b"ok".as_slice()));
}

#[tokio::test]
async fn a_full_server_answers_503_and_healthz_still_answers() {
    let server = TestServer::start(Settings {
        max_connections: 5,
        max_connections_per_ip: 0,
        ..settings()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(raw::upgrade(server.addr).await.expect("under the cap"));
    }
    let refused = raw::upgrade(server.addr).await.expect_err("over the cap");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("The server is full"), "{refused}");
    let (status, _, _) = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!(status, 200);
    // A silent socket over the cap holds a descriptor the server is short of: it goes
    // after 1 s, not the usual 10 s header deadline.
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    assert!(raw::closed_within(&mut silent, Duration::from_millis(2_500)).await);
}

#[tokio::test]
async fn a_media_flood_limits_the_flooder_and_no_honest_member_is_dropped() {
    let server = TestServer::start(settings()).await;
    let mut others = bystanders(&server).await;
    let mut honest = Vec::new();
    for i in 0..30 {
        honest.push(server.joined("calm-otter", &format!("P{i}")).await);
    }
    let (mut flooder, flooder_id) = server.joined("calm-otter", "Flood").await;

    // The burst: 300 media messages at once (30 honest members were dropped).
    for i in 0..300 {
        let media = MediaState {
            audio: i % 2 == 0,
            video: true,
        };
        if flooder
            .try_send_frame(Message::text(ClientMsg::Media { media }.to_json()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut limited = 0;
    loop {
        match flooder.next_event().await {
            Event::Msg(ServerMsg::Error { code, .. }) => {
                assert_eq!(code, ErrorCode::RateLimited);
                limited += 1;
            }
            Event::Msg(_) => {}
            Event::Closed(code) => {
                assert_eq!(code, Some(1008), "closed for abuse");
                break;
            }
        }
    }
    assert!(limited > 0);

    // Every honest member saw at most two of the flooder's states, then it leave.
    for (member, _) in honest.iter_mut() {
        let mut media_seen = 0;
        loop {
            match member.recv().await {
                ServerMsg::Media { from, .. } if from == flooder_id => media_seen += 1,
                ServerMsg::Left { id, .. } => {
                    assert_eq!(id, flooder_id, "an honest member was dropped");
                    break;
                }
                _ => {}
            }
        }
        assert!(
            media_seen <= 2,
            "{media_seen} media messages reached a member"
        );
    }
    let (first, rest) = honest.split_at_mut(1);
    let (ada, ada_id) = &mut first[0];
    let (bob, bob_id) = rest.last_mut().unwrap();
    relay_works(ada, bob, *bob_id, *ada_id).await;
    bystanders_still_relay(&mut others).await;
}

#[tokio::test]
async fn a_message_flood_is_rate_limited_then_closed_and_the_room_stays() {
    let server = TestServer::start(settings()).await;
    let mut others = bystanders(&server).await;
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    let (mut bob, bob_id) = server.joined("calm-otter", "Bob").await;
    let (mut flooder, flooder_id) = server.joined("calm-otter", "Flood").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    assert!(matches!(bob.recv().await, ServerMsg::Joined { .. }));

    // 57k messages a second were accepted from one client; now it gets a budget.
    let pong = ClientMsg::Pong.to_json();
    for _ in 0..5_000 {
        if flooder
            .try_send_frame(Message::text(pong.clone()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut limited = false;
    loop {
        match flooder.next_event().await {
            Event::Msg(ServerMsg::Error { code, .. }) => {
                limited |= code == ErrorCode::RateLimited;
            }
            Event::Msg(_) => {}
            Event::Closed(code) => {
                assert_eq!(code, Some(1008));
                break;
            }
        }
    }
    assert!(limited);
    assert!(matches!(ada.recv().await, ServerMsg::Left { id, .. } if id == flooder_id));
    relay_works(&mut ada, &mut bob, bob_id, ada_id).await;
    bystanders_still_relay(&mut others).await;
}

#[tokio::test]
async fn a_ping_flood_is_rate_limited_then_closed() {
    let server = TestServer::start(settings()).await;
    let (mut ada, _) = server.joined("calm-otter", "Ada").await;
    let attacker = raw::joined(server.addr, "calm-otter", "Mal").await;
    let ServerMsg::Joined { participant } = ada.recv().await else {
        panic!("joined")
    };
    let (mut read, mut write) = attacker.into_split();
    // Pings, never reading the pongs (until the end).
    let ping = raw::frame(PING, b"are you there?");
    for _ in 0..5_000 {
        if write.write_all(&ping).await.is_err() {
            break;
        }
    }
    let (code, texts) = raw::read_until_close(&mut read, PATIENCE).await;
    assert_eq!(code, Some(1008));
    assert!(
        texts.iter().any(|t| t.contains("rate_limited")),
        "{texts:?}"
    );
    assert!(matches!(ada.recv().await, ServerMsg::Left { id, .. } if id == participant.id));
    let _ = CLOSE;
}

#[tokio::test]
async fn offers_to_one_peer_are_limited_per_peer_and_the_others_still_get_theirs() {
    let server = TestServer::start(settings()).await;
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    let (mut bob, bob_id) = server.joined("calm-otter", "Bob").await;
    let (mut mal, _) = server.joined("calm-otter", "Mal").await;
    while !matches!(ada.recv().await, ServerMsg::Joined { participant } if participant.name == "Mal")
    {
    }
    while !matches!(bob.recv().await, ServerMsg::Joined { participant } if participant.name == "Mal")
    {
    }
    // 32 KiB offers to Bob, as fast as possible: Bob's share is 256 KiB at once.
    let sdp = "a".repeat(32 * 1024);
    for _ in 0..20 {
        mal.send(&ClientMsg::Offer {
            to: bob_id,
            sdp: sdp.clone(),
        })
        .await;
    }
    let mut limited = 0;
    while limited == 0 {
        if let ServerMsg::Error { code, .. } = mal.recv().await {
            assert_eq!(code, ErrorCode::RateLimited);
            limited += 1;
        }
    }
    // Bob gets what fit in the budget, and Ada's relay to him still goes through.
    relay_works(&mut ada, &mut bob, bob_id, ada_id).await;
}

#[tokio::test]
async fn quick_media_toggles_reach_the_room_as_first_and_latest_state() {
    let server = TestServer::start(settings()).await;
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    let (mut bob, bob_id) = server.joined("calm-otter", "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    let state = |audio| MediaState { audio, video: true };
    let started = Instant::now();
    for audio in [false, true, false, true] {
        bob.send(&ClientMsg::Media {
            media: state(audio),
        })
        .await;
    }
    // The first change at once, then only the latest, one interval later.
    assert_eq!(
        ada.recv().await,
        ServerMsg::Media {
            from: bob_id,
            media: state(false)
        }
    );
    assert_eq!(
        ada.recv().await,
        ServerMsg::Media {
            from: bob_id,
            media: state(true)
        }
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    // And nothing in between: the next thing Ada gets is Bob's offer.
    bob.send(&ClientMsg::Offer {
        to: ada_id,
        sdp: "v=0".into(),
    })
    .await;
    assert!(matches!(ada.recv().await, ServerMsg::Offer { from, .. } if from == bob_id));
}
