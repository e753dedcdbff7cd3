//! Each room's topology ([`RoomTopology`], decided in core) wired to its membership: the
//! room feeds it joins, leaves, interruptions and returns, readiness and uplink
//! reports, and turns what it decides into deliveries (`topology` with each
//! participant's grant, `sfu_grant`) and [`SfuJob`]s for the hub to run: creating and
//! destroying the SFU room, which take time, and waking the room at its next deadline.

use std::sync::Arc;

use nonstop_core::adaptation::Bitrate;
use nonstop_core::names::RoomName;
use nonstop_core::protocol::{ServerMsg, TopologyMode};
use nonstop_core::time::{Millis, Time};
use nonstop_core::topology::{RoomTopology, TopologyConfig, TopologyEffect};
use nonstop_core::ParticipantId;

use super::{Delivery, Room, Rooms};
use crate::sfu::{SfuError, SfuRoom, SfuRooms};

/// Something the hub does outside the lock for a room's topology.
#[derive(Debug)]
pub enum SfuJob {
    /// Create an SFU room for the room `room` (instance `generation` of that name),
    /// then report with [`Rooms::sfu_room_created`].
    Create {
        room: RoomName,
        generation: u64,
        capacity: usize,
    },
    /// Destroy this SFU room.
    Destroy(SfuRoom),
    /// Put `participant` out of this SFU room: it left the call, and a page that froze
    /// or lost its signaling may still hold its place there (the next one to join
    /// with that id would be refused) and its uplink.
    Kick {
        room: SfuRoom,
        participant: ParticipantId,
    },
    /// Call [`Rooms::poll_topology`] for the room at `at`.
    Wake {
        room: RoomName,
        generation: u64,
        at: Time,
    },
    /// The room's call now uses `mode` (for logs and metrics).
    Switched { room: RoomName, mode: TopologyMode },
}

/// How the rooms decide topology: the policy, the SFU (if any) and the clock.
pub struct TopologySetup {
    pub config: TopologyConfig,
    pub sfu: Option<Arc<dyn SfuRooms>>,
    /// The time now, on the clock [`SfuJob::Wake`] times are on.
    pub clock: Box<dyn Fn() -> Time + Send + Sync>,
}

impl Default for TopologySetup {
    /// No SFU: every call stays in mesh, up to the mesh limit; time stands still.
    fn default() -> Self {
        TopologySetup {
            config: TopologyConfig::default(),
            sfu: None,
            clock: Box::new(|| Time::ZERO),
        }
    }
}

impl std::fmt::Debug for TopologySetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopologySetup")
            .field("config", &self.config)
            .field("sfu", &self.sfu.is_some())
            .finish()
    }
}

/// A room's topology state beside its members.
#[derive(Debug)]
pub(super) struct RoomSfu {
    pub(super) topology: RoomTopology,
    /// The SFU room while the call has one.
    room: Option<SfuRoom>,
    /// Tells this room apart from an earlier or later room of the same name, so a
    /// late SFU result or wake-up does not land in the wrong one.
    generation: u64,
    /// The earliest wake-up asked for and not yet come.
    wake: Option<Time>,
}

impl RoomSfu {
    /// `relay_above`: the room's own threshold (rooms API), else the server's.
    pub(super) fn new(setup: &TopologySetup, relay_above: Option<usize>, generation: u64) -> Self {
        let mut config = setup.config.clone();
        if let Some(n) = relay_above {
            config.relay_above = n;
        }
        RoomSfu {
            topology: RoomTopology::new(config, setup.sfu.is_some(), generation),
            room: None,
            generation,
            wake: None,
        }
    }

    /// The SFU room to destroy when the room itself goes away.
    pub(super) fn take_room(&mut self) -> Option<SfuRoom> {
        self.room.take()
    }

    pub(super) fn room(&self) -> Option<&SfuRoom> {
        self.room.as_ref()
    }
}

impl<O> Rooms<O> {
    /// The jobs decided since the last call, for the hub to run.
    pub fn take_sfu_jobs(&mut self) -> Vec<SfuJob> {
        std::mem::take(&mut self.sfu_jobs)
    }

    pub(super) fn now(&self) -> Time {
        (self.topology.clock)()
    }

    /// `id` says it receives everyone on `mode`.
    pub fn topology_ready(&mut self, id: ParticipantId, mode: TopologyMode) -> Vec<Delivery> {
        let now = self.now();
        self.with_topology_of(id, |t| t.ready(now, id, mode))
    }

