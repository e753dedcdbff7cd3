//! [`RoomTopology`]: one call's topology as the signaling server decides it.

use std::collections::{BTreeMap, BTreeSet};

use super::config::TopologyConfig;
use super::effect::TopologyEffect;
use super::need::needs_relay;
use crate::adaptation::Bitrate;
use crate::ids::ParticipantId;
use crate::protocol::{ErrorCode, ProtocolError, SwitchPhase, TopologyMode};
use crate::recovery::Backoff;
use crate::time::{Millis, Time};

/// One call's topology: which path its media takes, the switch in progress, and the
/// SFU room's life. Fed membership, uplink reports, readiness, the SFU room's fate and
/// the time; answers with [`TopologyEffect`]s. [`poll`](Self::poll) at
/// [`next_deadline`](Self::next_deadline).
#[derive(Debug, Clone)]
pub struct RoomTopology {
    config: TopologyConfig,
    /// The server has an SFU to create rooms on. Without one the call stays in mesh,
    /// up to [`TopologyConfig::mesh_limit`].
    sfu_available: bool,
    seats: BTreeMap<ParticipantId, Seat>,
    /// The path everyone was last told to commit to.
    mode: TopologyMode,
    /// At most one switch at a time.
    switch: Option<Switch>,
    sfu_room: SfuRoom,
    /// Since when the call has not needed relaying (`None`: it needs it now).
    calm_since: Option<Time>,
    retry: Backoff,
    /// When the grants handed out so far are due for a refresh.
    grants_due: Option<Time>,
    /// The call is relayed, lost its SFU room and is too big for a mesh: it stays
    /// relayed, and everyone is told the relayed path again once a new room is made.
    rehoming: bool,
}

#[derive(Debug, Clone, Default)]
struct Seat {
    /// Its signaling connection is up (not interrupted): it is told, and waited for.
    present: bool,
    uplink: Option<Bitrate>,
}

#[derive(Debug, Clone)]
struct Switch {
    to: TopologyMode,
    ready: BTreeSet<ParticipantId>,
    /// Commit then, ready or not.
    deadline: Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SfuRoom {
    None,
    Creating,
    Ready,
    /// Creating failed: try again then (if still needed).
    RetryAt(Time),
}

impl RoomTopology {
    /// A new call, in mesh. `seed` spreads the retries of SFU room creation.
    pub fn new(config: TopologyConfig, sfu_available: bool, seed: u64) -> Self {
        RoomTopology {
            retry: Backoff::new(config.retry_base, config.retry_max, seed),
            config,
            sfu_available,
            seats: BTreeMap::new(),
            mode: TopologyMode::Mesh,
            switch: None,
            sfu_room: SfuRoom::None,
            calm_since: None,
            grants_due: None,
            rehoming: false,
        }
    }

    /// The path the call has committed to.
    pub fn mode(&self) -> TopologyMode {
        self.mode
    }

    /// The path a switch in progress leads to.
    pub fn switching_to(&self) -> Option<TopologyMode> {
        self.switch.as_ref().map(|s| s.to)
    }

    /// Whether the call is relayed but waits for a new SFU room (its own was lost while
    /// it was too big for a mesh): nobody is told a path until it is made.
    pub fn awaiting_room(&self) -> bool {
        self.rehoming
    }

    /// Whether the call uses the SFU room now: relayed, or on its way there or back.
    pub fn uses_sfu(&self) -> bool {
        self.mode == TopologyMode::Relayed || self.switching_to() == Some(TopologyMode::Relayed)
    }

    /// Whether one more participant may join: always with an SFU room (made or being
    /// made; the room's capacity still applies), up to the mesh limit without.
    pub fn admits(&self) -> Result<(), ProtocolError> {
        let has_room =
            self.sfu_available && matches!(self.sfu_room, SfuRoom::Creating | SfuRoom::Ready);
        let limit = self.config.mesh_limit;
        if has_room || self.seats.len() < limit {
            return Ok(());
        }
        Err(ProtocolError::new(
            ErrorCode::MeshLimit,
            format!(
                "This call is limited to {limit} participants because no SFU is available \
                 to relay it. Try again when someone leaves."
            ),
        ))
    }

