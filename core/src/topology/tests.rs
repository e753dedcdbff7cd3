//! One test per rule of the topology decision.

use super::*;
use crate::adaptation::Bitrate;
use crate::ids::ParticipantId;
use crate::protocol::{ErrorCode, SwitchPhase, TopologyMode};
use crate::time::{Millis, Time};

use SwitchPhase::{Commit, Prepare};
use TopologyMode::{Mesh, Relayed};

fn pid(n: u64) -> ParticipantId {
    ParticipantId::new(n)
}

fn at(ms: u64) -> Time {
    Time::from_millis(ms)
}

fn config() -> TopologyConfig {
    TopologyConfig {
        hold: Millis::from_secs(30),
        ready_timeout: Millis::from_secs(5),
        ..TopologyConfig::default()
    }
}

/// Whom `effects` tell (mode, phase), in order.
fn told(effects: &[TopologyEffect], mode: TopologyMode, phase: SwitchPhase) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            TopologyEffect::Tell {
                to,
                mode: m,
                phase: p,
            } if *m == mode && *p == phase => Some(to.get()),
            _ => None,
        })
        .collect()
}

fn has(effects: &[TopologyEffect], effect: &TopologyEffect) -> bool {
    effects.contains(effect)
}

/// A call with an SFU and `n` participants (ids 1..=n) joined at time 0, the SFU room
/// created if asked for; returns the effects of the last step.
fn call_of(n: u64) -> (RoomTopology, Vec<TopologyEffect>) {
    let mut t = RoomTopology::new(config(), true, 7);
    let mut last = Vec::new();
    for id in 1..=n {
        last = t.joined(at(0), pid(id));
        if has(&last, &TopologyEffect::CreateSfuRoom) {
            last = t.sfu_room_created(at(0));
        }
    }
    (t, last)
}

fn all_ready(
    t: &mut RoomTopology,
    now: Time,
    ids: impl IntoIterator<Item = u64>,
    mode: TopologyMode,
) -> Vec<TopologyEffect> {
    let mut last = Vec::new();
    for id in ids {
        last = t.ready(now, pid(id), mode);
    }
    last
}

#[test]
fn five_stay_in_mesh_and_the_sixth_asks_for_an_sfu_room() {
    let mut t = RoomTopology::new(config(), true, 7);
    for id in 1..=5 {
        assert!(
            t.joined(at(0), pid(id)).is_empty(),
            "nothing to do for {id}"
        );
    }
    assert_eq!(t.joined(at(0), pid(6)), [TopologyEffect::CreateSfuRoom]);
    assert_eq!(t.mode(), Mesh);
    assert_eq!(t.switching_to(), None, "no switch before the room exists");
    let effects = t.sfu_room_created(at(10));
    assert_eq!(told(&effects, Relayed, Prepare), [1, 2, 3, 4, 5, 6]);
    assert_eq!(t.switching_to(), Some(Relayed));
}

#[test]
fn commit_comes_when_everyone_present_is_ready() {
    let (mut t, _) = call_of(6);
    let effects = all_ready(&mut t, at(100), 1..=5, Relayed);
    assert!(told(&effects, Relayed, Commit).is_empty(), "one is missing");
    // A ready for the other mode changes nothing.
    assert!(t.ready(at(100), pid(6), Mesh).is_empty());
    let effects = t.ready(at(200), pid(6), Relayed);
    assert_eq!(told(&effects, Relayed, Commit), [1, 2, 3, 4, 5, 6]);
    assert!(has(&effects, &TopologyEffect::Switched { mode: Relayed }));
    assert_eq!((t.mode(), t.switching_to()), (Relayed, None));
}

