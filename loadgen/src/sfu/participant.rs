//! One scripted participant: the signaling WebSocket as the app opens it (`join`,
//! `pong`, `topology_ready`, grants), and, once the call is relayed, Janus's WebSocket
//! through the server's proxy, driven by the core's `JanusClient`, with a publisher
//! and a subscriber connection (str0m). One task owns all of it: every input (a
//! frame, a datagram, a timer) is handled to the end before the next.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use nonstop_core::janus::{
    JanusClient, JanusEvent, Leg, MediaKind, RemoteStream, RoomAccess, Speakers, Trickled,
};
use nonstop_core::protocol::{
    ClientMsg, MediaState, ServerMsg, SfuGrant, SwitchPhase, TopologyMode,
};
use nonstop_core::time::Time;
use nonstop_core::ParticipantId;
use str0m::media::Mid;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::counters::Slot;
use super::ivf::Ivf;
use super::media::{MediaClock, Sample};
use super::peer::PeerEvent;
use super::plan::wanted_streams;
use super::publisher::Publisher;
use super::subscriber::Subscriber;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type WsTx = SplitSink<Ws, Message>;
/// A WebSocket's text frames, read by a task of their own; `Err` when it ends.
type WsRx = mpsc::UnboundedReceiver<Result<String, String>>;

/// How often freezes and flowing streams are looked at.
const CHECK_EVERY: Duration = Duration::from_millis(100);
/// How long connecting a WebSocket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What every participant shares.
pub struct Setup {
    pub server: SocketAddr,
    pub room: String,
    /// The address our UDP sockets bind to (our only ICE candidate).
    pub local_ip: IpAddr,
    pub page: usize,
    pub video: Arc<Ivf>,
    pub epoch: Instant,
    pub verbose: bool,
}

struct JanusLink {
    client: JanusClient,
    tx: WsTx,
}

struct Participant {
    index: usize,
    speaker: bool,
    setup: Arc<Setup>,
    slot: Arc<Slot>,
    sig: WsTx,
    join_sent: Instant,
    me: Option<ParticipantId>,
    janus: Option<JanusLink>,
    janus_rx: Option<WsRx>,
    publisher: Option<Publisher>,
    subscriber: Option<Subscriber>,
    clock: Option<MediaClock>,
    speakers: Speakers,
    wanted: Vec<RemoteStream>,
    /// A `prepare` of relayed is waiting for our `topology_ready`.
    ready_due: bool,
    next_check: Instant,
    events: Vec<PeerEvent>,
    samples: Vec<Sample>,
}

/// Runs participant `index` until `stop` or a fatal error.
pub async fn run(
    index: usize,
    speaker: bool,
    setup: Arc<Setup>,
    slot: Arc<Slot>,
    stop: watch::Receiver<bool>,
) {
    if let Err(e) = run_inner(index, speaker, setup, Arc::clone(&slot), stop).await {
        slot.fail(e);
    }
    slot.ended.store(true, Relaxed);
}

async fn connect(request: impl IntoClientRequest + Unpin) -> Result<Ws, String> {
    // Small buffers: 400 sockets at the default 128 KiB each would be 50 MB.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

/// Reads a WebSocket in a task of its own, so that the participant's loop, woken
/// by every datagram, does not poll (and clear the read buffer of) its sockets each time.
fn read_frames(ws: Ws) -> (WsTx, WsRx) {
    let (tx, mut rx) = ws.split();
    let (frames_tx, frames) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let end = match rx.next().await {
                Some(Ok(Message::Text(text))) => {
                    if frames_tx.send(Ok(text.to_string())).is_err() {
                        return;
                    }
                    continue;
                }
                Some(Ok(Message::Close(_))) | None => "closed".to_string(),
                Some(Err(e)) => e.to_string(),
                Some(Ok(_)) => continue,
            };
            let _ = frames_tx.send(Err(end));
            return;
        }
    });
    (tx, frames)
}

