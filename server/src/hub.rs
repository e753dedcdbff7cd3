//! The shared side of the server: [`Rooms`] behind one lock, plus delivery of what
//! it decides to each connection's bounded queue.
//!
//! The lock is a `std::sync::Mutex` held only inside these synchronous methods, never
//! across an `.await`. Deliveries are queued while it is held, with `try_send`, so
//! that every participant sees events in the order the room saw them (a `joined`
//! always before that participant's first offer), and so that a slow client never
//! holds anyone up: a full queue gets its connection dropped instead of waited on.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::protocol::{
    ErrorCode, LeaveReason, MediaState, ProtocolError, ServerMsg, HEARTBEAT_INTERVAL_MS,
};
use nonstop_core::ParticipantId;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::resume::SessionKey;
use crate::rooms::{Delivery, Rooms, Signal};
use crate::turn::{unix_now, Turn};

/// One item of a connection's outbound queue.
#[derive(Debug)]
pub enum Outgoing {
    Msg(ServerMsg),
    /// Send a close frame and stop writing.
    Close {
        code: u16,
        reason: &'static str,
    },
}

/// How the hub reaches one connection.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub queue: mpsc::Sender<Outgoing>,
    /// Cancelled by the hub when it drops the connection for falling behind; the
    /// connection task then closes the socket.
    pub kicked: CancellationToken,
    /// Which connection this is (unique per server run): a participant that resumed
    /// on a new connection is not removed when its old one finally ends.
    pub conn: u64,
}

/// Room state shared by all connections.
#[derive(Debug)]
pub struct Hub {
    rooms: Mutex<Rooms<Outbox>>,
    /// Where TURN credentials come from; `None`: the welcome lists no ICE servers.
    turn: Option<Turn>,
    /// Signs and checks resume tokens.
    key: SessionKey,
    /// The server's ping interval, told to each client in its welcome/resumed.
    heartbeat_interval: Duration,
    /// Set (under the lock) when the server starts shutting down: from then on nothing
    /// is relayed and nobody is removed (see [`Hub::close`]).
    closing: AtomicBool,
}

impl Hub {
    /// Ids from 1, no TURN, a random session key.
    pub fn new(capacity: usize) -> Self {
        Hub::configured(capacity, 1, None, SessionKey::random())
    }

    pub fn configured(capacity: usize, first_id: u64, turn: Option<Turn>, key: SessionKey) -> Self {
        Hub {
            rooms: Mutex::new(Rooms::starting_at(capacity, first_id)),
            turn,
            key,
            heartbeat_interval: Duration::from_millis(HEARTBEAT_INTERVAL_MS),
            closing: AtomicBool::new(false),
        }
    }

    /// The ping interval that welcomes and resumes announce.
    pub fn with_heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// The server is shutting down: from now on nothing is relayed, no media state is
    /// broadcast, and nobody is removed from a room, so nobody is told `left` (the
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

    /// Fresh ICE servers for `id` (empty without TURN).
    pub fn ice_servers(&self, id: ParticipantId) -> Vec<nonstop_core::protocol::IceServer> {
        self.turn
            .as_ref()
            .map(|t| t.ice_servers(id, unix_now()))
            .unwrap_or_default()
    }

    /// How long after a welcome or refresh to send fresh ICE servers; `None` without TURN.
    pub fn ice_refresh_after(&self) -> Option<std::time::Duration> {
        self.turn.as_ref().map(Turn::refresh_after)
    }