#[test]
fn those_not_ready_are_committed_at_the_timeout() {
    let (mut t, _) = call_of(6);
    all_ready(&mut t, at(100), 1..=4, Relayed);
    assert_eq!(t.next_deadline(), Some(at(5_000)));
    assert!(t.poll(at(4_999)).is_empty());
    let effects = t.poll(at(5_000));
    assert_eq!(told(&effects, Relayed, Commit), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn an_interrupted_participant_is_not_waited_for_and_catches_up_when_back() {
    let (mut t, _) = call_of(6);
    all_ready(&mut t, at(100), 1..=5, Relayed);
    let effects = t.interrupted(at(150), pid(6));
    assert_eq!(
        told(&effects, Relayed, Commit),
        [1, 2, 3, 4, 5],
        "not to the absent one"
    );
    let effects = t.back(at(300), pid(6));
    assert_eq!(
        effects,
        [
            TopologyEffect::Tell {
                to: pid(6),
                mode: Relayed,
                phase: Prepare
            },
            TopologyEffect::Tell {
                to: pid(6),
                mode: Relayed,
                phase: Commit
            },
        ]
    );
}

#[test]
fn a_newcomer_mid_switch_is_told_prepare_and_waited_for() {
    let (mut t, _) = call_of(6);
    all_ready(&mut t, at(100), 1..=6, Relayed);
    let (mut t2, _) = call_of(6);
    all_ready(&mut t2, at(100), 1..=5, Relayed);
    let effects = t2.joined(at(200), pid(7));
    assert_eq!(
        effects,
        [TopologyEffect::Tell {
            to: pid(7),
            mode: Relayed,
            phase: Prepare
        }]
    );
    assert!(told(&t2.ready(at(300), pid(6), Relayed), Relayed, Commit).is_empty());
    assert_eq!(
        told(&t2.ready(at(300), pid(7), Relayed), Relayed, Commit).len(),
        7
    );
    // In a relayed call, a newcomer gets both steps at once.
    let effects = t.joined(at(400), pid(7));
    assert_eq!(told(&effects, Relayed, Prepare), [7]);
    assert_eq!(told(&effects, Relayed, Commit), [7]);
}

#[test]
fn back_to_mesh_only_after_the_hold_and_the_room_goes_after_the_commit() {
    let (mut t, _) = call_of(6);
    all_ready(&mut t, at(100), 1..=6, Relayed);
    // Down to five at 1 s: relayed for 30 s more.
    assert!(t.left(at(1_000), pid(6)).is_empty());
    assert_eq!(t.next_deadline(), Some(at(31_000)));
    assert!(t.poll(at(30_999)).is_empty());
    let effects = t.poll(at(31_000));
    assert_eq!(told(&effects, Mesh, Prepare), [1, 2, 3, 4, 5]);
    assert!(
        !has(&effects, &TopologyEffect::DestroySfuRoom),
        "still in use"
    );
    let effects = all_ready(&mut t, at(32_000), 1..=5, Mesh);
    assert_eq!(told(&effects, Mesh, Commit), [1, 2, 3, 4, 5]);
    assert!(has(&effects, &TopologyEffect::DestroySfuRoom));
    assert_eq!(t.mode(), Mesh);
    assert_eq!(t.next_deadline(), None);
}

#[test]
fn someone_rejoining_within_the_hold_does_not_flap() {
    let (mut t, _) = call_of(6);
    all_ready(&mut t, at(100), 1..=6, Relayed);
    t.left(at(1_000), pid(6));
    // Back as a new participant 20 s later: still relayed, the hold starts over next time.
    let effects = t.joined(at(21_000), pid(7));
    assert_eq!(told(&effects, Relayed, Commit), [7]);
    assert_eq!(t.next_deadline(), None);
    t.left(at(25_000), pid(7));
    assert!(
        t.poll(at(31_000)).is_empty(),
        "the hold counts from the last leave"
    );
    assert_eq!(told(&t.poll(at(55_000)), Mesh, Prepare).len(), 5);
}

#[test]
fn growing_again_during_the_switch_back_finishes_it_then_relays_with_the_same_room() {
    let (mut t, _) = call_of(6);
    all_ready(&mut t, at(100), 1..=6, Relayed);
    t.left(at(1_000), pid(6));
    t.poll(at(31_000));
    let effects = t.joined(at(31_500), pid(7));
    assert_eq!(
        effects,
        [TopologyEffect::Tell {
            to: pid(7),
            mode: Mesh,
            phase: Prepare
        }]
    );
    // Committing to mesh, the call needs relaying again: straight back, no new room.
    let effects = all_ready(&mut t, at(32_000), [1, 2, 3, 4, 5, 7], Mesh);
    assert_eq!(told(&effects, Mesh, Commit).len(), 6);
    assert_eq!(told(&effects, Relayed, Prepare).len(), 6);
    assert!(!has(&effects, &TopologyEffect::DestroySfuRoom));
    assert!(!has(&effects, &TopologyEffect::CreateSfuRoom));
}

#[test]
fn a_failed_sfu_room_keeps_the_mesh_and_is_retried_with_backoff() {
    let mut t = RoomTopology::new(config(), true, 7);
    for id in 1..=6 {
        t.joined(at(0), pid(id));
    }
    assert!(t.sfu_room_failed(at(100)).is_empty());
    assert_eq!(t.mode(), Mesh);
    // First retry after 2 to 3 s.
    let first = t.next_deadline().unwrap();
    assert!((at(2_100)..=at(3_100)).contains(&first), "{first:?}");
    assert!(t.poll(Time::from_millis(first.as_millis() - 1)).is_empty());
    assert_eq!(t.poll(first), [TopologyEffect::CreateSfuRoom]);
    t.sfu_room_failed(first);
    let second = t.next_deadline().unwrap();
    assert!(second.since(first) >= Millis::from_secs(4), "backs off");
    // Nobody needs it any more: no retry.
    t.left(first, pid(6));
    assert_eq!(t.next_deadline(), None);
    assert!(t.poll(second).is_empty());
}

#[test]
fn without_an_sfu_the_call_stays_in_mesh_up_to_the_limit() {
    let mut t = RoomTopology::new(config(), false, 7);
    for id in 1..=8 {
        assert!(t.admits().is_ok());
        assert!(t.joined(at(0), pid(id)).is_empty());
    }
    let refusal = t.admits().unwrap_err();
    assert_eq!(refusal.code, ErrorCode::MeshLimit);
    assert!(
        refusal
            .message
            .contains("limited to 8 participants because no SFU is available"),
        "{}",
        refusal.message
    );
    assert_eq!(t.mode(), Mesh);
    assert_eq!(t.next_deadline(), None);
}

#[test]
fn with_an_sfu_room_the_mesh_limit_does_not_apply() {
    let (t, _) = call_of(8);
    assert!(t.admits().is_ok());
    let mut failing = RoomTopology::new(config(), true, 7);
    for id in 1..=8 {
        failing.joined(at(0), pid(id));
    }
    assert!(failing.admits().is_ok(), "the room is being made");
    failing.sfu_room_failed(at(0));
    assert_eq!(failing.admits().unwrap_err().code, ErrorCode::MeshLimit);
}

#[test]
fn a_thin_uplink_relays_a_small_call() {
    let mut t = RoomTopology::new(config(), true, 7);
    for id in 1..=4 {
        t.joined(at(0), pid(id));
    }
    // Three peers need 360 kb/s; 300 kb/s cannot carry the mesh.
    assert_eq!(
        t.uplink(at(10), pid(2), Bitrate::kbps(300)),
        [TopologyEffect::CreateSfuRoom]
    );
    t.sfu_room_created(at(20));
    all_ready(&mut t, at(30), 1..=4, Relayed);
    assert_eq!(t.mode(), Relayed);
    // A better reading: back to mesh after the hold.
    t.uplink(at(1_000), pid(2), Bitrate::kbps(2_000));
    assert_eq!(told(&t.poll(at(31_000)), Mesh, Prepare).len(), 4);
}

#[test]
fn grants_are_refreshed_at_half_their_lifetime_while_the_sfu_is_in_use() {
    let (mut t, _) = call_of(6);
    t.grants_issued(at(0), Millis::from_secs(60));
    assert_eq!(
        t.next_deadline(),
        Some(at(5_000)),
        "the switch deadline first"
    );
    all_ready(&mut t, at(100), 1..=6, Relayed);
    assert_eq!(t.next_deadline(), Some(at(30_000)));
    t.interrupted(at(200), pid(3));
    let effects = t.poll(at(30_000));
    let refreshed: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            TopologyEffect::RefreshGrant { to } => Some(to.get()),
            _ => None,
        })
        .collect();
    assert_eq!(refreshed, [1, 2, 4, 5, 6], "the present ones");
    assert_eq!(
        t.next_deadline(),
        None,
        "until the owner reports the new grants"
    );
    t.grants_issued(at(30_000), Millis::from_secs(60));
    assert_eq!(t.next_deadline(), Some(at(60_000)));
}

