//! The microphone and camera buttons, used before and during the call.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Microphone,
    Camera,
}

impl Device {
    fn label(self, on: bool) -> &'static str {
        match (self, on) {
            (Device::Microphone, true) => "Mute microphone",
            (Device::Microphone, false) => "Unmute microphone",
            (Device::Camera, true) => "Turn off camera",
            (Device::Camera, false) => "Turn on camera",
        }
    }

    fn icon(self, on: bool) -> &'static str {
        match (self, on) {
            (Device::Microphone, true) => "🎙",
            (Device::Microphone, false) => "🔇",
            (Device::Camera, true) => "📷",
            (Device::Camera, false) => "🚫",
        }
    }
}

/// A toggle for one device. Disabled, with a tooltip saying why, when the device is
/// not available.
#[component]
pub fn MediaToggle(
    device: Device,
    /// Whether the device is on (sending).
    #[prop(into)]
    on: Signal<bool>,
    /// Whether we have the device at all.
    #[prop(into)]
    available: Signal<bool>,
    on_toggle: Callback<()>,
) -> impl IntoView {
    let label = move || device.label(on.get());
    view! {
        <button
            type="button"
            class="toggle"
            class:off=move || !on.get()
            aria-label=label
            title=move || if available.get() { label() } else { "Not available" }
            aria-pressed=move || (!on.get()).to_string()
            disabled=move || !available.get()
            on:click=move |_| on_toggle.run(())
        >
            <span aria-hidden="true">{move || device.icon(on.get())}</span>
        </button>
    }
}
