//! The shared side of the server: [`Rooms`] behind one lock, plus delivery of what
//! it decides to each connection's bounded queue.
//!
//! The lock is a `std::sync::Mutex` held only inside these synchronous methods, never
//! across an `.await`. Deliveries are queued while it is held, with `try_send`, so
//! that every participant sees events in the order the room saw them (a `joined`
//! always before that participant's first offer), and so that a slow client never
//! holds anyone up: a full queue gets its connection dropped instead of waited on.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::protocol::{
    ErrorCode, LeaveReason, MediaState, Participant, ProtocolError, ServerMsg, TopologyMode,
    HEARTBEAT_INTERVAL_MS,
};
use nonstop_core::time::Time;
use nonstop_core::topology::{SfuCheck, SfuVerdict, SfuWatch, TopologyConfig};
use nonstop_core::ParticipantId;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::api::directory::{Directory, Entry};
use crate::cluster::Cluster;
use crate::ids::IdGen;
use crate::out_queue::OutQueue;
use crate::passcode::PasscodeDigest;
use crate::per_address::PerAddress;
use crate::resume::{random_nonce, Claims, SessionKey, TokenError, TOKEN_TTL};
use crate::rooms::{Delivery, JoinTerms, Rooms, SfuJob, Signal, TopologySetup};
use crate::sfu::SfuRooms;
use crate::turn::{unix_now, Turn};

/// What everyone in a call hears when its room is deleted through the API.
pub fn room_deleted() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::RoomDeleted,
        "This meeting has been ended: its room was deleted.",
    )
}

/// TURN credential sets handed out per address per minute unless
/// `--turn-per-address-per-minute` says otherwise.
pub const DEFAULT_TURN_PER_ADDRESS: u32 = 30;

/// Wrong passcodes accepted per address per minute before every passcode attempt
/// from it is refused until the minute is over.
pub const PASSCODE_GUESSES_PER_ADDRESS: u32 = 10;

/// How soon a connection whose TURN credentials were withheld (per-address limit)
/// asks again, at most (and at most half the credential lifetime).
pub const TURN_RETRY: Duration = Duration::from_secs(60);

/// One item of a connection's outbound queue.
#[derive(Debug)]
pub enum Outgoing {
    /// Boxed: queue slots stay small (a `topology` with its grant is large), and
    /// every idle connection's queue holds blocks of them.
    Msg(Box<ServerMsg>),
    /// Send a close frame and stop writing.
    Close { code: u16, reason: &'static str },
}

impl Outgoing {
    pub fn msg(msg: ServerMsg) -> Outgoing {
        Outgoing::Msg(Box::new(msg))
    }
}

/// How the hub reaches one connection.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub queue: OutQueue,
    /// Cancelled by the hub when it drops the connection for falling behind; the
    /// connection task then closes the socket.
    pub kicked: CancellationToken,
    /// Which connection this is (unique per server run): a participant that resumed
    /// on a new connection is not removed when its old one finally ends.
    pub conn: u64,
    /// Cancelled when this connection has ended (its socket is gone or closed): until
    /// then nobody else may resume its seat.
    pub gone: CancellationToken,
    /// Notified when a `resume` claims this connection's seat: the connection pings
    /// its client at once and ends unless it hears back within
    /// [`crate::connection::CHALLENGE_WINDOW`]. A client resumes because its old
    /// socket died; waiting out the whole heartbeat timeout would keep it out.
    pub challenged: Arc<Notify>,
    /// The client's address (per-address limits).
    pub peer: IpAddr,
    /// Its last welcome/resumed came without TURN credentials (per-address limit):
    /// its refreshes go through the limit too, and come sooner.
    pub turn_withheld: Arc<AtomicBool>,
}

impl Outbox {
    /// An outbox for a connection from `peer`.
    pub fn new(queue: OutQueue, conn: u64, peer: IpAddr) -> Self {
        Outbox {
            queue,
            kicked: CancellationToken::new(),
            conn,
            gone: CancellationToken::new(),
            challenged: Arc::new(Notify::new()),
            peer,
            turn_withheld: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// What became of a `resume`.
#[derive(Debug)]
pub enum ResumeStep {
    /// Resumed: the reply is queued.
    Done,
    /// The seat's connection is still open: try again once this is cancelled (that
    /// connection ended) or the caller's patience ran out. The live connection wins.
    SeatBusy(CancellationToken),
}

/// The SFU, and the hub for tasks that report back to it.
#[derive(Clone)]
struct SfuLink {
    sfu: Arc<dyn SfuRooms>,
    hub: Weak<Hub>,
}

impl std::fmt::Debug for SfuLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SfuLink")
    }
}

/// Room state shared by all connections.
#[derive(Debug)]
pub struct Hub {
    rooms: Mutex<Rooms<Outbox>>,
    /// Where TURN credentials come from; `None`: the welcome lists no ICE servers.
    turn: Option<Turn>,
    /// Signs and checks resume tokens.
    key: SessionKey,
    /// Lifetime of resume tokens.
    token_ttl: Duration,
    /// TURN credential sets handed out per address.
    turn_issued: Mutex<PerAddress>,
    /// Wrong passcodes per address.
    passcode_guesses: Mutex<PerAddress>,
    /// The server's ping interval, told to each client in its welcome/resumed.
    heartbeat_interval: Duration,
    /// Set (under the lock) when the server starts shutting down: from then on nothing
    /// is relayed and nobody is removed (see [`Hub::close`]).
    closing: AtomicBool,
    /// Where relayed calls go, and this hub itself for the tasks that create and
    /// destroy SFU rooms and wake rooms at their deadlines; `None` without an SFU.
    sfu: Option<SfuLink>,
    /// Time zero of the rooms' topology clock.
    epoch: tokio::time::Instant,
    /// The rooms API's rooms, which decide who may join them; `None` without the API
    /// (every room opens on demand, to anyone with the link).
    directory: Option<Arc<Directory>>,
    /// The other nodes, when rooms are shared through Redis; unset: every room is
    /// this process's.
    cluster: OnceLock<Arc<Cluster>>,
}

impl Hub {
    /// Ids from 1, no TURN, a random session key.
    pub fn new(capacity: usize) -> Self {
        Hub::configured(capacity, IdGen::sequential(1), None, SessionKey::random())
    }

