//! Who is in which room: the one owner of the server's room state.
//!
//! [`Rooms`] does no I/O. Each method changes the state and returns the messages it
//! caused as [`Delivery`] values (recipient, message); the caller delivers them. That
//! keeps every rule of the protocol (relay stays inside the room, capacity, ids grow
//! with join order, empty rooms vanish, an interrupted seat is announced and its
//! return too) testable without sockets, and keeps the lock around it short (see
//! `hub.rs`).
//!
//! Each room also decides its call's topology (mesh or relayed through an SFU room,
//! `topology.rs`): the deliveries it causes come back with the others, and what takes
//! time (making an SFU room, a deadline) as [`SfuJob`]s for the caller to run.
//!
//! Each member carries an `O`, the handle the caller uses to reach it (a queue sender
//! in the server, `()` in tests), so membership and "how to reach them" can never
//! disagree.

use std::collections::{BTreeMap, HashMap, HashSet};

use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::protocol::{
    ErrorCode, IceCandidate, LeaveReason, MediaState, Participant, ProtocolError, ServerMsg,
    PROTOCOL_VERSION,
};
use nonstop_core::ParticipantId;

use crate::ids::IdGen;
use crate::passcode::PasscodeDigest;

mod topology;

use topology::RoomSfu;
pub use topology::{SfuJob, TopologySetup};

/// One message for one participant.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub to: ParticipantId,
    pub msg: ServerMsg,
}

/// What one participant may send another through the server. The server stamps the
/// sender on it when relaying, so a client cannot pretend to be someone else.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    Offer(String),
    Answer(String),
    Candidate(IceCandidate),
}

impl Signal {
    fn from(self, from: ParticipantId) -> ServerMsg {
        match self {
            Signal::Offer(sdp) => ServerMsg::Offer { from, sdp },
            Signal::Answer(sdp) => ServerMsg::Answer { from, sdp },
            Signal::Candidate(candidate) => ServerMsg::Candidate { from, candidate },
        }
    }
}

/// What the rooms API says about a join (see `api::directory`): none of it without
/// the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JoinTerms {
    /// The room's own limit, below the server's capacity.
    pub max_participants: Option<usize>,
    /// The room's own switch threshold (`--relay-above`), taken when its call starts.
    pub relay_above: Option<usize>,
    pub owner: bool,
    /// SHA-256 of the meeting token the join came with: someone the owner removed may
    /// not come back with it while the call lasts.
    pub token: Option<[u8; 32]>,
}

impl JoinTerms {
    /// The most people the room holds: its own limit, within the server's `capacity`.
    fn capacity(&self, capacity: usize) -> usize {
        self.max_participants
            .map_or(capacity, |m| m.clamp(1, capacity))
    }
}

/// A successful join: the new id, and the welcome plus `joined` notices to send.
#[derive(Debug)]
pub struct Joined {
    pub id: ParticipantId,
    /// The welcome (or `resumed`) for the joiner comes first, then an `interrupted`
    /// for it about each member whose seat is held, then one `joined` per other member.
    pub deliveries: Vec<Delivery>,
}

/// A participant removed from its room: its handle back, and the `left` notices.
#[derive(Debug)]
pub struct Removed<O> {
    pub outbox: O,
    pub deliveries: Vec<Delivery>,
}

/// All rooms of this server. Rooms exist while someone is in them.
#[derive(Debug)]
pub struct Rooms<O> {
    /// Most participants one room holds.
    capacity: usize,
    /// Where new ids come from. Ids are never reused, grow with join order
    /// (negotiation roles rely on that) and never repeat across runs (`ids.rs`).
    ids: IdGen,
    rooms: HashMap<RoomName, Room<O>>,
    /// Which room each participant is in, so messages that name only the sender can
    /// find its room without a scan. Kept in step with `rooms` by `join` and `leave`.
    room_of: HashMap<ParticipantId, RoomName>,
    /// Everyone whose room was told `left`: such a session cannot be resumed (the
    /// others have dropped their links to it), only joined afresh.
    ended: HashSet<ParticipantId>,
    /// How rooms decide their topology.
    topology: TopologySetup,
    /// Rooms made so far: each room's generation.
    generations: u64,
    /// Decided and not yet taken by [`take_sfu_jobs`](Self::take_sfu_jobs).
    sfu_jobs: Vec<SfuJob>,
}

#[derive(Debug)]
struct Room<O> {
    /// Ordered by id, which is join order: "oldest first" comes for free.
    members: BTreeMap<ParticipantId, Member<O>>,
    /// Set by whoever created the room; joiners must match it.
    passcode: Option<PasscodeDigest>,
    sfu: RoomSfu,
    /// The meeting tokens (digests) of those the owner removed from this call.
    barred: HashSet<[u8; 32]>,
}

impl<O> Room<O> {
    fn new(passcode: Option<PasscodeDigest>, sfu: RoomSfu) -> Self {
        Room {
            members: BTreeMap::new(),
            passcode,
            sfu,
            barred: HashSet::new(),
        }
    }

    /// An `interrupted` for `to` about each other member whose seat is held: a
    /// (re)joiner's list of participants does not say which of them are away.
    fn held_seats(&self, to: ParticipantId) -> impl Iterator<Item = Delivery> + '_ {
        self.members
            .iter()
            .filter(move |(id, m)| m.interrupted && **id != to)
            .map(move |(&id, _)| Delivery {
                to,
                msg: ServerMsg::Interrupted { id },
            })
    }

    /// `msg` for every member but `from`.
    fn to_others(&self, from: ParticipantId, msg: ServerMsg) -> Vec<Delivery> {
        self.members
            .keys()
            .filter(|&&other| other != from)
            .map(|&other| Delivery {
                to: other,
                msg: msg.clone(),
            })
            .collect()
    }
}

