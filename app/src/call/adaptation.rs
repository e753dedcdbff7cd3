//! Per-link quality adaptation in the browser: the glue around the core's
//! [`Controller`]. Every 500 ms it
//! - measures how large we show each remote's camera video and tells them
//!   ([`PeerMsg::ViewHint`], when it changed and held for a tick, and when a link's
//!   channel first takes it);
//! - hands the controller the hints remotes sent us;
//! - every second, reads `getStats()` of each connected link into a [`StatsSample`];
//! - applies what the controller decides with `RTCRtpSender.setParameters` (retrying
//!   what did not take), and writes each link's quality and numbers into
//!   [`AdaptationView`] for the tiles and the stats panel.
//!
//! `?adapt=off` in the page address (or `localStorage["nonstop.adapt"] = "off"`) keeps
//! everything but the `setParameters` calls: the browser's own congestion control
//! alone, for comparison (scripts/bench-adaptation).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use js_sys::Reflect;
use leptos::logging::warn;
use leptos::prelude::*;
use leptos::task::spawn_local;
use nonstop_core::adaptation::{
    Bitrate, Config, Content, Controller, Framerate, Quality, QualityLevel, QualityReason,
    ReceiverHint, Resolution, SendParams, VideoSource,
};
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::time::{Millis, Time};
use nonstop_core::ParticipantId;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::peer_link::PeerLink;
use super::Call;
use crate::platform::stats::{self, LinkReport, Senders};

const TICK_MS: i32 = 500;
/// Stats are read every this many ticks.
const STATS_EVERY: u32 = 2;
/// A hint is sent again this often even if unchanged (ticks), in case the other
/// side lost it (it reloaded its controller).
const HINT_REFRESH_TICKS: u32 = 20;
/// How much history the panel's plots show.
const HISTORY: Millis = Millis::from_secs(60);

/// One link's numbers, for the quality indicator and the stats panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkStats {
    pub quality: Option<Quality>,
    pub send_bitrate: Option<Bitrate>,
    pub recv_bitrate: Option<Bitrate>,
    pub send_frame: Option<Resolution>,
    pub send_fps: Option<f64>,
    pub recv_frame: Option<Resolution>,
    pub recv_fps: Option<f64>,
    pub rtt: Option<Millis>,
    /// Fraction of our packets the remote lost, 0 to 1.
    pub loss: Option<f64>,
    pub relayed: Option<bool>,
    /// What the controller lets this link use (none while it is off).
    pub budget: Option<Bitrate>,
    /// Video paused on this link by the controller.
    pub video_off: bool,
    /// (time, send kb/s, receive kb/s, RTT ms) over the last minute.
    pub history: Vec<(Time, f64, f64, f64)>,
}

/// What the tiles and the stats panel read. Provided as context by the meeting page.
#[derive(Clone, Copy)]
pub struct AdaptationView {
    pub links: RwSignal<BTreeMap<ParticipantId, LinkStats>>,
    /// Whether the controller applies its decisions (`?adapt=off` turns it off).
    pub enabled: RwSignal<bool>,
}

impl AdaptationView {
    pub fn new() -> AdaptationView {
        AdaptationView {
            links: RwSignal::new(BTreeMap::new()),
            enabled: RwSignal::new(enabled()),
        }
    }

    /// The quality of our link to `id`.
    pub fn quality(&self, id: ParticipantId) -> Option<Quality> {
        self.links.with(|l| l.get(&id).and_then(|s| s.quality))
    }

    /// Our own quality: the worst of our outgoing links.
    pub fn worst(&self) -> Option<Quality> {
        self.links
            .with(|l| l.values().filter_map(|s| s.quality).max_by_key(|q| q.level))
    }
}

impl Default for AdaptationView {
    fn default() -> Self {
        Self::new()
    }
}