    pub fn configured(capacity: usize, ids: IdGen, turn: Option<Turn>, key: SessionKey) -> Self {
        Hub {
            rooms: Mutex::new(Rooms::with_ids(capacity, ids)),
            turn,
            key,
            token_ttl: TOKEN_TTL,
            turn_issued: Mutex::new(PerAddress::new(DEFAULT_TURN_PER_ADDRESS)),
            passcode_guesses: Mutex::new(PerAddress::new(PASSCODE_GUESSES_PER_ADDRESS)),
            heartbeat_interval: Duration::from_millis(HEARTBEAT_INTERVAL_MS),
            closing: AtomicBool::new(false),
            sfu: None,
            epoch: tokio::time::Instant::now(),
            directory: None,
            cluster: OnceLock::new(),
        }
    }

    /// Calls decide their topology by `config`, relayed through `sfu` when there is
    /// one. `this` is the `Arc` the hub is about to live in (`Arc::new_cyclic`): the
    /// tasks that talk to the SFU report back to it.
    pub fn with_topology(
        mut self,
        config: TopologyConfig,
        sfu: Option<Arc<dyn SfuRooms>>,
        this: Weak<Hub>,
    ) -> Self {
        let epoch = self.epoch;
        let setup = TopologySetup {
            config,
            sfu: sfu.clone(),
            clock: Box::new(move || Time::from_millis(epoch.elapsed().as_millis() as u64)),
        };
        let rooms = self.rooms.get_mut().unwrap_or_else(PoisonError::into_inner);
        *rooms = std::mem::replace(rooms, Rooms::new(1)).with_topology(setup);
        self.sfu = sfu.map(|sfu| SfuLink { sfu, hub: this });
        self
    }

    /// Joins go through `directory` (the rooms API's rules) first.
    pub fn with_directory(mut self, directory: Option<Arc<Directory>>) -> Self {
        self.directory = directory;
        self
    }

    /// Resume tokens valid for `ttl` (at least one second).
    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// At most `per_minute` TURN credential sets per address per minute (0: no limit).
    pub fn with_turn_limit(mut self, per_minute: u32) -> Self {
        self.turn_issued = Mutex::new(PerAddress::new(per_minute));
        self
    }

    /// How often a live connection should get a fresh resume token: half its lifetime.
    pub fn token_refresh_after(&self) -> Duration {
        self.token_ttl / 2
    }

    /// The ping interval that welcomes and resumes announce.
    pub fn with_heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// The server is shutting down: from now on nothing is relayed, no media state is
    /// broadcast, nobody is announced `interrupted` and nobody is removed from a room,
    /// so nobody is told `left` (the
    /// seats are kept for a `resume` into the restarted server). Everything relayed
    /// before this is already queued, so connections that now queue their goodbye
    /// send it after every message meant for them.
    pub fn close(&self) {
        let _rooms = self.lock();
        self.closing.store(true, Ordering::SeqCst);
    }

    /// Whether [`close`](Self::close) was called; read under the lock.
    fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Fresh ICE servers for `id` (empty without TURN). Not limited: for refreshes on
    /// a connection that holds a seat.
    pub fn ice_servers(&self, id: ParticipantId) -> Vec<nonstop_core::protocol::IceServer> {
        self.turn
            .as_ref()
            .map(|t| t.ice_servers(id, unix_now()))
            .unwrap_or_default()
    }

    /// ICE servers for a welcome or resume to `id` at `peer`: `None` (logged) when
    /// that address has had its credential sets for this minute; the connection's
    /// next refresh, within [`TURN_RETRY`], tries again.
    fn ice_servers_limited(
        &self,
        id: ParticipantId,
        peer: IpAddr,
    ) -> Option<Vec<nonstop_core::protocol::IceServer>> {
        if self.turn.is_none() {
            return Some(Vec::new());
        }
        let allowed = lock(&self.turn_issued).allow(peer, tokio::time::Instant::now());
        if !allowed {
            warn!(participant = %id, %peer, "TURN credentials withheld: too many sets for this address this minute");
            return None;
        }
        Some(self.ice_servers(id))
    }

    /// Fresh ICE servers for the periodic refresh of `id` on `outbox`'s connection;
    /// `None` if they are still withheld from it (nothing to send this time).
    pub fn ice_refresh(
        &self,
        id: ParticipantId,
        outbox: &Outbox,
    ) -> Option<Vec<nonstop_core::protocol::IceServer>> {
        if !outbox.turn_withheld.load(Ordering::Relaxed) {
            return Some(self.ice_servers(id));
        }
        let servers = self.ice_servers_limited(id, outbox.peer)?;
        outbox.turn_withheld.store(false, Ordering::Relaxed);
        Some(servers)
    }