    /// `id` joined (or was re-admitted). It is told the path the call is on or switching to.
    pub fn joined(&mut self, now: Time, id: ParticipantId) -> Vec<TopologyEffect> {
        self.seats.insert(
            id,
            Seat {
                present: true,
                uplink: None,
            },
        );
        let mut effects = self.catch_up(id);
        self.advance(now, &mut effects);
        effects
    }

    /// `id` came back after the server lost its session (it restarted, or the room
    /// moved to another node): like [`joined`](Self::joined), but told the path even
    /// when it is the mesh. This call may be new, made again by the returning
    /// participants, while the old one ran relayed through an SFU room nobody here
    /// knows of; told nothing, the participant would stay on it.
    pub fn readmitted(&mut self, now: Time, id: ParticipantId) -> Vec<TopologyEffect> {
        let mut effects = self.joined(now, id);
        let told = |e: &TopologyEffect| matches!(e, TopologyEffect::Tell { to, .. } if *to == id);
        if !effects.iter().any(told) && !self.rehoming {
            effects.extend([SwitchPhase::Prepare, SwitchPhase::Commit].map(|phase| {
                TopologyEffect::Tell {
                    to: id,
                    mode: TopologyMode::Mesh,
                    phase,
                }
            }));
        }
        effects
    }

    /// `id` left for good.
    pub fn left(&mut self, now: Time, id: ParticipantId) -> Vec<TopologyEffect> {
        self.seats.remove(&id);
        if let Some(switch) = &mut self.switch {
            switch.ready.remove(&id);
        }
        self.advance_now(now)
    }

    /// `id`'s signaling connection ended; its seat is held. It is not waited for.
    pub fn interrupted(&mut self, now: Time, id: ParticipantId) -> Vec<TopologyEffect> {
        if let Some(seat) = self.seats.get_mut(&id) {
            seat.present = false;
        }
        if let Some(switch) = &mut self.switch {
            switch.ready.remove(&id);
        }
        self.advance_now(now)
    }

    /// `id` resumed its seat: told the current state again (it may have missed some).
    pub fn back(&mut self, now: Time, id: ParticipantId) -> Vec<TopologyEffect> {
        let Some(seat) = self.seats.get_mut(&id) else {
            return Vec::new();
        };
        seat.present = true;
        let mut effects = self.catch_up(id);
        self.advance(now, &mut effects);
        effects
    }

    /// `id` measured its uplink at `uplink`.
    pub fn uplink(&mut self, now: Time, id: ParticipantId, uplink: Bitrate) -> Vec<TopologyEffect> {
        if let Some(seat) = self.seats.get_mut(&id) {
            seat.uplink = Some(uplink);
        }
        self.advance_now(now)
    }

    /// `id` receives everyone on `mode`. Ignored unless a switch to `mode` is under way.
    pub fn ready(
        &mut self,
        now: Time,
        id: ParticipantId,
        mode: TopologyMode,
    ) -> Vec<TopologyEffect> {
        let present = self.seats.get(&id).is_some_and(|s| s.present);
        if let Some(switch) = self.switch.as_mut().filter(|s| s.to == mode && present) {
            switch.ready.insert(id);
        }
        self.advance_now(now)
    }

    /// The SFU room asked for with [`TopologyEffect::CreateSfuRoom`] exists.
    pub fn sfu_room_created(&mut self, now: Time) -> Vec<TopologyEffect> {
        if self.sfu_room != SfuRoom::Creating {
            // Not asked for (never happens with a well-behaved owner): not kept.
            return vec![TopologyEffect::DestroySfuRoom];
        }
        self.sfu_room = SfuRoom::Ready;
        self.retry.reset();
        let mut effects = Vec::new();
        if std::mem::take(&mut self.rehoming) {
            let present: Vec<_> = self.present().collect();
            for to in present {
                effects.extend(self.catch_up(to));
            }
        }
        self.advance(now, &mut effects);
        effects
    }

    /// Creating the SFU room failed: the call stays in mesh and tries again later.
    pub fn sfu_room_failed(&mut self, now: Time) -> Vec<TopologyEffect> {
        if self.sfu_room == SfuRoom::Creating {
            self.sfu_room = SfuRoom::RetryAt(now + self.retry.next_delay());
        }
        self.advance_now(now)
    }

