//! One participant's tile: video (or their initials when the camera is off), name,
//! muted indicator, and the connection state while it is not connected.

use leptos::prelude::*;
use nonstop_core::ids::ParticipantId;
use nonstop_core::layout::TileId;

use super::decimal::fixed;
use super::icon::{Icon, IconView};
use super::video::VideoView;
use crate::call::view::{CallView, LinkState};

fn initials(name: &str) -> String {
    let first_letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    // The browser's upper case (full Unicode, like `char::to_uppercase`): Rust's would
    // bring its case tables (12 KB) into the wasm for two letters.
    js_sys::JsString::from(first_letters).to_upper_case().into()
}

/// What a remote camera tile's "Remove" button does, for a room owner (the meeting
/// page provides it; the tile shows the button while `CallView::owner` is set).
#[derive(Clone, Copy)]
pub struct RemoveParticipant(pub Callback<ParticipantId>);

/// One tile on the stage, absolutely positioned at the rectangle the layout gave it.
/// A camera tile shows the participant's camera (or initials); a screen tile their
/// shared screen.
#[component]
pub fn TileView(tile: TileId, call: CallView) -> impl IntoView {
    let id = tile.participant;
    let screen = tile.is_screen();
    let kind = if screen { "screen" } else { "camera" };
    let tile_data = Memo::new(move |_| call.tile(TileId::camera(id)));
    let tile_ = tile_data;
    let local = tile_.get_untracked().is_some_and(|t| t.local);
    let name = move || tile_.with(|t| t.as_ref().map(|t| t.name.clone()).unwrap_or_default());
    let audio = move || tile_.with(|t| t.as_ref().is_some_and(|t| t.media.audio));
    let video = move || screen || tile_.with(|t| t.as_ref().is_some_and(|t| t.media.video));
    let link = move || tile_.with(|t| t.as_ref().map(|t| t.link));
    let stream = Signal::derive_local(move || call.streams.with(|s| s.get(&tile).cloned()));
    let status = move || match (screen, link()) {
        (false, Some(LinkState::Connecting)) => Some("Connecting…"),
        (false, Some(LinkState::Interrupted)) => Some("Reconnecting…"),
        (false, Some(LinkState::Failed)) => Some("Connection failed"),
        _ => None,
    };
    let stage = call.stage;
    let speaking = move || !screen && stage.speaking.with(|s| s.contains(&id));
    let pinned = move || stage.pinned.get() == Some(tile);
    let rect = move || stage.rect_of(tile).unwrap_or_default();
    let px = |v: f64| fixed(v, 1) + "px";
    let label = move || {
        let who = if local { "You".to_string() } else { name() };
        let mut l = if screen {
            format!("{who}: screen")
        } else {
            who
        };
        if speaking() {
            l.push_str(", speaking");
        }
        l
    };
    let pin_label = move || {
        let what = if screen {
            format!("{}'s screen", name())
        } else {
            name()
        };
        if pinned() {
            format!("Unpin {what}")
        } else {
            format!("Pin {what}")
        }
    };
    let toggle_pin = move |_| {
        stage
            .pinned
            .update(|p| *p = if *p == Some(tile) { None } else { Some(tile) })
    };
    // On every remote camera tile, shown only to an owner (`.owner-only`): one class
    // on the call rather than a reactive view per tile.
    let remove = use_context::<RemoveParticipant>()
        .filter(|_| !local && !screen)
        .map(|RemoveParticipant(remove)| {
            let label = format!("Remove {} from the call", call.name_of(id).unwrap_or_default());
            view! {
                <button type="button" class="pin remove owner-only" data-testid="remove" aria-label=label.clone()
                    title=label on:click=move |_| remove.run(id)>"Remove"</button>
            }
        });
    let on_aspect = Callback::new(move |aspect: f64| {
        if stage
            .aspects
            .with_untracked(|a| a.get(&tile).is_none_or(|old| (old - aspect).abs() > 0.01))
        {
            stage.aspects.update(|a| {
                a.insert(tile, aspect);
            });
        }
    });

    view! {
        <div
            class="tile"
            class:camera-off=move || !video()
            class:muted=move || !screen && !audio()
            class:screen=screen
            class:speaking=speaking
            class:pinned=pinned
            data-testid="tile"
            data-participant=id.to_string()
            data-local=local.to_string()
            data-kind=kind
            data-speaking=move || speaking().to_string()
            role="group"
            aria-label=label
            style:left=move || px(rect().x)
            style:top=move || px(rect().y)
            style:width=move || px(rect().w)
            style:height=move || px(rect().h)
        >
            <VideoView stream=stream local=local && !screen on_aspect=on_aspect/>
            // The avatar and the muted icon show by the tile's classes (style/main.css):
            // classes, not views that come and go (less wasm).
            <div class="avatar" data-testid="camera-off" aria-label="Camera off" role="img">
                <span>{move || initials(&name())}</span>
            </div>
            {move || status().map(|s| view! { <div class="tile-status" role="status">{s}</div> })}
            <button
                type="button"
                class="pin"
                aria-label=pin_label
                title=pin_label
                aria-pressed=move || pinned().to_string()
                on:click=toggle_pin
            >
                {move || if pinned() { "Unpin" } else { "Pin" }}
            </button>
            {remove}
            <div class="tile-label">
                <span class="mic-off" data-testid="mic-off" aria-label="Microphone muted" role="img">
                    <IconView icon=Icon::MicOff/>
                </span>
                <span class="speaking-dot" aria-hidden="true"></span>
                {(!screen).then(|| view! { <super::link_quality::QualityBadge id=(!local).then_some(id)/> })}
                <span class="tile-name">{name}</span>
                {(screen).then_some(view! { <span class="you">"(screen)"</span> })}
                {(local && !screen).then_some(view! { <span class="you">"(you)"</span> })}
                {move || (!screen && !local).then(|| call.routes.with(|r| r.get(&id).copied())).flatten().map(|r| view! {
                    <span class="route" data-testid="route" data-route=r.as_str() title="How this connection travels">
                        {r.label()}
                    </span>
                })}
            </div>
        </div>
    }
}