    /// `id` reports its uplink.
    pub fn uplink(&mut self, id: ParticipantId, bps: u64) -> Vec<Delivery> {
        let now = self.now();
        self.with_topology_of(id, |t| t.uplink(now, id, Bitrate::bps(bps)))
    }

    /// The SFU room asked for by [`SfuJob::Create`] was made (or not). A result for a
    /// room that is gone comes back as a job to destroy it.
    pub fn sfu_room_created(
        &mut self,
        room_name: &RoomName,
        generation: u64,
        result: Result<SfuRoom, SfuError>,
    ) -> Vec<Delivery> {
        let now = self.now();
        let Some(room) = self.room_generation(room_name, generation) else {
            if let Ok(made) = result {
                self.sfu_jobs.push(SfuJob::Destroy(made));
            }
            return Vec::new();
        };
        let effects = match result {
            Ok(made) => {
                room.sfu.room = Some(made);
                room.sfu.topology.sfu_room_created(now)
            }
            Err(_) => room.sfu.topology.sfu_room_failed(now),
        };
        self.apply_topology(room_name.clone(), effects)
    }

    /// Whether instance `generation` of `room_name` still has the SFU room `sfu_id`
    /// (the watch on that SFU room goes on).
    pub fn holds_sfu_room(&self, room_name: &RoomName, generation: u64, sfu_id: &str) -> bool {
        self.rooms.get(room_name).is_some_and(|r| {
            r.sfu.generation == generation && r.sfu.room.as_ref().is_some_and(|m| m.id == sfu_id)
        })
    }

    /// The SFU room `sfu_id` of `room_name` is gone (the SFU died or lost it): the
    /// call goes back to mesh without it. `None` if the room no longer held it (it
    /// was destroyed or replaced meanwhile: nothing was lost).
    pub fn sfu_room_lost(
        &mut self,
        room_name: &RoomName,
        generation: u64,
        sfu_id: &str,
    ) -> Option<Vec<Delivery>> {
        if !self.holds_sfu_room(room_name, generation, sfu_id) {
            return None;
        }
        let now = self.now();
        let room = self.room_generation(room_name, generation)?;
        // Nothing to destroy: the SFU no longer has it.
        room.sfu.room = None;
        let effects = room.sfu.topology.sfu_room_lost(now);
        Some(self.apply_topology(room_name.clone(), effects))
    }

    /// The wake-up of [`SfuJob::Wake`] came: does what is due.
    pub fn poll_topology(&mut self, room_name: &RoomName, generation: u64) -> Vec<Delivery> {
        let now = self.now();
        let Some(room) = self.room_generation(room_name, generation) else {
            return Vec::new();
        };
        if room.sfu.wake.is_some_and(|at| at <= now) {
            room.sfu.wake = None;
        }
        let effects = room.sfu.topology.poll(now);
        self.apply_topology(room_name.clone(), effects)
    }

    /// The room `room_name` if it is still instance `generation` of that name: an SFU
    /// result or wake-up for a room that ended (and maybe started again) is stale.
    fn room_generation(&mut self, room_name: &RoomName, generation: u64) -> Option<&mut Room<O>> {
        self.rooms
            .get_mut(room_name)
            .filter(|r| r.sfu.generation == generation)
    }

    /// Runs `input` on the topology of `id`'s room and applies what it decides.
    pub(super) fn with_topology_of(
        &mut self,
        id: ParticipantId,
        input: impl FnOnce(&mut RoomTopology) -> Vec<TopologyEffect>,
    ) -> Vec<Delivery> {
        let Some(room_name) = self.room_of.get(&id).cloned() else {
            return Vec::new();
        };
        let Some(room) = self.rooms.get_mut(&room_name) else {
            return Vec::new();
        };
        let effects = input(&mut room.sfu.topology);
        self.apply_topology(room_name, effects)
    }

