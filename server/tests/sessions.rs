//! Sessions nobody can steal: resume tokens (expiry, rotation, the live seat wins, no
//! re-admission after leaving, ids that never repeat across restarts), the origin
//! allow-list, room passcodes, and per-address TURN issuing. Real WebSockets on
//! 127.0.0.1.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use common::{http_get, Client, Event, TestServer, PATIENCE};
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, LeaveReason, MediaState, ServerMsg, PROTOCOL_VERSION,
};
use nonstop_core::topology::TopologyConfig;
use nonstop_core::ParticipantId;
use nonstop_server::origin::AllowedOrigins;
use nonstop_server::turn::Turn;
use nonstop_server::Settings;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ROOM: &str = "calm-otter";

fn settings() -> Settings {
    Settings {
        static_dir: PathBuf::from("/nonexistent/nonstop-test"),
        session_secret: Some("test-session-secret".into()),
        resume_grace: Duration::from_secs(5),
        // Quick heartbeats: a resume waits for a live seat at most timeout + 1 s.
        heartbeat_interval: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_millis(1_000),
        // Rooms here are larger than a mesh without an SFU may be; that limit is
        // tested in topology.rs.
        topology: TopologyConfig {
            mesh_limit: 200,
            ..TopologyConfig::default()
        },
        ..Settings::default()
    }
}

fn resume_msg(name: &str, id: ParticipantId, token: &str) -> ClientMsg {
    common::resume_msg(ROOM, name, id, token)
}

fn join_with(name: &str, passcode: Option<&str>) -> ClientMsg {
    ClientMsg::Join {
        protocol: PROTOCOL_VERSION,
        room: ROOM.into(),
        name: name.into(),
        media: MediaState::default(),
        passcode: passcode.map(Into::into),
        token: None,
    }
}

/// Reads until the `session` message that follows a welcome/resumed has been seen
/// and returns the token.
async fn wait_token(client: &mut Client) -> String {
    let before = client.token.clone();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while client.token.is_none() || client.token == before && before.is_some() {
        assert!(tokio::time::Instant::now() < deadline, "no session token");
        if let Ok(event) =
            tokio::time::timeout(Duration::from_millis(50), client.next_event()).await
        {
            match event {
                Event::Msg(msg) => panic!("expected only the token, got {msg:?}"),
                Event::Closed(code) => panic!("closed ({code:?})"),
            }
        }
    }
    client.token.clone().unwrap()
}

async fn joined(server: &TestServer, name: &str) -> (Client, ParticipantId, String) {
    let (mut client, id) = server.joined(ROOM, name).await;
    let token = wait_token(&mut client).await;
    (client, id, token)
}