    /// The SFU room is gone (the SFU died, or restarted without it): nothing flows
    /// through it any more, so there is nothing to make before breaking. The call goes
    /// back to mesh at once, without the hold, and a room is made again (with backoff)
    /// while the call still needs one; meanwhile joins beyond the mesh limit are refused.
    /// A relayed call of more than the mesh limit does not: everyone would open a link
    /// to every other at once. It stays relayed, a new room is asked for at once (on
    /// another SFU, or this one back) and again with backoff, and everyone is told the
    /// relayed path to it (see [`sfu_room_created`](Self::sfu_room_created)).
    pub fn sfu_room_lost(&mut self, now: Time) -> Vec<TopologyEffect> {
        if self.sfu_room != SfuRoom::Ready {
            return Vec::new();
        }
        if self.mode == TopologyMode::Relayed
            && self.switch.is_none()
            && self.seats.len() > self.config.mesh_limit
        {
            self.rehoming = true;
            self.sfu_room = SfuRoom::Creating;
            return vec![TopologyEffect::CreateSfuRoom];
        }
        self.sfu_room = SfuRoom::RetryAt(now + self.retry.next_delay());
        let mut effects = Vec::new();
        match (self.mode, self.switching_to()) {
            // Already on the way back.
            (_, Some(TopologyMode::Mesh)) => {}
            (TopologyMode::Relayed, _) => {
                self.switch = None;
                self.start_switch(now, TopologyMode::Mesh, &mut effects);
            }
            // Still in mesh: the switch to relayed is called off, and `Commit(mesh)`
            // tells everyone to stop building the relayed path.
            (TopologyMode::Mesh, Some(TopologyMode::Relayed)) => {
                self.switch = None;
                let present: Vec<_> = self.present().collect();
                effects.extend(present.into_iter().map(|to| TopologyEffect::Tell {
                    to,
                    mode: TopologyMode::Mesh,
                    phase: SwitchPhase::Commit,
                }));
            }
            (TopologyMode::Mesh, None) => {}
        }
        self.advance(now, &mut effects);
        effects
    }

    /// Grants valid for `lifetime` were just handed out: refresh everyone's at half of it.
    pub fn grants_issued(&mut self, now: Time, lifetime: Millis) {
        let due = now + Millis::from_millis(lifetime.as_millis() / 2).max(Millis::from_secs(1));
        self.grants_due = Some(self.grants_due.map_or(due, |d| d.min(due)));
    }

    /// When [`poll`](Self::poll) next has something to do.
    pub fn next_deadline(&self) -> Option<Time> {
        let switch = self.switch.as_ref().map(|s| s.deadline);
        let calm_over = match (self.target(), self.calm_since) {
            (TopologyMode::Relayed, Some(since)) if self.switch.is_none() => {
                Some(since + self.config.hold)
            }
            _ => None,
        };
        let retry = match self.sfu_room {
            SfuRoom::RetryAt(at) => Some(at),
            _ => None,
        };
        let grants = self.grants_due.filter(|_| self.uses_sfu());
        [switch, calm_over, retry, grants]
            .into_iter()
            .flatten()
            .min()
    }

    /// Does what is due at `now`.
    pub fn poll(&mut self, now: Time) -> Vec<TopologyEffect> {
        self.advance_now(now)
    }

    /// The path the call is on or switching to.
    fn target(&self) -> TopologyMode {
        self.switching_to().unwrap_or(self.mode)
    }

    /// What `id`, just arrived, must be told to be on the call's path: the switch in
    /// progress, or (relayed) both steps at once, since it has no old path to keep.
    fn catch_up(&self, id: ParticipantId) -> Vec<TopologyEffect> {
        let tell = |mode, phase| TopologyEffect::Tell {
            to: id,
            mode,
            phase,
        };
        match (&self.switch, self.mode) {
            // Told once the new room is made.
            _ if self.rehoming => Vec::new(),
            (Some(switch), _) => vec![tell(switch.to, SwitchPhase::Prepare)],
            (None, TopologyMode::Relayed) => vec![
                tell(TopologyMode::Relayed, SwitchPhase::Prepare),
                tell(TopologyMode::Relayed, SwitchPhase::Commit),
            ],
            (None, TopologyMode::Mesh) => Vec::new(),
        }
    }

    fn advance_now(&mut self, now: Time) -> Vec<TopologyEffect> {
        let mut effects = Vec::new();
        self.advance(now, &mut effects);
        effects
    }

