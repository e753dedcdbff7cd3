//! One signaling connection, from upgrade to close.
//!
//! The socket is split: a writer task owns the sending half and drains a queue bounded
//! in messages and bytes, which is also where the hub puts messages from other
//! participants; the connection task reads frames and `select!`s them against the
//! heartbeat ticker, the idle and first-join deadlines, the coalesced `media` timer,
//! the hub dropping it, the writer dying, and server shutdown.
//!
//! Every frame is charged to the connection's [`MessageBudget`] before it is handled:
//! a client over its rate gets `rate_limited` and, if it keeps on, is closed. Its
//! receivers never pay for it.
//!
//! [`run`] is generic over the two halves so tests can drive it with plain channels.

use std::error::Error;
use std::fmt::Display;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use nonstop_core::names::RoomName;
use nonstop_core::peer_msg::{chat_text, MAX_CHAT_CHARS};
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, LeaveReason, ProtocolError, ServerMsg, CLOSE_RESUMING, PROTOCOL_VERSION,
};
use nonstop_core::ParticipantId;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::{interval_at, sleep, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Settings;
use crate::hub::{Hub, Outbox, Outgoing, ResumeStep};
use crate::limits::{MediaCoalescer, MessageBudget, Verdict};
use crate::log_text::{for_log, RejectionLog};
use crate::metrics;
use crate::out_queue::{OutQueue, OutQueueRx};
use crate::rooms::Signal;

/// How long the writer may take to flush what is queued and the close frame once
/// the connection is over; a client that does not read by then is cut off.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// [`CLOSE_GRACE`] when the server is shutting down: a restart should not wait on
/// clients that do not read.
const SHUTDOWN_CLOSE_GRACE: Duration = Duration::from_millis(500);

/// Numbers connections, so the hub can tell a participant's old connection from the
/// one it resumed on.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Far enough to mean "never" for a timer that is not armed yet.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// How long a connection whose seat a `resume` claims has to answer a ping before
/// it is taken for dead (see [`Outbox::challenged`]): far above any live client's
/// round trip, far below the heartbeat timeout.
pub const CHALLENGE_WINDOW: Duration = Duration::from_secs(2);

/// How much longer than the heartbeat timeout a `resume` waits for the seat's old
/// connection to end: by then a dead one has timed out, so one still open is alive.
const SEAT_WAIT_MARGIN: Duration = Duration::from_secs(1);

/// Runs one connection (from `peer`) until it ends, then removes its participant (if
/// it joined) and closes the socket.
pub async fn run<W, R, E>(
    sink: W,
    mut stream: R,
    hub: Arc<Hub>,
    settings: Arc<Settings>,
    shutdown: CancellationToken,
    peer: IpAddr,
) where
    W: Sink<Message> + Send + Unpin + 'static,
    W::Error: Display,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: Error + 'static,
{
    let _open = metrics::connection_opened();
    let (queue, queue_rx) = OutQueue::new(settings.send_queue, settings.send_queue_bytes);
    let mut writer = tokio::spawn(write_loop(sink, queue_rx));
    let mut conn = Connection {
        hub,
        outbox: Outbox::new(queue, NEXT_CONN.fetch_add(1, Ordering::Relaxed), peer),
        id: None,
        resume_grace: settings.resume_grace,
        budget: MessageBudget::new(settings.rate_limits.clone(), Instant::now()),
        media: MediaCoalescer::new(settings.media_interval),
        rejections: RejectionLog::default(),
        seat_wait: settings.heartbeat_timeout + SEAT_WAIT_MARGIN,
        pending: None,
    };
    let kicked = conn.outbox.kicked.clone();
    let challenged = conn.outbox.challenged.clone();
    // Marks the seat free to resume however this task ends (also if it is aborted).
    let _gone_on_drop = conn.outbox.gone.clone().drop_guard();

    // The first ping after one interval, not at once: a fresh connection is alive.
    let mut ping = interval_at(
        Instant::now() + settings.heartbeat_interval,
        settings.heartbeat_interval,
    );
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let idle = sleep(settings.heartbeat_timeout);
    tokio::pin!(idle);
    // A socket that answers pings but never joins holds a slot for nothing.
    let join_deadline = sleep(settings.join_timeout);
    tokio::pin!(join_deadline);
    // The latest `media` state held back by the coalescer; armed when one waits.
    let media_due = sleep(NEVER);
    tokio::pin!(media_due);
    let mut media_armed = false;
    // Fresh TURN credentials before the last ones expire; armed once joined.
    let refresh = sleep(NEVER);
    tokio::pin!(refresh);
    let mut refresh_armed = false;
    // A fresh resume token before the last one expires; armed once joined.
    let token_refresh = sleep(NEVER);
    tokio::pin!(token_refresh);
    let mut token_refresh_armed = false;
    let mut writer_done = false;

    let end = loop {
        let step = tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(frame)) => {
                    // Any frame shows the client is alive, not only `pong`.
                    idle.as_mut().reset(Instant::now() + settings.heartbeat_timeout);
                    match conn.joining(&frame) {
                        // Several nodes: a room is joined only on its home node; the
                        // client comes back and is sent there (cluster/edge.rs).
                        Some(room) if !conn.hub.is_home(&room).await => Step::End(End::Moved),
                        Some(room) => {
                            conn.hub.sync_room(&room).await;
                            conn.on_frame(frame)
                        }
                        None => conn.on_frame(frame),
                    }
                }
                Some(Err(e)) if is_too_big(&e) => Step::End(End::TooBig),
                Some(Err(e)) => {
                    debug!(participant = ?conn.id, error = %for_log(&e.to_string()), "read failed");
                    Step::End(End::Disconnected)
                }
                None => Step::End(End::Disconnected),
            },
            _ = ping.tick() => conn.send(ServerMsg::Ping),
            () = challenged.notified() => {
                let answer_by = Instant::now() + CHALLENGE_WINDOW.min(settings.heartbeat_timeout);
                if answer_by < idle.deadline() {
                    debug!(participant = ?conn.id, "a resume claims this seat: checking the connection is alive");
                    idle.as_mut().reset(answer_by);
                }
                conn.send(ServerMsg::Ping)
            }
            () = &mut join_deadline, if conn.id.is_none() && conn.pending.is_none() => conn.no_join(settings.join_timeout),
            () = &mut media_due, if media_armed => {
                media_armed = false;
                conn.flush_media();
                Step::Continue
            }
            () = &mut refresh, if refresh_armed => {
                refresh_armed = false;
                match conn.id {
                    Some(id) => match conn.hub.ice_refresh(id, &conn.outbox) {
                        Some(ice_servers) => conn.send(ServerMsg::IceServers { ice_servers }),
                        // Still withheld from this address: the next try is re-armed below.
                        None => Step::Continue,
                    },
                    None => Step::Continue,
                }
            }
            () = &mut token_refresh, if token_refresh_armed => {
                token_refresh_armed = false;
                match conn.id.and_then(|id| conn.hub.refresh_token(id)) {
                    Some(session) => conn.send(session),
                    None => Step::Continue,
                }
            }
            () = seat_freed(conn.pending.as_ref().map(|p| (p.gone.clone(), p.deadline))),
                if conn.pending.is_some() => conn.retry_resume(),
            () = &mut idle => Step::End(End::TimedOut),
            () = kicked.cancelled() => Step::End(End::Overloaded),
            () = shutdown.cancelled() => Step::End(End::Shutdown),
            _ = &mut writer => {
                writer_done = true;
                Step::End(End::Disconnected)
            }
        };
        if let Step::End(end) = step {
            break end;
        }
        if !media_armed {
            if let Some(due) = conn.media.due() {
                media_due.as_mut().reset(due);
                media_armed = true;
            }
        }
        if !refresh_armed && conn.id.is_some() {
            if let Some(after) = conn.hub.ice_refresh_after(&conn.outbox) {
                refresh.as_mut().reset(Instant::now() + after);
                refresh_armed = true;
            }
        }
        if !token_refresh_armed && conn.id.is_some() {
            token_refresh
                .as_mut()
                .reset(Instant::now() + conn.hub.token_refresh_after());
            token_refresh_armed = true;
        }
    };

    conn.finish(end);
    // Dropping the last sender lets the writer finish once the queue is flushed.
    drop(conn);
    // A shutdown has its own deadline, which may be shorter; and the clients were told
    // `going_away` first, so one that does not answer the close is not waited for long.
    let grace = match end {
        End::Shutdown => SHUTDOWN_CLOSE_GRACE.min(settings.shutdown_grace),
        _ => CLOSE_GRACE,
    };
    let closing = async {
        if !writer_done {
            // A panicked writer is logged by tokio; the socket is gone either way.
            let _ = (&mut writer).await;
        }
        // The close handshake: read (and drop) until the client answers our close frame
        // or goes away. Dropping a socket with unread data would reset it, and the
        // client would never see the close frame that says why.
        while let Some(Ok(_)) = stream.next().await {}
    };
    if tokio::time::timeout(grace, closing).await.is_err() {
        debug!("the client did not finish closing in time; cutting the connection");
    }
    writer.abort();
}