fn error_code(msg: ServerMsg) -> ErrorCode {
    match msg {
        ServerMsg::Error { code, .. } => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_replayed_token_never_takes_a_live_seat() {
    let server = TestServer::start(settings()).await;
    let (mut ada, ada_id, _) = joined(&server, "Ada").await;
    let (mut bob, bob_id, bob_token) = joined(&server, "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));

    // Eve has Bob's token and replays it while Bob is connected (and answering pings,
    // as Ada does).
    let mut eve = server.connect().await;
    eve.send(&resume_msg("Eve", bob_id, &bob_token)).await;
    let started = tokio::time::Instant::now();
    let refusal = tokio::select! {
        event = eve.next_event() => event,
        event = bob.next_event() => panic!("Bob should hear nothing, got {event:?}"),
        event = ada.next_event() => panic!("Ada should hear nothing, got {event:?}"),
    };
    let Event::Msg(ServerMsg::Error { code, message }) = refusal else {
        panic!("expected a refusal, got {refusal:?}")
    };
    assert_eq!(code, ErrorCode::ResumeFailed);
    assert!(
        message.contains("active on another connection"),
        "{message}"
    );
    // It waited for the live connection to prove itself (heartbeat timeout), no more.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    // Bob keeps the seat: Ada's offers still reach him, and nobody was told he left.
    ada.send(&ClientMsg::Offer {
        to: bob_id,
        sdp: "v=0".into(),
    })
    .await;
    match bob.recv().await {
        ServerMsg::Offer { from, .. } => assert_eq!(from, ada_id),
        other => panic!("expected Ada's offer, got {other:?}"),
    }
    // Eve's socket got nothing of the room.
    eve.send(&ClientMsg::Offer {
        to: ada_id,
        sdp: "v=0".into(),
    })
    .await;
    assert_eq!(error_code(eve.recv().await), ErrorCode::NotJoined);
    match tokio::time::timeout(Duration::from_millis(300), ada.recv()).await {
        Err(_) => {}
        Ok(msg) => panic!("Ada should hear nothing, got {msg:?}"),
    }
}

#[tokio::test]
async fn a_resume_waits_for_a_dead_connection_to_time_out_then_takes_the_seat() {
    let server = TestServer::start(settings()).await;
    let (mut ada, _, _) = joined(&server, "Ada").await;
    let (bob, bob_id, bob_token) = joined(&server, "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    // Bob's old socket stays open but goes silent (a half-open connection): kept
    // alive here, never read from or written to.
    let _silent = bob;
    let mut bob = server.connect().await;
    bob.send(&resume_msg("Bob", bob_id, &bob_token)).await;
    let ServerMsg::Resumed { you, continued, .. } = bob.recv().await else {
        panic!("resumed")
    };
    assert_eq!((you, continued), (bob_id, true));
}

/// A client resumes because its old socket died, and the server may not know yet
/// (its heartbeat timeout can be a minute): the claim makes the server ping the old
/// socket, which has the challenge window to answer, not the whole timeout.
#[tokio::test]
async fn a_resume_gets_the_seat_of_a_silent_connection_without_waiting_out_the_heartbeat() {
    let server = TestServer::start(Settings {
        heartbeat_timeout: Duration::from_secs(60),
        ..settings()
    })
    .await;
    let (mut ada, _, _) = joined(&server, "Ada").await;
    let (bob, bob_id, bob_token) = joined(&server, "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    let _silent = bob;
    let mut bob = server.connect().await;
    let started = tokio::time::Instant::now();
    bob.send(&resume_msg("Bob", bob_id, &bob_token)).await;
    let ServerMsg::Resumed { you, continued, .. } = bob.recv().await else {
        panic!("resumed")
    };
    assert_eq!((you, continued), (bob_id, true));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1_900) && waited < Duration::from_secs(4),
        "resumed after {waited:?}"
    );
}

#[tokio::test]
async fn tokens_rotate_on_resume_and_the_old_one_is_dead() {
    let server = TestServer::start(settings()).await;
    let (_ada, _, _) = joined(&server, "Ada").await;
    let (bob, bob_id, first) = joined(&server, "Bob").await;
    drop(bob);
    let mut bob = server.connect().await;
    bob.send(&resume_msg("Bob", bob_id, &first)).await;
    assert!(matches!(bob.recv().await, ServerMsg::Resumed { .. }));
    let second = wait_token(&mut bob).await;
    assert_ne!(first, second);
    drop(bob);

    let mut eve = server.connect().await;
    eve.send(&resume_msg("Bob", bob_id, &first)).await;
    let ServerMsg::Error { code, message } = eve.recv().await else {
        panic!("refused")
    };
    assert_eq!(code, ErrorCode::ResumeFailed);
    assert!(message.contains("replaced"), "{message}");

    let mut bob = server.connect().await;
    bob.send(&resume_msg("Bob", bob_id, &second)).await;
    assert!(matches!(bob.recv().await, ServerMsg::Resumed { .. }));
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let server = TestServer::start(Settings {
        session_ttl: Duration::from_secs(1),
        ..settings()
    })
    .await;
    let (bob, bob_id, token) = joined(&server, "Bob").await;
    drop(bob);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let mut bob = server.connect().await;
    bob.send(&resume_msg("Bob", bob_id, &token)).await;
    let ServerMsg::Error { code, message } = bob.recv().await else {
        panic!("refused")
    };
    assert_eq!(code, ErrorCode::ResumeFailed);
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn a_live_connection_gets_fresh_tokens_before_expiry() {
    let server = TestServer::start(Settings {
        session_ttl: Duration::from_secs(2),
        ..settings()
    })
    .await;
    let (mut ada, ada_id, first) = joined(&server, "Ada").await;
    let started = tokio::time::Instant::now();
    let fresh = wait_token(&mut ada).await;
    let waited = started.elapsed();
    assert_ne!(fresh, first);
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_millis(1_800),
        "refreshed at half the lifetime: {waited:?}"
    );
    // Both the refreshed one and (as the refresh might have been lost) the one before
    // resume the session; the first resume rotates them all.
    drop(ada);
    let mut ada = server.connect().await;
    ada.send(&resume_msg("Ada", ada_id, &first)).await;
    assert!(matches!(ada.recv().await, ServerMsg::Resumed { .. }));
    drop(ada);
    let mut eve = server.connect().await;
    eve.send(&resume_msg("Ada", ada_id, &fresh)).await;
    assert_eq!(error_code(eve.recv().await), ErrorCode::ResumeFailed);
}

#[tokio::test]
async fn the_token_of_someone_who_left_is_refused() {
    let server = TestServer::start(settings()).await;
    let (mut ada, _, _) = joined(&server, "Ada").await;
    let (mut bob, bob_id, token) = joined(&server, "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    bob.send(&ClientMsg::Leave).await;
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: bob_id,
            reason: LeaveReason::Left
        }
    );
    let mut eve = server.connect().await;
    eve.send(&resume_msg("Bob", bob_id, &token)).await;
    assert_eq!(error_code(eve.recv().await), ErrorCode::ResumeFailed);
}

#[tokio::test]
async fn after_a_restart_new_ids_are_beyond_every_old_token_and_names_come_from_the_token() {
    let first = TestServer::start(settings()).await;
    // An attacker collects as many (id, token) pairs as it can just before a restart.
    let mut stolen = Vec::new();
    for i in 0..150 {
        let (mut eve, id, token) = joined(&first, &format!("Eve {i}")).await;
        eve.send(&ClientMsg::Leave).await;
        stolen.push((id, token));
    }
    let (ada, ada_id, ada_token) = joined(&first, "Ada").await;
    drop(ada);
    first.shut_down().await;

    let second = TestServer::start(settings()).await;
    let stolen_ids: HashSet<_> = stolen.iter().map(|(id, _)| *id).collect();
    let newest_stolen = *stolen_ids.iter().max().unwrap();
    let mut fresh = Vec::new();
    for i in 0..20 {
        let (client, id) = second.joined("busy-bee", &format!("P{i}")).await;
        assert!(!stolen_ids.contains(&id) && id > newest_stolen, "{id}");
        assert!(id.get() < 1 << 53, "JavaScript-safe: {id}");
        fresh.push(client);
    }
    // A real joiner in the attacked room gets an id no stolen token names.
    let (mut cy, cy_id, _) = joined(&second, "Cy").await;
    assert!(cy_id > newest_stolen);
    // Ada comes back (under another name in her message): she keeps hers.
    let mut ada = second.connect().await;
    ada.send(&resume_msg("Mallory", ada_id, &ada_token)).await;
    assert!(matches!(
        ada.recv().await,
        ServerMsg::Resumed {
            continued: false,
            ..
        }
    ));
    let ServerMsg::Joined { participant } = cy.recv().await else {
        panic!("joined")
    };
    assert_eq!((participant.id, participant.name.as_str()), (ada_id, "Ada"));
}

/// A WebSocket handshake with `origin` and `host`: the status, and the body when refused.
async fn handshake(server: &TestServer, origin: Option<&str>, host: &str) -> (u16, String) {
    handshake_with(server, origin, host, None).await
}

async fn handshake_with(
    server: &TestServer,
    origin: Option<&str>,
    host: &str,
    forwarded_host: Option<&str>,
) -> (u16, String) {
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
    }
    if let Some(forwarded) = forwarded_host {
        request
            .headers_mut()
            .insert("X-Forwarded-Host", forwarded.parse().unwrap());
    }
    request.headers_mut().insert("Host", host.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, response)) => {
            drop(ws);
            (response.status().as_u16(), String::new())
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into(),
        ),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

#[tokio::test]
async fn another_origin_is_refused_with_403_own_origin_and_no_origin_are_served() {
    let server = TestServer::start(settings()).await;
    let own = server.addr.to_string();
    let (status, body) = handshake(&server, Some("http://evil.example"), &own).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("http://evil.example") && body.contains("--allowed-origin"),
        "{body}"
    );
    // localhost vs 127.0.0.1, or another port, are other origins.
    let other_port = format!("http://127.0.0.1:{}", server.addr.port() + 1);
    assert_eq!(handshake(&server, Some(&other_port), &own).await.0, 403);
    assert_eq!(
        handshake(&server, Some(&format!("http://{own}")), &own)
            .await
            .0,
        101
    );
    assert_eq!(handshake(&server, None, &own).await.0, 101);
    // The dev loop: `trunk serve` on :8000 forwards the browser's headers, with the
    // backend's host (no port) in Host and the page's host in X-Forwarded-Host.
    assert_eq!(
        handshake_with(
            &server,
            Some("http://127.0.0.1:8000"),
            "127.0.0.1",
            Some("127.0.0.1:8000")
        )
        .await
        .0,
        101
    );
    // A plain GET is not affected (the app itself is on the same path space).
    let (status, _, _) = http_get(
        server.addr,
        "/healthz",
        &[("Origin", "http://evil.example")],
    )
    .await;
    assert_eq!(status, 200);

    let listed = TestServer::start(Settings {
        allowed_origins: AllowedOrigins::parse(&["https://meet.example.org"]).unwrap(),
        ..settings()
    })
    .await;
    let own = listed.addr.to_string();
    assert_eq!(
        handshake(&listed, Some("https://meet.example.org"), &own)
            .await
            .0,
        101
    );
    assert_eq!(
        handshake(&listed, Some("https://evil.example"), &own)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn a_passcode_room_asks_for_it_refuses_wrong_ones_and_admits_the_right_one() {
    let server = TestServer::start(settings()).await;
    let mut ada = server.connect().await;
    ada.send(&join_with("Ada", Some("tulip 42"))).await;
    let ServerMsg::Welcome { you: ada_id, .. } = ada.recv().await else {
        panic!("welcome")
    };
    let ada_token = wait_token(&mut ada).await;

    let mut bob = server.connect().await;
    bob.send(&join_with("Bob", None)).await;
    let ServerMsg::Error { code, message } = bob.recv().await else {
        panic!("refused")
    };
    assert_eq!(code, ErrorCode::PasscodeRequired);
    assert!(message.contains("passcode"), "{message}");
    assert_eq!(
        bob.expect_close().await,
        Some(1008),
        "fatal: one try per connection"
    );

    let mut bob = server.connect().await;
    bob.send(&join_with("Bob", Some("tulip 24"))).await;
    assert_eq!(error_code(bob.recv().await), ErrorCode::WrongPasscode);
    assert_eq!(bob.expect_close().await, Some(1008));

    let mut bob = server.connect().await;
    bob.send(&join_with("Bob", Some("tulip 42"))).await;
    let ServerMsg::Welcome { participants, .. } = bob.recv().await else {
        panic!("welcome")
    };
    assert_eq!(
        participants.iter().map(|p| p.id).collect::<Vec<_>>(),
        [ada_id]
    );
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));

    // A restart keeps the room protected: Ada's token carries the passcode's digest.
    drop((ada, bob));
    server.shut_down().await;
    let second = TestServer::start(settings()).await;
    let mut ada = second.connect().await;
    ada.send(&resume_msg("Ada", ada_id, &ada_token)).await;
    assert!(matches!(ada.recv().await, ServerMsg::Resumed { .. }));
    let mut cy = second.connect().await;
    cy.send(&join_with("Cy", None)).await;
    assert_eq!(error_code(cy.recv().await), ErrorCode::PasscodeRequired);
    let mut cy = second.connect().await;
    cy.send(&join_with("Cy", Some("tulip 42"))).await;
    assert!(matches!(cy.recv().await, ServerMsg::Welcome { .. }));
}