    /// A new resume token for `id` (recorded as its newest), or `None` if it is in no
    /// room.
    fn issue_token(
        &self,
        rooms: &mut Rooms<Outbox>,
        id: ParticipantId,
        refresh: bool,
    ) -> Option<String> {
        let (room, name, passcode) = rooms.session(id)?;
        let claims = Claims {
            room: room.as_str().to_owned(),
            id,
            name: name.as_str().to_owned(),
            passcode: passcode.map(PasscodeDigest::to_hex),
            expires: unix_now() + self.token_ttl.as_secs().max(1),
            owner: rooms.is_owner(id),
            nonce: random_nonce(),
        };
        let token = self.key.issue(&claims);
        rooms.set_token_nonce(id, claims.nonce, refresh);
        Some(token)
    }

    /// A fresh resume token for `id`, sent periodically on a live connection so that
    /// tokens can be short-lived. `None` if `id` is in no room.
    pub fn refresh_token(&self, id: ParticipantId) -> Option<ServerMsg> {
        let mut rooms = self.lock();
        self.issue_token(&mut rooms, id, true)
            .map(|token| ServerMsg::Session { token })
    }

    /// The digest of the passcode a join carried, for `room`.
    pub fn passcode_digest(
        &self,
        room: &RoomName,
        given: Option<&str>,
    ) -> Result<Option<PasscodeDigest>, ProtocolError> {
        PasscodeDigest::of(&self.key, room, given)
    }

    /// How long after a welcome or refresh to send fresh ICE servers to `outbox`'s
    /// connection: half their lifetime, or soon when they were withheld; `None`
    /// without TURN.
    pub fn ice_refresh_after(&self, outbox: &Outbox) -> Option<std::time::Duration> {
        let after = self.turn.as_ref().map(Turn::refresh_after)?;
        Some(if outbox.turn_withheld.load(Ordering::Relaxed) {
            after.min(TURN_RETRY)
        } else {
            after
        })
    }

    /// Fills in the joiner's ICE servers and follows its welcome/resumed with a new
    /// resume token (rotating any earlier one).
    fn complete_reply(
        &self,
        rooms: &mut Rooms<Outbox>,
        id: ParticipantId,
        deliveries: &mut Vec<Delivery>,
    ) {
        let (peer, withheld) = rooms
            .outbox(id)
            .map_or((IpAddr::V4(Ipv4Addr::UNSPECIFIED), None), |o| {
                (o.peer, Some(o.turn_withheld.clone()))
            });
        if let Some(first) = deliveries.first_mut() {
            if let ServerMsg::Welcome {
                ice_servers,
                heartbeat_interval_ms,
                ..
            }
            | ServerMsg::Resumed {
                ice_servers,
                heartbeat_interval_ms,
                ..
            } = &mut first.msg
            {
                let limited = self.ice_servers_limited(id, peer);
                if let Some(flag) = withheld {
                    flag.store(limited.is_none(), Ordering::Relaxed);
                }
                *ice_servers = limited.unwrap_or_default();
                *heartbeat_interval_ms = Some(self.heartbeat_interval.as_millis() as u64);
            }
        }
        if let Some(token) = self.issue_token(rooms, id, false) {
            let session = Delivery {
                to: id,
                msg: ServerMsg::Session { token },
            };
            deliveries.insert(1.min(deliveries.len()), session);
        }
    }

    /// Continues participant `id`'s session on a new connection (`resume`): rebinds
    /// it if the server still holds it, re-admits it (with the name and room passcode
    /// from the token) if the server restarted meanwhile. The `name` in the resume
    /// message is not used: a session keeps its name.
    ///
    /// Refused (`resume_failed`): a token that is forged, expired, for another
    /// session, or replaced by a newer one (every resume rotates it); a session that
    /// ended here. A seat whose connection is still open is not taken:
    /// [`ResumeStep::SeatBusy`].
    pub fn resume(
        &self,
        id: ParticipantId,
        room: RoomName,
        media: MediaState,
        token: &str,
        outbox: Outbox,
    ) -> Result<ResumeStep, ProtocolError> {
        let claims = self.key.verify(token, &room, id, unix_now()).map_err(|e| {
            let why = match e {
                TokenError::Expired => "this resume token has expired; join again",
                TokenError::Invalid | TokenError::WrongSession => {
                    "this resume token is not valid here; join again"
                }
            };
            ProtocolError::new(ErrorCode::ResumeFailed, why)
        })?;
        let mut rooms = self.lock();
        if rooms.room_of(id) == Some(&room) {
            if !rooms.token_nonce_current(id, &claims.nonce) {
                return Err(ProtocolError::new(
                    ErrorCode::ResumeFailed,
                    "this resume token was replaced by a newer one; join again",
                ));
            }
            let old = rooms.outbox(id).filter(|o| !o.gone.is_cancelled());
            if let Some(old) = old {
                old.challenged.notify_one();
                return Ok(ResumeStep::SeatBusy(old.gone.clone()));
            }
            let Some((old, mut deliveries)) = rooms.rebind(id, &room, media, outbox) else {
                // room_of said it is there, under the same lock.
                unreachable!("a member of the room rebinds");
            };
            old.kicked.cancel();
            info!(participant = %id, %room, "resumed");
            self.complete_reply(&mut rooms, id, &mut deliveries);
            self.deliver(&mut rooms, deliveries);
            return Ok(ResumeStep::Done);
        }
        // Signed by us: the name parses, and a passcode digest is ours or absent.
        let name = DisplayName::parse(&claims.name).map_err(|_| {
            ProtocolError::new(
                ErrorCode::ResumeFailed,
                "this resume token is not valid here; join again",
            )
        })?;
        let passcode = claims
            .passcode
            .as_deref()
            .and_then(PasscodeDigest::from_hex);
        // The room's own terms, as a join gets them (it may be re-made here), and the
        // owner right the resume token carries.
        let terms = JoinTerms {
            owner: claims.owner,
            ..self
                .directory
                .as_ref()
                .map(|d| d.terms(&room))
                .unwrap_or_default()
        };
        let mut back = rooms.readmit(id, room.clone(), name, media, passcode, terms, outbox)?;
        info!(participant = %id, %room, "re-admitted");
        self.complete_reply(&mut rooms, id, &mut back.deliveries);
        self.deliver(&mut rooms, back.deliveries);
        Ok(ResumeStep::Done)
    }