#[derive(Debug)]
struct Member<O> {
    name: DisplayName,
    media: MediaState,
    outbox: O,
    /// The nonce of the newest resume token handed out, and the one before it if that
    /// was replaced by a periodic refresh (the refresh may not have arrived). Only
    /// these resume the session; every resume rotates both.
    nonces: (String, Option<String>),
    /// Its connection ended without `leave` and the seat is held for a resume: the
    /// room was told `interrupted`, and is told `back` if it resumes.
    interrupted: bool,
    /// It owns the room (a meeting token with `is_owner`): it may remove others and
    /// end the call.
    owner: bool,
    /// Its meeting token's digest (`JoinTerms::token`).
    token: Option<[u8; 32]>,
}

impl<O> Member<O> {
    fn public(&self, id: ParticipantId) -> Participant {
        Participant {
            id,
            name: self.name.as_str().to_owned(),
            media: self.media,
        }
    }
}

impl<O> Rooms<O> {
    /// `capacity` is the most participants in one room; at least one.
    /// Ids count from 1 (tests).
    pub fn new(capacity: usize) -> Self {
        Rooms::with_ids(capacity, IdGen::sequential(1))
    }

    /// Like [`new`](Self::new), with ids from `ids` (a server uses
    /// [`IdGen::for_this_run`]).
    pub fn with_ids(capacity: usize, ids: IdGen) -> Self {
        Rooms {
            capacity: capacity.max(1),
            ids,
            rooms: HashMap::new(),
            room_of: HashMap::new(),
            ended: HashSet::new(),
            topology: TopologySetup::default(),
            generations: 0,
            sfu_jobs: Vec::new(),
        }
    }

    /// Topology decided with `setup` (without: no SFU, every call in mesh up to the
    /// mesh limit).
    pub fn with_topology(mut self, setup: TopologySetup) -> Self {
        self.topology = setup;
        self
    }

    /// A new, empty room.
    fn new_room(
        topology: &TopologySetup,
        relay_above: Option<usize>,
        generations: &mut u64,
        passcode: Option<PasscodeDigest>,
    ) -> Room<O> {
        *generations += 1;
        Room::new(passcode, RoomSfu::new(topology, relay_above, *generations))
    }

    /// Puts a new participant into `room` (created if needed, protected by
    /// `passcode` if given). Fails with [`ErrorCode::PasscodeRequired`] or
    /// [`ErrorCode::WrongPasscode`] when the room has a passcode and `passcode` is not
    /// it, and with [`ErrorCode::RoomFull`] when the room holds its capacity. A passcode
    /// given for a room that exists without one is ignored.
    pub fn join(
        &mut self,
        room_name: RoomName,
        name: DisplayName,
        media: MediaState,
        passcode: Option<PasscodeDigest>,
        outbox: O,
    ) -> Result<Joined, ProtocolError> {
        self.join_on(
            room_name,
            name,
            media,
            passcode,
            JoinTerms::default(),
            outbox,
        )
    }

    /// [`join`](Self::join) on the rooms API's terms: a room's own limit below the
    /// server's capacity, and whether the joiner owns the room.
    pub fn join_on(
        &mut self,
        room_name: RoomName,
        name: DisplayName,
        media: MediaState,
        passcode: Option<PasscodeDigest>,
        terms: JoinTerms,
        outbox: O,
    ) -> Result<Joined, ProtocolError> {
        let JoinTerms {
            relay_above,
            owner,
            token,
            ..
        } = terms;
        let capacity = terms.capacity(self.capacity);
        if let Some(room) = self.rooms.get(&room_name) {
            if let Some(required) = &room.passcode {
                required.admits(passcode.as_ref())?;
            }
        }
        let (topology, generations) = (&self.topology, &mut self.generations);
        let room = self
            .rooms
            .entry(room_name.clone())
            .or_insert_with(|| Rooms::new_room(topology, relay_above, generations, passcode));
        if room.members.len() >= capacity {
            // An empty room cannot be full (capacity >= 1), so nothing was created here.
            return Err(ProtocolError::new(
                ErrorCode::RoomFull,
                format!(
                    "This meeting is full ({capacity} of {capacity} people). \
                     Try again when someone leaves, or start a new meeting."
                ),
            ));
        }
        // Nor is an empty room at the mesh limit (at least one).
        room.sfu.topology.admits()?;
        if token.is_some_and(|t| room.barred.contains(&t)) {
            return Err(ProtocolError::new(
                ErrorCode::Removed,
                "The meeting's owner removed you from this call: you cannot join it again.",
            ));
        }

        let id = ParticipantId::new(self.ids.next_id());

        let member = Member {
            name,
            media,
            outbox,
            nonces: (String::new(), None),
            interrupted: false,
            owner,
            token,
        };
        let participant = member.public(id);
        let mut deliveries = Vec::with_capacity(room.members.len() + 1);
        deliveries.push(Delivery {
            to: id,
            msg: ServerMsg::Welcome {
                protocol: PROTOCOL_VERSION,
                you: id,
                room: room_name.as_str().to_owned(),
                participants: room.members.iter().map(|(id, m)| m.public(*id)).collect(),
                ice_servers: Vec::new(),
                // Filled in by the hub, which knows the server's settings.
                heartbeat_interval_ms: None,
                name: Some(participant.name.clone()),
                owner,
            },
        });
        deliveries.extend(room.held_seats(id));
        deliveries.extend(room.members.keys().map(|&other| Delivery {
            to: other,
            msg: ServerMsg::Joined {
                participant: participant.clone(),
            },
        }));
        room.members.insert(id, member);
        self.room_of.insert(id, room_name);
        let now = self.now();
        deliveries.extend(self.with_topology_of(id, |t| t.joined(now, id)));
        Ok(Joined { id, deliveries })
    }

