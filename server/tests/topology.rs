//! Topology over real WebSockets, with a fake SFU: a call switches to relayed when the
//! sixth joins and back to mesh after the hold, make before break; without an SFU the
//! mesh limit holds; with one, the room capacity.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_sfu::FakeSfu;
use common::{http_get, join_msg, Client, TestServer, PATIENCE};
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, LeaveReason, ServerMsg, SfuGrant, SwitchPhase, TopologyMode,
};
use nonstop_core::time::Millis;
use nonstop_core::topology::TopologyConfig;
use nonstop_core::ParticipantId;
use nonstop_server::Settings;

const ROOM: &str = "big-call";

fn settings(hold_ms: u64) -> Settings {
    Settings {
        static_dir: "/nonexistent/nonstop-test".into(),
        max_connections_per_ip: 0,
        topology: TopologyConfig {
            hold: Millis::from_millis(hold_ms),
            ..TopologyConfig::default()
        },
        ..Settings::default()
    }
}

/// The next `topology` message, skipping roster news (`joined`, `left`).
async fn next_topology(client: &mut Client) -> (TopologyMode, SwitchPhase, Option<SfuGrant>) {
    loop {
        match client.recv().await {
            ServerMsg::Topology { mode, phase, sfu } => return (mode, phase, sfu),
            ServerMsg::Joined { .. } | ServerMsg::Left { .. } => {}
            other => panic!("expected topology, got {other:?}"),
        }
    }
}

/// Everyone says it is ready on `mode`; each then gets the commit of `mode` (its grant
/// returned).
async fn all_ready_then_committed(
    clients: &mut [(Client, ParticipantId)],
    mode: TopologyMode,
) -> Vec<Option<SfuGrant>> {
    for (client, _) in clients.iter_mut() {
        client.send(&ClientMsg::TopologyReady { mode }).await;
    }
    let mut grants = Vec::new();
    for (client, _) in clients.iter_mut() {
        let (got, phase, grant) = next_topology(client).await;
        assert_eq!((got, phase), (mode, SwitchPhase::Commit));
        grants.push(grant);
    }
    grants
}