    /// Tells `id`'s room that its connection `conn` ended without `leave` and its seat
    /// is held for a resume (`interrupted`), unless it resumed elsewhere meanwhile or
    /// the server is shutting down (everyone is away then, and comes back).
    pub fn interrupt_conn(&self, id: ParticipantId, conn: u64) {
        let mut rooms = self.lock();
        if self.closing() || rooms.outbox(id).is_none_or(|o| o.conn != conn) {
            return;
        }
        let deliveries = rooms.interrupt(id);
        if !deliveries.is_empty() {
            info!(participant = %id, "interrupted: seat held for a resume");
            crate::metrics::interrupted();
        }
        self.deliver(&mut rooms, deliveries);
    }

    /// Removes `id` if it is still reached through connection `conn` (it did not
    /// resume elsewhere meanwhile), telling its room.
    pub fn leave_conn(&self, id: ParticipantId, conn: u64, reason: LeaveReason) {
        let mut rooms = self.lock();
        if self.closing() {
            return;
        }
        if rooms.outbox(id).is_some_and(|o| o.conn == conn) {
            if let Some(removed) = rooms.leave(id, reason) {
                info!(participant = %id, ?reason, "left");
                self.deliver(&mut rooms, removed.deliveries);
            }
        }
    }

    /// Adds a participant reached through `outbox`; its welcome is the first thing
    /// queued there.
    /// `passcode` is what the join carried (see [`Rooms::join`]); wrong passcodes are
    /// counted per address, and an address with too many this minute is refused
    /// whatever it tries.
    pub fn join(
        &self,
        room: RoomName,
        name: DisplayName,
        media: MediaState,
        passcode: Option<&str>,
        outbox: Outbox,
    ) -> Result<ParticipantId, ProtocolError> {
        self.join_entry(room, name, media, passcode, JoinTerms::default(), outbox)
    }

    fn join_entry(
        &self,
        room: RoomName,
        name: DisplayName,
        media: MediaState,
        passcode: Option<&str>,
        terms: JoinTerms,
        outbox: Outbox,
    ) -> Result<ParticipantId, ProtocolError> {
        let passcode = self.passcode_digest(&room, passcode)?;
        let peer = outbox.peer;
        let now = tokio::time::Instant::now();
        if passcode.is_some() && lock(&self.passcode_guesses).used_up(peer, now) {
            return Err(ProtocolError::new(
                ErrorCode::WrongPasscode,
                "Too many wrong passcodes from your address. Wait a minute and try again.",
            ));
        }
        let mut rooms = self.lock();
        let mut joined = match rooms.join_on(room.clone(), name, media, passcode, terms, outbox) {
            Ok(joined) => joined,
            Err(e) => {
                if e.code == ErrorCode::WrongPasscode {
                    lock(&self.passcode_guesses).allow(peer, now);
                    info!(%room, %peer, "wrong passcode");
                }
                return Err(e);
            }
        };
        info!(participant = %joined.id, %room, others = joined.deliveries.len() - 1, "joined");
        self.complete_reply(&mut rooms, joined.id, &mut joined.deliveries);
        self.deliver(&mut rooms, joined.deliveries);
        Ok(joined.id)
    }

    /// [`join`](Self::join) through the rooms API's rules: a private room wants a
    /// meeting token (`token`), whose user name replaces `name`; a room may hold fewer
    /// people than the server's capacity. Without the API, the same as `join`.
    pub fn join_with_token(
        &self,
        room: RoomName,
        name: &str,
        media: MediaState,
        passcode: Option<&str>,
        token: Option<&str>,
        outbox: Outbox,
    ) -> Result<ParticipantId, ProtocolError> {
        let entry = match &self.directory {
            Some(directory) => directory.admit(&room, token, unix_now())?,
            None => Entry::default(),
        };
        let name = match entry.name {
            Some(name) => name,
            None => DisplayName::parse(name)?,
        };
        self.join_entry(room, name, media, passcode, entry.terms, outbox)
    }

