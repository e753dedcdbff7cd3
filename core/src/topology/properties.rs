//! Property tests: any sequence of joins, leaves, interruptions, readiness, uplink
//! reports, SFU room outcomes (made, failed, lost) and time keeps the switch protocol
//! sound.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::need::needs_relay;
use super::*;
use crate::adaptation::Bitrate;
use crate::ids::ParticipantId;
use crate::protocol::{SwitchPhase, TopologyMode};
use crate::time::{Millis, Time};

#[derive(Debug, Clone)]
enum Op {
    Join,
    /// The n-th seat (modulo how many there are).
    Leave(usize),
    Interrupt(usize),
    Back(usize),
    Ready(usize, bool),
    Uplink(usize, u64),
    /// The pending SFU room creation succeeds (true) or fails.
    SfuRoom(bool),
    /// The SFU loses the call's room (it died).
    SfuLost,
    /// Time passes (ms); whatever is due is polled.
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Join),
        3 => any::<usize>().prop_map(Op::Leave),
        1 => any::<usize>().prop_map(Op::Interrupt),
        1 => any::<usize>().prop_map(Op::Back),
        6 => (any::<usize>(), any::<bool>()).prop_map(|(n, relayed)| Op::Ready(n, relayed)),
        1 => (any::<usize>(), 50u64..3_000).prop_map(|(n, kbps)| Op::Uplink(n, kbps)),
        2 => any::<bool>().prop_map(Op::SfuRoom),
        1 => Just(Op::SfuLost),
        4 => (0u64..12_000).prop_map(Op::Wait),
    ]
}

/// What the test knows of one seat: present or not, and the last thing it was told
/// since it arrived or came back.
#[derive(Debug, Default)]
struct SeatLog {
    present: bool,
    last: Option<(TopologyMode, SwitchPhase)>,
    uplink: Option<Bitrate>,
}

struct Harness {
    t: RoomTopology,
    config: TopologyConfig,
    sfu: bool,
    seats: BTreeMap<ParticipantId, SeatLog>,
    next_id: u64,
    now: Time,
    creating: bool,
    /// The last time the call needed relaying (after an input).
    last_needed: Option<Time>,
    /// The switch under way before the step being checked.
    switching_before: Option<TopologyMode>,
    /// The step being checked is the loss of the SFU room.
    losing: bool,
}

impl Harness {
    fn nth(&self, n: usize) -> Option<ParticipantId> {
        if self.seats.is_empty() {
            return None;
        }
        self.seats.keys().nth(n % self.seats.len()).copied()
    }

    fn apply(&mut self, op: &Op) {
        use TopologyMode::{Mesh, Relayed};
        let now = self.now;
        self.switching_before = self.t.switching_to();
        self.losing = false;
        let effects = match *op {
            Op::Join => {
                if self.t.admits().is_err() {
                    assert!(self.seats.len() >= self.config.mesh_limit);
                    return;
                }
                self.next_id += 1;
                let id = ParticipantId::new(self.next_id);
                self.seats.insert(
                    id,
                    SeatLog {
                        present: true,
                        ..SeatLog::default()
                    },
                );
                self.t.joined(now, id)
            }
            Op::Leave(n) => {
                let Some(id) = self.nth(n) else { return };
                self.seats.remove(&id);
                self.t.left(now, id)
            }
            Op::Interrupt(n) => {
                let Some(id) = self.nth(n) else { return };
                let seat = self.seats.get_mut(&id).unwrap();
                seat.present = false;
                seat.last = None;
                self.t.interrupted(now, id)
            }
            Op::Back(n) => {
                let Some(id) = self.nth(n) else { return };
                let seat = self.seats.get_mut(&id).unwrap();
                if seat.present {
                    return;
                }
                seat.present = true;
                self.t.back(now, id)
            }
            Op::Ready(n, relayed) => {
                let Some(id) = self.nth(n) else { return };
                self.t.ready(now, id, if relayed { Relayed } else { Mesh })
            }
            Op::Uplink(n, kbps) => {
                let Some(id) = self.nth(n) else { return };
                self.seats.get_mut(&id).unwrap().uplink = Some(Bitrate::kbps(kbps));
                self.t.uplink(now, id, Bitrate::kbps(kbps))
            }
            Op::SfuRoom(ok) => {
                if !self.creating {
                    return;
                }
                self.creating = false;
                if ok {
                    self.t.sfu_room_created(now)
                } else {
                    self.t.sfu_room_failed(now)
                }
            }
            Op::SfuLost => {
                self.losing = true;
                self.t.sfu_room_lost(now)
            }
            Op::Wait(ms) => {
                let until = self.now + Millis::from_millis(ms);
                while let Some(due) = self.t.next_deadline().filter(|d| *d <= until) {
                    assert!(
                        due >= self.now,
                        "a deadline in the past: {due:?} < {:?}",
                        self.now
                    );
                    self.now = due;
                    self.switching_before = self.t.switching_to();
                    let step = self.t.poll(due);
                    self.check(&step);
                }
                self.now = until;
                self.switching_before = self.t.switching_to();
                let step = self.t.poll(until);
                self.check(&step);
                self.after_step();
                return;
            }
        };
        self.check(&effects);
        self.after_step();
    }

