//! A meeting over real WebSockets: joining, relaying, media state, leaving, capacity
//! and heartbeats.

mod common;

use std::time::Duration;

use common::{join_msg, TestServer};
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, IceCandidate, LeaveReason, MediaState, Participant, ServerMsg,
    PROTOCOL_VERSION,
};
use nonstop_server::Settings;

const MUTED: MediaState = MediaState {
    audio: false,
    video: true,
};

#[tokio::test]
async fn joiners_are_welcomed_with_the_room_and_announced_to_it() {
    let server = TestServer::start_default().await;
    let mut ada = server.connect().await;
    ada.send(&join_msg("Calm-Otter", "  Ada  ")).await;
    let ServerMsg::Welcome {
        protocol,
        you: ada_id,
        room,
        participants,
        ice_servers,
        heartbeat_interval_ms,
        name,
        owner,
    } = ada.recv().await
    else {
        panic!("expected welcome");
    };
    assert_eq!(protocol, PROTOCOL_VERSION);
    assert_eq!(
        name.as_deref(),
        Some("Ada"),
        "her name as the room sees it, trimmed"
    );
    assert!(!owner, "no meeting token, no owner");
    assert_eq!(
        heartbeat_interval_ms,
        Some(2_000),
        "the server's ping interval"
    );
    assert_eq!(room, "calm-otter", "room names are case-insensitive");
    assert!(participants.is_empty());
    assert!(ice_servers.is_empty());

    let mut bob = server.connect().await;
    bob.send(&ClientMsg::Join {
        protocol: PROTOCOL_VERSION,
        room: "calm-otter".into(),
        name: "Bob".into(),
        media: MUTED,
        passcode: None,
        token: None,
    })
    .await;
    let ServerMsg::Welcome {
        you: bob_id,
        participants,
        ..
    } = bob.recv().await
    else {
        panic!("expected welcome");
    };
    assert!(bob_id > ada_id, "ids grow with join order");
    assert_eq!(
        participants,
        [Participant {
            id: ada_id,
            name: "Ada".into(),
            media: MediaState::default()
        }]
    );
    assert_eq!(
        ada.recv().await,
        ServerMsg::Joined {
            participant: Participant {
                id: bob_id,
                name: "Bob".into(),
                media: MUTED
            }
        }
    );

    let (_cy, cy_id) = server.joined("calm-otter", "Cy").await;
    assert!(cy_id > bob_id);
    for client in [&mut ada, &mut bob] {
        assert!(
            matches!(client.recv().await, ServerMsg::Joined { participant } if participant.id == cy_id)
        );
    }
}

#[tokio::test]
async fn signals_reach_only_their_target_inside_the_room_stamped_with_the_sender() {
    let server = TestServer::start_default().await;
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    let (mut bob, bob_id) = server.joined("calm-otter", "Bob").await;
    let (mut cy, _) = server.joined("calm-otter", "Cy").await;
    let (mut dan, dan_id) = server.joined("other-room", "Dan").await;
    for _ in 0..2 {
        ada.recv().await; // joined: Bob, Cy
    }
    bob.recv().await; // joined: Cy

    bob.send(&ClientMsg::Offer {
        to: ada_id,
        sdp: "v=0 offer".into(),
    })
    .await;
    assert_eq!(
        ada.recv().await,
        ServerMsg::Offer {
            from: bob_id,
            sdp: "v=0 offer".into()
        }
    );
    ada.send(&ClientMsg::Answer {
        to: bob_id,
        sdp: "v=0 answer".into(),
    })
    .await;
    assert_eq!(
        bob.recv().await,
        ServerMsg::Answer {
            from: ada_id,
            sdp: "v=0 answer".into()
        }
    );
    let candidate = IceCandidate {
        candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: Some("frag".into()),
    };
    ada.send(&ClientMsg::Candidate {
        to: bob_id,
        candidate: candidate.clone(),
    })
    .await;
    assert_eq!(
        bob.recv().await,
        ServerMsg::Candidate {
            from: ada_id,
            candidate
        }
    );

    // Across rooms: the sender is told the target is unknown, the target hears nothing.
    ada.send(&ClientMsg::Offer {
        to: dan_id,
        sdp: "v=0".into(),
    })
    .await;
    assert!(matches!(
        ada.recv().await,
        ServerMsg::Error {
            code: ErrorCode::UnknownParticipant,
            ..
        }
    ));

    // A `from` of one's own choosing is not part of the protocol.
    ada.send_text(&format!(
        r#"{{"type":"offer","to":{bob_id},"from":{dan_id},"sdp":"v=0"}}"#
    ))
    .await;
    assert!(matches!(
        ada.recv().await,
        ServerMsg::Error {
            code: ErrorCode::Malformed,
            ..
        }
    ));

    // Later events show that Cy and Dan received nothing before them.
    ada.send(&ClientMsg::Media { media: MUTED }).await;
    assert_eq!(
        cy.recv().await,
        ServerMsg::Media {
            from: ada_id,
            media: MUTED
        }
    );
    assert_eq!(
        bob.recv().await,
        ServerMsg::Media {
            from: ada_id,
            media: MUTED
        }
    );
    let (_eve, eve_id) = server.joined("other-room", "Eve").await;
    assert!(
        matches!(dan.recv().await, ServerMsg::Joined { participant } if participant.id == eve_id)
    );
}