#[test]
fn a_lost_sfu_room_takes_a_relayed_call_back_to_mesh_at_once_and_is_made_again() {
    let (mut t, _) = call_of(6);
    let committed = all_ready(&mut t, at(1_000), 1..=6, Relayed);
    assert_eq!(told(&committed, Relayed, Commit), [1, 2, 3, 4, 5, 6]);

    // The SFU died: no hold, no room to destroy; everyone builds the mesh.
    let lost = t.sfu_room_lost(at(10_000));
    assert_eq!(told(&lost, Mesh, Prepare), [1, 2, 3, 4, 5, 6]);
    assert!(!has(&lost, &TopologyEffect::DestroySfuRoom));
    assert_eq!(t.switching_to(), Some(Mesh));
    // Without a room, the call is held to the mesh limit.
    assert!(t.admits().is_ok(), "6 of 8");
    let back = all_ready(&mut t, at(11_000), 1..=6, Mesh);
    assert_eq!(told(&back, Mesh, Commit), [1, 2, 3, 4, 5, 6]);
    assert_eq!(t.mode(), Mesh);
    assert!(t.sfu_room_lost(at(11_500)).is_empty(), "told once");

    // Six still need relaying: a new room is asked for at the retry, and the call
    // moves once it exists.
    let due = t.next_deadline().expect("a retry");
    assert!(due > at(10_000));
    assert!(has(&t.poll(due), &TopologyEffect::CreateSfuRoom));
    let made = t.sfu_room_created(due);
    assert_eq!(told(&made, Relayed, Prepare), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_relayed_call_too_big_for_a_mesh_that_loses_its_room_stays_relayed_and_moves_to_a_new_one() {
    // Ten, over the mesh limit of 8: a mesh would have each open nine links at once.
    let (mut t, _) = call_of(10);
    all_ready(&mut t, at(1_000), 1..=10, Relayed);
    assert_eq!(t.mode(), Relayed);

    // The SFU died: a new room is asked for at once; nobody is told the mesh.
    let lost = t.sfu_room_lost(at(10_000));
    assert_eq!(lost, [TopologyEffect::CreateSfuRoom]);
    assert_eq!((t.mode(), t.switching_to()), (Relayed, None));
    assert!(t.awaiting_room());
    // Its creation fails (no SFU answers yet): tried again with backoff, still no mesh.
    let failed = t.sfu_room_failed(at(10_100));
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        t.admits().is_err(),
        "no room and over the mesh limit: joins wait"
    );
    let due = t.next_deadline().expect("a retry");
    assert!(due > at(10_100));
    assert_eq!(t.poll(due), [TopologyEffect::CreateSfuRoom]);
    // A newcomer meanwhile is told nothing yet.
    let newcomer = t.joined(due, pid(11));
    assert!(
        told(&newcomer, Mesh, Prepare).is_empty() && told(&newcomer, Relayed, Prepare).is_empty()
    );

    // Made: everyone, the newcomer too, is told the relayed path to it, both steps.
    let made = t.sfu_room_created(due + Millis::from_millis(200));
    let everyone: Vec<u64> = (1..=11).collect();
    assert_eq!(told(&made, Relayed, Prepare), everyone);
    assert_eq!(told(&made, Relayed, Commit), everyone);
    assert!(!t.awaiting_room());
    assert!(t
        .sfu_room_lost(at(60_000))
        .contains(&TopologyEffect::CreateSfuRoom));
}

#[test]
fn a_call_that_shrinks_while_awaiting_a_new_room_goes_to_mesh() {
    let (mut t, _) = call_of(10);
    all_ready(&mut t, at(1_000), 1..=10, Relayed);
    t.sfu_room_lost(at(10_000));
    t.sfu_room_failed(at(10_100));
    // Down to five: relaying is no longer needed, and after the hold the mesh is prepared.
    for id in 6..=10 {
        t.left(at(11_000), pid(id));
    }
    let back = t.poll(at(11_000) + Millis::from_secs(30));
    assert_eq!(told(&back, Mesh, Prepare), [1, 2, 3, 4, 5]);
    assert!(!t.awaiting_room());
}

#[test]
fn a_room_lost_during_the_switch_to_relayed_calls_the_switch_off() {
    let (mut t, last) = call_of(6);
    assert_eq!(told(&last, Relayed, Prepare), [1, 2, 3, 4, 5, 6]);
    t.ready(at(500), pid(1), Relayed);
    let lost = t.sfu_room_lost(at(1_000));
    assert_eq!(told(&lost, Mesh, Commit), [1, 2, 3, 4, 5, 6]);
    assert!(told(&lost, Relayed, Commit).is_empty());
    assert_eq!(t.mode(), Mesh);
    assert_eq!(t.switching_to(), None);
    // A late ready for the dropped switch changes nothing.
    assert!(all_ready(&mut t, at(1_500), 2..=6, Relayed).is_empty());
    assert_eq!(t.mode(), Mesh);
}

#[test]
fn a_room_lost_when_there_is_none_changes_nothing() {
    let (mut t, _) = call_of(3);
    assert!(t.sfu_room_lost(at(1_000)).is_empty());
    assert_eq!(t.next_deadline(), None);
}

#[test]
fn a_readmitted_participant_is_told_the_mesh_it_may_not_be_on() {
    let mut t = RoomTopology::new(config(), true, 7);
    // The first one back after a restart: its old call may have been relayed.
    let effects = t.readmitted(at(0), pid(4));
    assert_eq!(told(&effects, Mesh, Prepare), vec![4]);
    assert_eq!(told(&effects, Mesh, Commit), vec![4]);
    // A fresh join into a mesh call is told nothing: it is on no path yet.
    let effects = t.joined(at(0), pid(9));
    assert!(effects.is_empty(), "{effects:?}");
}

#[test]
fn a_readmitted_participant_of_a_relayed_call_is_told_the_relayed_path_only() {
    let (mut t, _) = call_of(6);
    all_ready(&mut t, at(100), 1..=6, Relayed);
    assert_eq!(t.mode(), Relayed);
    let effects = t.readmitted(at(200), pid(7));
    assert_eq!(told(&effects, Relayed, Prepare), vec![7]);
    assert_eq!(told(&effects, Relayed, Commit), vec![7]);
    assert!(told(&effects, Mesh, Prepare).is_empty(), "{effects:?}");
}