#[tokio::test]
async fn the_sixth_joiner_relays_the_call_and_it_returns_to_mesh_after_the_hold() {
    let sfu = Arc::new(FakeSfu::new(2));
    let record = sfu.record.clone();
    let server = TestServer::start_with_sfu(settings(500), Some(sfu)).await;
    let mut clients = Vec::new();
    for name in ["Ada", "Bob", "Cy", "Dee", "Eve"] {
        clients.push(server.joined(ROOM, name).await);
    }
    // Five: a mesh, nothing said about it.
    assert!(record.lock().unwrap().created.is_empty());
    clients.push(server.joined(ROOM, "Fay").await);

    // Prepare to everyone, each with its own grant for the one room.
    for (client, id) in &mut clients {
        let (mode, phase, grant) = next_topology(client).await;
        assert_eq!((mode, phase), (TopologyMode::Relayed, SwitchPhase::Prepare));
        let grant = grant.expect("a grant with relayed");
        assert_eq!(grant.room, "room-1");
        assert_eq!(grant.path, "/janus");
        assert_eq!(grant.token, format!("token-for-{id}"));
    }
    assert_eq!(
        record.lock().unwrap().created,
        [("room-1".to_owned(), 200)],
        "one room, for the room's capacity"
    );

    // Everyone ready: commit to everyone.
    let grants = all_ready_then_committed(&mut clients, TopologyMode::Relayed).await;
    assert!(grants.iter().all(Option::is_some));

    // Grants living 2 s are refreshed within 1 s.
    for (client, id) in &mut clients {
        match client.recv().await {
            ServerMsg::SfuGrant { sfu } => assert_eq!(sfu.token, format!("token-for-{id}")),
            other => panic!("expected a fresh grant, got {other:?}"),
        }
    }

    // Fay leaves: five again, relayed for the hold (0.5 s), then back to mesh.
    let (fay, fay_id) = clients.pop().unwrap();
    fay.close().await;
    for (client, _) in &mut clients {
        let mut prepare = None;
        while prepare.is_none() {
            match client.recv().await {
                ServerMsg::Left { id, reason } => {
                    assert_eq!((id, reason), (fay_id, LeaveReason::Disconnected))
                }
                ServerMsg::SfuGrant { .. } => {}
                ServerMsg::Topology { mode, phase, sfu } => prepare = Some((mode, phase, sfu)),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            prepare.unwrap(),
            (TopologyMode::Mesh, SwitchPhase::Prepare, None)
        );
    }
    assert!(
        record.lock().unwrap().destroyed.is_empty(),
        "the room carries media until the commit"
    );
    // Fay is put out of the SFU room: a frozen page of hers would still publish there.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while record.lock().unwrap().kicked.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "Fay not kicked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        record.lock().unwrap().kicked,
        [("room-1".to_owned(), fay_id)]
    );
    for (client, _) in &mut clients {
        client
            .send(&ClientMsg::TopologyReady {
                mode: TopologyMode::Mesh,
            })
            .await;
    }
    for (client, _) in &mut clients {
        loop {
            match client.recv().await {
                ServerMsg::SfuGrant { .. } => {}
                msg => {
                    assert_eq!(
                        msg,
                        ServerMsg::Topology {
                            mode: TopologyMode::Mesh,
                            phase: SwitchPhase::Commit,
                            sfu: None
                        }
                    );
                    break;
                }
            }
        }
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while record.lock().unwrap().destroyed.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "room not destroyed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(record.lock().unwrap().destroyed, ["room-1"]);

    let (status, _, body) = http_get(server.addr, "/metrics", &[]).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    for mode in ["relayed", "mesh"] {
        assert!(
            body.contains(&format!(
                "nonstop_topology_switches_total{{mode=\"{mode}\"}}"
            )),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_failed_sfu_room_keeps_the_mesh_and_is_tried_again() {
    let mut sfu = FakeSfu::new(300);
    sfu.fail_first = 1;
    let record = sfu.record.clone();
    let server = TestServer::start_with_sfu(settings(30_000), Some(Arc::new(sfu))).await;
    let mut clients = Vec::new();
    for n in 0..6 {
        clients.push(server.joined(ROOM, &format!("P{n}")).await);
    }
    // The first attempt fails at once; the retry comes 2 to 3 s later.
    let started = tokio::time::Instant::now();
    let (mode, phase, grant) = next_topology(&mut clients[0].0).await;
    assert_eq!((mode, phase), (TopologyMode::Relayed, SwitchPhase::Prepare));
    assert_eq!(grant.unwrap().room, "room-1");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1_800), "{waited:?}");
    assert_eq!(record.lock().unwrap().failed, 1);
}

#[tokio::test]
async fn a_newcomer_to_a_relayed_call_is_told_at_once_and_a_silent_client_is_not_waited_for() {
    let sfu = Arc::new(FakeSfu::new(300));
    let server = TestServer::start_with_sfu(settings(30_000), Some(sfu)).await;
    let mut clients = Vec::new();
    for n in 0..6 {
        clients.push(server.joined(ROOM, &format!("P{n}")).await);
    }
    for (client, _) in &mut clients {
        next_topology(client).await;
    }
    // Nobody says ready: the commit comes at the 5 s timeout.
    let started = tokio::time::Instant::now();
    let (mode, phase, _) = next_topology(&mut clients[0].0).await;
    assert_eq!((mode, phase), (TopologyMode::Relayed, SwitchPhase::Commit));
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // The seventh: welcome, then prepare and commit at once, with its grant.
    let (mut zed, zed_id) = server.joined(ROOM, "Zed").await;
    let (mode, phase, grant) = next_topology(&mut zed).await;
    assert_eq!((mode, phase), (TopologyMode::Relayed, SwitchPhase::Prepare));
    assert_eq!(grant.unwrap().token, format!("token-for-{zed_id}"));
    let (mode, phase, _) = next_topology(&mut zed).await;
    assert_eq!((mode, phase), (TopologyMode::Relayed, SwitchPhase::Commit));
}

#[tokio::test]
async fn without_an_sfu_the_ninth_joiner_is_told_why_it_cannot_join() {
    let server = TestServer::start(settings(30_000)).await;
    let mut clients = Vec::new();
    for n in 0..8 {
        clients.push(server.joined(ROOM, &format!("P{n}")).await);
    }
    let mut ninth = server.connect().await;
    ninth.send(&join_msg(ROOM, "Nine")).await;
    let ServerMsg::Error { code, message } = ninth.recv().await else {
        panic!("expected an error");
    };
    assert_eq!(code, ErrorCode::MeshLimit);
    assert!(
        message.contains("limited to 8 participants because no SFU is available"),
        "{message}"
    );
    assert_eq!(
        ninth.expect_close().await,
        Some(1008),
        "mesh_limit is fatal"
    );
    // Nobody heard of a topology: the call is a mesh, as before.
    for (client, _) in &mut clients[..1] {
        for _ in 0..7 {
            assert!(matches!(client.recv().await, ServerMsg::Joined { .. }));
        }
    }
}

#[tokio::test]
async fn with_an_sfu_the_room_holds_its_capacity_and_the_next_is_turned_away() {
    let sfu = Arc::new(FakeSfu::new(300));
    let server = TestServer::start_with_sfu(settings(30_000), Some(sfu)).await;
    let mut clients: Vec<(Client, ParticipantId)> = Vec::new();
    for n in 0..200 {
        clients.push(server.joined(ROOM, &format!("P{n}")).await);
    }
    let mut extra = server.connect().await;
    extra.send(&join_msg(ROOM, "One too many")).await;
    let ServerMsg::Error { code, message } = extra.recv().await else {
        panic!("expected an error");
    };
    assert_eq!(code, ErrorCode::RoomFull, "{message}");
    assert!(message.contains("200 of 200"), "{message}");
}

#[tokio::test]
async fn a_dead_sfu_takes_a_relayed_call_back_to_mesh_and_joins_are_held_to_the_mesh_limit() {
    let sfu = Arc::new(FakeSfu::new(300));
    let record = sfu.record.clone();
    let mut settings = settings(60_000);
    settings.topology.relay_above = 2;
    settings.topology.mesh_limit = 3;
    let server = TestServer::start_with_sfu(settings, Some(sfu)).await;
    let mut clients = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        clients.push(server.joined(ROOM, name).await);
    }
    for (client, _) in &mut clients {
        assert_eq!(next_topology(client).await.1, SwitchPhase::Prepare);
    }
    all_ready_then_committed(&mut clients, TopologyMode::Relayed).await;

    // The SFU dies: within two failed checks (the second soon after the first) everyone is told to build the mesh,
    // long before the minute of hold, and nothing is destroyed (nothing is left to).
    let check_interval =
        Duration::from_millis(nonstop_core::topology::SFU_CHECK_INTERVAL.as_millis());
    let died = tokio::time::Instant::now();
    record.lock().unwrap().dead = true;
    for (client, _) in &mut clients {
        let (mode, phase, sfu) =
            tokio::time::timeout(3 * check_interval + PATIENCE, next_topology(client))
                .await
                .expect("told to go back to mesh");
        assert_eq!(
            (mode, phase, sfu),
            (TopologyMode::Mesh, SwitchPhase::Prepare, None)
        );
    }
    let took = died.elapsed();
    assert!(took >= check_interval, "{took:?}");
    all_ready_then_committed(&mut clients, TopologyMode::Mesh).await;
    assert!(record.lock().unwrap().destroyed.is_empty());

    // Without an SFU room the mesh limit holds again, with the reason.
    let mut dee = server.connect().await;
    dee.send(&join_msg(ROOM, "Dee")).await;
    match dee.recv().await {
        ServerMsg::Error { code, message } => {
            assert_eq!(code, ErrorCode::MeshLimit);
            assert!(message.contains("no SFU"), "{message}");
        }
        other => panic!("expected mesh_limit, got {other:?}"),
    }
    let (_, _, body) = http_get(server.addr, "/metrics", &[]).await;
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("nonstop_sfu_rooms_lost_total 1"));
}
