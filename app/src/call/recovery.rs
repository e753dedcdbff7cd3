//! Keeping a call alive (issue 4): per-link ICE recovery driven by the core's
//! [`LinkRecovery`], each link's route for its tile, and the signaling session's
//! reconnect-and-resume. `session.rs` owns one [`Resilience`] and calls in here.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use leptos::logging::warn;
use leptos::prelude::*;
use leptos::task::spawn_local;
use nonstop_core::negotiation::Role;
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, IceServer, MediaState, Participant, ServerMsg, PROTOCOL_VERSION,
};
use nonstop_core::reconnect::{silence_timeout, Outage, ReconnectSchedule, ATTEMPT_TIMEOUT};
use nonstop_core::recovery::{
    InboundWatch, LinkCondition, LinkRecovery, RecoveryAction, RecoveryConfig,
};
use nonstop_core::time::{Millis, Time};
use nonstop_core::ParticipantId;

use super::peer_link::PeerLink;
use super::view::{CallView, LinkState};
use crate::platform::ice::{self, Route};
use crate::platform::signaling::{self, ReceiveError, SignalingReceiver, SignalingSender};

/// How often links are checked (connection state, route, and whether media still
/// arrives).
pub const TICK_MS: u64 = 500;

/// Each link's route, for the tiles.
#[derive(Clone, Copy)]
pub struct RoutesView(pub RwSignal<HashMap<ParticipantId, Route>>);

impl RoutesView {
    pub fn new() -> Self {
        RoutesView(RwSignal::new(HashMap::new()))
    }

    pub fn get(&self, id: ParticipantId) -> Option<Route> {
        self.0.with(|r| r.get(&id).copied())
    }

    fn set(&self, id: ParticipantId, route: Option<Route>) {
        if self.0.with_untracked(|r| r.get(&id).copied()) == route {
            return;
        }
        self.0.update(|r| match route {
            Some(route) => {
                r.insert(id, route);
            }
            None => {
                r.remove(&id);
            }
        });
    }
}

/// The page's clock.
pub fn now() -> Time {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0);
    Time::from_millis_f64(ms)
}

fn seed() -> u64 {
    (js_sys::Math::random() * (u64::MAX as f64)) as u64
}

struct LinkKeeper {
    recovery: LinkRecovery,
    /// Inbound packets, to notice frozen media before ICE does (read asynchronously,
    /// so shared with the reading task).
    inbound: Rc<RefCell<InboundWatch>>,
    /// The last reading found the link stalled.
    stalled: Rc<Cell<bool>>,
}

/// Who we are on the server, to resume as.
#[derive(Clone)]
pub struct SessionInfo {
    pub room: String,
    pub name: String,
    pub me: ParticipantId,
}

/// The call's resilience state.
pub struct Resilience {
    info: SessionInfo,
    media: Cell<MediaState>,
    token: RefCell<Option<String>>,
    ice_servers: RefCell<Vec<IceServer>>,
    keepers: RefCell<HashMap<ParticipantId, LinkKeeper>>,
    /// After resuming into a restarted server: links kept although their owner has
    /// not come back (yet); dropped if they stop working before it does.
    unconfirmed: RefCell<HashSet<ParticipantId>>,
    last_heard: Cell<Time>,
    /// The server's ping interval as it stated it (`None`: an older server).
    heartbeat_interval: Cell<Option<Millis>>,
    /// The server said `going_away`: how the next reconnect is scheduled.
    going_away: Cell<Option<Outage>>,
    reconnecting: Cell<bool>,
    /// The interval, cleared on leave.
    ticker: RefCell<Option<leptos::prelude::IntervalHandle>>,
}

/// What a successful resume brings back.
pub struct Resumed {
    pub sender: SignalingSender,
    pub receiver: SignalingReceiver,
    pub participants: Vec<Participant>,
    pub continued: bool,
}

impl Resilience {
    pub fn new(
        info: SessionInfo,
        media: MediaState,
        ice_servers: Vec<IceServer>,
        heartbeat_interval_ms: Option<u64>,
    ) -> Self {
        Resilience {
            info,
            media: Cell::new(media),
            token: RefCell::new(None),
            ice_servers: RefCell::new(ice_servers),
            keepers: RefCell::new(HashMap::new()),
            unconfirmed: RefCell::new(HashSet::new()),
            last_heard: Cell::new(now()),
            heartbeat_interval: Cell::new(heartbeat_interval_ms.map(Millis::from_millis)),
            going_away: Cell::new(None),
            reconnecting: Cell::new(false),
            ticker: RefCell::new(None),
        }
    }

    pub fn set_ticker(&self, handle: leptos::prelude::IntervalHandle) {
        if let Some(old) = self.ticker.replace(Some(handle)) {
            old.clear();
        }
    }

    pub fn stop(&self) {
        if let Some(t) = self.ticker.take() {
            t.clear();
        }
    }

    pub fn ice_servers(&self) -> Vec<IceServer> {
        self.ice_servers.borrow().clone()
    }

