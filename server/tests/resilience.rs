//! Surviving a lost signaling connection: resume within the grace period, resume into
//! a restarted server, and time-limited TURN credentials with their refresh.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{join_msg, resume_msg, Client, TestServer};
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, LeaveReason, ServerMsg, SwitchPhase, TopologyMode,
};
use nonstop_core::ParticipantId;
use nonstop_server::turn::{credential, Turn};
use nonstop_server::Settings;

fn settings(grace_ms: u64) -> Settings {
    Settings {
        static_dir: PathBuf::from("/nonexistent/nonstop-test"),
        resume_grace: Duration::from_millis(grace_ms),
        session_secret: Some("test-session-secret".into()),
        ..Settings::default()
    }
}

async fn joined_with_token(server: &TestServer, name: &str) -> (Client, ParticipantId, String) {
    server.joined_with_token("calm-otter", name).await
}

#[tokio::test]
async fn a_dropped_socket_resumes_within_the_grace_and_the_room_is_not_told_left() {
    let server = TestServer::start(settings(2_000)).await;
    let (mut ada, ada_id, _) = joined_with_token(&server, "Ada").await;
    let (bob, bob_id, bob_token) = joined_with_token(&server, "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));

    // Gone without a close frame, like a network blip.
    drop(bob);
    let mut bob = server.connect().await;
    bob.send(&resume_msg("calm-otter", "Bob", bob_id, &bob_token))
        .await;
    let ServerMsg::Resumed {
        you,
        participants,
        continued,
        ..
    } = bob.recv().await
    else {
        panic!("resumed")
    };
    assert_eq!((you, continued), (bob_id, true));
    assert_eq!(
        participants.iter().map(|p| p.id).collect::<Vec<_>>(),
        [ada_id]
    );

    // Relaying reaches Bob's new socket; Ada was told only that he was interrupted and
    // is back (tests/interruptions.rs).
    ada.send(&ClientMsg::Offer {
        to: bob_id,
        sdp: "v=0".into(),
    })
    .await;
    loop {
        match bob.recv().await {
            ServerMsg::Offer { from, .. } => break assert_eq!(from, ada_id),
            ServerMsg::Media { .. } => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    ada.send(&ClientMsg::Pong).await;
    loop {
        match tokio::time::timeout(Duration::from_millis(300), ada.recv()).await {
            Ok(ServerMsg::Interrupted { .. } | ServerMsg::Back { .. }) => continue,
            Ok(other) => panic!("Ada should not hear that Bob left, got {other:?}"),
            Err(_) => break,
        }
    }
}

#[tokio::test]
async fn after_the_grace_the_room_is_told_and_the_session_cannot_be_resumed() {
    let server = TestServer::start(settings(300)).await;
    let (mut ada, _, _) = joined_with_token(&server, "Ada").await;
    let (bob, bob_id, bob_token) = joined_with_token(&server, "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    let dropped = tokio::time::Instant::now();
    drop(bob);
    assert_eq!(ada.recv().await, ServerMsg::Interrupted { id: bob_id });
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: bob_id,
            reason: LeaveReason::Disconnected
        }
    );
    assert!(dropped.elapsed() >= Duration::from_millis(300));

    let mut bob = server.connect().await;
    bob.send(&resume_msg("calm-otter", "Bob", bob_id, &bob_token))
        .await;
    assert!(matches!(
        bob.recv().await,
        ServerMsg::Error {
            code: ErrorCode::ResumeFailed,
            ..
        }
    ));
    // The same socket can still join, as someone new.
    let (new_id, participants) = bob.join("calm-otter", "Bob").await;
    assert!(new_id > bob_id);
    assert_eq!(participants.len(), 1);
}

#[tokio::test]
async fn a_close_frame_ends_the_session_at_once() {
    let server = TestServer::start(settings(60_000)).await;
    let (mut ada, _, _) = joined_with_token(&server, "Ada").await;
    let (bob, bob_id, _) = joined_with_token(&server, "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    bob.close().await;
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: bob_id,
            reason: LeaveReason::Disconnected
        }
    );
}

#[tokio::test]
async fn a_forged_token_is_refused() {
    let server = TestServer::start(settings(2_000)).await;
    let (_ada, ada_id, _) = joined_with_token(&server, "Ada").await;
    let mut eve = server.connect().await;
    eve.send(&resume_msg(
        "calm-otter",
        "Eve",
        ada_id,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ))
    .await;
    assert!(matches!(
        eve.recv().await,
        ServerMsg::Error {
            code: ErrorCode::ResumeFailed,
            ..
        }
    ));
}

#[tokio::test]
async fn participants_resume_into_a_restarted_server_under_their_ids() {
    let first = TestServer::start(settings(2_000)).await;
    let (_ada, ada_id, ada_token) = joined_with_token(&first, "Ada").await;
    first.shut_down().await;

    let second = TestServer::start(settings(2_000)).await;
    let mut ada = second.connect().await;
    ada.send(&resume_msg("calm-otter", "Ada", ada_id, &ada_token))
        .await;
    let ServerMsg::Resumed {
        you,
        participants,
        continued,
        ..
    } = ada.recv().await
    else {
        panic!("resumed")
    };
    assert_eq!((you, continued), (ada_id, false));
    assert!(participants.is_empty());
    // Her old call may have been relayed: she is told this one is a mesh.
    for phase in [SwitchPhase::Prepare, SwitchPhase::Commit] {
        let told = ada.recv().await;
        assert!(
            matches!(told, ServerMsg::Topology { mode: TopologyMode::Mesh, phase: p, sfu: None } if p == phase),
            "{told:?}"
        );
    }
    // A newcomer sees her, and is newer than her.
    let (_cy, cy_id) = second.joined("calm-otter", "Cy").await;
    assert!(cy_id > ada_id);
    assert!(
        matches!(ada.recv().await, ServerMsg::Joined { participant } if participant.id == cy_id)
    );

    // A server with another secret cannot be fooled into it.
    let other = TestServer::start(Settings {
        session_secret: Some("another".into()),
        ..settings(2_000)
    })
    .await;
    let mut eve = other.connect().await;
    eve.send(&resume_msg("calm-otter", "Ada", ada_id, &ada_token))
        .await;
    assert!(matches!(
        eve.recv().await,
        ServerMsg::Error {
            code: ErrorCode::ResumeFailed,
            ..
        }
    ));
}

#[tokio::test]
async fn turn_credentials_come_with_the_welcome_and_are_refreshed_before_expiry() {
    let turn = Turn::new(
        "turn-test-secret".into(),
        vec![
            "turn:10.0.0.1:3478?transport=udp".into(),
            "turn:10.0.0.1:3478?transport=tcp".into(),
        ],
        Duration::from_secs(2),
    )
    .unwrap();
    let server = TestServer::start(Settings {
        turn: Some(turn),
        ..settings(2_000)
    })
    .await;
    let mut ada = server.connect().await;
    ada.send(&join_msg("calm-otter", "Ada")).await;
    let ServerMsg::Welcome {
        you, ice_servers, ..
    } = ada.recv().await
    else {
        panic!("welcome")
    };
    let check = |servers: &[nonstop_core::protocol::IceServer]| {
        assert_eq!(servers.len(), 1);
        let username = servers[0].username.clone().unwrap();
        let (expiry, id) = username.split_once(':').unwrap();
        assert_eq!(id, you.to_string());
        let expiry: u64 = expiry.parse().unwrap();
        let now = nonstop_server::turn::unix_now();
        assert!(
            expiry > now && expiry <= now + 3,
            "expiry {expiry}, now {now}"
        );
        assert_eq!(
            servers[0].credential.clone().unwrap(),
            credential(b"turn-test-secret", &username)
        );
        expiry
    };
    let first_expiry = check(&ice_servers);
    // Fresh ones arrive after half the lifetime, before the first expire.
    let started = tokio::time::Instant::now();
    let ServerMsg::IceServers { ice_servers } = ada.recv().await else {
        panic!("ice_servers")
    };
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert!(check(&ice_servers) >= first_expiry);
}