    /// Removes `id` from its room and tells the others why. `None` if `id` is in no
    /// room (never joined, or already removed), which makes leaving idempotent.
    pub fn leave(&mut self, id: ParticipantId, reason: LeaveReason) -> Option<Removed<O>> {
        let room_name = self.room_of.remove(&id)?;
        let now = self.now();
        let room = self
            .rooms
            .get_mut(&room_name)
            .expect("room_of only names rooms that exist");
        let member = room
            .members
            .remove(&id)
            .expect("room_of and the room's members agree");
        let mut deliveries: Vec<Delivery> = room
            .members
            .keys()
            .map(|&other| Delivery {
                to: other,
                msg: ServerMsg::Left { id, reason },
            })
            .collect();
        if room.members.is_empty() {
            if let Some(made) = room.sfu.take_room() {
                self.sfu_jobs.push(SfuJob::Destroy(made));
            }
            self.rooms.remove(&room_name);
        } else {
            if let Some(made) = room.sfu.room() {
                self.sfu_jobs.push(SfuJob::Kick {
                    room: made.clone(),
                    participant: id,
                });
            }
            let effects = room.sfu.topology.left(now, id);
            deliveries.extend(self.apply_topology(room_name, effects));
        }
        self.ended.insert(id);
        Some(Removed {
            outbox: member.outbox,
            deliveries,
        })
    }

    /// Passes `signal` from `from` to `to`, stamped with the sender. `to` must be
    /// someone else in the sender's room; anyone else is
    /// [`ErrorCode::UnknownParticipant`], whether they exist elsewhere or not.
    pub fn relay(
        &self,
        from: ParticipantId,
        to: ParticipantId,
        signal: Signal,
    ) -> Result<Delivery, ProtocolError> {
        let unknown = || {
            ProtocolError::new(
                ErrorCode::UnknownParticipant,
                format!("participant {to} is not in this meeting"),
            )
        };
        let room = self.room(from).ok_or_else(unknown)?;
        if to == from || !room.members.contains_key(&to) {
            return Err(unknown());
        }
        Ok(Delivery {
            to,
            msg: signal.from(from),
        })
    }

    /// Records `id`'s microphone/camera state (later joiners see it in their welcome)
    /// and tells the rest of the room.
    pub fn set_media(&mut self, id: ParticipantId, media: MediaState) -> Vec<Delivery> {
        let Some(room_name) = self.room_of.get(&id) else {
            return Vec::new();
        };
        let Some(room) = self.rooms.get_mut(room_name) else {
            return Vec::new();
        };
        let Some(member) = room.members.get_mut(&id) else {
            return Vec::new();
        };
        member.media = media;
        room.to_others(id, ServerMsg::Media { from: id, media })
    }

    /// A chat line from `id` for the rest of its room.
    pub fn chat(&mut self, id: ParticipantId, text: String, sent_at: u64) -> Vec<Delivery> {
        let Some(room) = self.room_of.get(&id).and_then(|r| self.rooms.get(r)) else {
            return Vec::new();
        };
        room.to_others(
            id,
            ServerMsg::Chat {
                from: id,
                text,
                sent_at,
            },
        )
    }

    /// Gives `id`, still a member of `room_name`, a new handle (its connection came
    /// back) with the microphone/camera state it resumed with. Returns the old handle
    /// and the deliveries: first the reply for `id` (`resumed`, continued), then
    /// `interrupted` for `id` about each other held seat, then for the rest of the
    /// room `back` if `id` was interrupted (`media` otherwise). `None` if `id` is not
    /// in that room.
    pub fn rebind(
        &mut self,
        id: ParticipantId,
        room_name: &RoomName,
        media: MediaState,
        outbox: O,
    ) -> Option<(O, Vec<Delivery>)> {
        if self.room_of.get(&id) != Some(room_name) {
            return None;
        }
        let room = self.rooms.get_mut(room_name)?;
        let member = room.members.get_mut(&id)?;
        let old = std::mem::replace(&mut member.outbox, outbox);
        member.media = media;
        let was_interrupted = std::mem::take(&mut member.interrupted);
        let participant = member.public(id);
        let participants = room
            .members
            .iter()
            .filter(|(other, _)| **other != id)
            .map(|(other, m)| m.public(*other))
            .collect();
        let mut deliveries = vec![Delivery {
            to: id,
            msg: ServerMsg::Resumed {
                you: id,
                participants,
                ice_servers: Vec::new(),
                continued: true,
                heartbeat_interval_ms: None,
            },
        }];
        deliveries.extend(room.held_seats(id));
        deliveries.extend(room.to_others(
            id,
            if was_interrupted {
                ServerMsg::Back { participant }
            } else {
                ServerMsg::Media { from: id, media }
            },
        ));
        // The old connection may have lost what was last sent about the topology.
        let now = self.now();
        deliveries.extend(self.with_topology_of(id, |t| t.back(now, id)));
        Some((old, deliveries))
    }

    /// `id`'s connection ended without `leave` and its seat is held for a resume:
    /// tells the rest of the room `interrupted`. Nothing if `id` is in no room or was
    /// told about already.
    pub fn interrupt(&mut self, id: ParticipantId) -> Vec<Delivery> {
        let Some(member) = self.member_mut(id) else {
            return Vec::new();
        };
        if std::mem::replace(&mut member.interrupted, true) {
            return Vec::new();
        }
        let mut deliveries = self
            .room(id)
            .map(|room| room.to_others(id, ServerMsg::Interrupted { id }))
            .unwrap_or_default();
        let now = self.now();
        deliveries.extend(self.with_topology_of(id, |t| t.interrupted(now, id)));
        deliveries
    }