    /// Fills in the joiner's ICE servers and follows its welcome/resumed with its
    /// resume token.
    fn complete_reply(&self, room: &RoomName, id: ParticipantId, deliveries: &mut Vec<Delivery>) {
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
                *ice_servers = self.ice_servers(id);
                *heartbeat_interval_ms = Some(self.heartbeat_interval.as_millis() as u64);
            }
        }
        let session = Delivery {
            to: id,
            msg: ServerMsg::Session {
                token: self.key.token(room, id),
            },
        };
        deliveries.insert(1.min(deliveries.len()), session);
    }

    /// Continues participant `id`'s session on a new connection (`resume`): rebinds
    /// it if the server still holds it, re-admits it if the server restarted meanwhile.
    pub fn resume(
        &self,
        id: ParticipantId,
        room: RoomName,
        name: DisplayName,
        media: MediaState,
        token: &str,
        outbox: Outbox,
    ) -> Result<(), ProtocolError> {
        if !self.key.verify(&room, id, token) {
            return Err(ProtocolError::new(
                ErrorCode::ResumeFailed,
                "this resume token is not valid here; join again",
            ));
        }
        let mut rooms = self.lock();
        if let Some((old, reply)) = rooms.rebind(id, &room, outbox.clone()) {
            // The old connection, if it still lingers, ends without removing anyone.
            old.kicked.cancel();
            info!(participant = %id, %room, "resumed");
            let mut deliveries = vec![reply];
            self.complete_reply(&room, id, &mut deliveries);
            deliveries.extend(rooms.set_media(id, media));
            deliver(&mut rooms, deliveries);
            return Ok(());
        }
        let mut back = rooms.readmit(id, room.clone(), name, media, outbox)?;
        info!(participant = %id, %room, "re-admitted");
        self.complete_reply(&room, id, &mut back.deliveries);
        deliver(&mut rooms, back.deliveries);
        Ok(())
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
                deliver(&mut rooms, removed.deliveries);
            }
        }
    }

    /// Adds a participant reached through `outbox`; its welcome is the first thing
    /// queued there.
    pub fn join(
        &self,
        room: RoomName,
        name: DisplayName,
        media: MediaState,
        outbox: Outbox,
    ) -> Result<ParticipantId, ProtocolError> {
        let mut rooms = self.lock();
        let mut joined = rooms.join(room.clone(), name, media, outbox)?;
        info!(participant = %joined.id, %room, others = joined.deliveries.len() - 1, "joined");
        self.complete_reply(&room, joined.id, &mut joined.deliveries);
        deliver(&mut rooms, joined.deliveries);
        Ok(joined.id)
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
        deliver(&mut rooms, vec![delivery]);
        Ok(())
    }

    pub fn set_media(&self, id: ParticipantId, media: MediaState) {
        let mut rooms = self.lock();
        if self.closing() {
            return;
        }
        let deliveries = rooms.set_media(id, media);
        deliver(&mut rooms, deliveries);
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
            deliver(&mut rooms, removed.deliveries);
        }
    }

    /// (rooms, participants), for logs and tests.
    pub fn counts(&self) -> (usize, usize) {
        let rooms = self.lock();
        (rooms.room_count(), rooms.participant_count())
    }

    fn lock(&self) -> MutexGuard<'_, Rooms<Outbox>> {
        // Poisoned only if a `Rooms` invariant check fired, which is a bug that has
        // been logged by the panic; failing every other meeting from then on would
        // not make it better, so keep serving.
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
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
        match outbox.queue.try_send(Outgoing::Msg(msg)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                warn!(participant = %to, "outbound queue full: dropping the slow connection");
                if let Some(removed) = rooms.leave(to, LeaveReason::Disconnected) {
                    removed.outbox.kicked.cancel();
                    pending.extend(removed.deliveries);
                }
            }
            Err(TrySendError::Closed(msg)) => {
                // Its writer has stopped (socket gone); its connection task is about
                // to remove it, which tells the room.
                debug!(participant = %to, ?msg, "not delivered: connection closing");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(len: usize) -> (Outbox, mpsc::Receiver<Outgoing>) {
        let (queue, rx) = mpsc::channel(len);
        (
            Outbox {
                queue,
                kicked: CancellationToken::new(),
                conn: 0,
            },
            rx,
        )
    }

    fn join(hub: &Hub, name: &str, outbox: Outbox) -> ParticipantId {
        hub.join(
            RoomName::parse("calm-otter").unwrap(),
            DisplayName::parse(name).unwrap(),
            MediaState::default(),
            outbox,
        )
        .unwrap()
    }

    fn next(rx: &mut mpsc::Receiver<Outgoing>) -> ServerMsg {
        match rx.try_recv() {
            Ok(Outgoing::Msg(msg)) => msg,
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
