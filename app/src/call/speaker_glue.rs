//! Feeds the core's [`SpeakerDetector`] with audio levels every 200 ms and writes who
//! speaks and who has the spotlight into the stage signals.
//!
//! Levels: for each remote participant the inbound audio's RMS level from the energy
//! counters between two polls (`sqrt(ΔtotalAudioEnergy / ΔtotalSamplesDuration)`), or
//! its `audioLevel` where the counters are missing; for us the `audioLevel` of the
//! audio sender's `media-source` on any link.

use std::collections::{BTreeSet, HashMap};

use js_sys::Reflect;
use leptos::prelude::*;
use leptos::task::spawn_local;
use nonstop_core::speaker::{SpeakerDetector, Time};
use nonstop_core::ParticipantId;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

use super::Call;

const POLL_MS: i32 = 200;

/// Polls until the call is left.
pub fn start(call: Call) {
    spawn_local(async move {
        let mut detector = SpeakerDetector::default();
        detector.set_local(Some(call.me()));
        let mut energy: HashMap<ParticipantId, (f64, f64)> = HashMap::new();
        let stage = call.view().stage;
        while !call.has_left() {
            sleep(POLL_MS).await;
            let links = call.links();
            let mut local_level = None;
            for (id, link) in &links {
                let Some(audio) = audio_stats(link.connection()).await else {
                    continue;
                };
                if local_level.is_none() {
                    local_level = audio.local_level;
                }
                let level = match (audio.energy, energy.get(id)) {
                    (Some((e, d)), Some(&(e0, d0))) if d > d0 => {
                        ((e - e0) / (d - d0)).max(0.0).sqrt()
                    }
                    _ => audio.remote_level.unwrap_or(0.0),
                };
                if let Some(ed) = audio.energy {
                    energy.insert(*id, ed);
                }
                if audio.remote_level.is_some() || audio.energy.is_some() {
                    detector.observe(now(), *id, level);
                }
            }
            if let Some(level) = local_level {
                detector.observe(now(), call.me(), level);
            }
            let present: BTreeSet<ParticipantId> = links.iter().map(|(id, _)| *id).collect();
            let gone: Vec<ParticipantId> = energy
                .keys()
                .filter(|id| !present.contains(id))
                .copied()
                .collect();
            for id in gone {
                energy.remove(&id);
                detector.remove(id);
            }
            detector.advance(now());
            let speaking: BTreeSet<ParticipantId> = detector.speaking().collect();
            if stage.speaking.try_with_untracked(|s| *s != speaking) == Some(true) {
                stage.speaking.set(speaking);
            }
            let active = detector.active();
            if stage
                .active_speaker
                .try_get_untracked()
                .is_some_and(|a| a != active)
            {
                stage.active_speaker.set(active);
            }
        }
    });
}

struct AudioStats {
    local_level: Option<f64>,
    remote_level: Option<f64>,
    /// totalAudioEnergy, totalSamplesDuration
    energy: Option<(f64, f64)>,
}

async fn audio_stats(pc: &RtcPeerConnection) -> Option<AudioStats> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let map: js_sys::Map = report.unchecked_into();
    let mut out = AudioStats {
        local_level: None,
        remote_level: None,
        energy: None,
    };
    map.for_each(&mut |value, _| {
        let field = |name: &str| Reflect::get(&value, &JsValue::from_str(name)).ok();
        let text = |name: &str| field(name).and_then(|v| v.as_string());
        let num = |name: &str| field(name).and_then(|v| v.as_f64());
        if text("kind").as_deref() != Some("audio") {
            return;
        }
        match text("type").as_deref() {
            Some("inbound-rtp") => {
                out.remote_level = num("audioLevel");
                if let (Some(e), Some(d)) = (num("totalAudioEnergy"), num("totalSamplesDuration")) {
                    out.energy = Some((e, d));
                }
            }
            Some("media-source") => out.local_level = num("audioLevel"),
            _ => {}
        }
    });
    Some(out)
}

fn now() -> Time {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now());
    Time::from_millis_f64(ms)
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}