    /// Before a join into `room`: the rooms API's copy of it made current (see
    /// `Directory::sync`). Nothing without the API.
    pub async fn sync_room(&self, room: &RoomName) {
        if let Some(directory) = &self.directory {
            directory.sync(room).await;
        }
    }

    /// `by` takes `target` out of the call, if `by` owns the room and `target` is in it.
    pub fn remove(&self, by: ParticipantId, target: ParticipantId) -> Result<(), ProtocolError> {
        let mut rooms = self.lock();
        self.check_owner(&rooms, by)?;
        if by == target || rooms.room_of(target) != rooms.room_of(by) {
            return Err(ProtocolError::new(
                ErrorCode::UnknownParticipant,
                format!("participant {target} is not someone else in your room"),
            ));
        }
        let why = ProtocolError::new(
            ErrorCode::Removed,
            "The meeting's owner removed you from the call.",
        );
        // Not back with the same link while this call lasts.
        rooms.bar(target);
        self.end_for(&mut rooms, &[target], &why);
        info!(participant = %target, by = %by, "removed by the owner");
        Ok(())
    }

    /// `by` ends the call in its room for everyone, if it owns the room.
    pub fn end_call(&self, by: ParticipantId) -> Result<(), ProtocolError> {
        let room = {
            let rooms = self.lock();
            self.check_owner(&rooms, by)?;
            rooms.room_of(by).cloned()
        };
        if let Some(room) = room {
            let why = ProtocolError::new(
                ErrorCode::CallEnded,
                "The meeting's owner ended the call for everyone.",
            );
            self.end_room(&room, why);
        }
        Ok(())
    }

    fn check_owner(&self, rooms: &Rooms<Outbox>, id: ParticipantId) -> Result<(), ProtocolError> {
        if rooms.is_owner(id) {
            return Ok(());
        }
        Err(ProtocolError::new(
            ErrorCode::NotOwner,
            "only the meeting's owner may remove people or end the call",
        ))
    }

    /// Who is in `room` now.
    pub fn presence(&self, room: &RoomName) -> Vec<Participant> {
        self.lock().presence(room)
    }

    /// Ends the call in `room` for everyone in it: each gets `why` and its connection
    /// closes (a client must not come back on its own). Returns how many there were.
    pub fn end_room(&self, room: &RoomName, why: ProtocolError) -> usize {
        let mut rooms = self.lock();
        let ids: Vec<ParticipantId> = rooms.presence(room).iter().map(|p| p.id).collect();
        self.end_for(&mut rooms, &ids, &why);
        if !ids.is_empty() {
            info!(%room, participants = ids.len(), code = ?why.code, "call ended");
        }
        ids.len()
    }

    /// This node may no longer hold `room`: another node took it while this one was
    /// cut off from Redis. Everyone in it here is told to come back, as a stopping
    /// server tells them (`going_away`, then a 1001 close); they resume through the
    /// room's real home, and the call is whole again. Their seats stay held here until
    /// the resume grace ends, like any dropped socket's. Returns how many were told.
    pub fn let_go(&self, room: &RoomName) -> usize {
        let rooms = self.lock();
        let mut told = 0;
        for participant in rooms.presence(room) {
            if let Some(outbox) = rooms.outbox(participant.id) {
                let _ = outbox
                    .queue
                    .try_send(Outgoing::msg(ServerMsg::going_away()));
                let _ = outbox.queue.try_send(Outgoing::Close {
                    code: axum::extract::ws::close_code::AWAY,
                    reason: crate::cluster::MOVED,
                });
                told += 1;
            }
        }
        told
    }

    /// Tells each of `ids` `why`, closes its connection and takes it out of its room.
    fn end_for(
        &self,
        rooms: &mut MutexGuard<'_, Rooms<Outbox>>,
        ids: &[ParticipantId],
        why: &ProtocolError,
    ) {
        for &id in ids {
            if let Some(outbox) = rooms.outbox(id) {
                // A full queue: the connection is being dropped for it anyway.
                let _ = outbox.queue.try_send(Outgoing::msg(ServerMsg::Error {
                    code: why.code,
                    message: why.message.clone(),
                }));
                let _ = outbox.queue.try_send(Outgoing::Close {
                    code: axum::extract::ws::close_code::NORMAL,
                    reason: "the meeting has ended",
                });
            }
        }
        for &id in ids {
            if let Some(removed) = rooms.leave(id, LeaveReason::Left) {
                self.deliver(rooms, removed.deliveries);
            }
        }
    }

    /// Passes a signal to another participant of the sender's room.
    pub fn relay(
        &self,
        from: ParticipantId,
        to: ParticipantId,
        signal: Signal,
    ) -> Result<(), ProtocolError> {
        let mut rooms = self.lock();
        if self.closing() {
            debug!(participant = %from, "not relayed: shutting down");
            return Ok(());
        }
        let delivery = rooms.relay(from, to, signal)?;
        self.deliver(&mut rooms, vec![delivery]);
        Ok(())
    }

    pub fn set_media(&self, id: ParticipantId, media: MediaState) {
        let mut rooms = self.lock();
        if self.closing() {
            return;
        }
        let deliveries = rooms.set_media(id, media);
        self.deliver(&mut rooms, deliveries);
    }