    /// Applies every rule that the inputs so far and `now` call for.
    fn advance(&mut self, now: Time, effects: &mut Vec<TopologyEffect>) {
        let needed = needs_relay(
            &self.config,
            self.seats.len(),
            self.seats.values().filter_map(|s| s.uplink),
        );
        self.calm_since = match (needed, self.calm_since) {
            (true, _) => None,
            (false, since) => Some(since.unwrap_or(now)),
        };
        self.commit_if_due(now, effects);
        if self.rehoming {
            if let SfuRoom::RetryAt(at) = self.sfu_room {
                if now >= at {
                    self.sfu_room = SfuRoom::Creating;
                    effects.push(TopologyEffect::CreateSfuRoom);
                }
            }
        }
        let wanted = self.wanted(now);
        if self.switch.is_none() && wanted != self.mode {
            self.start_switch(now, wanted, effects);
            // Everyone may be ready at once (nobody present) or the timeout zero.
            self.commit_if_due(now, effects);
        }
        let wanted = self.wanted(now);
        if self.switch.is_none() && self.mode == TopologyMode::Mesh && wanted == TopologyMode::Mesh
        {
            match self.sfu_room {
                SfuRoom::Ready => {
                    self.sfu_room = SfuRoom::None;
                    effects.push(TopologyEffect::DestroySfuRoom);
                }
                SfuRoom::RetryAt(_) => {
                    self.sfu_room = SfuRoom::None;
                    self.retry.reset();
                }
                SfuRoom::None | SfuRoom::Creating => {}
            }
        }
        if !self.uses_sfu() {
            self.grants_due = None;
        }
        if self.grants_due.is_some_and(|due| now >= due) {
            self.grants_due = None;
            effects.extend(self.present().map(|to| TopologyEffect::RefreshGrant { to }));
        }
    }

    /// The path the call should be on now: relayed while it needs it and for the hold
    /// after, mesh otherwise (always, without an SFU).
    fn wanted(&self, now: Time) -> TopologyMode {
        if !self.sfu_available {
            return TopologyMode::Mesh;
        }
        match self.calm_since {
            None => TopologyMode::Relayed,
            Some(since)
                if self.target() == TopologyMode::Relayed && now < since + self.config.hold =>
            {
                TopologyMode::Relayed
            }
            Some(_) => TopologyMode::Mesh,
        }
    }

    /// Starts the switch to `to`; to relayed only once the SFU room exists (asking for
    /// it, or waiting for the retry, meanwhile).
    fn start_switch(&mut self, now: Time, to: TopologyMode, effects: &mut Vec<TopologyEffect>) {
        // Small enough again for a mesh (it shrank while a new room was awaited).
        self.rehoming = false;
        if to == TopologyMode::Relayed {
            match self.sfu_room {
                SfuRoom::Ready => {}
                SfuRoom::Creating => return,
                SfuRoom::RetryAt(at) if now < at => return,
                SfuRoom::None | SfuRoom::RetryAt(_) => {
                    self.sfu_room = SfuRoom::Creating;
                    effects.push(TopologyEffect::CreateSfuRoom);
                    return;
                }
            }
        }
        self.switch = Some(Switch {
            to,
            ready: BTreeSet::new(),
            deadline: now + self.config.ready_timeout,
        });
        let present: Vec<_> = self.present().collect();
        effects.extend(present.into_iter().map(|to_id| TopologyEffect::Tell {
            to: to_id,
            mode: to,
            phase: SwitchPhase::Prepare,
        }));
    }

    /// Commits the switch in progress once every present participant is ready, or at
    /// its deadline.
    fn commit_if_due(&mut self, now: Time, effects: &mut Vec<TopologyEffect>) {
        let Some(switch) = &self.switch else {
            return;
        };
        let all_ready = self
            .seats
            .iter()
            .all(|(id, seat)| !seat.present || switch.ready.contains(id));
        if !all_ready && now < switch.deadline {
            return;
        }
        let mode = switch.to;
        self.switch = None;
        self.mode = mode;
        effects.extend(self.present().map(|to| TopologyEffect::Tell {
            to,
            mode,
            phase: SwitchPhase::Commit,
        }));
        effects.push(TopologyEffect::Switched { mode });
    }

    fn present(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        self.seats
            .iter()
            .filter(|(_, s)| s.present)
            .map(|(&id, _)| id)
    }
}

#[cfg(test)]
impl RoomTopology {
    pub(crate) fn seat_count(&self) -> usize {
        self.seats.len()
    }
}
