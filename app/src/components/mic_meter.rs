//! A live microphone level on the pre-join screen (`role="meter"`), so people see
//! that the right microphone hears them before they join.

use leptos::prelude::*;
use web_sys::MediaStreamTrack;

use crate::platform::devices::LevelMeter;
use crate::platform::listener::EventListener;

/// How often the level is read.
const EVERY_MS: u64 = 100;

#[component]
pub fn MicMeter(
    /// The microphone track; `None` shows an empty meter.
    #[prop(into)]
    track: Signal<Option<MediaStreamTrack>, LocalStorage>,
) -> impl IntoView {
    let level = RwSignal::new(0u32);
    let meter = StoredValue::new_local(None::<LevelMeter>);
    Effect::new(move |_| {
        let t = track.get();
        let next = t.and_then(|t| match LevelMeter::new(&t) {
            Ok(m) => Some(m),
            Err(e) => {
                leptos::logging::warn!("mic level: {e}");
                None
            }
        });
        meter.set_value(next);
        level.set(0);
    });
    // Browsers may keep an AudioContext suspended until a user gesture: resume then.
    // Nothing waits for it; the meter just stays at 0 meanwhile.
    let gestures = web_sys::window().map(|w| {
        let resume = move |_| {
            meter
                .with_value(|m| m.as_ref().map(LevelMeter::resume))
                .unwrap_or(())
        };
        [
            EventListener::new(&w, "pointerdown", resume),
            EventListener::new(&w, "keydown", resume),
        ]
    });
    let gestures = StoredValue::new_local(gestures);
    let ticker = set_interval_with_handle(
        move || {
            if let Some(now) = meter
                .try_with_value(|m| m.as_ref().map(LevelMeter::level))
                .flatten()
            {
                // Rises at once, falls back slowly: readable, and a short sound shows.
                let v = now.max(level.get_untracked() * 85 / 100);
                if level.get_untracked() != v {
                    level.set(v);
                }
            }
        },
        std::time::Duration::from_millis(EVERY_MS),
    )
    .ok();
    on_cleanup(move || {
        if let Some(t) = ticker {
            t.clear();
        }
        gestures.set_value(None);
        meter.set_value(None);
    });
    view! {
        <div
            class="mic-meter"
            role="meter"
            aria-label="Microphone level"
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || level.get().to_string()
            data-testid="mic-level"
        >
            <span class="mic-meter-fill" style:width=move || format!("{}%", level.get())></span>
        </div>
    }
}