    /// Passes `id`'s chat line to the rest of its room.
    pub fn chat(&self, id: ParticipantId, text: String, sent_at: u64) {
        let mut rooms = self.lock();
        if self.closing() {
            return;
        }
        let deliveries = rooms.chat(id, text, sent_at);
        self.deliver(&mut rooms, deliveries);
    }

    /// Removes `id` and tells its room. A no-op for someone already gone (for
    /// example dropped for being slow).
    pub fn leave(&self, id: ParticipantId, reason: LeaveReason) {
        let mut rooms = self.lock();
        if self.closing() {
            return;
        }
        if let Some(removed) = rooms.leave(id, reason) {
            info!(participant = %id, ?reason, "left");
            self.deliver(&mut rooms, removed.deliveries);
        }
    }

    /// `id` receives everyone on `mode` (`topology_ready`).
    pub fn topology_ready(&self, id: ParticipantId, mode: TopologyMode) {
        let mut rooms = self.lock();
        if self.closing() {
            return;
        }
        let deliveries = rooms.topology_ready(id, mode);
        self.deliver(&mut rooms, deliveries);
    }

    /// `id` reports what its uplink carries (`uplink`).
    pub fn uplink(&self, id: ParticipantId, bps: u64) {
        let mut rooms = self.lock();
        if self.closing() {
            return;
        }
        let deliveries = rooms.uplink(id, bps);
        self.deliver(&mut rooms, deliveries);
    }

    /// Queues `deliveries` (see [`deliver`]), then starts what the rooms' topology
    /// asked for meanwhile.
    fn deliver(&self, rooms: &mut Rooms<Outbox>, deliveries: Vec<Delivery>) {
        deliver(rooms, deliveries);
        for job in rooms.take_sfu_jobs() {
            self.start(job);
        }
    }

    /// Runs one of the rooms' [`SfuJob`]s: SFU calls and wake-ups in their own task,
    /// reporting back to the hub.
    fn start(&self, job: SfuJob) {
        if let SfuJob::Switched { room, mode } = &job {
            let mode = match mode {
                TopologyMode::Mesh => "mesh",
                TopologyMode::Relayed => "relayed",
            };
            info!(%room, mode, "topology switched");
            crate::metrics::switched(mode);
            return;
        }
        let Some(SfuLink { sfu, hub }) = self.sfu.clone() else {
            // Without an SFU a call never leaves the mesh: no room to make, no deadline.
            warn!("an SFU job without an SFU");
            return;
        };
        match job {
            SfuJob::Create {
                room,
                generation,
                capacity,
            } => {
                tokio::spawn(async move {
                    let result = sfu.create(capacity).await;
                    match &result {
                        Ok(made) => info!(%room, instance = made.instance, "SFU room created"),
                        Err(e) => {
                            warn!(%room, error = %e, "no SFU room: the call stays in mesh and tries again later");
                            crate::metrics::sfu_room_failed();
                        }
                    }
                    let made = result.as_ref().ok().cloned();
                    let refused = match hub.upgrade() {
                        Some(hub) => hub.sfu_room_created(&room, generation, result),
                        None => result.ok(),
                    };
                    match (refused, made) {
                        (Some(refused), _) => sfu.destroy(refused).await,
                        (None, Some(made)) => {
                            watch_sfu_room(sfu, hub, room, generation, made).await
                        }
                        (None, None) => {}
                    }
                });
            }
            SfuJob::Destroy(made) => {
                tokio::spawn(async move { sfu.destroy(made).await });
            }
            SfuJob::Kick { room, participant } => {
                tokio::spawn(async move { sfu.kick(&room, participant).await });
            }
            SfuJob::Wake {
                room,
                generation,
                at,
            } => {
                let when = self.epoch + Duration::from_millis(at.as_millis());
                tokio::spawn(async move {
                    tokio::time::sleep_until(when).await;
                    if let Some(hub) = hub.upgrade() {
                        hub.poll_topology(&room, generation);
                    }
                });
            }
            SfuJob::Switched { .. } => unreachable!("handled above"),
        }
    }

    /// The SFU room for `room` (its instance `generation`) was made, or not. Returns
    /// one that is not wanted (the server is closing) for the caller to destroy.
    fn sfu_room_created(
        &self,
        room: &RoomName,
        generation: u64,
        result: Result<crate::sfu::SfuRoom, crate::sfu::SfuError>,
    ) -> Option<crate::sfu::SfuRoom> {
        let mut rooms = self.lock();
        if self.closing() {
            return result.ok();
        }
        let deliveries = rooms.sfu_room_created(room, generation, result);
        self.deliver(&mut rooms, deliveries);
        None
    }

    /// Whether `room` (its instance `generation`) still has the SFU room `sfu_id`.
    fn holds_sfu_room(&self, room: &RoomName, generation: u64, sfu_id: &str) -> bool {
        self.lock().holds_sfu_room(room, generation, sfu_id)
    }

    /// The SFU room `sfu_id` of `room` is gone: the call goes back to mesh. False if
    /// the room no longer held it (it was destroyed meanwhile: nothing was lost).
    fn sfu_room_lost(&self, room: &RoomName, generation: u64, sfu_id: &str) -> bool {
        let mut rooms = self.lock();
        if self.closing() {
            return false;
        }
        let Some(deliveries) = rooms.sfu_room_lost(room, generation, sfu_id) else {
            return false;
        };
        self.deliver(&mut rooms, deliveries);
        true
    }