/// `?adapt=off` or `localStorage["nonstop.adapt"] == "off"` disables the controller.
pub fn enabled() -> bool {
    let Some(window) = web_sys::window() else {
        return true;
    };
    let search = window.location().search().unwrap_or_default();
    if search
        .trim_start_matches('?')
        .split('&')
        .any(|kv| kv == "adapt=off")
    {
        return false;
    }
    let stored = window
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item("nonstop.adapt").ok().flatten());
    stored.as_deref() != Some("off")
}

thread_local! {
    /// Hints that arrived over data channels since the loop last looked.
    static INCOMING: RefCell<Vec<(ParticipantId, ReceiverHint)>> = const { RefCell::new(Vec::new()) };
}

/// A [`PeerMsg::ViewHint`] from `from` (called by the session's message handler).
pub fn hint_received(from: ParticipantId, msg: &PeerMsg) {
    if let Some(hint) = msg.receiver_hint() {
        INCOMING.with(|i| i.borrow_mut().push((from, hint)));
    }
}

/// Runs the loop until the call is left.
pub fn start(call: Call, view: AdaptationView) {
    INCOMING.with(|i| i.borrow_mut().clear());
    spawn_local(async move {
        let mut state = State::new(view.enabled.get_untracked());
        let mut tick: u32 = 0;
        while !call.has_left() {
            sleep(TICK_MS).await;
            if call.has_left() {
                break;
            }
            tick = tick.wrapping_add(1);
            let links = call.links();
            state.send_hints(&links, tick);
            state.sync_links(&links);
            let now = now();
            for (id, hint) in INCOMING.with(|i| std::mem::take(&mut *i.borrow_mut())) {
                state.ctl.set_hint(now, id, hint);
            }
            if tick % STATS_EVERY == 0 {
                state.sample(&links).await;
            }
            let now = self::now();
            for (id, decision) in state.ctl.poll(now) {
                if let Some(send) = decision.send {
                    state.desired.insert(id, send);
                }
                if let Some(q) = decision.quality {
                    state.quality.insert(id, q);
                }
            }
            if state.enabled {
                state.apply(&links).await;
            }
            // `try_set` gives the value back once the page (and the signal) is gone.
            if view.links.try_set(state.panel()).is_some() {
                break;
            }
        }
    });
}

struct State {
    enabled: bool,
    ctl: Controller<ParticipantId>,
    source: Option<VideoSource>,
    /// The previous report per link, for rates.
    prev: HashMap<ParticipantId, (Time, LinkReport)>,
    stats: BTreeMap<ParticipantId, LinkStats>,
    desired: HashMap<ParticipantId, SendParams>,
    applied: HashMap<ParticipantId, SendParams>,
    quality: HashMap<ParticipantId, Quality>,
    hints: HashMap<ParticipantId, HintState>,
}

#[derive(Default)]
struct HintState {
    /// What the last measurement gave (sent only once two agree: debounce).
    measured: Option<ReceiverHint>,
    sent: Option<ReceiverHint>,
    sent_tick: u32,
}

impl State {
    fn new(enabled: bool) -> State {
        State {
            enabled,
            ctl: Controller::new(Config::default()),
            source: None,
            prev: HashMap::new(),
            stats: BTreeMap::new(),
            desired: HashMap::new(),
            applied: HashMap::new(),
            quality: HashMap::new(),
            hints: HashMap::new(),
        }
    }

    fn sync_links(&mut self, links: &[(ParticipantId, Rc<PeerLink>)]) {
        let now = now();
        for (id, _) in links {
            if !self.stats.contains_key(id) {
                self.ctl.add_link(now, *id);
                self.stats.insert(*id, LinkStats::default());
            }
        }
        let gone: Vec<ParticipantId> = self
            .stats
            .keys()
            .filter(|id| !links.iter().any(|(l, _)| l == *id))
            .copied()
            .collect();
        for id in gone {
            self.ctl.remove_link(id);
            self.stats.remove(&id);
            self.prev.remove(&id);
            self.desired.remove(&id);
            self.applied.remove(&id);
            self.quality.remove(&id);
            self.hints.remove(&id);
        }
    }