    fn relay_available(&self) -> bool {
        self.ice_servers
            .borrow()
            .iter()
            .any(|s| s.urls.iter().any(|u| u.starts_with("turn")))
    }

    pub fn set_media(&self, media: MediaState) {
        self.media.set(media);
    }

    /// A message from the server arrived; handles the ones that are ours.
    pub fn heard(&self, msg: &ServerMsg) {
        self.last_heard.set(now());
        match msg {
            ServerMsg::Session { token } => *self.token.borrow_mut() = Some(token.clone()),
            ServerMsg::IceServers { ice_servers } => {
                *self.ice_servers.borrow_mut() = ice_servers.clone();
                let relay = self.relay_available();
                for k in self.keepers.borrow_mut().values_mut() {
                    k.recovery.set_relay_available(relay);
                }
            }
            ServerMsg::Joined { participant } => {
                self.unconfirmed.borrow_mut().remove(&participant.id);
            }
            ServerMsg::GoingAway {
                reconnect_after_ms,
                back_within_ms,
            } => self.going_away.set(Some(Outage::Announced {
                reconnect_after: Millis::from_millis(*reconnect_after_ms),
                back_within: Millis::from_millis(*back_within_ms),
            })),
            _ => {}
        }
    }

    /// Whether the server has been silent so long that the socket is presumed dead.
    pub fn server_silent(&self) -> bool {
        !self.reconnecting.get()
            && now().since(self.last_heard.get()) > silence_timeout(self.heartbeat_interval.get())
    }

    pub fn forget(&self, id: ParticipantId) {
        self.keepers.borrow_mut().remove(&id);
        self.unconfirmed.borrow_mut().remove(&id);
    }

    /// One check of every link: recovery actions, tile state, route. Returns the
    /// links to drop (unconfirmed after a restart, and no longer working).
    pub fn tick(
        &self,
        links: &[(ParticipantId, Rc<PeerLink>)],
        view: CallView,
        routes: RoutesView,
    ) -> Vec<ParticipantId> {
        let now = now();
        let relay = self.relay_available();
        let mut drop = Vec::new();
        let mut keepers = self.keepers.borrow_mut();
        keepers.retain(|id, _| links.iter().any(|(l, _)| l == id));
        for (id, link) in links {
            let pc = link.connection();
            let keeper = keepers.entry(*id).or_insert_with(|| LinkKeeper {
                recovery: LinkRecovery::new(
                    RecoveryConfig::default(),
                    Role::between(self.info.me, *id).initiator,
                    relay,
                    seed(),
                ),
                inbound: Rc::default(),
                stalled: Rc::default(),
            });
            let Some(condition) = ice::condition(pc) else {
                continue;
            };
            if condition != LinkCondition::Connected && self.unconfirmed.borrow().contains(id) {
                drop.push(*id);
                continue;
            }
            keeper.recovery.on_state(now, condition);
            match keeper.recovery.poll(now) {
                Some(RecoveryAction::RestartIce) => {
                    warn!("peer {id}: restarting ICE");
                    if let Err(e) =
                        ice::configure(pc, &self.ice_servers.borrow(), keeper.recovery.relay_only())
                    {
                        warn!("peer {id}: could not update the configuration: {e}");
                    }
                    ice::restart(pc);
                }
                Some(RecoveryAction::RestartIceRelayOnly) => {
                    warn!("peer {id}: restarting ICE through the relay only");
                    if let Err(e) = ice::configure(pc, &self.ice_servers.borrow(), true) {
                        warn!("peer {id}: could not switch to the relay: {e}");
                    }
                    ice::restart(pc);
                }
                Some(RecoveryAction::GiveUp) => warn!("peer {id}: giving up on this connection"),
                None => {}
            }
            let shown = if keeper.recovery.gave_up() {
                Some(LinkState::Failed)
            } else if keeper.recovery.recovering() || keeper.stalled.get() {
                Some(LinkState::Interrupted)
            } else if condition == LinkCondition::Connected {
                Some(LinkState::Connected)
            } else {
                None
            };
            if let Some(shown) = shown {
                if view
                    .tiles
                    .with_untracked(|ts| ts.iter().any(|t| t.id == *id && t.link != shown))
                {
                    view.update_tile(*id, |t| t.link = shown);
                }
            }
            let (pc, id) = (pc.clone(), *id);
            let (inbound, stalled) = (keeper.inbound.clone(), keeper.stalled.clone());
            spawn_local(async move {
                match ice::health(&pc).await {
                    Ok(health) => {
                        stalled.set(inbound.borrow_mut().observe(now, health.packets_received));
                        if health.route.is_some() {
                            routes.set(id, health.route);
                        }
                    }
                    Err(e) => warn!("peer {id}: could not read its stats: {e}"),
                }
            });
        }
        drop
    }