async fn run_inner(
    index: usize,
    speaker: bool,
    setup: Arc<Setup>,
    slot: Arc<Slot>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let url = format!("ws://{}/ws", setup.server);
    let ws = connect(url.as_str())
        .await
        .map_err(|e| format!("signaling {url}: {e}"))?;
    let (sig, mut sig_rx) = read_frames(ws);
    let now = Instant::now();
    let mut p = Participant {
        index,
        speaker,
        setup,
        slot,
        sig,
        join_sent: now,
        me: None,
        janus: None,
        janus_rx: None,
        publisher: None,
        subscriber: None,
        clock: None,
        speakers: Speakers::default(),
        wanted: Vec::new(),
        ready_due: false,
        next_check: now,
        events: Vec::new(),
        samples: Vec::new(),
    };
    let join = ClientMsg::Join {
        protocol: 1,
        room: p.setup.room.clone(),
        name: format!("load {index}"),
        media: MediaState {
            audio: true,
            video: true,
        },
        passcode: None,
        token: None,
    };
    p.join_sent = Instant::now();
    p.send_signal(join).await?;

    let mut pub_buf = vec![0u8; 2000];
    let mut sub_buf = vec![0u8; 2000];
    loop {
        let deadline = p.deadline();
        let pub_socket = p.publisher.as_ref().map(|x| x.peer.socket());
        let sub_socket = p.subscriber.as_ref().map(|x| x.peer.socket());
        tokio::select! {
            _ = stop.changed() => break,
            frame = sig_rx.recv() => match frame {
                Some(Ok(text)) => p.on_signal(&text).await?,
                Some(Err(e)) => return Err(format!("the signaling socket ended: {e}")),
                None => return Err("the signaling socket ended".into()),
            },
            frame = next_frame(&mut p.janus_rx) => match frame {
                Some(Ok(text)) => p.on_janus_frame(&text).await,
                Some(Err(_)) | None => p.janus_lost("the SFU's WebSocket closed"),
            },
            got = recv(pub_socket.as_deref(), &mut pub_buf) => {
                if let (Ok(first), Some(socket)) = (got, pub_socket.as_deref()) {
                    p.on_datagrams(Leg::Publisher, socket, first, &mut pub_buf).await;
                }
            }
            got = recv(sub_socket.as_deref(), &mut sub_buf) => {
                if let (Ok(first), Some(socket)) = (got, sub_socket.as_deref()) {
                    p.on_datagrams(Leg::Subscriber, socket, first, &mut sub_buf).await;
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => p.on_timer().await?,
        }
    }
    if let Some(link) = p.janus.as_mut() {
        link.client.close(p.setup.now());
    }
    p.pump().await;
    let _ = p.send_signal(ClientMsg::Leave).await;
    Ok(())
}

async fn next_frame(rx: &mut Option<WsRx>) -> Option<Result<String, String>> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv(socket: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

impl Setup {
    /// The time as the core's state machines take it.
    pub fn now(&self) -> Time {
        Time::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    fn instant(&self, t: Time) -> Instant {
        self.epoch + Duration::from_millis(t.as_millis())
    }
}

impl Participant {
    async fn send_signal(&mut self, msg: ClientMsg) -> Result<(), String> {
        self.sig
            .send(Message::text(msg.to_json()))
            .await
            .map_err(|e| format!("signaling send: {e}"))
    }

    fn deadline(&self) -> Instant {
        let mut at = self.next_check;
        if let Some(p) = &self.publisher {
            at = at.min(p.peer.timeout);
        }
        if let Some(s) = &self.subscriber {
            at = at.min(s.peer.timeout);
        }
        if let Some(c) = &self.clock {
            at = at.min(c.next_due());
        }
        if let Some(t) = self.janus.as_ref().and_then(|l| l.client.next_deadline()) {
            at = at.min(self.setup.instant(t));
        }
        at
    }

    async fn on_signal(&mut self, text: &str) -> Result<(), String> {
        let msg = ServerMsg::parse(text).map_err(|e| format!("unreadable server message: {e}"))?;
        match msg {
            ServerMsg::Welcome { you, .. } => {
                self.me = Some(you);
                self.slot.joined.store(true, Relaxed);
            }
            ServerMsg::Ping => self.send_signal(ClientMsg::Pong).await?,
            ServerMsg::Topology {
                mode: TopologyMode::Relayed,
                phase,
                sfu,
            } => {
                if phase == SwitchPhase::Prepare {
                    self.ready_due = true;
                }
                if let Some(grant) = sfu {
                    self.use_grant(grant).await;
                }
            }
            // A call of one (before the second joins) is mesh: nothing to build. Later,
            // a move back to mesh means the SFU is gone.
            ServerMsg::Topology {
                mode: TopologyMode::Mesh,
                phase: SwitchPhase::Prepare,
                ..
            } if self.janus.is_some() => self.slot.fail("the call moved back to mesh"),
            ServerMsg::SfuGrant { sfu } => self.use_grant(sfu).await,
            ServerMsg::Error { code, message } => {
                self.slot.fail(format!("server error {code:?}: {message}"));
                if code.is_fatal() {
                    return Err(format!("fatal server error {code:?}: {message}"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A grant in `topology` or `sfu_grant`: connects to Janus the first time, renews
    /// the tokens after.
    async fn use_grant(&mut self, grant: SfuGrant) {
        if let Some(link) = self.janus.as_mut() {
            link.client.renew(grant.token, grant.room_token);
            return;
        }
        let Some(me) = self.me else { return };
        *self.slot.room.lock().unwrap() = Some(grant.room.clone());
        let url = format!("ws://{}{}", self.setup.server, grant.path);
        let mut request = match url.as_str().into_client_request() {
            Ok(r) => r,
            Err(e) => return self.slot.fail(format!("janus url {url}: {e}")),
        };
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("janus-protocol"),
        );
        let ws = match connect(request).await {
            Ok(ws) => ws,
            Err(e) => return self.slot.fail(format!("janus {url}: {e}")),
        };
        let (tx, rx) = read_frames(ws);
        let access = RoomAccess {
            room: grant.room,
            pin: grant.pin,
            token: grant.token,
            room_token: grant.room_token,
        };
        let seed = (self.index as u64) << 32 | me.get();
        let client = JanusClient::new(access, me, seed, self.setup.now());
        self.janus = Some(JanusLink { client, tx });
        self.janus_rx = Some(rx);
        self.pump().await;
    }

    async fn on_janus_frame(&mut self, text: &str) {
        let now = self.setup.now();
        if let Some(link) = self.janus.as_mut() {
            if let Err(e) = link.client.handle_input(now, text) {
                if self.setup.verbose {
                    eprintln!(
                        "participant {}: unreadable Janus frame ({e}): {text}",
                        self.index
                    );
                }
            }
        }
        self.pump().await;
    }

    /// Sends what the Janus client queued and does what it decided, until it is quiet.
    async fn pump(&mut self) {
        loop {
            let Some(link) = self.janus.as_mut() else {
                return;
            };
            let frames: Vec<String> = std::iter::from_fn(|| link.client.poll_transmit()).collect();
            let events: Vec<JanusEvent> = std::iter::from_fn(|| link.client.poll_event()).collect();
            if frames.is_empty() && events.is_empty() {
                return;
            }
            let mut sent = Ok(());
            for frame in frames {
                sent = sent.and(link.tx.feed(Message::text(frame)).await);
            }
            if sent.and(link.tx.flush().await).is_err() {
                self.janus_lost("the SFU's WebSocket failed");
                return;
            }
            for event in events {
                self.on_janus_event(event);
            }
        }
    }

    fn on_janus_event(&mut self, event: JanusEvent) {
        let now = self.setup.now();
        let ip = self.setup.local_ip;
        match event {
            JanusEvent::ReadyToPublish => match Publisher::new(ip, Instant::now(), self.speaker) {
                Ok((publisher, (sdp, mids))) => {
                    self.publisher = Some(publisher);
                    if let Some(link) = self.janus.as_mut() {
                        link.client.publish(now, sdp, &mids);
                        link.client
                            .trickle(now, Leg::Publisher, end_of_candidates());
                    }
                }
                Err(e) => self.slot.fail(format!("publisher: {e}")),
            },
            JanusEvent::PublisherAnswer(sdp) => {
                let Some(publisher) = self.publisher.as_mut() else {
                    return;
                };
                if let Err(e) = publisher.accept(&sdp, &mut self.events) {
                    self.slot.fail(format!("publisher: {e}"));
                }
                self.on_peer_events(Leg::Publisher, Instant::now());
            }
            JanusEvent::SubscriberOffer(sdp) => {
                let first = self.subscriber.is_none();
                if first {
                    match Subscriber::new(ip, Instant::now()) {
                        Ok(s) => self.subscriber = Some(s),
                        Err(e) => return self.slot.fail(format!("subscriber: {e}")),
                    }
                }
                let Some(subscriber) = self.subscriber.as_mut() else {
                    return;
                };
                match subscriber.answer(&sdp, &mut self.events) {
                    Ok(answer) => {
                        if let Some(link) = self.janus.as_mut() {
                            link.client.answer(now, answer);
                            if first {
                                link.client
                                    .trickle(now, Leg::Subscriber, end_of_candidates());
                            }
                        }
                    }
                    Err(e) => self.slot.fail(format!("subscriber: {e}")),
                }
                self.on_peer_events(Leg::Subscriber, Instant::now());
            }
            JanusEvent::RoomChanged => self.follow_plan(),
            JanusEvent::Talking {
                participant,
                talking,
            } => {
                self.slot.talking_events.fetch_add(1, Relaxed);
                if self.setup.verbose {
                    eprintln!(
                        "participant {}: {participant} talking: {talking}",
                        self.index
                    );
                }
                if self.speakers.talking(participant, talking, now) {
                    self.follow_plan();
                }
            }
            JanusEvent::MediaUp(_) | JanusEvent::SlowLink { .. } => {}
            JanusEvent::HungUp(leg) => self
                .slot
                .fail(format!("Janus hung up our {leg:?} connection")),
            JanusEvent::RemoteCandidate { leg, candidate } => {
                let Trickled::Candidate(c) = candidate else {
                    return;
                };
                let Ok(candidate) = str0m::Candidate::from_sdp_string(&c.candidate) else {
                    return;
                };
                let peer = match leg {
                    Leg::Publisher => self.publisher.as_mut().map(|p| &mut p.peer),
                    Leg::Subscriber => self.subscriber.as_mut().map(|s| &mut s.peer),
                };
                if let Some(peer) = peer {
                    peer.rtc.add_remote_candidate(candidate);
                    let _ = peer.drain(&mut self.events);
                }
                self.on_peer_events(leg, Instant::now());
            }
            JanusEvent::Warning(e) => {
                if self.setup.verbose {
                    eprintln!("participant {}: janus warning: {e}", self.index);
                }
            }
            JanusEvent::Failed(e) => self.janus_lost(&format!("janus: {e}")),
            JanusEvent::Closed => {
                self.janus = None;
                self.janus_rx = None;
            }
        }
    }

    /// Janus is gone for this participant: everything through it ends.
    fn janus_lost(&mut self, why: &str) {
        if self.janus.is_some() {
            self.slot.fail(why.to_string());
        }
        self.janus = None;
        self.janus_rx = None;
        self.publisher = None;
        self.subscriber = None;
        self.clock = None;
        self.slot.publishing.store(false, Relaxed);
    }

    /// Subscribes to what the plan says (one function: `plan::wanted_streams`).
    fn follow_plan(&mut self) {
        let now = self.setup.now();
        let Some(link) = self.janus.as_mut() else {
            return;
        };
        let wanted = wanted_streams(link.client.available(), self.setup.page, &self.speakers);
        let videos = wanted.iter().filter(|s| s.kind == MediaKind::Video).count();
        self.slot.video_wanted.store(videos as u32, Relaxed);
        if wanted != self.wanted {
            self.wanted = wanted.clone();
            link.client.set_wanted(now, wanted);
        }
    }

    /// Datagrams on one connection's socket: the first received, then what else is
    /// already waiting (without waking the task again for each).
    async fn on_datagrams(
        &mut self,
        leg: Leg,
        socket: &UdpSocket,
        first: (usize, SocketAddr),
        buf: &mut [u8],
    ) {
        let mut next = Some(first);
        let mut handled = 0;
        while let Some((n, from)) = next {
            let now = Instant::now();
            let peer = match leg {
                Leg::Publisher => self.publisher.as_mut().map(|p| &mut p.peer),
                Leg::Subscriber => self.subscriber.as_mut().map(|s| &mut s.peer),
            };
            let Some(peer) = peer else { return };
            if let Err(e) = peer.receive(now, from, &buf[..n], &mut self.events) {
                self.slot.fail(format!("{leg:?} connection: {e}"));
            }
            self.on_peer_events(leg, now);
            handled += 1;
            next = if handled < 64 {
                socket.try_recv_from(buf).ok()
            } else {
                None
            };
        }
        // Media may have made the path ready.
        self.maybe_ready().await;
    }

    fn on_peer_events(&mut self, leg: Leg, now: Instant) {
        let events = std::mem::take(&mut self.events);
        for event in &events {
            match (leg, event) {
                (Leg::Publisher, PeerEvent::Connected) => {
                    if let Some(p) = self.publisher.as_mut() {
                        p.connected = true;
                        self.slot.publishing.store(true, Relaxed);
                        if self.clock.is_none() {
                            self.clock = Some(MediaClock::new(Arc::clone(&self.setup.video), now));
                        }
                    }
                }
                (_, PeerEvent::Lost) => self.slot.fail(format!("{leg:?} connection lost (ICE)")),
                (
                    Leg::Subscriber,
                    &PeerEvent::Media {
                        mid,
                        packets,
                        bytes,
                    },
                ) => {
                    self.slot.rx_packets.fetch_add(packets, Relaxed);
                    self.slot.rx_bytes.fetch_add(bytes as u64, Relaxed);
                    if let Some(s) = self.subscriber.as_mut() {
                        s.media(now, mid, packets, bytes);
                    }
                    if self.slot.join_ms.load(Relaxed) == 0 && self.carries_video(mid) {
                        let ms = self.join_sent.elapsed().as_millis().max(1) as u64;
                        self.slot.join_ms.store(ms, Relaxed);
                    }
                }
                _ => {}
            }
        }
        self.events = events;
        self.events.clear();
    }

    fn carried(&self, mid: Mid) -> Option<RemoteStream> {
        self.janus.as_ref()?.client.carried_by(&mid.to_string())
    }

    fn carries_video(&self, mid: Mid) -> bool {
        self.carried(mid)
            .is_some_and(|s| s.kind == MediaKind::Video)
    }

    async fn on_timer(&mut self) -> Result<(), String> {
        let now = Instant::now();
        if let Some(p) = self.publisher.as_mut() {
            if let Err(e) = p.peer.handle_timeout(now, &mut self.events) {
                self.slot.fail(format!("publisher: {e}"));
            }
            self.on_peer_events(Leg::Publisher, now);
        }
        if let Some(s) = self.subscriber.as_mut() {
            if let Err(e) = s.peer.handle_timeout(now, &mut self.events) {
                self.slot.fail(format!("subscriber: {e}"));
            }
            self.on_peer_events(Leg::Subscriber, now);
        }
        if let (Some(clock), Some(publisher)) = (self.clock.as_mut(), self.publisher.as_mut()) {
            if now >= clock.next_due() {
                clock.due(now, &mut self.samples);
                for sample in self.samples.drain(..) {
                    if matches!(sample, Sample::Video(..)) {
                        self.slot.tx_video_frames.fetch_add(1, Relaxed);
                    }
                    if let Err(e) = publisher.write(now, sample, &mut self.events) {
                        self.slot.fail(format!("publisher write: {e}"));
                    }
                }
            }
        }
        if self.publisher.is_some() {
            self.on_peer_events(Leg::Publisher, now);
        }
        let t = self.setup.now();
        let janus_due = self
            .janus
            .as_ref()
            .and_then(|l| l.client.next_deadline())
            .is_some_and(|d| d <= t);
        if janus_due {
            if let Some(link) = self.janus.as_mut() {
                link.client.handle_timeout(t);
            }
            self.pump().await;
        }
        if now >= self.next_check {
            self.next_check = now + CHECK_EVERY;
            let peers = [
                self.publisher.as_mut().map(|p| &mut p.peer),
                self.subscriber.as_mut().map(|s| &mut s.peer),
            ];
            for peer in peers.into_iter().flatten() {
                let drops = std::mem::take(&mut peer.send_drops);
                self.slot.send_drops.fetch_add(drops, Relaxed);
            }
            self.check_streams(now);
            self.maybe_ready().await;
        }
        Ok(())
    }

    /// Freezes of wanted video, and the streams flowing now.
    fn check_streams(&mut self, now: Instant) {
        let Some(subscriber) = self.subscriber.as_ref() else {
            return;
        };
        let mut watched: Vec<Mid> = Vec::new();
        let (mut video, mut audio) = (0u32, 0u32);
        for line in &subscriber.lines {
            let carried = self.carried(line.mid);
            let flowing = now.duration_since(line.last) <= Duration::from_secs(1);
            match carried {
                Some(s) if s.kind == MediaKind::Video => {
                    if self.wanted.contains(&s) {
                        watched.push(line.mid);
                    }
                    video += u32::from(flowing);
                }
                Some(_) => audio += u32::from(flowing),
                None => {}
            }
        }
        self.slot.video_flowing.store(video, Relaxed);
        self.slot.audio_flowing.store(audio, Relaxed);
        if let Some(subscriber) = self.subscriber.as_mut() {
            let frozen = subscriber.new_freezes(now, |mid| watched.contains(&mid));
            if frozen > 0 {
                self.slot.freezes.fetch_add(frozen, Relaxed);
            }
        }
    }

    /// `topology_ready` once we publish and receive every wanted video (or there is
    /// none to receive yet).
    async fn maybe_ready(&mut self) {
        if !self.ready_due || !self.slot.publishing.load(Relaxed) {
            return;
        }
        let wanted_video = self.slot.video_wanted.load(Relaxed);
        let flowing = self.subscriber.as_ref().map_or(0, |s| {
            s.flowing(Instant::now())
                .filter(|l| self.carries_video(l.mid))
                .count()
        });
        if flowing as u32 >= wanted_video {
            self.ready_due = false;
            let ready = ClientMsg::TopologyReady {
                mode: TopologyMode::Relayed,
            };
            if let Err(e) = self.send_signal(ready).await {
                self.slot.fail(e);
            }
        }
    }
}

fn end_of_candidates() -> Trickled {
    Trickled::Completed { completed: true }
}