/// Whether a read failed because the frame or message was over the WebSocket
/// library's size limit (which deserves a 1009 close, not a silent drop).
fn is_too_big(e: &(dyn Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if let Some(tungstenite::Error::Capacity(_)) = e.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Completes when the seat a `resume` waits for is free, or at the deadline.
async fn seat_freed(wait: Option<(CancellationToken, Instant)>) {
    match wait {
        Some((gone, deadline)) => {
            tokio::select! {
                () = gone.cancelled_owned() => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
        None => std::future::pending().await,
    }
}

/// Sends what is queued, in order, until a close item or until every sender is gone.
async fn write_loop<W>(mut sink: W, mut queue: OutQueueRx)
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
{
    while let Some(item) = queue.recv().await {
        let (frame, last) = match item {
            Outgoing::Msg(msg) => (Message::Text(msg.to_json().into()), false),
            Outgoing::Close { code, reason } => (
                Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })),
                true,
            ),
        };
        if let Err(e) = sink.send(frame).await {
            debug!(error = %e, "write failed");
            return;
        }
        if last {
            return;
        }
    }
    if let Err(e) = sink.close().await {
        debug!(error = %e, "close failed");
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client sent `leave`.
    Left,
    /// The socket closed or failed without a close frame (network gone, or the
    /// client is gone without a goodbye): the session is held for the resume grace.
    Disconnected,
    /// The client sent a close frame without `leave` (a closed tab).
    Closed,
    /// Nothing arrived for the heartbeat timeout.
    TimedOut,
    /// Its outbound queue was full: it is not reading fast enough.
    Overloaded,
    /// It kept sending over its rate limit.
    RateLimited,
    /// A frame over the WebSocket size limit.
    TooBig,
    /// No `join` (or `resume`) within the join deadline.
    NoJoin,
    /// A fatal protocol error, already queued for the client.
    Fatal,
    /// The server is stopping.
    Shutdown,
    /// Its `join` or `resume` is for a room another node holds (before joining).
    Moved,
}

impl End {
    /// What the participant's peers are told.
    fn leave_reason(self) -> LeaveReason {
        match self {
            End::Left => LeaveReason::Left,
            End::TimedOut => LeaveReason::TimedOut,
            End::Disconnected
            | End::Closed
            | End::Overloaded
            | End::RateLimited
            | End::TooBig
            | End::NoJoin
            | End::Fatal
            | End::Shutdown
            | End::Moved => LeaveReason::Disconnected,
        }
    }

    /// The close frame the server sends; none when the socket is gone already.
    fn close_frame(self) -> Option<(u16, &'static str)> {
        match self {
            End::Left => Some((close_code::NORMAL, "goodbye")),
            End::TimedOut => Some((close_code::POLICY, "heartbeat timeout")),
            End::Overloaded => Some((close_code::POLICY, "too far behind")),
            End::RateLimited => Some((close_code::POLICY, "rate limit exceeded")),
            End::TooBig => Some((close_code::SIZE, "message too big")),
            End::NoJoin => Some((close_code::POLICY, "no join in time")),
            End::Fatal => Some((close_code::POLICY, "fatal error")),
            End::Shutdown => Some((close_code::AWAY, "server shutting down")),
            End::Moved => Some((close_code::AWAY, crate::cluster::MOVED)),
            End::Disconnected | End::Closed => None,
        }
    }

    /// Whether the participant stays in its room, nobody told: the server is going
    /// away, and a restarted one re-admits it on `resume` (the client is told
    /// `going_away`, as is one sent to another node).
    fn keeps_the_seat(self) -> bool {
        matches!(self, End::Shutdown | End::Moved)
    }

    /// Whether the participant may come back (`resume`) before the room is told.
    fn held_for_resume(self) -> bool {
        matches!(self, End::Disconnected | End::TimedOut)
    }
}

enum Step {
    Continue,
    End(End),
}

/// The connection's protocol state: before `join` it has no id.
struct Connection {
    hub: Arc<Hub>,
    outbox: Outbox,
    id: Option<ParticipantId>,
    /// How long a participant whose socket died is kept for a `resume`.
    resume_grace: Duration,
    /// What this client may still send.
    budget: MessageBudget,
    /// This participant's `media` changes, at most one per interval to the room.
    media: MediaCoalescer,
    /// Which rejections get a log line.
    rejections: RejectionLog,
    /// How long a `resume` waits for the seat's old connection to end.
    seat_wait: Duration,
    /// A `resume` waiting for its seat's old connection to end.
    pending: Option<PendingResume>,
}

/// A `resume` whose seat is held by a connection that is still open.
struct PendingResume {
    id: ParticipantId,
    room: RoomName,
    media: nonstop_core::protocol::MediaState,
    token: String,
    /// Cancelled when the old connection ends.
    gone: CancellationToken,
    /// When to give up: the old connection is alive, and it keeps the seat.
    deadline: Instant,
}

impl Connection {
    /// The room a `join` in `frame` is for, while this connection has not joined:
    /// its rooms API record is read again first (`Hub::sync_room`). The frame itself
    /// is read again, with every check, by `on_frame`.
    fn joining(&self, frame: &Message) -> Option<RoomName> {
        if self.id.is_some() {
            return None;
        }
        let Message::Text(text) = frame else {
            return None;
        };
        match ClientMsg::parse(text.as_str()).ok()? {
            ClientMsg::Join { room, .. } => RoomName::parse(&room).ok(),
            _ => None,
        }
    }

    fn on_frame(&mut self, frame: Message) -> Step {
        let now = Instant::now();
        let len = match &frame {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
            // A client that gave up on this socket to resume on another keeps its seat.
            Message::Close(Some(CloseFrame { code, .. })) if *code == CLOSE_RESUMING => {
                return Step::End(End::Disconnected)
            }
            Message::Close(_) => return Step::End(End::Closed),
        };
        // Pings too: the library answers each one, so a ping flood costs the server.
        let verdict = self.budget.frame(len, now);
        if verdict != Verdict::Allow {
            return self.rate_limited(verdict, "too many messages or bytes");
        }
        match frame {
            Message::Text(text) => {
                let handled = ClientMsg::parse(text.as_str()).and_then(|msg| {
                    let relayed = metrics::Relayed::of(&msg);
                    let step = self.on_message(msg, len, now)?;
                    if let Some(kind) = relayed {
                        metrics::relayed(kind, now);
                    }
                    Ok(step)
                });
                match handled {
                    Ok(step) => step,
                    Err(e) => self.reject(e),
                }
            }
            Message::Binary(bytes) => self.reject(ProtocolError::new(
                ErrorCode::BinaryFrame,
                format!(
                    "binary frames are not part of this protocol (got {} bytes); send JSON text",
                    bytes.len()
                ),
            )),
            // The WebSocket library answers pings itself; both only show liveness.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Step::Continue,
        }
    }

    fn on_message(
        &mut self,
        msg: ClientMsg,
        len: usize,
        now: Instant,
    ) -> Result<Step, ProtocolError> {
        let Some(me) = self.id else {
            return self.before_join(msg);
        };
        let verdict = match &msg {
            ClientMsg::Offer { to, .. }
            | ClientMsg::Answer { to, .. }
            | ClientMsg::Candidate { to, .. } => self.budget.signal(*to, len, now),
            ClientMsg::Media { .. } => self.budget.media(now),
            ClientMsg::Chat { .. } => self.budget.chat(now),
            _ => Verdict::Allow,
        };
        if verdict != Verdict::Allow {
            return Ok(self.rate_limited(verdict, "too many messages of this kind"));
        }
        match msg {
            ClientMsg::Join { .. } | ClientMsg::Resume { .. } => Err(ProtocolError::new(
                ErrorCode::AlreadyJoined,
                format!("this connection already joined as participant {me}"),
            )),
            ClientMsg::Offer { to, sdp } => self.hub.relay(me, to, Signal::Offer(sdp)),
            ClientMsg::Answer { to, sdp } => self.hub.relay(me, to, Signal::Answer(sdp)),
            ClientMsg::Candidate { to, candidate } => {
                self.hub.relay(me, to, Signal::Candidate(candidate))
            }
            ClientMsg::Media { media } => {
                if let Some(media) = self.media.update(media, now) {
                    self.hub.set_media(me, media);
                }
                Ok(())
            }
            ClientMsg::TopologyReady { mode } => {
                self.hub.topology_ready(me, mode);
                Ok(())
            }
            ClientMsg::Uplink { bps } => {
                self.hub.uplink(me, bps);
                Ok(())
            }
            ClientMsg::Chat { text, sent_at } => match chat_text(&text) {
                Ok(line) => {
                    self.hub.chat(me, line.to_string(), sent_at);
                    Ok(())
                }
                Err(_) if text.trim().is_empty() => Err(ProtocolError::new(
                    ErrorCode::Malformed,
                    "chat: the message is empty",
                )),
                Err(_) => Err(ProtocolError::new(
                    ErrorCode::TooLarge,
                    format!("chat: a message is at most {MAX_CHAT_CHARS} characters"),
                )),
            },
            ClientMsg::Remove { participant } => self.hub.remove(me, participant),
            ClientMsg::EndCall => self.hub.end_call(me),
            ClientMsg::Pong => Ok(()),
            ClientMsg::Leave => return Ok(Step::End(End::Left)),
        }
        .map(|()| Step::Continue)
    }

    fn before_join(&mut self, msg: ClientMsg) -> Result<Step, ProtocolError> {
        match msg {
            ClientMsg::Join { .. } | ClientMsg::Resume { .. } if self.pending.is_some() => {
                Err(ProtocolError::new(
                    ErrorCode::AlreadyJoined,
                    "this connection is already resuming a session",
                ))
            }
            ClientMsg::Join {
                protocol,
                room,
                name,
                media,
                passcode,
                token,
            } => {
                check_version(protocol)?;
                let room = RoomName::parse(&room)?;
                self.id = Some(self.hub.join_with_token(
                    room,
                    &name,
                    media,
                    passcode.as_deref(),
                    token.as_deref(),
                    self.outbox.clone(),
                )?);
                self.media.known(media);
                Ok(Step::Continue)
            }
            ClientMsg::Resume {
                protocol,
                room,
                // A session keeps its name (from the token), whatever this says.
                name: _,
                media,
                id,
                token,
            } => {
                check_version(protocol)?;
                let room = RoomName::parse(&room)?;
                match self
                    .hub
                    .resume(id, room.clone(), media, &token, self.outbox.clone())?
                {
                    ResumeStep::Done => {
                        self.id = Some(id);
                        self.media.known(media);
                    }
                    ResumeStep::SeatBusy(gone) => {
                        debug!(participant = %id, "resume waits for the seat's open connection");
                        self.pending = Some(PendingResume {
                            id,
                            room,
                            media,
                            token,
                            gone,
                            deadline: Instant::now() + self.seat_wait,
                        });
                    }
                }
                Ok(Step::Continue)
            }
            // Pings start before the join, so their answers may too.
            ClientMsg::Pong => Ok(Step::Continue),
            ClientMsg::Leave => Ok(Step::End(End::Left)),
            ClientMsg::Offer { .. }
            | ClientMsg::Answer { .. }
            | ClientMsg::Candidate { .. }
            | ClientMsg::Media { .. }
            | ClientMsg::TopologyReady { .. }
            | ClientMsg::Uplink { .. }
            | ClientMsg::Chat { .. }
            | ClientMsg::Remove { .. }
            | ClientMsg::EndCall => Err(ProtocolError::new(
                ErrorCode::NotJoined,
                "join a meeting before sending anything else",
            )),
        }
    }

    /// Tries a waiting `resume` again: its seat's old connection ended, or the wait is
    /// over and that connection is alive, which then keeps the seat.
    fn retry_resume(&mut self) -> Step {
        let Some(p) = self.pending.take() else {
            return Step::Continue;
        };
        let result = self
            .hub
            .resume(p.id, p.room.clone(), p.media, &p.token, self.outbox.clone());
        match result {
            Ok(ResumeStep::Done) => {
                self.id = Some(p.id);
                self.media.known(p.media);
                Step::Continue
            }
            Ok(ResumeStep::SeatBusy(gone)) if Instant::now() < p.deadline => {
                self.pending = Some(PendingResume { gone, ..p });
                Step::Continue
            }
            Ok(ResumeStep::SeatBusy(_)) => {
                warn!(participant = %p.id, peer = %self.outbox.peer, "resume refused: the session is live on another connection");
                self.reject(ProtocolError::new(
                    ErrorCode::ResumeFailed,
                    "this session is active on another connection, which keeps it; join again",
                ))
            }
            Err(e) => self.reject(e),
        }
    }

    /// Tells the client what was wrong; a fatal error also ends the connection.
    fn reject(&mut self, e: ProtocolError) -> Step {
        // The message may quote the client's text (serde names an unknown variant).
        if self.rejections.admit() {
            info!(participant = ?self.id, code = ?e.code, reason = %for_log(&e.message), "rejected a message");
        }
        metrics::rejected(e.code);
        let fatal = e.code.is_fatal();
        match self.send(e.into()) {
            Step::Continue if fatal => Step::End(End::Fatal),
            step => step,
        }
    }

    /// A frame over the budget: dropped with `rate_limited`, or the end of a client
    /// that keeps on.
    fn rate_limited(&mut self, verdict: Verdict, what: &str) -> Step {
        if verdict == Verdict::Close {
            warn!(participant = ?self.id, "kept sending over the rate limit: closing");
            metrics::rejected(ErrorCode::RateLimited);
            self.try_queue(Outgoing::msg(ServerMsg::error(
                ErrorCode::RateLimited,
                format!("{what}: kept sending over the limit; closing the connection"),
            )));
            return Step::End(End::RateLimited);
        }
        self.reject(ProtocolError::new(
            ErrorCode::RateLimited,
            format!("{what}: slow down; this message was dropped"),
        ))
    }

    /// The join deadline passed before any `join` or `resume`.
    fn no_join(&mut self, deadline: Duration) -> Step {
        metrics::rejected(ErrorCode::NotJoined);
        self.try_queue(Outgoing::msg(ServerMsg::error(
            ErrorCode::NotJoined,
            format!(
                "no join within {} s of connecting; closing the connection",
                deadline.as_secs_f32()
            ),
        )));
        Step::End(End::NoJoin)
    }

    /// Sends the `media` state the coalescer held back, now that it is due.
    fn flush_media(&mut self) {
        if let (Some(id), Some(media)) = (self.id, self.media.flush(Instant::now())) {
            self.hub.set_media(id, media);
        }
    }

    /// Queues a message for this client without waiting: a client whose queue is
    /// full is not reading and gets dropped.
    fn send(&mut self, msg: ServerMsg) -> Step {
        match self.outbox.queue.try_send(Outgoing::msg(msg)) {
            Ok(()) => Step::Continue,
            Err(TrySendError::Full(_)) => {
                warn!(participant = ?self.id, "outbound queue full: dropping the slow connection");
                metrics::queue_drop();
                Step::End(End::Overloaded)
            }
            // The writer stopped, so the socket is gone; the select loop sees it too.
            Err(TrySendError::Closed(_)) => Step::End(End::Disconnected),
        }
    }

    /// Takes the participant out of its room (at once, or after the resume grace if
    /// its socket just died, telling the room `interrupted` meanwhile; not at all if
    /// the server is going away) and queues the goodbye.
    fn finish(&mut self, end: End) {
        if self.rejections.unlogged() > 0 {
            info!(participant = ?self.id, count = self.rejections.unlogged(), "more rejected messages, not logged one by one");
        }
        let held = end.held_for_resume() && !self.resume_grace.is_zero();
        if let Some(id) = self.id.filter(|_| held) {
            // Before the seat is free: a resume waiting for it is announced `back`
            // only after the room heard `interrupted`.
            self.hub.interrupt_conn(id, self.outbox.conn);
        }
        // From now on a resume may take this connection's seat.
        self.outbox.gone.cancel();
        if end.keeps_the_seat() {
            // Whatever the hub queued for this client so far goes out first.
            self.try_queue(Outgoing::msg(ServerMsg::going_away()));
        } else if let Some(id) = self.id.take() {
            let (hub, conn, reason) = (self.hub.clone(), self.outbox.conn, end.leave_reason());
            if held {
                let grace = self.resume_grace;
                debug!(participant = %id, ?grace, "socket gone: holding the session for a resume");
                tokio::spawn(async move {
                    sleep(grace).await;
                    // A no-op if it resumed on another connection meanwhile.
                    hub.leave_conn(id, conn, reason);
                });
            } else {
                // A no-op if the hub already dropped it for being slow.
                hub.leave_conn(id, conn, reason);
            }
        }
        if end == End::Overloaded {
            // Usually no room for it, but a client that has just caught up gets told.
            self.try_queue(Outgoing::msg(ServerMsg::error(
                ErrorCode::Overloaded,
                "the connection fell too far behind and was closed",
            )));
        }
        if let Some((code, reason)) = end.close_frame() {
            self.try_queue(Outgoing::Close { code, reason });
        }
    }

    fn try_queue(&self, item: Outgoing) {
        if let Err(e) = self.outbox.queue.try_send(item) {
            debug!(participant = ?self.id, error = %e, "could not queue the goodbye");
        }
    }
}

fn check_version(protocol: u32) -> Result<(), ProtocolError> {
    if protocol == PROTOCOL_VERSION {
        return Ok(());
    }
    Err(ProtocolError::new(
        ErrorCode::UnsupportedVersion,
        format!(
            "this server speaks protocol {PROTOCOL_VERSION}, not {protocol}; \
             reload the page to get the current app"
        ),
    ))
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    //! The connection driven through channels instead of a socket, with tokio's
    //! paused clock so heartbeat timing costs no real time.

    use super::*;
    use futures_util::sink;
    use nonstop_core::protocol::{GOING_AWAY_BACK_WITHIN_MS, GOING_AWAY_RECONNECT_AFTER_MS};
    use std::convert::Infallible;
    use tokio::sync::mpsc;

    /// The client's side of a channel-driven connection.
    struct Client {
        to_server: mpsc::Sender<Result<Message, Infallible>>,
        from_server: mpsc::Receiver<Message>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Client {
        fn start(hub: &Arc<Hub>, settings: &Arc<Settings>, shutdown: &CancellationToken) -> Self {
            let (to_server, inbound) = mpsc::channel(64);
            let (outbound, from_server) = mpsc::channel(64);
            let stream = futures_util::stream::unfold(inbound, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            let sink = sink::unfold(outbound, |tx, msg: Message| async move {
                tx.send(msg).await.map(|()| tx)
            });
            let task = tokio::spawn(run(
                Box::pin(sink),
                Box::pin(stream),
                hub.clone(),
                settings.clone(),
                shutdown.clone(),
                IpAddr::from([127, 0, 0, 1]),
            ));
            Client {
                to_server,
                from_server,
                task,
            }
        }

        async fn send(&self, msg: &ClientMsg) {
            self.send_text(&msg.to_json()).await;
        }

        async fn send_text(&self, text: &str) {
            self.to_server
                .send(Ok(Message::Text(text.into())))
                .await
                .unwrap();
        }

        /// The next message, skipping pings and resume tokens.
        async fn recv(&mut self) -> ServerMsg {
            loop {
                match self.from_server.recv().await {
                    Some(Message::Text(text)) => match ServerMsg::parse(text.as_str()).unwrap() {
                        ServerMsg::Ping | ServerMsg::Session { .. } => continue,
                        msg => return msg,
                    },
                    other => panic!("expected a text frame, got {other:?}"),
                }
            }
        }

        async fn recv_close(&mut self) -> u16 {
            loop {
                match self.from_server.recv().await {
                    Some(Message::Close(Some(frame))) => return frame.code,
                    Some(Message::Text(_)) => continue,
                    other => panic!("expected a close frame, got {other:?}"),
                }
            }
        }
    }

    fn join(name: &str) -> ClientMsg {
        ClientMsg::Join {
            protocol: PROTOCOL_VERSION,
            room: "calm-otter".into(),
            name: name.into(),
            media: Default::default(),
            passcode: None,
            token: None,
        }
    }

    fn setup(send_queue: usize) -> (Arc<Hub>, Arc<Settings>, CancellationToken) {
        let settings = Settings {
            send_queue,
            ..Settings::default()
        };
        (
            Arc::new(Hub::new(settings.capacity)),
            Arc::new(settings),
            CancellationToken::new(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn pings_keep_coming_and_pongs_keep_the_connection() {
        let (hub, settings, shutdown) = setup(16);
        let mut ada = Client::start(&hub, &settings, &shutdown);
        ada.send(&join("Ada")).await;
        assert!(matches!(ada.recv().await, ServerMsg::Welcome { .. }));
        match ada.from_server.recv().await {
            Some(Message::Text(t)) => assert!(matches!(
                ServerMsg::parse(t.as_str()).unwrap(),
                ServerMsg::Session { .. }
            )),
            other => panic!("expected the session token, got {other:?}"),
        }
        // Far longer than the timeout, answering every ping.
        for _ in 0..10 {
            match ada.from_server.recv().await {
                Some(Message::Text(t)) => {
                    assert_eq!(ServerMsg::parse(t.as_str()).unwrap(), ServerMsg::Ping)
                }
                other => panic!("expected a ping, got {other:?}"),
            }
            ada.send(&ClientMsg::Pong).await;
        }
        assert_eq!(hub.counts(), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_times_out_and_the_room_is_told() {
        let (hub, settings, shutdown) = setup(16);
        let mut ada = Client::start(&hub, &settings, &shutdown);
        ada.send(&join("Ada")).await;
        assert!(matches!(ada.recv().await, ServerMsg::Welcome { .. }));
        let started = Instant::now();
        let mut bob = Client::start(&hub, &settings, &shutdown);
        bob.send(&join("Bob")).await;
        let ServerMsg::Welcome { you: bob_id, .. } = bob.recv().await else {
            panic!("welcome")
        };
        assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
        // Ada keeps answering; Bob goes quiet. She hears at once that his connection
        // is interrupted, then after the resume grace that he left.
        let mut next_for_ada = async || loop {
            match ada.recv_or_ping().await {
                ServerMsg::Ping => ada.send(&ClientMsg::Pong).await,
                msg => return (msg, started.elapsed()),
            }
        };
        let (msg, waited) = next_for_ada().await;
        assert_eq!(msg, ServerMsg::Interrupted { id: bob_id });
        assert!(waited >= settings.heartbeat_timeout, "{waited:?}");
        let (msg, waited) = next_for_ada().await;
        assert_eq!(
            msg,
            ServerMsg::Left {
                id: bob_id,
                reason: LeaveReason::TimedOut
            }
        );
        assert!(
            waited >= settings.heartbeat_timeout + settings.resume_grace,
            "{waited:?}"
        );
        assert_eq!(bob.recv_close().await, close_code::POLICY);
        bob.task.await.unwrap();
        assert_eq!(hub.counts(), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_dropped_without_stalling_the_room() {
        let (hub, settings, shutdown) = setup(4);
        let mut ada = Client::start(&hub, &settings, &shutdown);
        ada.send(&join("Ada")).await;
        assert!(matches!(ada.recv().await, ServerMsg::Welcome { .. }));

        // Bob's socket accepts nothing: every write waits forever.
        let (bob_tx, bob_rx) = mpsc::channel(64);
        let stream = futures_util::stream::unfold(bob_rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let stuck = sink::unfold((), |(), _msg: Message| {
            std::future::pending::<Result<(), Infallible>>()
        });
        let bob = tokio::spawn(run(
            Box::pin(stuck),
            Box::pin(stream),
            hub.clone(),
            settings.clone(),
            shutdown.clone(),
            IpAddr::from([127, 0, 0, 1]),
        ));
        bob_tx
            .send(Ok::<_, Infallible>(Message::Text(
                join("Bob").to_json().into(),
            )))
            .await
            .unwrap();
        let ServerMsg::Joined { participant } = ada.recv().await else {
            panic!("joined")
        };
        // Ada floods Bob; his queue (4) fills, he is dropped, she is told. Few enough
        // that her own replies (errors for offers after he is gone) fit her queue.
        for i in 0..6 {
            ada.send(&ClientMsg::Offer {
                to: participant.id,
                sdp: format!("v={i}"),
            })
            .await;
        }
        let mut saw_left = false;
        while !saw_left {
            match ada.recv().await {
                ServerMsg::Left { id, reason } => {
                    assert_eq!((id, reason), (participant.id, LeaveReason::Disconnected));
                    saw_left = true;
                }
                ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::UnknownParticipant),
                other => panic!("unexpected {other:?}"),
            }
        }
        // Bob's task ends (after the close grace) even though his socket never moves.
        bob.await.unwrap();
        assert_eq!(hub.counts(), (1, 1));
        // Ada is unaffected.
        ada.send(&ClientMsg::Media {
            media: Default::default(),
        })
        .await;
        ada.send_text("nonsense").await;
        loop {
            match ada.recv().await {
                // Replies to offers that came after Bob was gone.
                ServerMsg::Error {
                    code: ErrorCode::UnknownParticipant,
                    ..
                } => continue,
                ServerMsg::Error {
                    code: ErrorCode::Malformed,
                    ..
                } => break,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn withheld_turn_credentials_come_within_a_minute() {
        use crate::ids::IdGen;
        use crate::resume::SessionKey;
        use crate::turn::Turn;
        let turn = Turn::new(
            "s".into(),
            vec!["turn:h:3478".into()],
            Duration::from_secs(6 * 3600),
        )
        .unwrap();
        let settings = Arc::new(Settings::default());
        let hub = Arc::new(
            Hub::configured(10, IdGen::sequential(1), Some(turn), SessionKey::random())
                .with_turn_limit(1),
        );
        let shutdown = CancellationToken::new();
        let mut ada = Client::start(&hub, &settings, &shutdown);
        ada.send(&join("Ada")).await;
        let ServerMsg::Welcome { ice_servers, .. } = ada.recv().await else {
            panic!("welcome")
        };
        assert_eq!(ice_servers.len(), 1);
        // Same address, same minute: Bob is let in without credentials.
        let mut bob = Client::start(&hub, &settings, &shutdown);
        bob.send(&join("Bob")).await;
        let ServerMsg::Welcome { ice_servers, .. } = bob.recv().await else {
            panic!("welcome")
        };
        assert!(ice_servers.is_empty());
        let started = Instant::now();
        loop {
            match bob.recv_or_ping().await {
                ServerMsg::Ping => bob.send(&ClientMsg::Pong).await,
                ServerMsg::IceServers { ice_servers } => {
                    assert_eq!(ice_servers.len(), 1);
                    break;
                }
                _ => continue,
            }
        }
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(59) && waited <= Duration::from_secs(61),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_closes_every_connection_as_going_away() {
        let (hub, settings, shutdown) = setup(16);
        let mut ada = Client::start(&hub, &settings, &shutdown);
        ada.send(&join("Ada")).await;
        assert!(matches!(ada.recv().await, ServerMsg::Welcome { .. }));
        shutdown.cancel();
        assert_eq!(
            ada.recv().await,
            ServerMsg::GoingAway {
                reconnect_after_ms: GOING_AWAY_RECONNECT_AFTER_MS,
                back_within_ms: GOING_AWAY_BACK_WITHIN_MS,
            }
        );
        assert_eq!(ada.recv_close().await, close_code::AWAY);
        ada.task.await.unwrap();
        // The seat is kept for a resume into the restarted server: nobody was removed.
        assert_eq!(hub.counts(), (1, 1));
    }

    impl Client {
        /// The next message, pings included (resume tokens skipped).
        async fn recv_or_ping(&mut self) -> ServerMsg {
            loop {
                match self.from_server.recv().await {
                    Some(Message::Text(text)) => match ServerMsg::parse(text.as_str()).unwrap() {
                        ServerMsg::Session { .. } => continue,
                        msg => return msg,
                    },
                    other => panic!("expected a text frame, got {other:?}"),
                }
            }
        }
    }
}