    /// Puts `id` back into `room_name` after the server lost its session (a restart):
    /// like [`join`](Self::join) but with the old id, name and room passcode (from
    /// the resume token, which stands in for the passcode), answered with `resumed`
    /// (not continued). Refused with [`ErrorCode::ResumeFailed`] if that session ended
    /// on this server or the id is in use, and when the room is full. `terms`: the
    /// room's own, as for a join (the owner right comes from the resume token).
    // A join's arguments and the old id: a struct for one call site would only move them.
    #[allow(clippy::too_many_arguments)]
    pub fn readmit(
        &mut self,
        id: ParticipantId,
        room_name: RoomName,
        name: DisplayName,
        media: MediaState,
        passcode: Option<PasscodeDigest>,
        terms: JoinTerms,
        outbox: O,
    ) -> Result<Joined, ProtocolError> {
        if self.ended.contains(&id) || self.room_of.contains_key(&id) {
            return Err(ProtocolError::new(
                ErrorCode::ResumeFailed,
                format!("the session of participant {id} has ended; join again"),
            ));
        }
        let capacity = terms.capacity(self.capacity);
        let (topology, generations) = (&self.topology, &mut self.generations);
        let room = self.rooms.entry(room_name.clone()).or_insert_with(|| {
            Rooms::new_room(topology, terms.relay_above, generations, passcode.clone())
        });
        if room.members.len() >= capacity {
            return Err(ProtocolError::new(
                ErrorCode::RoomFull,
                format!("This meeting is full ({capacity} of {capacity} people)."),
            ));
        }
        room.sfu.topology.admits()?;
        // Someone joined afresh before the room's members came back: the room gets
        // its passcode back with them.
        if room.passcode.is_none() {
            room.passcode = passcode;
        }
        // New ids stay above every id in use, so they still grow with join order.
        self.ids.observe(id.get());
        let member = Member {
            name,
            media,
            outbox,
            nonces: (String::new(), None),
            interrupted: false,
            // From the resume token, which the hub checked.
            owner: terms.owner,
            // The resume token stood in for the meeting token, which is not known here.
            token: terms.token,
        };
        let participant = member.public(id);
        let mut deliveries = vec![Delivery {
            to: id,
            msg: ServerMsg::Resumed {
                you: id,
                participants: room.members.iter().map(|(id, m)| m.public(*id)).collect(),
                ice_servers: Vec::new(),
                continued: false,
                heartbeat_interval_ms: None,
            },
        }];
        // A restarted server announces a returning participant as `joined` (it is new
        // to this server); never `back`.
        deliveries.extend(room.held_seats(id));
        deliveries.extend(room.members.keys().map(|&other| Delivery {
            to: other,
            msg: ServerMsg::Joined {
                participant: participant.clone(),
            },
        }));
        room.members.insert(id, member);
        self.room_of.insert(id, room_name);
        let now = self.now();
        deliveries.extend(self.with_topology_of(id, |t| t.readmitted(now, id)));
        Ok(Joined { id, deliveries })
    }

    /// The handle for reaching `id`, if it is in a room.
    pub fn outbox(&self, id: ParticipantId) -> Option<&O> {
        self.room(id)?.members.get(&id).map(|m| &m.outbox)
    }

    /// The room `id` is in.
    /// Whether `id` owns its room.
    pub fn is_owner(&self, id: ParticipantId) -> bool {
        self.member(id).is_some_and(|m| m.owner)
    }

    /// Keeps the meeting token `id` joined with out of its room's call from now on
    /// (the owner removed it; the call's end forgets it).
    pub fn bar(&mut self, id: ParticipantId) {
        let Some(room) = self.room_of.get(&id).and_then(|r| self.rooms.get_mut(r)) else {
            return;
        };
        if let Some(token) = room.members.get(&id).and_then(|m| m.token) {
            room.barred.insert(token);
        }
    }

    fn member(&self, id: ParticipantId) -> Option<&Member<O>> {
        self.rooms.get(self.room_of.get(&id)?)?.members.get(&id)
    }

    /// Who is in `room` now, oldest first (empty for no such room).
    pub fn presence(&self, room: &RoomName) -> Vec<Participant> {
        self.rooms.get(room).map_or_else(Vec::new, |r| {
            r.members.iter().map(|(id, m)| m.public(*id)).collect()
        })
    }

    pub fn room_of(&self, id: ParticipantId) -> Option<&RoomName> {
        self.room_of.get(&id)
    }

    /// What a resume token of `id` says besides its id: (room, display name, room
    /// passcode); `None` if `id` is in no room.
    pub fn session(
        &self,
        id: ParticipantId,
    ) -> Option<(&RoomName, &DisplayName, Option<&PasscodeDigest>)> {
        let room_name = self.room_of.get(&id)?;
        let room = self.rooms.get(room_name)?;
        let member = room.members.get(&id)?;
        Some((room_name, &member.name, room.passcode.as_ref()))
    }

    /// Records the nonce of the token just handed to `id`. A refresh keeps the previous
    /// nonce valid too (in case the refresh was lost on the way); a join or resume
    /// does not.
    pub fn set_token_nonce(&mut self, id: ParticipantId, nonce: String, refresh: bool) {
        let Some(member) = self.member_mut(id) else {
            return;
        };
        let previous = std::mem::take(&mut member.nonces.0);
        member.nonces = (nonce, (refresh && !previous.is_empty()).then_some(previous));
    }

    /// Whether `nonce` is that of a token that may still resume `id`'s session.
    pub fn token_nonce_current(&self, id: ParticipantId, nonce: &str) -> bool {
        let Some(member) = self.room(id).and_then(|r| r.members.get(&id)) else {
            return false;
        };
        let (current, previous) = &member.nonces;
        (!current.is_empty()
            && crate::resume::constant_time_eq(current.as_bytes(), nonce.as_bytes()))
            || previous
                .as_ref()
                .is_some_and(|p| crate::resume::constant_time_eq(p.as_bytes(), nonce.as_bytes()))
    }