/// Chat of a relayed call goes through the server: to everyone else in the room,
/// stamped with the sender, trimmed; an empty or over-long line is refused and the
/// connection goes on.
#[tokio::test]
async fn chat_reaches_the_rest_of_the_room_stamped_and_checked() {
    let server = TestServer::start_default().await;
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    let (mut bob, _) = server.joined("calm-otter", "Bob").await;
    let (mut dan, _) = server.joined("other-room", "Dan").await;
    ada.recv().await; // joined: Bob
    ada.send(&ClientMsg::Chat {
        text: "  hello <b>all</b> ".into(),
        sent_at: 1_700_000_000_000,
    })
    .await;
    assert_eq!(
        bob.recv().await,
        ServerMsg::Chat {
            from: ada_id,
            text: "hello <b>all</b>".into(),
            sent_at: 1_700_000_000_000,
        }
    );
    for (text, code) in [
        ("   ".to_string(), ErrorCode::Malformed),
        ("x".repeat(2_001), ErrorCode::TooLarge),
    ] {
        ada.send(&ClientMsg::Chat { text, sent_at: 0 }).await;
        match ada.recv().await {
            ServerMsg::Error { code: got, .. } => assert_eq!(got, code),
            other => panic!("expected {code:?}, got {other:?}"),
        }
    }
    // Nothing reached Bob from the refused lines, nor Dan in another room, nor Ada
    // her own line; Ada's connection goes on.
    ada.send(&ClientMsg::Chat {
        text: "still here".into(),
        sent_at: 1,
    })
    .await;
    assert!(matches!(bob.recv().await, ServerMsg::Chat { text, .. } if text == "still here"));
    for (who, client) in [("Ada", &mut ada), ("Dan", &mut dan)] {
        if let Ok(msg) = tokio::time::timeout(Duration::from_millis(300), client.recv()).await {
            panic!("{who} should hear nothing, got {msg:?}");
        }
    }
}

#[tokio::test]
async fn media_state_is_kept_for_later_joiners() {
    let server = TestServer::start_default().await;
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    ada.send(&ClientMsg::Media { media: MUTED }).await;
    // Frames of one connection are handled in order, so once the server has answered
    // this one, the update is stored.
    ada.send_text("{}").await;
    assert!(matches!(
        ada.recv().await,
        ServerMsg::Error {
            code: ErrorCode::Malformed,
            ..
        }
    ));
    let mut bob = server.connect().await;
    let (_, participants) = bob.join("calm-otter", "Bob").await;
    assert_eq!(participants[0].id, ada_id);
    assert_eq!(participants[0].media, MUTED);
}

