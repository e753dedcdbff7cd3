//! Camera, microphone and speaker pickers: on the pre-join screen, and in the call
//! behind the control bar's "Devices" button.

use leptos::prelude::*;
use nonstop_core::devices::display_label;

use crate::call::device_switch::DeviceControl;
use crate::platform::devices::DeviceKind;

/// One `<select>` per kind that has devices (the speaker only where the browser can
/// choose one).
#[component]
pub fn DevicePickers(devices: DeviceControl) -> impl IntoView {
    let picker = move |kind: DeviceKind| {
        let current = match kind {
            DeviceKind::Camera => devices.camera,
            DeviceKind::Microphone => devices.microphone,
            DeviceKind::Speaker => devices.speaker,
        };
        let shown = move || {
            (kind != DeviceKind::Speaker || devices.sink_supported)
                && devices.list.with(|l| !l.of(kind).is_empty())
        };
        move || {
            shown().then(|| {
                let options = move || {
                    devices.list.with(|l| {
                        l.of(kind)
                            .iter()
                            .enumerate()
                            .filter(|(_, d)| !d.id.is_empty())
                            .map(|(i, d)| {
                                let id = d.id.clone();
                                let label = display_label(kind.label(), i, d);
                                let selected_id = id.clone();
                                view! {
                                    <option
                                        value=id
                                        prop:selected=move || current.get().as_deref() == Some(selected_id.as_str())
                                    >{label}</option>
                                }
                            })
                            .collect_view()
                    })
                };
                view! {
                    <label class="device-picker">
                        <span>{kind.label()}</span>
                        <select
                            aria-label=kind.label()
                            disabled=move || devices.busy.get()
                            on:change=move |ev| devices.choose(kind, event_target_value(&ev))
                        >
                            {options}
                        </select>
                    </label>
                }
            })
        }
    };
    view! {
        <div class="device-pickers">
            {picker(DeviceKind::Camera)}
            {picker(DeviceKind::Microphone)}
            {picker(DeviceKind::Speaker)}
        </div>
    }
}

/// The control bar's "Devices" button and its panel.
#[component]
pub fn DeviceSettings(devices: DeviceControl) -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <div class="device-settings">
            <button
                type="button"
                class="toggle wide"
                aria-label="Devices"
                title="Camera, microphone and speaker"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| {
                    if !open.get_untracked() {
                        devices.refresh();
                    }
                    open.update(|o| *o = !*o);
                }
            >
                "Devices"
            </button>
            {move || open.get().then(|| view! {
                <div
                    class="device-panel"
                    role="dialog"
                    aria-label="Devices"
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            open.set(false);
                        }
                    }
                >
                    <DevicePickers devices=devices/>
                    <button type="button" on:click=move |_| open.set(false)>"Close"</button>
                </div>
            })}
        </div>
    }
}