    fn member_mut(&mut self, id: ParticipantId) -> Option<&mut Member<O>> {
        let room_name = self.room_of.get(&id)?;
        self.rooms.get_mut(room_name)?.members.get_mut(&id)
    }

    /// How many rooms have someone in them.
    pub fn room_names(&self) -> impl Iterator<Item = &RoomName> {
        self.rooms.keys()
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// How many participants are in any room.
    pub fn participant_count(&self) -> usize {
        self.room_of.len()
    }

    fn room(&self, id: ParticipantId) -> Option<&Room<O>> {
        self.rooms.get(self.room_of.get(&id)?)
    }
}

/// For property tests: the state's invariants, checked from the inside.
#[cfg(test)]
impl<O> Rooms<O> {
    /// Panics unless every participant is in exactly one room, the index agrees with
    /// the rooms, and no room is empty or over capacity.
    pub(crate) fn assert_invariants(&self) {
        let mut seen = HashSet::new();
        for (name, room) in &self.rooms {
            assert!(!room.members.is_empty(), "empty room {name} kept");
            assert!(
                room.members.len() <= self.capacity,
                "room {name} over capacity"
            );
            for id in room.members.keys() {
                assert!(seen.insert(*id), "participant {id} in two rooms");
                assert_eq!(self.room_of.get(id), Some(name), "index disagrees for {id}");
            }
        }
        assert_eq!(
            seen.len(),
            self.room_of.len(),
            "index names participants in no room"
        );
    }

    pub(crate) fn room_name_of(&self, id: ParticipantId) -> Option<&RoomName> {
        self.room_of.get(&id)
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;
    use nonstop_core::protocol::{SwitchPhase, TopologyMode};

    const ON: MediaState = MediaState {
        audio: true,
        video: true,
    };
    const MUTED: MediaState = MediaState {
        audio: false,
        video: true,
    };

    fn room(s: &str) -> RoomName {
        RoomName::parse(s).unwrap()
    }

    fn name(s: &str) -> DisplayName {
        DisplayName::parse(s).unwrap()
    }

    fn join(rooms: &mut Rooms<()>, r: &str, n: &str) -> Joined {
        rooms.join(room(r), name(n), ON, None, ()).unwrap()
    }

    /// `id` back in calm-otter as `n` after a restart.
    fn readmit(rooms: &mut Rooms<()>, id: ParticipantId, n: &str) -> Result<Joined, ProtocolError> {
        rooms.readmit(
            id,
            room("calm-otter"),
            name(n),
            ON,
            None,
            JoinTerms::default(),
            (),
        )
    }

    fn pid(n: u64) -> ParticipantId {
        ParticipantId::new(n)
    }

    fn recipients(deliveries: &[Delivery]) -> Vec<ParticipantId> {
        deliveries.iter().map(|d| d.to).collect()
    }

    #[test]
    fn a_member_rebinds_and_sees_the_room_as_it_is_now() {
        let mut rooms = Rooms::<u8>::new(10);
        let ada = rooms
            .join(room("calm-otter"), name("Ada"), ON, None, 1)
            .unwrap()
            .id;
        let bob = rooms
            .join(room("calm-otter"), name("Bob"), ON, None, 2)
            .unwrap()
            .id;
        assert!(
            rooms.rebind(ada, &room("busy-bee"), ON, 3).is_none(),
            "wrong room"
        );
        let (old, deliveries) = rooms.rebind(ada, &room("calm-otter"), MUTED, 3).unwrap();
        assert_eq!(old, 1);
        assert_eq!(rooms.outbox(ada), Some(&3));
        let ServerMsg::Resumed {
            you,
            participants,
            continued,
            ..
        } = &deliveries[0].msg
        else {
            panic!("resumed")
        };
        assert_eq!((*you, *continued), (ada, true));
        assert_eq!(participants.iter().map(|p| p.id).collect::<Vec<_>>(), [bob]);
        // Never announced as interrupted: the room only hears its media state.
        assert_eq!(
            deliveries[1..],
            [Delivery {
                to: bob,
                msg: ServerMsg::Media {
                    from: ada,
                    media: MUTED
                }
            }]
        );
    }

    fn public(id: ParticipantId, name: &str, media: MediaState) -> Participant {
        Participant {
            id,
            name: name.into(),
            media,
        }
    }

    #[test]
    fn an_interrupted_seat_is_announced_once_and_its_resume_as_back() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        let bob = join(&mut rooms, "calm-otter", "Bob").id;
        let cy = join(&mut rooms, "calm-otter", "Cy").id;
        join(&mut rooms, "other-room", "Dan");
        let interrupted = rooms.interrupt(bob);
        assert_eq!(
            interrupted,
            [ada, cy]
                .map(|to| Delivery {
                    to,
                    msg: ServerMsg::Interrupted { id: bob }
                })
                .to_vec()
        );
        assert!(rooms.interrupt(bob).is_empty(), "told once");
        assert_eq!(rooms.participant_count(), 4, "the seat is held");

        let (_, deliveries) = rooms.rebind(bob, &room("calm-otter"), MUTED, ()).unwrap();
        assert!(matches!(deliveries[0].msg, ServerMsg::Resumed { .. }));
        assert_eq!(
            deliveries[1..],
            [ada, cy].map(|to| Delivery {
                to,
                msg: ServerMsg::Back {
                    participant: public(bob, "Bob", MUTED)
                }
            })
        );
        // Back for good: a later interruption is announced again.
        assert_eq!(recipients(&rooms.interrupt(bob)), [ada, cy]);
    }

