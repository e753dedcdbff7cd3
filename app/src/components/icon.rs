//! Line icons drawn inline (no icon font or emoji font needed).

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    Mic,
    MicOff,
    Camera,
    CameraOff,
    Copy,
}

#[component]
pub fn IconView(icon: Icon) -> impl IntoView {
    let shape = match icon {
        Icon::Mic | Icon::MicOff => view! {
            <rect x="9" y="3" width="6" height="11" rx="3"/>
            <path d="M5 11a7 7 0 0 0 14 0M12 18v3M8 21h8"/>
        }
        .into_any(),
        Icon::Camera | Icon::CameraOff => view! {
            <rect x="3" y="6" width="12" height="12" rx="2"/>
            <path d="M15 10l6-3v10l-6-3z"/>
        }
        .into_any(),
        Icon::Copy => view! {
            <rect x="9" y="9" width="11" height="11" rx="2"/>
            <path d="M5 15V5a2 2 0 0 1 2-2h8"/>
        }
        .into_any(),
    };
    let slashed = matches!(icon, Icon::MicOff | Icon::CameraOff);
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            width="22"
            height="22"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
        >
            {shape}
            {slashed.then(|| view! { <path d="M3 3l18 18"/> })}
        </svg>
    }
}
