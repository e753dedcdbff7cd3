//! Bad frames get an error reply; they never take down the connection (unless the
//! error is fatal) or the server.

mod common;

use common::{join_msg, TestServer};
use nonstop_core::protocol::{ClientMsg, ErrorCode, ServerMsg, MAX_MESSAGE_BYTES};
use nonstop_core::ParticipantId;
use tokio_tungstenite::tungstenite::Message;

async fn expect_error(client: &mut common::Client, expected: ErrorCode) -> String {
    match client.recv().await {
        ServerMsg::Error { code, message } => {
            assert_eq!(code, expected, "{message}");
            assert!(!message.is_empty());
            message
        }
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn recoverable_errors_leave_the_connection_working() {
    let server = TestServer::start_default().await;
    let (mut bob, bob_id) = server.joined("calm-otter", "Bob").await;
    let mut ada = server.connect().await;

    // Before joining.
    ada.send(&ClientMsg::Offer {
        to: bob_id,
        sdp: "v=0".into(),
    })
    .await;
    expect_error(&mut ada, ErrorCode::NotJoined).await;
    ada.send(&ClientMsg::Media {
        media: Default::default(),
    })
    .await;
    expect_error(&mut ada, ErrorCode::NotJoined).await;

    let (ada_id, _) = ada.join("calm-otter", "Ada").await;
    assert!(matches!(bob.recv().await, ServerMsg::Joined { .. }));

    for garbage in [
        "",
        "not json",
        "[1,2]",
        "{}",
        r#"{"type":"nope"}"#,
        r#"{"type":"offer","to":"bob","sdp":"v=0"}"#,
        r#"{"type":"welcome"}"#,
    ] {
        ada.send_text(garbage).await;
        expect_error(&mut ada, ErrorCode::Malformed).await;
    }

    // Just over the protocol's limit, well under the WebSocket library's.
    let big = format!(
        r#"{{"type":"offer","to":{bob_id},"sdp":"{}"}}"#,
        "a".repeat(MAX_MESSAGE_BYTES)
    );
    ada.send_text(&big).await;
    let message = expect_error(&mut ada, ErrorCode::TooLarge).await;
    assert!(
        message.contains(&MAX_MESSAGE_BYTES.to_string()),
        "{message}"
    );

    ada.send_frame(Message::binary(vec![0u8, 1, 2, 3])).await;
    expect_error(&mut ada, ErrorCode::BinaryFrame).await;

    ada.send(&join_msg("calm-otter", "Ada again")).await;
    expect_error(&mut ada, ErrorCode::AlreadyJoined).await;

    ada.send(&ClientMsg::Offer {
        to: ParticipantId::new(999_999),
        sdp: "v=0".into(),
    })
    .await;
    expect_error(&mut ada, ErrorCode::UnknownParticipant).await;

    // WebSocket-level pings are fine too.
    ada.send_frame(Message::Ping(vec![1u8].into())).await;

    // After all that, Ada still signals Bob, and Bob heard none of it.
    ada.send(&ClientMsg::Offer {
        to: bob_id,
        sdp: "v=0 real".into(),
    })
    .await;
    assert_eq!(
        bob.recv().await,
        ServerMsg::Offer {
            from: ada_id,
            sdp: "v=0 real".into()
        }
    );
}

#[tokio::test]
async fn fatal_join_errors_close_the_socket_and_nothing_else() {
    let server = TestServer::start_default().await;
    let (mut bob, _) = server.joined("calm-otter", "Bob").await;

    let bad_joins = [
        (
            r#"{"type":"join","protocol":999,"room":"calm-otter","name":"Ada","media":{"audio":true,"video":true}}"#
                .to_string(),
            ErrorCode::UnsupportedVersion,
        ),
        (join_msg("no spaces allowed", "Ada").to_json(), ErrorCode::InvalidRoom),
        (join_msg("ab", "Ada").to_json(), ErrorCode::InvalidRoom),
        (join_msg("calm-otter", "   ").to_json(), ErrorCode::InvalidName),
        (
            join_msg("calm-otter", &"n".repeat(41)).to_json(),
            ErrorCode::InvalidName,
        ),
    ];
    for (join, code) in bad_joins {
        assert!(code.is_fatal());
        let mut ada = server.connect().await;
        ada.send_text(&join).await;
        expect_error(&mut ada, code).await;
        assert_eq!(ada.expect_close().await, Some(1008), "{code:?}");
    }

    // Bob heard of none of them and the server still takes joins.
    let (_, participants) = server.connect().await.join("calm-otter", "Cy").await;
    assert_eq!(participants.len(), 1);
    assert!(
        matches!(bob.recv().await, ServerMsg::Joined { participant } if participant.name == "Cy")
    );
}

#[tokio::test]
async fn a_frame_beyond_the_library_limit_drops_only_its_connection() {
    let server = TestServer::start_default().await;
    let (mut bob, _) = server.joined("calm-otter", "Bob").await;
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    assert!(matches!(bob.recv().await, ServerMsg::Joined { .. }));

    let huge = Message::text("x".repeat(nonstop_server::WS_LIBRARY_MAX_BYTES + 1));
    if let Err(e) = ada.try_send_frame(huge).await {
        // The server may reset the connection before the whole frame is written.
        eprintln!("sending the huge frame failed: {e}");
    } else {
        // The library refuses it (close code 1009, or a reset).
        ada.expect_close().await;
    }
    // Either way the room is told and the server goes on.
    assert!(matches!(
        bob.recv().await,
        ServerMsg::Left { id, .. } if id == ada_id
    ));
    server.joined("calm-otter", "Cy").await;
    assert!(matches!(bob.recv().await, ServerMsg::Joined { .. }));
}