    /// Turns `effects` of `room_name`'s topology into deliveries and jobs, and asks
    /// for a wake-up at its next deadline if that is sooner than the one asked for.
    pub(super) fn apply_topology(
        &mut self,
        room_name: RoomName,
        effects: Vec<TopologyEffect>,
    ) -> Vec<Delivery> {
        let now = self.now();
        let capacity = self.capacity;
        let Some(room) = self.rooms.get_mut(&room_name) else {
            return Vec::new();
        };
        let sfu = self.topology.sfu.as_deref();
        let mut deliveries = Vec::new();
        for effect in effects {
            match effect {
                TopologyEffect::CreateSfuRoom => self.sfu_jobs.push(SfuJob::Create {
                    room: room_name.clone(),
                    generation: room.sfu.generation,
                    capacity,
                }),
                TopologyEffect::DestroySfuRoom => {
                    if let Some(made) = room.sfu.room.take() {
                        self.sfu_jobs.push(SfuJob::Destroy(made));
                    }
                }
                TopologyEffect::Tell { to, mode, phase } => {
                    let sfu = match mode {
                        TopologyMode::Relayed => grant(sfu, room, to, now),
                        TopologyMode::Mesh => None,
                    };
                    deliveries.push(Delivery {
                        to,
                        msg: ServerMsg::Topology { mode, phase, sfu },
                    });
                }
                TopologyEffect::RefreshGrant { to } => {
                    if let Some(sfu) = grant(sfu, room, to, now) {
                        deliveries.push(Delivery {
                            to,
                            msg: ServerMsg::SfuGrant { sfu },
                        });
                    }
                }
                TopologyEffect::Switched { mode } => self.sfu_jobs.push(SfuJob::Switched {
                    room: room_name.clone(),
                    mode,
                }),
            }
        }
        if let Some(at) = room.sfu.topology.next_deadline() {
            if room.sfu.wake.is_none_or(|asked| at < asked) {
                room.sfu.wake = Some(at);
                self.sfu_jobs.push(SfuJob::Wake {
                    room: room_name,
                    generation: room.sfu.generation,
                    at,
                });
            }
        }
        deliveries
    }
}

/// `to`'s grant for `room`'s SFU room, its lifetime reported to the topology.
fn grant<O>(
    sfu: Option<&dyn SfuRooms>,
    room: &mut Room<O>,
    to: ParticipantId,
    now: Time,
) -> Option<nonstop_core::protocol::SfuGrant> {
    let made = room.sfu.room.as_ref()?;
    let grant = sfu?.grant(made, to);
    room.sfu.topology.grants_issued(
        now,
        Millis::from_millis(grant.expires_in.saturating_mul(1000)),
    );
    Some(grant)
}

#[cfg(test)]
mod tests {
    use nonstop_core::names::DisplayName;
    use nonstop_core::protocol::{LeaveReason, MediaState, SfuGrant, SwitchPhase};

    use super::*;
    use crate::rooms::JoinTerms;
    use crate::sfu::SfuFuture;

    /// Grants only: the rooms never call the async methods themselves.
    struct GrantsOnly;