    /// A room's topology deadline came.
    fn poll_topology(&self, room: &RoomName, generation: u64) {
        let mut rooms = self.lock();
        if self.closing() {
            return;
        }
        let deliveries = rooms.poll_topology(room, generation);
        self.deliver(&mut rooms, deliveries);
    }

    /// Makes this hub one node of `cluster`: it then holds only the rooms whose home
    /// it is ([`is_home`](Self::is_home)).
    pub fn join_cluster(&self, cluster: Arc<Cluster>) {
        // Set once, before the first socket is served.
        let _ = self.cluster.set(cluster);
    }

    /// Whether `room` may be joined here: always for a single server; with several
    /// nodes, only on its home (claimed for this node if it has none alive). A Redis
    /// that does not answer says no: the client comes back later.
    pub async fn is_home(&self, room: &RoomName) -> bool {
        let Some(cluster) = self.cluster.get() else {
            return true;
        };
        match cluster.home_of(room.as_str()).await {
            Ok(home) => home == cluster.node(),
            Err(e) => {
                warn!(error = %e, room = %room, "cluster: cannot look up the room's home");
                false
            }
        }
    }

    /// The rooms API changed (`deleted`: deleted) `room` on this node: the other nodes
    /// read it again, and the one holding its call ends it if it is deleted.
    pub fn room_changed(&self, room: &RoomName, deleted: bool) {
        if let Some(cluster) = self.cluster.get() {
            let (cluster, room) = (cluster.clone(), room.clone());
            tokio::spawn(async move { cluster.announce_room_change(&room, deleted).await });
        }
    }

    /// Another node's rooms API changed or deleted `room`: the directory reads it again,
    /// and a deleted room's call here ends.
    pub async fn room_changed_elsewhere(&self, room: &RoomName, deleted: bool) {
        self.sync_room(room).await;
        if deleted {
            self.end_room(room, room_deleted());
        }
    }

    /// The rooms this process holds now.
    pub fn room_names(&self) -> Vec<String> {
        self.lock()
            .room_names()
            .map(|r| r.as_str().to_owned())
            .collect()
    }

    pub fn counts(&self) -> (usize, usize) {
        let rooms = self.lock();
        (rooms.room_count(), rooms.participant_count())
    }

    fn lock(&self) -> MutexGuard<'_, Rooms<Outbox>> {
        lock(&self.rooms)
    }
}

#[cfg(test)]
impl Hub {
    /// The room state, for property tests' invariant checks.
    pub(crate) fn rooms_for_test(&self) -> MutexGuard<'_, Rooms<Outbox>> {
        self.lock()
    }
}