#[tokio::test]
async fn wrong_passcodes_are_limited_per_address() {
    let server = TestServer::start(settings()).await;
    let mut ada = server.connect().await;
    ada.send(&join_with("Ada", Some("right"))).await;
    assert!(matches!(ada.recv().await, ServerMsg::Welcome { .. }));
    for i in 0..10 {
        let mut eve = server.connect().await;
        eve.send(&join_with("Eve", Some(&format!("guess {i}"))))
            .await;
        assert_eq!(error_code(eve.recv().await), ErrorCode::WrongPasscode);
    }
    // Now even the right one is refused from this address, for the rest of the minute.
    let mut eve = server.connect().await;
    eve.send(&join_with("Eve", Some("right"))).await;
    let ServerMsg::Error { code, message } = eve.recv().await else {
        panic!("refused")
    };
    assert_eq!(code, ErrorCode::WrongPasscode);
    assert!(message.contains("Too many"), "{message}");
}

#[tokio::test]
async fn turn_credentials_are_rate_limited_per_address() {
    let turn = Turn::new(
        "turn-test-secret".into(),
        vec!["turn:10.0.0.1:3478?transport=udp".into()],
        Duration::from_secs(600),
    )
    .unwrap();
    let server = TestServer::start(Settings {
        turn: Some(turn),
        turn_per_address_per_minute: 3,
        ..settings()
    })
    .await;
    let mut issued = 0;
    let mut clients = Vec::new();
    for i in 0..8 {
        let mut c = server.connect().await;
        c.send(&join_with(&format!("P{i}"), None)).await;
        let ServerMsg::Welcome { ice_servers, .. } = c.recv().await else {
            panic!("welcome: the join itself is not refused")
        };
        if !ice_servers.is_empty() {
            issued += 1;
        }
        clients.push(c);
    }
    assert_eq!(
        issued, 3,
        "at most 3 credential sets per address per minute"
    );
}