    #[test]
    fn an_interrupted_seat_not_resumed_ends_with_left() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        let bob = join(&mut rooms, "calm-otter", "Bob").id;
        assert_eq!(recipients(&rooms.interrupt(bob)), [ada]);
        let removed = rooms.leave(bob, LeaveReason::Disconnected).unwrap();
        assert_eq!(
            removed.deliveries,
            [Delivery {
                to: ada,
                msg: ServerMsg::Left {
                    id: bob,
                    reason: LeaveReason::Disconnected
                }
            }]
        );
        assert!(rooms.interrupt(bob).is_empty(), "gone: nothing to announce");
        assert!(rooms.interrupt(pid(99)).is_empty(), "never here");
        // The last one of a room: nobody to tell.
        assert!(rooms.interrupt(ada).is_empty());
    }

    #[test]
    fn a_newcomer_and_a_resumer_hear_which_seats_are_held() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        let bob = join(&mut rooms, "calm-otter", "Bob").id;
        rooms.interrupt(bob);
        let cy = join(&mut rooms, "calm-otter", "Cy");
        assert!(matches!(cy.deliveries[0].msg, ServerMsg::Welcome { .. }));
        assert_eq!(
            cy.deliveries[1],
            Delivery {
                to: cy.id,
                msg: ServerMsg::Interrupted { id: bob }
            }
        );
        assert_eq!(recipients(&cy.deliveries[2..]), [ada, bob]);