/// Watches the SFU room `made` of `room` while the room holds it, asking the SFU
/// whether it still exists as core's [`SfuWatch`] says; once the watch says it is lost,
/// the call goes back to mesh: media through a dead SFU has stopped, and waiting would
/// only lengthen the gap.
async fn watch_sfu_room(
    sfu: Arc<dyn SfuRooms>,
    hub: Weak<Hub>,
    room: RoomName,
    generation: u64,
    made: crate::sfu::SfuRoom,
) {
    let mut watch = SfuWatch::default();
    let mut wait = watch.first_check();
    let why = loop {
        tokio::time::sleep(Duration::from_millis(wait.as_millis())).await;
        match hub.upgrade() {
            Some(hub) if hub.holds_sfu_room(&room, generation, &made.id) => {}
            _ => return,
        }
        let (check, why) = match sfu.exists(&made).await {
            Ok(true) => (SfuCheck::Exists, String::new()),
            Ok(false) => (SfuCheck::Gone, "the SFU no longer has the room".to_owned()),
            Err(e @ crate::sfu::SfuError::Unreachable(_)) => (SfuCheck::Unreachable, e.to_string()),
            Err(e) => {
                warn!(%room, error = %e, "SFU room check");
                (SfuCheck::Inconclusive, String::new())
            }
        };
        match watch.checked(check) {
            SfuVerdict::CheckAfter(after) => wait = after,
            SfuVerdict::Lost => break why,
        }
    };
    if hub
        .upgrade()
        .is_some_and(|hub| hub.sfu_room_lost(&room, generation, &made.id))
    {
        warn!(%room, reason = %why, "SFU room lost: the call goes back to mesh");
        crate::metrics::sfu_room_lost();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Poisoned only if an invariant check fired, which is a bug that has been logged
    // by the panic; failing every other meeting from then on would not make it
    // better, so keep serving.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Queues each delivery for its recipient. A recipient whose queue is full is
/// removed from its room on the spot (its peers are told it disconnected) and its
/// connection is told to close; what that removal causes is delivered in turn.
fn deliver(rooms: &mut Rooms<Outbox>, deliveries: Vec<Delivery>) {
    let mut pending = VecDeque::from(deliveries);
    while let Some(Delivery { to, msg }) = pending.pop_front() {
        // Gone already: dropped earlier in this same loop.
        let Some(outbox) = rooms.outbox(to) else {
            continue;
        };
        match outbox.queue.try_send(Outgoing::msg(msg)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                warn!(participant = %to, "outbound queue full: dropping the slow connection");
                crate::metrics::queue_drop();
                if let Some(removed) = rooms.leave(to, LeaveReason::Disconnected) {
                    removed.outbox.kicked.cancel();
                    pending.extend(removed.deliveries);
                }
            }
            Err(TrySendError::Closed(_)) => {
                // Its writer has stopped (socket gone); its connection task is about
                // to remove it, which tells the room. (Never log the message: it may
                // be an SDP or a token.)
                debug!(participant = %to, "not delivered: connection closing");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::out_queue::OutQueueRx;

    fn outbox(len: usize) -> (Outbox, OutQueueRx) {
        let (queue, rx) = OutQueue::new(len, usize::MAX / 2);
        (Outbox::new(queue, 0, IpAddr::V4(Ipv4Addr::LOCALHOST)), rx)
    }

    fn join(hub: &Hub, name: &str, outbox: Outbox) -> ParticipantId {
        hub.join(
            RoomName::parse("calm-otter").unwrap(),
            DisplayName::parse(name).unwrap(),
            MediaState::default(),
            None,
            outbox,
        )
        .unwrap()
    }

    fn next(rx: &mut OutQueueRx) -> ServerMsg {
        match rx.try_recv() {
            Ok(Outgoing::Msg(msg)) => *msg,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_full_queue_drops_that_participant_only() {
        let hub = Hub::new(10);
        let (ada_box, mut ada_rx) = outbox(8);
        let (bob_box, mut bob_rx) = outbox(2);
        let bob_kicked = bob_box.kicked.clone();
        let ada = join(&hub, "Ada", ada_box);
        let bob = join(&hub, "Bob", bob_box);
        assert!(matches!(next(&mut ada_rx), ServerMsg::Welcome { .. }));
        assert!(matches!(next(&mut ada_rx), ServerMsg::Session { .. }));
        assert!(matches!(next(&mut ada_rx), ServerMsg::Joined { .. }));
        // Bob's queue (length 2) holds his welcome and session and he is not reading.
        hub.relay(ada, bob, Signal::Offer("v=0".into())).unwrap();
        assert!(bob_kicked.is_cancelled());
        assert_eq!(
            next(&mut ada_rx),
            ServerMsg::Left {
                id: bob,
                reason: LeaveReason::Disconnected
            }
        );
        assert!(matches!(next(&mut bob_rx), ServerMsg::Welcome { .. }));
        assert!(matches!(next(&mut bob_rx), ServerMsg::Session { .. }));
        assert!(bob_rx.try_recv().is_err(), "nothing more for Bob");
        assert_eq!(hub.counts(), (1, 1));
        // Bob's own connection task removing him again changes nothing.
        hub.leave(bob, LeaveReason::Disconnected);
        assert!(ada_rx.try_recv().is_err());
    }

    #[test]
    fn a_closing_hub_relays_nothing_and_removes_nobody() {
        let hub = Hub::new(10).with_heartbeat_interval(std::time::Duration::from_millis(750));
        let (ada_box, mut ada_rx) = outbox(8);
        let (bob_box, mut bob_rx) = outbox(8);
        let ada = join(&hub, "Ada", ada_box);
        let bob = join(&hub, "Bob", bob_box);
        assert!(matches!(
            next(&mut ada_rx),
            ServerMsg::Welcome {
                heartbeat_interval_ms: Some(750),
                ..
            }
        ));
        while ada_rx.try_recv().is_ok() {}
        while bob_rx.try_recv().is_ok() {}
        hub.close();
        hub.relay(ada, bob, Signal::Offer("v=0".into())).unwrap();
        hub.set_media(ada, MediaState::default());
        hub.leave(ada, LeaveReason::Left);
        hub.leave_conn(bob, 0, LeaveReason::Disconnected);
        assert!(bob_rx.try_recv().is_err(), "nothing relayed after close");
        assert!(ada_rx.try_recv().is_err(), "nobody told anyone left");
        assert_eq!(hub.counts(), (1, 2), "the seats are kept");
    }

    #[test]
    fn an_interruption_is_told_only_for_the_seat_s_own_connection_and_not_while_closing() {
        let hub = Hub::new(10);
        let (ada_box, mut ada_rx) = outbox(8);
        let (bob_box, mut bob_rx) = outbox(8);
        let ada = join(&hub, "Ada", ada_box);
        let bob = join(&hub, "Bob", bob_box);
        while ada_rx.try_recv().is_ok() {}
        while bob_rx.try_recv().is_ok() {}
        // Bob resumed on connection 1 before his old connection 0 ended.
        hub.interrupt_conn(bob, 1);
        assert!(ada_rx.try_recv().is_err(), "not his connection");
        hub.interrupt_conn(bob, 0);
        assert_eq!(next(&mut ada_rx), ServerMsg::Interrupted { id: bob });
        hub.close();
        hub.interrupt_conn(ada, 0);
        assert!(bob_rx.try_recv().is_err(), "a shutdown interrupts nobody");
    }

    #[test]
    fn a_closed_queue_is_skipped_until_its_connection_leaves() {
        let hub = Hub::new(10);
        let (ada_box, ada_rx) = outbox(8);
        let (bob_box, _bob_rx) = outbox(8);
        let ada = join(&hub, "Ada", ada_box);
        let bob = join(&hub, "Bob", bob_box);
        drop(ada_rx);
        let muted = MediaState {
            audio: false,
            video: false,
        };
        hub.set_media(bob, muted);
        assert_eq!(hub.counts(), (1, 2), "a closed queue is not a slow client");
        hub.leave(ada, LeaveReason::Disconnected);
        assert_eq!(hub.counts(), (1, 1));
    }
}