    /// Reconnects the signaling socket on the core's [`ReconnectSchedule`] (soon and
    /// often after `going_away`, a low-capped backoff after a drop) until the server
    /// takes us back (`resumed`), or says our session is over (`Err`: join again).
    pub async fn reconnect(&self, view: CallView) -> Result<Resumed, String> {
        let Some(token) = self.token.borrow().clone() else {
            return Err("no resume token".into());
        };
        self.reconnecting.set(true);
        let outage = self.going_away.take().unwrap_or(Outage::Unannounced);
        let mut schedule = ReconnectSchedule::new(now(), outage, seed());
        // Quick reconnects (a restart, a blip) go unannounced; only a long one is shown.
        let mut told = false;
        let result = loop {
            sleep(schedule.next_delay(now())).await;
            if !told && schedule.notice_due(now()) {
                told = true;
                view.alert.set(Some(
                    "Reconnecting to the meeting server… People already here can still see and hear you."
                        .into(),
                ));
            }
            let attempt = Box::pin(async {
                // Only a server that answers gets a WebSocket (see `server_answers`).
                if !signaling::server_answers().await {
                    return Err(Attempt::Unreachable("the server does not answer".into()));
                }
                self.try_resume(&token).await
            });
            let timeout = Box::pin(sleep(ATTEMPT_TIMEOUT));
            let outcome = match futures::future::select(attempt, timeout).await {
                futures::future::Either::Left((outcome, _)) => outcome,
                futures::future::Either::Right(((), _)) => {
                    Err(Attempt::Unreachable("no answer in time".into()))
                }
            };
            match outcome {
                Ok(resumed) => break Ok(resumed),
                Err(Attempt::Refused(why)) => break Err(why),
                Err(Attempt::Unreachable(why)) => {
                    warn!(
                        "signaling: reconnect attempt {} failed: {why}",
                        schedule.attempts()
                    );
                    // The server we reached is itself going away: its schedule now.
                    if let Some(outage) = self.going_away.take() {
                        schedule = ReconnectSchedule::new(now(), outage, seed());
                    }
                }
            }
        };
        self.reconnecting.set(false);
        self.last_heard.set(now());
        if result.is_ok() && told {
            view.alert.set(None);
        }
        result
    }

    async fn try_resume(&self, token: &str) -> Result<Resumed, Attempt> {
        let (sender, mut receiver) =
            signaling::connect(&signaling::endpoint()).map_err(Attempt::Unreachable)?;
        sender.send(ClientMsg::Resume {
            protocol: PROTOCOL_VERSION,
            room: self.info.room.clone(),
            name: self.info.name.clone(),
            media: self.media.get(),
            id: self.info.me,
            token: token.to_owned(),
        });
        loop {
            match receiver.next().await {
                Some(Ok(ServerMsg::Resumed {
                    participants,
                    ice_servers,
                    continued,
                    heartbeat_interval_ms,
                    ..
                })) => {
                    // Empty when the server withheld credentials (its per-address limit):
                    // keep the ones we have until its next refresh.
                    if !ice_servers.is_empty() {
                        *self.ice_servers.borrow_mut() = ice_servers;
                    }
                    self.heartbeat_interval
                        .set(heartbeat_interval_ms.map(Millis::from_millis));
                    if !continued {
                        let listed: HashSet<_> = participants.iter().map(|p| p.id).collect();
                        let mut unconfirmed = self.unconfirmed.borrow_mut();
                        unconfirmed.clear();
                        unconfirmed.extend(
                            self.keepers
                                .borrow()
                                .keys()
                                .filter(|id| !listed.contains(id)),
                        );
                    }
                    return Ok(Resumed {
                        sender,
                        receiver,
                        participants,
                        continued,
                    });
                }
                Some(Ok(ServerMsg::Ping)) => sender.send(ClientMsg::Pong),
                Some(Ok(ServerMsg::Error { code, message })) => {
                    sender.close();
                    return Err(if code == ErrorCode::ResumeFailed || code.is_fatal() {
                        Attempt::Refused(message)
                    } else {
                        Attempt::Unreachable(message)
                    });
                }
                Some(Ok(other)) => self.heard(&other),
                Some(Err(ReceiveError::Unreadable(e))) => warn!("signaling: {e}"),
                Some(Err(ReceiveError::Closed(e))) => return Err(Attempt::Unreachable(e)),
                None => return Err(Attempt::Unreachable("connection closed".into())),
            }
        }
    }
}

enum Attempt {
    Unreachable(String),
    Refused(String),
}

/// Waits `span` on the page's timers.
async fn sleep(span: Millis) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let ms = span.as_millis().min(i32::MAX as u64) as i32;
    let done = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _receiver_gone_is_fine = tx.send(());
    });
    match web_sys::window() {
        Some(w) => {
            if w.set_timeout_with_callback_and_timeout_and_arguments_0(done.unchecked_ref(), ms)
                .is_err()
            {
                return;
            }
        }
        None => return,
    }
    rx.await.unwrap_or(());
}

use wasm_bindgen::JsCast;