    /// Checks one step's effects against the protocol's rules, recording what each
    /// seat was told.
    fn check(&mut self, effects: &[TopologyEffect]) {
        use SwitchPhase::{Commit, Prepare};
        let needed = needs_relay(
            &self.config,
            self.seats.len(),
            self.seats.values().filter_map(|s| s.uplink),
        );
        if needed {
            self.last_needed = Some(self.now);
        }
        for effect in effects {
            match *effect {
                TopologyEffect::CreateSfuRoom => {
                    assert!(self.sfu, "no SFU to create a room on");
                    assert!(!self.creating, "two creations at once");
                    self.creating = true;
                }
                TopologyEffect::Tell { to, mode, phase } => {
                    if !self.sfu {
                        assert_eq!(mode, TopologyMode::Mesh, "relayed without an SFU");
                    }
                    let seat = self.seats.get_mut(&to).expect("told someone in the call");
                    assert!(seat.present, "told someone absent");
                    match phase {
                        // A lost room calls a switch to relayed off with a commit of mesh.
                        Commit if self.losing && mode == TopologyMode::Mesh => assert!(
                            matches!(seat.last, Some((_, Prepare))),
                            "mesh committed to {to} with no switch under way"
                        ),
                        Commit => assert_eq!(
                            seat.last,
                            Some((mode, Prepare)),
                            "commit of {mode:?} to {to} without its prepare"
                        ),
                        Prepare => {
                            if let Some((other, Prepare)) = seat.last {
                                assert_eq!(
                                    other, mode,
                                    "a second switch before the first committed"
                                );
                            }
                            // A switch back to mesh that starts now (a newcomer during
                            // one is only told about it).
                            // (At once when the SFU room is lost.)
                            if mode == TopologyMode::Mesh
                                && self.switching_before != Some(mode)
                                && !self.losing
                            {
                                let calm_for = self.last_needed.map(|t| self.now.since(t));
                                assert!(
                                    calm_for.is_none_or(|c| c >= self.config.hold),
                                    "back to mesh after only {calm_for:?} without need"
                                );
                            }
                        }
                    }
                    seat.last = Some((mode, phase));
                }
                TopologyEffect::RefreshGrant { to } => {
                    assert!(self.t.uses_sfu());
                    assert!(self.seats[&to].present);
                }
                TopologyEffect::DestroySfuRoom | TopologyEffect::Switched { .. } => {}
            }
        }
    }

    /// After a whole step: every present seat was last told what the call is doing.
    fn after_step(&self) {
        use SwitchPhase::{Commit, Prepare};
        if !self.sfu {
            assert!(
                self.seats.len() <= self.config.mesh_limit,
                "over the mesh limit"
            );
        }
        if let Some(due) = self.t.next_deadline() {
            assert!(due > self.now, "a deadline due now was left undone");
        }
        assert_eq!(self.t.seat_count(), self.seats.len());
        let expected = match (self.t.switching_to(), self.t.mode()) {
            (Some(to), _) => Some((to, Prepare)),
            (None, TopologyMode::Relayed) => Some((TopologyMode::Relayed, Commit)),
            (None, TopologyMode::Mesh) => None,
        };
        for (id, seat) in self.seats.iter().filter(|(_, s)| s.present) {
            // Waiting for a new SFU room: who came meanwhile is told once it is made.
            if self.t.awaiting_room() && seat.last.is_none() {
                continue;
            }
            match expected {
                Some(e) => assert_eq!(seat.last, Some(e), "{id} was not told"),
                None => assert!(
                    matches!(seat.last, None | Some((TopologyMode::Mesh, Commit))),
                    "{id} last heard {:?} in a mesh call",
                    seat.last
                ),
            }
        }
    }
}

fn run(ops: &[Op], sfu: bool) {
    let config = TopologyConfig {
        relay_above: 3,
        mesh_limit: 5,
        hold: Millis::from_secs(10),
        ready_timeout: Millis::from_secs(2),
        ..TopologyConfig::default()
    };
    let mut h = Harness {
        t: RoomTopology::new(config.clone(), sfu, 1),
        config,
        sfu,
        seats: BTreeMap::new(),
        next_id: 0,
        now: Time::ZERO,
        creating: false,
        last_needed: None,
        switching_before: None,
        losing: false,
    };
    for op in ops {
        h.apply(op);
    }
}

proptest! {
    #[test]
    fn switches_are_sound_with_an_sfu(ops in proptest::collection::vec(op(), 0..120)) {
        run(&ops, true);
    }

    #[test]
    fn without_an_sfu_the_call_stays_mesh_under_the_limit(ops in proptest::collection::vec(op(), 0..120)) {
        run(&ops, false);
    }
}
