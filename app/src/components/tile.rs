//! One participant's tile: video (or their initials when the camera is off), name,
//! muted indicator, and the connection state while it is not connected.

use leptos::prelude::*;
use nonstop_core::ParticipantId;

use super::icon::{Icon, IconView};
use super::video::VideoView;
use crate::call::view::{CallView, LinkState};

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

#[component]
pub fn TileView(id: ParticipantId, call: CallView) -> impl IntoView {
    let tile = Memo::new(move |_| {
        call.tiles
            .with(|ts| ts.iter().find(|t| t.id == id).cloned())
    });
    let local = tile.get_untracked().is_some_and(|t| t.local);
    let name = move || tile.with(|t| t.as_ref().map(|t| t.name.clone()).unwrap_or_default());
    let audio = move || tile.with(|t| t.as_ref().is_some_and(|t| t.media.audio));
    let video = move || tile.with(|t| t.as_ref().is_some_and(|t| t.media.video));
    let link = move || tile.with(|t| t.as_ref().map(|t| t.link));
    let stream = Signal::derive_local(move || call.streams.with(|s| s.get(&id).cloned()));
    let status = move || match link() {
        Some(LinkState::Connecting) => Some("Connecting…"),
        Some(LinkState::Interrupted) => Some("Reconnecting…"),
        Some(LinkState::Failed) => Some("Connection failed"),
        _ => None,
    };

    view! {
        <div
            class="tile"
            class:camera-off=move || !video()
            data-testid="tile"
            data-participant=id.to_string()
            data-local=local.to_string()
        >
            <VideoView stream=stream local=local/>
            <Show when=move || !video()>
                <div class="avatar" data-testid="camera-off" aria-label="Camera off" role="img">
                    <span>{move || initials(&name())}</span>
                </div>
            </Show>
            {move || status().map(|s| view! { <div class="tile-status" role="status">{s}</div> })}
            <div class="tile-label">
                <Show when=move || !audio()>
                    <span class="mic-off" data-testid="mic-off" aria-label="Microphone muted" role="img">
                        <IconView icon=Icon::MicOff/>
                    </span>
                </Show>
                <span class="tile-name">{name}</span>
                {local.then_some(view! { <span class="you">"(you)"</span> })}
            </div>
        </div>
    }
}