        // Ada drops too; Bob, coming back, hears that she is away, and both others
        // hear that he is back.
        rooms.interrupt(ada);
        let (_, deliveries) = rooms.rebind(bob, &room("calm-otter"), ON, ()).unwrap();
        assert_eq!(
            deliveries[1],
            Delivery {
                to: bob,
                msg: ServerMsg::Interrupted { id: ada }
            }
        );
        assert_eq!(recipients(&deliveries[2..]), [ada, cy.id]);
        assert!(deliveries[2..]
            .iter()
            .all(|d| matches!(&d.msg, ServerMsg::Back { participant } if participant.id == bob)));
    }

    #[test]
    fn a_restarted_server_announces_a_returning_participant_as_joined() {
        let mut rooms = Rooms::with_ids(10, IdGen::sequential(1000));
        let cy = join(&mut rooms, "calm-otter", "Cy").id;
        let back = readmit(&mut rooms, pid(5), "Ada").unwrap();
        // Ada's old call may have been relayed: she is told this one is a mesh.
        let mesh = |phase| Delivery {
            to: pid(5),
            msg: ServerMsg::Topology {
                mode: TopologyMode::Mesh,
                phase,
                sfu: None,
            },
        };
        assert_eq!(
            back.deliveries[1..],
            [
                Delivery {
                    to: cy,
                    msg: ServerMsg::Joined {
                        participant: public(pid(5), "Ada", ON)
                    }
                },
                mesh(SwitchPhase::Prepare),
                mesh(SwitchPhase::Commit),
            ]
        );
        // Cy's seat held: the returning Ada hears it after her `resumed`.
        rooms.interrupt(cy);
        let dan = readmit(&mut rooms, pid(6), "Dan").unwrap();
        assert_eq!(
            dan.deliveries[1],
            Delivery {
                to: pid(6),
                msg: ServerMsg::Interrupted { id: cy }
            }
        );
    }

    #[test]
    fn a_removed_token_stays_out_of_the_call_until_it_ends() {
        let mut rooms = Rooms::new(10);
        let with = |t: u8| JoinTerms {
            token: Some([t; 32]),
            ..JoinTerms::default()
        };
        let join_with = |rooms: &mut Rooms<()>, n: &str, t: u8| {
            rooms.join_on(room("calm-otter"), name(n), ON, None, with(t), ())
        };
        let ada = join_with(&mut rooms, "Ada", 1).unwrap().id;
        let bob = join_with(&mut rooms, "Bob", 2).unwrap().id;
        rooms.bar(bob);
        rooms.leave(bob, LeaveReason::Left).unwrap();
        let again = join_with(&mut rooms, "Bob", 2).unwrap_err();
        assert_eq!(again.code, ErrorCode::Removed);
        assert!(again.message.contains("cannot join it again"), "{again:?}");
        // Another link is someone else; a later call starts afresh.
        join_with(&mut rooms, "Cy", 3).unwrap();
        rooms.leave(ada, LeaveReason::Left).unwrap();
        let rooms_left: Vec<_> = rooms.room_of.keys().copied().collect();
        for id in rooms_left {
            rooms.leave(id, LeaveReason::Left).unwrap();
        }
        join_with(&mut rooms, "Bob", 2).unwrap();
    }

    #[test]
    fn readmission_keeps_the_owner_right_its_terms_carry() {
        let mut rooms = Rooms::new(10);
        let owner = JoinTerms {
            owner: true,
            ..JoinTerms::default()
        };
        rooms
            .readmit(pid(7), room("calm-otter"), name("Ada"), ON, None, owner, ())
            .unwrap();
        readmit(&mut rooms, pid(8), "Bob").unwrap();
        assert!(rooms.is_owner(pid(7)));
        assert!(!rooms.is_owner(pid(8)));
    }

    #[test]
    fn readmission_keeps_the_id_and_later_ids_stay_above_it() {
        let mut rooms = Rooms::with_ids(10, IdGen::sequential(1000));
        let cy = join(&mut rooms, "calm-otter", "Cy").id;
        assert_eq!(cy, pid(1000));
        let back = readmit(&mut rooms, pid(5000), "Ada").unwrap();
        assert_eq!(back.id, pid(5000));
        assert!(matches!(
            &back.deliveries[0].msg,
            ServerMsg::Resumed { continued: false, participants, .. } if participants.len() == 1
        ));
        assert_eq!(
            recipients(&back.deliveries[1..]),
            [cy, pid(5000), pid(5000)]
        );
        assert_eq!(join(&mut rooms, "calm-otter", "Dan").id, pid(5001));
        // In use, or ended here: refused.
        let again = readmit(&mut rooms, pid(5000), "Ada");
        assert_eq!(again.unwrap_err().code, ErrorCode::ResumeFailed);
        rooms.leave(cy, LeaveReason::TimedOut).unwrap();
        let ended = readmit(&mut rooms, cy, "Cy");
        assert_eq!(ended.unwrap_err().code, ErrorCode::ResumeFailed);
    }

    fn digest(code: &str) -> Option<PasscodeDigest> {
        let key = crate::resume::SessionKey::from_secret("k");
        PasscodeDigest::of(&key, &room("calm-otter"), Some(code)).unwrap()
    }

    #[test]
    fn the_first_joiner_sets_the_passcode_and_it_lives_as_long_as_the_room() {
        let mut rooms = Rooms::new(10);
        let ada = rooms
            .join(room("calm-otter"), name("Ada"), ON, digest("tulip"), ())
            .unwrap()
            .id;
        let refused = |rooms: &mut Rooms<()>, code: Option<&str>| {
            rooms
                .join(
                    room("calm-otter"),
                    name("Bob"),
                    ON,
                    code.and_then(digest),
                    (),
                )
                .unwrap_err()
                .code
        };
        assert_eq!(refused(&mut rooms, None), ErrorCode::PasscodeRequired);
        assert_eq!(
            refused(&mut rooms, Some("tulips")),
            ErrorCode::WrongPasscode
        );
        assert_eq!(rooms.participant_count(), 1, "refusals use no seat");
        let bob = rooms
            .join(room("calm-otter"), name("Bob"), ON, digest("tulip"), ())
            .unwrap()
            .id;
        // A room without one ignores a passcode given later.
        join(&mut rooms, "busy-bee", "Cy");
        assert!(rooms
            .join(room("busy-bee"), name("Dan"), ON, digest("x"), ())
            .is_ok());
        // Once empty, the room and its passcode are gone.
        rooms.leave(ada, LeaveReason::Left);
        rooms.leave(bob, LeaveReason::Left);
        assert!(rooms
            .join(room("calm-otter"), name("Eve"), ON, None, ())
            .is_ok());
    }

    #[test]
    fn only_the_newest_token_nonces_resume() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        assert!(!rooms.token_nonce_current(ada, ""), "no token yet");
        rooms.set_token_nonce(ada, "a".into(), false);
        rooms.set_token_nonce(ada, "b".into(), true);
        assert!(
            rooms.token_nonce_current(ada, "a"),
            "refreshed: the one before too"
        );
        assert!(rooms.token_nonce_current(ada, "b"));
        rooms.set_token_nonce(ada, "c".into(), false);
        assert!(!rooms.token_nonce_current(ada, "a"));
        assert!(
            !rooms.token_nonce_current(ada, "b"),
            "a resume rotates both"
        );
        assert!(rooms.token_nonce_current(ada, "c"));
    }

    #[test]
    fn first_joiner_is_welcomed_to_an_empty_room() {
        let mut rooms = Rooms::new(10);
        let ada = rooms
            .join(room("Team-Sync"), name("Ada"), MUTED, None, ())
            .unwrap();
        assert_eq!(ada.id, pid(1));
        assert_eq!(
            ada.deliveries,
            vec![Delivery {
                to: pid(1),
                msg: ServerMsg::Welcome {
                    protocol: PROTOCOL_VERSION,
                    you: pid(1),
                    room: "team-sync".into(),
                    participants: vec![],
                    ice_servers: vec![],
                    heartbeat_interval_ms: None,
                    name: Some("Ada".into()),
                    owner: false,
                },
            }]
        );
        assert_eq!(rooms.room_count(), 1);
    }

    #[test]
    fn later_joiners_see_everyone_oldest_first_and_everyone_hears_of_them() {
        let mut rooms = Rooms::new(10);
        join(&mut rooms, "calm-otter", "Ada");
        join(&mut rooms, "calm-otter", "Bob");
        let cy = join(&mut rooms, "calm-otter", "Cy");
        assert_eq!(cy.id, pid(3));
        let ServerMsg::Welcome { participants, .. } = &cy.deliveries[0].msg else {
            panic!("welcome first: {:?}", cy.deliveries);
        };
        let names: Vec<_> = participants
            .iter()
            .map(|p| (p.id, p.name.as_str()))
            .collect();
        assert_eq!(names, [(pid(1), "Ada"), (pid(2), "Bob")]);
        assert_eq!(recipients(&cy.deliveries), [pid(3), pid(1), pid(2)]);
        let cy_public = Participant {
            id: pid(3),
            name: "Cy".into(),
            media: ON,
        };
        for d in &cy.deliveries[1..] {
            assert_eq!(
                d.msg,
                ServerMsg::Joined {
                    participant: cy_public.clone()
                }
            );
        }
    }

    #[test]
    fn ids_grow_across_rooms_and_are_never_reused() {
        let mut rooms = Rooms::new(10);
        let a = join(&mut rooms, "room-a", "Ada").id;
        let b = join(&mut rooms, "room-b", "Bob").id;
        rooms.leave(b, LeaveReason::Left).unwrap();
        let c = join(&mut rooms, "room-b", "Cy").id;
        assert!(a < b && b < c, "{a} {b} {c}");
    }

    #[test]
    fn rooms_are_separate() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "room-a", "Ada").id;
        let bob = join(&mut rooms, "room-b", "Bob");
        assert_eq!(
            recipients(&bob.deliveries),
            [bob.id],
            "nobody in room-a hears of Bob"
        );
        assert_eq!(
            rooms
                .relay(ada, bob.id, Signal::Offer("v=0".into()))
                .unwrap_err()
                .code,
            ErrorCode::UnknownParticipant
        );
        assert!(rooms.set_media(ada, MUTED).is_empty());
        let removed = rooms.leave(ada, LeaveReason::Left).unwrap();
        assert!(removed.deliveries.is_empty());
    }

    #[test]
    fn relay_goes_to_the_target_only_stamped_with_the_sender() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        let bob = join(&mut rooms, "calm-otter", "Bob").id;
        join(&mut rooms, "calm-otter", "Cy");
        assert_eq!(
            rooms.relay(bob, ada, Signal::Offer("v=0".into())).unwrap(),
            Delivery {
                to: ada,
                msg: ServerMsg::Offer {
                    from: bob,
                    sdp: "v=0".into()
                }
            }
        );
        assert_eq!(
            rooms.relay(ada, bob, Signal::Answer("v=1".into())).unwrap(),
            Delivery {
                to: bob,
                msg: ServerMsg::Answer {
                    from: ada,
                    sdp: "v=1".into()
                }
            }
        );
        let candidate = IceCandidate {
            candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: None,
        };
        assert_eq!(
            rooms
                .relay(ada, bob, Signal::Candidate(candidate.clone()))
                .unwrap()
                .msg,
            ServerMsg::Candidate {
                from: ada,
                candidate
            }
        );
    }

    #[test]
    fn relay_to_nobody_self_or_a_departed_participant_is_unknown() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        let bob = join(&mut rooms, "calm-otter", "Bob").id;
        rooms.leave(bob, LeaveReason::Disconnected).unwrap();
        for to in [bob, ada, pid(99)] {
            let err = rooms
                .relay(ada, to, Signal::Offer("v=0".into()))
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::UnknownParticipant, "to {to}");
            assert!(err.message.contains(&to.to_string()), "{}", err.message);
        }
        // A sender that is in no room (already removed) reaches nobody either.
        let err = rooms
            .relay(bob, ada, Signal::Answer("v=0".into()))
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownParticipant);
    }

    #[test]
    fn a_full_room_refuses_with_a_readable_message() {
        let mut rooms = Rooms::new(2);
        join(&mut rooms, "calm-otter", "Ada");
        join(&mut rooms, "calm-otter", "Bob");
        let err = rooms
            .join(room("calm-otter"), name("Cy"), ON, None, ())
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::RoomFull);
        assert!(
            err.message
                .starts_with("This meeting is full (2 of 2 people)"),
            "{}",
            err.message
        );
        assert_eq!(rooms.participant_count(), 2);
        // The refusal used no id, and another room is unaffected.
        assert_eq!(join(&mut rooms, "other-room", "Cy").id, pid(3));
    }

    #[test]
    fn a_place_frees_up_when_someone_leaves() {
        let mut rooms = Rooms::new(1);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        assert!(rooms
            .join(room("calm-otter"), name("Bob"), ON, None, ())
            .is_err());
        rooms.leave(ada, LeaveReason::Left).unwrap();
        assert!(rooms
            .join(room("calm-otter"), name("Bob"), ON, None, ())
            .is_ok());
    }

    #[test]
    fn room_names_are_case_insensitive() {
        let mut rooms = Rooms::new(10);
        join(&mut rooms, "Calm-Otter", "Ada");
        let bob = join(&mut rooms, "calm-otter", "Bob");
        assert_eq!(recipients(&bob.deliveries), [pid(2), pid(1)]);
    }

    #[test]
    fn leaving_tells_the_others_why_and_removes_empty_rooms() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        let bob = join(&mut rooms, "calm-otter", "Bob").id;
        let cy = join(&mut rooms, "calm-otter", "Cy").id;
        let removed = rooms.leave(bob, LeaveReason::TimedOut).unwrap();
        assert_eq!(
            removed.deliveries,
            [ada, cy]
                .map(|to| Delivery {
                    to,
                    msg: ServerMsg::Left {
                        id: bob,
                        reason: LeaveReason::TimedOut
                    }
                })
                .to_vec()
        );
        assert!(
            rooms.leave(bob, LeaveReason::Left).is_none(),
            "leaving twice is a no-op"
        );
        rooms.leave(ada, LeaveReason::Left).unwrap();
        assert_eq!(rooms.room_count(), 1);
        rooms.leave(cy, LeaveReason::Disconnected).unwrap();
        assert_eq!(rooms.room_count(), 0);
        assert_eq!(rooms.participant_count(), 0);
    }

    #[test]
    fn media_state_is_stored_for_later_joiners_and_told_to_the_others() {
        let mut rooms = Rooms::new(10);
        let ada = join(&mut rooms, "calm-otter", "Ada").id;
        let bob = join(&mut rooms, "calm-otter", "Bob").id;
        assert_eq!(
            rooms.set_media(ada, MUTED),
            vec![Delivery {
                to: bob,
                msg: ServerMsg::Media {
                    from: ada,
                    media: MUTED
                }
            }]
        );
        let cy = join(&mut rooms, "calm-otter", "Cy");
        let ServerMsg::Welcome { participants, .. } = &cy.deliveries[0].msg else {
            panic!("welcome first");
        };
        assert_eq!(participants[0].media, MUTED);
        assert_eq!(participants[1].media, ON);
        // Unknown participants change nothing.
        assert!(rooms.set_media(pid(99), MUTED).is_empty());
    }

    #[test]
    fn outboxes_belong_to_members_only() {
        let mut rooms = Rooms::new(10);
        let ada = rooms
            .join(room("calm-otter"), name("Ada"), ON, None, "ada's queue")
            .unwrap()
            .id;
        assert_eq!(rooms.outbox(ada), Some(&"ada's queue"));
        assert_eq!(
            rooms.leave(ada, LeaveReason::Left).unwrap().outbox,
            "ada's queue"
        );
        assert_eq!(rooms.outbox(ada), None);
    }
}