    /// Tells each remote how large we show its video, when that changed.
    fn send_hints(&mut self, links: &[(ParticipantId, Rc<PeerLink>)], tick: u32) {
        for (id, link) in links {
            let hint = measure(*id);
            let h = self.hints.entry(*id).or_default();
            let stable = h.measured == Some(hint);
            h.measured = Some(hint);
            let changed = h.sent != Some(hint);
            let first = h.sent.is_none();
            let stale = tick.wrapping_sub(h.sent_tick) >= HINT_REFRESH_TICKS;
            if ((changed && (stable || first)) || (!changed && stale))
                && link.send_peer(&PeerMsg::view_hint(hint))
            {
                h.sent = Some(hint);
                h.sent_tick = tick;
            }
        }
    }

    /// Reads every connected link's stats into the controller and the panel.
    async fn sample(&mut self, links: &[(ParticipantId, Rc<PeerLink>)]) {
        for (id, link) in links {
            let pc = link.connection();
            if pc.connection_state() != web_sys::RtcPeerConnectionState::Connected {
                continue;
            }
            let senders = Senders::of(pc);
            if let Some(source) = senders.video_track().and_then(|t| video_source(&t)) {
                if self.source != Some(source) {
                    self.source = Some(source);
                    self.ctl.set_source(source);
                }
            }
            let report = match stats::read(pc, &senders).await {
                Ok(r) => r,
                Err(e) => {
                    warn!("peer {id}: getStats failed: {e}");
                    continue;
                }
            };
            let now = now();
            // The controller itself ignores the browser's estimate while it settles
            // after video resumes (`Config::browser_estimate_grace`).
            self.ctl.handle_sample(now, *id, report.sample);
            let entry = self.stats.entry(*id).or_default();
            if let Some((then, before)) = self.prev.get(id) {
                let span = now.since(*then);
                let rate = |a: Option<u64>, b: Option<u64>| match (a, b) {
                    (Some(a), Some(b)) if a >= b && span > Millis::ZERO => {
                        Some(Bitrate::from_bytes_in(a - b, span))
                    }
                    _ => None,
                };
                entry.send_bitrate = rate(report.sample.bytes_sent, before.sample.bytes_sent);
                entry.recv_bitrate = rate(report.bytes_received, before.bytes_received);
            }
            entry.send_frame = report.sample.frame_size;
            entry.send_fps = report.sample.frames_per_second;
            entry.recv_frame = report.recv_frame;
            entry.recv_fps = report.recv_fps;
            entry.rtt = report.sample.rtt;
            entry.loss = report.sample.fraction_lost;
            entry.relayed = report.relayed;
            let kbps = |b: Option<Bitrate>| b.map_or(0.0, |b| b.as_kbps_f64());
            entry.history.push((
                now,
                kbps(entry.send_bitrate),
                kbps(entry.recv_bitrate),
                entry.rtt.map_or(0.0, |r| r.as_millis() as f64),
            ));
            entry.history.retain(|(t, ..)| now.since(*t) <= HISTORY);
            self.prev.insert(*id, (now, report));
        }
    }

    /// Applies each link's wanted parameters that are not applied yet.
    async fn apply(&mut self, links: &[(ParticipantId, Rc<PeerLink>)]) {
        for (id, link) in links {
            let Some(want) = self.desired.get(id).copied() else {
                continue;
            };
            let had = self.applied.get(id).copied();
            if had == Some(want) {
                continue;
            }
            let senders = Senders::of(link.connection());
            let mut ok = true;
            if had.map(|h| h.video) != Some(want.video) {
                if let Some((sender, _)) = &senders.video {
                    ok &= report(*id, "video", stats::apply_video(sender, &want.video).await);
                }
            }
            if had.map(|h| h.audio) != Some(want.audio) {
                if let Some((sender, _)) = &senders.audio {
                    ok &= report(*id, "audio", stats::apply_audio(sender, &want.audio).await);
                }
            }
            if ok {
                self.applied.insert(*id, want);
            }
        }
    }

