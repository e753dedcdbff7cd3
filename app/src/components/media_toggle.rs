//! The microphone and camera buttons, used before and during the call.

use leptos::prelude::*;

use super::icon::{Icon, IconView};

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

    fn icon(self, on: bool) -> Icon {
        match (self, on) {
            (Device::Microphone, true) => Icon::Mic,
            (Device::Microphone, false) => Icon::MicOff,
            (Device::Camera, true) => Icon::Camera,
            (Device::Camera, false) => Icon::CameraOff,
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
            {move || view! { <IconView icon=device.icon(on.get())/> }}
        </button>
    }
}
