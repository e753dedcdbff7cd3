//! The pre-join screen: camera preview, name, microphone and camera toggles, and any
//! problem with the devices or with joining.

use leptos::prelude::*;
use web_sys::MediaStream;

use super::devices::DevicePickers;
use super::media_toggle::{Device, MediaToggle};
use super::mic_meter::MicMeter;
use super::video::VideoView;
use crate::call::device_switch::DeviceControl;

#[component]
pub fn PreJoin(
    room: String,
    /// The name typed so far.
    name: RwSignal<String>,
    #[prop(into)] preview: Signal<Option<MediaStream>, LocalStorage>,
    #[prop(into)] mic_on: Signal<bool>,
    #[prop(into)] cam_on: Signal<bool>,
    #[prop(into)] has_mic: Signal<bool>,
    #[prop(into)] has_cam: Signal<bool>,
    /// Devices have been asked for (successfully or not): joining is possible.
    #[prop(into)]
    ready: Signal<bool>,
    /// A join is under way.
    #[prop(into)]
    joining: Signal<bool>,
    /// What is wrong with the camera or microphone, if anything.
    #[prop(into)]
    media_problem: Signal<Option<String>>,
    /// Why the last join attempt failed, if it did.
    #[prop(into)]
    join_error: Signal<Option<String>>,
    /// The meeting's passcode as typed (optional): sets it for a new meeting, or
    /// opens a meeting that has one.
    passcode: RwSignal<String>,
    /// The server asked for the passcode (or refused the one given): the field is
    /// highlighted and focused.
    #[prop(into)]
    passcode_needed: Signal<bool>,
    on_toggle_mic: Callback<()>,
    on_toggle_cam: Callback<()>,
    on_join: Callback<()>,
    /// Camera/microphone/speaker pickers, when there are devices to pick from.
    #[prop(optional)]
    devices: Option<DeviceControl>,
) -> impl IntoView {
    let mic_track = Signal::derive_local(move || {
        use wasm_bindgen::JsCast;
        preview.with(|s| {
            s.as_ref().and_then(|s| {
                s.get_audio_tracks()
                    .get(0)
                    .dyn_into::<web_sys::MediaStreamTrack>()
                    .ok()
            })
        })
    });
    let passcode_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if passcode_needed.get() {
            if let Some(input) = passcode_input.get() {
                let _focus_is_a_nicety = input.focus();
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_join.run(());
    };
    view! {
        <main class="prejoin">
            <section class="preview" class:camera-off=move || !cam_on.get()>
                <VideoView stream=preview local=true testid="preview"/>
                {move || (!ready.get()).then(|| view! { <p class="preview-note">"Starting camera…"</p> })}
                <div class="preview-controls">
                    <MediaToggle device=Device::Microphone on=mic_on available=has_mic on_toggle=on_toggle_mic/>
                    <MediaToggle device=Device::Camera on=cam_on available=has_cam on_toggle=on_toggle_cam/>
                </div>
            </section>
            <form class="join-panel" on:submit=submit>
                <h1>"Ready to join?"</h1>
                <p class="room-name">"Meeting " <strong>{room}</strong></p>
                <label>
                    "Your name"
                    <input
                        type="text"
                        aria-label="Your name"
                        autocomplete="name"
                        maxlength="40"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </label>
                <label class="passcode" class:needed=move || passcode_needed.get()>
                    {move || if passcode_needed.get() { "Meeting passcode" } else { "Passcode (optional)" }}
                    <input
                        type="text"
                        aria-label="Passcode"
                        aria-describedby="passcode-hint"
                        data-testid="passcode"
                        autocomplete="off"
                        spellcheck="false"
                        maxlength="64"
                        node_ref=passcode_input
                        prop:value=move || passcode.get()
                        on:input=move |ev| passcode.set(event_target_value(&ev))
                    />
                    <small id="passcode-hint" class="hint">
                        "Set a passcode for a new meeting, or enter the meeting's passcode."
                    </small>
                </label>
                <MicMeter track=mic_track/>
                {devices.map(|d| view! { <DevicePickers devices=d/> })}
                {move || media_problem.get().map(|m| view! {
                    <p role="alert" class="warning" data-testid="media-error">{m}</p>
                })}
                {move || join_error.get().map(|m| view! {
                    <p role="alert" class="error" data-testid="join-error">{m}</p>
                })}
                <button type="submit" class="primary big" disabled=move || !ready.get() || joining.get()>
                    {move || if joining.get() { "Joining…" } else { "Join meeting" }}
                </button>
            </form>
        </main>
    }
}