    fn panel(&self) -> BTreeMap<ParticipantId, LinkStats> {
        let mut out = self.stats.clone();
        for (id, s) in out.iter_mut() {
            s.quality = self.quality.get(id).copied();
            let status = self.ctl.status(*id);
            s.budget = status.map(|st| st.budget);
            s.video_off = status.is_some_and(|st| !st.params.video.active);
        }
        out
    }
}

/// Logs a failed `setParameters`; true if it took.
fn report(id: ParticipantId, what: &str, r: Result<bool, String>) -> bool {
    match r {
        Ok(applied) => applied,
        Err(e) => {
            warn!("peer {id}: setParameters ({what}) failed: {e}");
            false
        }
    }
}

fn video_source(track: &web_sys::MediaStreamTrack) -> Option<VideoSource> {
    let (w, h, fps) = stats::track_settings(track)?;
    Some(VideoSource {
        resolution: Resolution::new(w, h),
        framerate: Framerate::from_f64(fps),
        content: Content::Camera,
    })
}

/// How large we show `id`'s camera video: its `<video>`'s size in device pixels, or
/// hidden (page hidden, no such tile, no size, or entirely outside the window).
fn measure(id: ParticipantId) -> ReceiverHint {
    let Some(window) = web_sys::window() else {
        return ReceiverHint::Hidden;
    };
    let Some(doc) = window.document() else {
        return ReceiverHint::Hidden;
    };
    if doc.hidden() {
        return ReceiverHint::Hidden;
    }
    let selector =
        format!(r#"[data-testid="tile"][data-participant="{id}"]:not([data-kind="screen"]) video"#);
    let Some(el) = doc.query_selector(&selector).ok().flatten() else {
        return ReceiverHint::Hidden;
    };
    let Some(rect) = bounding_rect(&el) else {
        return ReceiverHint::Hidden;
    };
    let (left, top, width, height) = rect;
    let vw = window
        .inner_width()
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::MAX);
    let vh = window
        .inner_height()
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::MAX);
    let outside = left + width <= 0.0 || top + height <= 0.0 || left >= vw || top >= vh;
    if width < 1.0 || height < 1.0 || outside {
        return ReceiverHint::Hidden;
    }
    let dpr = window.device_pixel_ratio().max(0.1);
    // Whole multiples of 8 device pixels: a sub-pixel reflow is no new hint.
    let px = |css: f64| (((css * dpr) / 8.0).round() as u32).max(1) * 8;
    ReceiverHint::Shown(Resolution::new(px(width), px(height)))
}

/// `getBoundingClientRect()` as (left, top, width, height) in CSS pixels.
fn bounding_rect(el: &web_sys::Element) -> Option<(f64, f64, f64, f64)> {
    let f: js_sys::Function = Reflect::get(el, &"getBoundingClientRect".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let r = f.call0(el).ok()?;
    let n = |k: &str| Reflect::get(&r, &JsValue::from_str(k)).ok()?.as_f64();
    Some((n("left")?, n("top")?, n("width")?, n("height")?))
}

/// A short text for a quality's reason.
pub fn reason_text(q: Quality) -> &'static str {
    match (q.level, q.reason) {
        (QualityLevel::Good, _) | (_, None) => "Good connection",
        (_, Some(QualityReason::Loss)) => "Packet loss",
        (_, Some(QualityReason::Rtt)) => "High delay",
        (_, Some(QualityReason::Bandwidth)) => "Low bandwidth",
        (_, Some(QualityReason::Cpu)) => "Device busy (CPU)",
    }
}

fn now() -> Time {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now());
    Time::from_millis_f64(ms)
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _timer = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _always_resolves = JsFuture::from(promise).await;
}
