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
    // Every icon is one rounded rectangle and one path (and a slash for "off"): one view
    // with the shapes' numbers, rather than a view type per icon.
    let ((x, y, width, height, rx), d) = match icon {
        Icon::Mic | Icon::MicOff => (
            ("9", "3", "6", "11", "3"),
            "M5 11a7 7 0 0 0 14 0M12 18v3M8 21h8",
        ),
        Icon::Camera | Icon::CameraOff => (("3", "6", "12", "12", "2"), "M15 10l6-3v10l-6-3z"),
        Icon::Copy => (("9", "9", "11", "11", "2"), "M5 15V5a2 2 0 0 1 2-2h8"),
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
            <rect x=x y=y width=width height=height rx=rx/>
            <path d=d/>
            {slashed.then(|| view! { <path d="M3 3l18 18"/> })}
        </svg>
    }
}