    impl SfuRooms for GrantsOnly {
        fn create(&self, _: usize) -> SfuFuture<'_, Result<SfuRoom, SfuError>> {
            unreachable!("the hub creates rooms")
        }
        fn destroy(&self, _: SfuRoom) -> SfuFuture<'_, ()> {
            unreachable!("the hub destroys rooms")
        }
        fn grant(&self, room: &SfuRoom, participant: ParticipantId) -> SfuGrant {
            SfuGrant {
                path: "/janus".into(),
                room: room.id.clone(),
                pin: room.pin.clone(),
                token: participant.to_string(),
                room_token: String::new(),
                expires_in: 60,
            }
        }
        fn exists(&self, _: &SfuRoom) -> SfuFuture<'_, Result<bool, SfuError>> {
            unreachable!("the hub watches rooms")
        }
        fn kick(&self, _: &SfuRoom, _: ParticipantId) -> SfuFuture<'_, ()> {
            unreachable!("the hub kicks")
        }
    }

    fn sfu_room(id: &str) -> SfuRoom {
        SfuRoom {
            id: id.into(),
            pin: "1234".into(),
            secret: "s3cret".into(),
            instance: 0,
        }
    }

    fn rooms() -> Rooms<()> {
        Rooms::new(200).with_topology(TopologySetup {
            sfu: Some(Arc::new(GrantsOnly)),
            ..TopologySetup::default()
        })
    }

    fn join(rooms: &mut Rooms<()>, room: &str, n: usize) -> (ParticipantId, Vec<Delivery>) {
        let joined = rooms
            .join(
                RoomName::parse(room).unwrap(),
                DisplayName::parse(&format!("P{n}")).unwrap(),
                MediaState::default(),
                None,
                (),
            )
            .unwrap();
        (joined.id, joined.deliveries)
    }

    /// A room of six whose SFU room was made: (ids, generation).
    fn relayed_room(rooms: &mut Rooms<()>) -> (Vec<ParticipantId>, u64) {
        let ids: Vec<_> = (0..6).map(|n| join(rooms, "big-call", n).0).collect();
        let jobs = rooms.take_sfu_jobs();
        let [SfuJob::Create {
            generation,
            capacity: 200,
            ..
        }] = jobs[..]
        else {
            panic!("one room to create: {jobs:?}");
        };
        let name = RoomName::parse("big-call").unwrap();
        let prepared = rooms.sfu_room_created(&name, generation, Ok(sfu_room("vr-1")));
        assert_eq!(prepared.len(), 6);
        for (d, id) in prepared.iter().zip(&ids) {
            let ServerMsg::Topology {
                mode: TopologyMode::Relayed,
                phase: SwitchPhase::Prepare,
                sfu: Some(grant),
            } = &d.msg
            else {
                panic!("prepare with a grant: {:?}", d.msg);
            };
            assert_eq!((d.to, grant.room.as_str()), (*id, "vr-1"));
            assert_eq!(grant.token, id.to_string(), "each its own grant");
        }
        (ids, generation)
    }

    #[test]
    fn the_topology_comes_after_the_welcome_and_the_roster_news() {
        let mut rooms = rooms();
        let (ids, _) = relayed_room(&mut rooms);
        let (zed, deliveries) = join(&mut rooms, "big-call", 7);
        assert!(matches!(deliveries[0].msg, ServerMsg::Welcome { .. }));
        let (news, topology) = deliveries[1..].split_at(ids.len());
        assert!(news
            .iter()
            .all(|d| matches!(d.msg, ServerMsg::Joined { .. })));
        assert_eq!(topology.len(), 1, "mid-switch: prepare only");
        assert_eq!(topology[0].to, zed);
    }

    #[test]
    fn an_emptied_room_destroys_its_sfu_room_and_a_late_one_is_destroyed_too() {
        let mut rooms = rooms();
        let (ids, generation) = relayed_room(&mut rooms);
        rooms.take_sfu_jobs();
        for id in &ids {
            rooms.leave(*id, LeaveReason::Left);
        }
        // Each leaver is put out of the SFU room while others use it; the last one's
        // leave destroys it.
        let jobs = rooms.take_sfu_jobs();
        let (last, kicks) = jobs.split_last().expect("jobs");
        assert!(
            matches!(last, SfuJob::Destroy(r) if r.id == "vr-1"),
            "{jobs:?}"
        );
        let kicked: Vec<ParticipantId> = kicks
            .iter()
            .map(|job| match job {
                SfuJob::Kick { room, participant } if room.id == "vr-1" => *participant,
                other => panic!("expected a kick, got {other:?}"),
            })
            .collect();
        assert_eq!(kicked, ids[..ids.len() - 1]);
        // A result for that room, or a new room of the same name, comes late.
        join(&mut rooms, "big-call", 9);
        let name = RoomName::parse("big-call").unwrap();
        assert!(rooms
            .sfu_room_created(&name, generation, Ok(sfu_room("vr-2")))
            .is_empty());
        let jobs = rooms.take_sfu_jobs();
        assert!(
            matches!(&jobs[..], [SfuJob::Destroy(r)] if r.id == "vr-2"),
            "{jobs:?}"
        );
        assert!(rooms.poll_topology(&name, generation).is_empty());
    }

    #[test]
    fn a_room_with_its_own_threshold_relays_above_it() {
        let mut rooms = rooms();
        let room = RoomName::parse("small-board").unwrap();
        let terms = JoinTerms {
            relay_above: Some(2),
            ..JoinTerms::default()
        };
        for n in 0..3 {
            let name = DisplayName::parse(&format!("P{n}")).unwrap();
            rooms
                .join_on(room.clone(), name, MediaState::default(), None, terms, ())
                .unwrap();
            let jobs = rooms.take_sfu_jobs();
            // Two stay in mesh (as six would with the server's default); the third is one
            // too many for this room.
            assert_eq!(
                matches!(jobs[..], [SfuJob::Create { .. }]),
                n == 2,
                "after {} joined: {jobs:?}",
                n + 1
            );
        }
        // Another room keeps the server's threshold.
        for n in 0..3 {
            join(&mut rooms, "other-room", n);
        }
        assert!(rooms.take_sfu_jobs().is_empty());
    }
}
