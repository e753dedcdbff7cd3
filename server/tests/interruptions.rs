//! A participant whose signaling socket ends without `leave` is announced to its room
//! at once (`interrupted`), and its resume as `back`; `left` follows only if it does
//! not come back. Nothing of the kind for a proper leave or a server shutdown. Real
//! WebSockets on 127.0.0.1.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Client, Event, TestServer};
use nonstop_core::protocol::{
    ClientMsg, LeaveReason, MediaState, Participant, ServerMsg, CLOSE_RESUMING, PROTOCOL_VERSION,
};
use nonstop_core::ParticipantId;
use nonstop_server::Settings;
use tokio::time::Instant;

const ROOM: &str = "calm-otter";

/// The longest the room may wait to hear of an interrupted socket (the browsers'
/// budget for dropping a vanished participant is 400 ms in all).
const ANNOUNCED_WITHIN: Duration = Duration::from_millis(100);

fn settings(grace_ms: u64) -> Settings {
    Settings {
        static_dir: PathBuf::from("/nonexistent/nonstop-test"),
        session_secret: Some("interruptions-test-secret".into()),
        resume_grace: Duration::from_millis(grace_ms),
        // Quick heartbeats: a silent socket times out within a second.
        heartbeat_interval: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_millis(1_000),
        ..Settings::default()
    }
}

fn resume_msg(name: &str, id: ParticipantId, token: &str, media: MediaState) -> ClientMsg {
    ClientMsg::Resume {
        protocol: PROTOCOL_VERSION,
        room: ROOM.into(),
        name: name.into(),
        media,
        id,
        token: token.into(),
    }
}

/// Ada and Bob in one room, Ada having heard Bob join: (ada, bob, bob's id, bob's token).
async fn two(server: &TestServer) -> (Client, Client, ParticipantId, String) {
    let (mut ada, _, _) = server.joined_with_token(ROOM, "Ada").await;
    let (bob, bob_id, bob_token) = server.joined_with_token(ROOM, "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    (ada, bob, bob_id, bob_token)
}

/// A new connection that asks to resume Bob's session (camera and microphone off).
async fn resuming(server: &TestServer, bob_id: ParticipantId, bob_token: &str) -> Client {
    let mut bob = server.connect().await;
    bob.send(&resume_msg("Bob", bob_id, bob_token, MediaState::default()))
        .await;
    bob
}

/// Fails if `client` hears anything but pings for `quiet`.
async fn hears_nothing(client: &mut Client, quiet: Duration, who: &str) {
    if let Ok(event) = tokio::time::timeout(quiet, client.next_event()).await {
        panic!("{who} should hear nothing more, got {event:?}");
    }
}

#[tokio::test]
async fn a_dropped_socket_is_announced_at_once_and_its_resume_as_back() {
    let server = TestServer::start(settings(2_000)).await;
    let (mut ada, bob, bob_id, bob_token) = two(&server).await;

    // Gone without a close frame, as when the browser process is killed.
    let dropped = Instant::now();
    drop(bob);
    assert_eq!(ada.recv().await, ServerMsg::Interrupted { id: bob_id });
    let took = dropped.elapsed();
    println!("interrupted reached the room {took:?} after the socket dropped");
    assert!(took < ANNOUNCED_WITHIN, "{took:?}");

    // Bob comes back within the grace, with his camera off now.
    let camera_off = MediaState {
        audio: true,
        video: false,
    };
    let mut bob = server.connect().await;
    bob.send(&resume_msg("Bob", bob_id, &bob_token, camera_off))
        .await;
    assert!(matches!(bob.recv().await, ServerMsg::Resumed { .. }));
    assert_eq!(
        ada.recv().await,
        ServerMsg::Back {
            participant: Participant {
                id: bob_id,
                name: "Bob".into(),
                media: camera_off,
            }
        }
    );
    // The grace runs out with Bob resumed: nobody is told he left (both keep answering
    // pings meanwhile).
    let quiet = Duration::from_millis(2_300);
    tokio::join!(
        hears_nothing(&mut ada, quiet, "Ada"),
        hears_nothing(&mut bob, quiet, "Bob")
    );
}

#[tokio::test]
async fn a_dropped_socket_that_never_resumes_is_left_after_the_grace() {
    let server = TestServer::start(settings(300)).await;
    let (mut ada, bob, bob_id, _) = two(&server).await;
    let dropped = Instant::now();
    drop(bob);
    assert_eq!(ada.recv().await, ServerMsg::Interrupted { id: bob_id });
    assert!(
        dropped.elapsed() < ANNOUNCED_WITHIN,
        "{:?}",
        dropped.elapsed()
    );
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: bob_id,
            reason: LeaveReason::Disconnected
        }
    );
    let took = dropped.elapsed();
    println!("left reached the room {took:?} after the socket dropped (grace 300 ms)");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    hears_nothing(&mut ada, Duration::from_millis(300), "Ada").await;
}