#[tokio::test]
async fn the_room_hears_why_someone_left() {
    let server = TestServer::start_default().await;
    let (mut ada, _) = server.joined("calm-otter", "Ada").await;
    let (mut bob, bob_id) = server.joined("calm-otter", "Bob").await;
    let (cy, cy_id) = server.joined("calm-otter", "Cy").await;
    let (dan, dan_id) = server.joined("calm-otter", "Dan").await;
    for _ in 0..3 {
        ada.recv().await; // joined: Bob, Cy, Dan
    }
    for _ in 0..2 {
        bob.recv().await; // joined: Cy, Dan
    }

    bob.send(&ClientMsg::Leave).await;
    assert_eq!(bob.expect_close().await, Some(1000));
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: bob_id,
            reason: LeaveReason::Left
        }
    );

    cy.close().await;
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: cy_id,
            reason: LeaveReason::Disconnected
        }
    );

    // Gone without a close frame, like a crashed tab: held for a resume meanwhile.
    drop(dan);
    assert_eq!(ada.recv().await, ServerMsg::Interrupted { id: dan_id });
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: dan_id,
            reason: LeaveReason::Disconnected
        }
    );

    // Signals to someone who left are refused.
    ada.send(&ClientMsg::Offer {
        to: bob_id,
        sdp: "v=0".into(),
    })
    .await;
    assert!(matches!(
        ada.recv().await,
        ServerMsg::Error {
            code: ErrorCode::UnknownParticipant,
            ..
        }
    ));
}

#[tokio::test]
async fn a_full_room_turns_the_next_joiner_away() {
    let server = TestServer::start(Settings {
        capacity: 2,
        ..Settings::default()
    })
    .await;
    let (mut ada, _) = server.joined("calm-otter", "Ada").await;
    let (_bob, _) = server.joined("calm-otter", "Bob").await;
    ada.recv().await; // joined: Bob

    let mut cy = server.connect().await;
    cy.send(&join_msg("calm-otter", "Cy")).await;
    let ServerMsg::Error { code, message } = cy.recv().await else {
        panic!("expected an error");
    };
    assert_eq!(code, ErrorCode::RoomFull);
    assert!(
        message.starts_with("This meeting is full (2 of 2 people)"),
        "{message}"
    );
    assert_eq!(cy.expect_close().await, Some(1008), "room_full is fatal");

    // Other rooms are open; Ada heard nothing of Cy.
    server.joined("other-room", "Cy").await;
    ada.send(&ClientMsg::Media { media: MUTED }).await;
    ada.send_text("[]").await;
    assert!(matches!(
        ada.recv().await,
        ServerMsg::Error {
            code: ErrorCode::Malformed,
            ..
        }
    ));
}

#[tokio::test]
async fn a_silent_connection_times_out_and_a_talking_one_does_not() {
    let server = TestServer::start(Settings {
        heartbeat_interval: Duration::from_millis(50),
        heartbeat_timeout: Duration::from_millis(400),
        ..Settings::default()
    })
    .await;
    // `recv` answers pings, so Ada stays alive while she waits.
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    let mut bob = server.connect().await;
    let (bob_id, _) = bob.join("calm-otter", "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    // Bob now reads nothing and so answers nothing.
    let started = tokio::time::Instant::now();
    assert_eq!(ada.recv().await, ServerMsg::Interrupted { id: bob_id });
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: bob_id,
            reason: LeaveReason::TimedOut
        }
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );

    // Bob's socket was closed after the pings he ignored (`expect_close` reads
    // past them, answering too late).
    assert_eq!(bob.expect_close().await, Some(1008));

    // Ada, who answered, is still there for the next joiner.
    let (cy_id, participants) = server.connect().await.join("calm-otter", "Cy").await;
    assert_eq!(
        participants.iter().map(|p| p.id).collect::<Vec<_>>(),
        [ada_id]
    );
    assert!(
        matches!(ada.recv().await, ServerMsg::Joined { participant } if participant.id == cy_id)
    );
}

#[tokio::test]
async fn shutdown_closes_sockets_as_going_away() {
    let server = TestServer::start_default().await;
    let (mut ada, _) = server.joined("calm-otter", "Ada").await;
    server.shut_down().await;
    assert!(matches!(ada.recv().await, ServerMsg::GoingAway { .. }));
    assert_eq!(ada.expect_close().await, Some(1001));
}