#[tokio::test]
async fn a_proper_leave_or_close_is_only_left() {
    let server = TestServer::start(settings(2_000)).await;
    let (mut ada, mut bob, bob_id, _) = two(&server).await;
    bob.send(&ClientMsg::Leave).await;
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: bob_id,
            reason: LeaveReason::Left
        }
    );
    // A closed tab: a close frame without `leave`.
    let (cy, cy_id) = server.joined(ROOM, "Cy").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    cy.close().await;
    assert_eq!(
        ada.recv().await,
        ServerMsg::Left {
            id: cy_id,
            reason: LeaveReason::Disconnected
        }
    );
    hears_nothing(&mut ada, Duration::from_millis(300), "Ada").await;
}

/// A page that gave up on a silent socket closes it with `CLOSE_RESUMING` and resumes
/// on a new one: its seat is held as for a dropped socket, not given up.
#[tokio::test]
async fn a_socket_closed_for_a_resume_keeps_its_seat() {
    let server = TestServer::start(settings(2_000)).await;
    let (mut ada, bob, bob_id, bob_token) = two(&server).await;
    bob.close_with(CLOSE_RESUMING).await;
    assert_eq!(ada.recv().await, ServerMsg::Interrupted { id: bob_id });
    let mut bob = resuming(&server, bob_id, &bob_token).await;
    assert!(matches!(
        bob.recv().await,
        ServerMsg::Resumed {
            continued: true,
            ..
        }
    ));
    assert!(matches!(ada.recv().await, ServerMsg::Back { .. }));
}

#[tokio::test]
async fn a_resume_waiting_for_the_old_connection_is_back_after_its_interruption() {
    let server = TestServer::start(settings(5_000)).await;
    let started = Instant::now();
    let (mut ada, bob, bob_id, bob_token) = two(&server).await;
    // Bob's old socket stays open but silent (half-open): the server learns it is
    // dead only when it goes unanswered (here the 1 s heartbeat timeout comes before
    // the 2 s the resume's ping allows), and his resume waits for that.
    let _silent = bob;
    let mut bob = resuming(&server, bob_id, &bob_token).await;
    assert_eq!(ada.recv().await, ServerMsg::Interrupted { id: bob_id });
    // Bob's last frame on the old socket came after `started`.
    let interrupted_after = started.elapsed();
    assert!(
        interrupted_after >= Duration::from_secs(1),
        "not before the heartbeat timeout: {interrupted_after:?}"
    );
    assert!(
        matches!(ada.recv().await, ServerMsg::Back { participant } if participant.id == bob_id)
    );
    assert!(matches!(bob.recv().await, ServerMsg::Resumed { .. }));
    println!(
        "interrupted {interrupted_after:?} after Bob's join (heartbeat timeout 1 s), back {:?} after it",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_shutdown_interrupts_nobody() {
    let mut server = TestServer::start(settings(2_000)).await;
    let (mut ada, mut bob, _, _) = two(&server).await;
    server.begin_shutdown();
    for (who, client) in [("Ada", &mut ada), ("Bob", &mut bob)] {
        loop {
            match client.next_event().await {
                Event::Msg(ServerMsg::GoingAway { .. }) => {}
                Event::Msg(other) => panic!("{who} should hear only going_away, got {other:?}"),
                Event::Closed(_) => break,
            }
        }
    }
    server.finish_shutdown(Duration::from_secs(5)).await;
}
