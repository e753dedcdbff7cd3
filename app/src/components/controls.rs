//! The call's control bar.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;

use super::icon::{Icon, IconView};
use super::media_toggle::{Device, MediaToggle};

/// Copies the meeting link; returns what to tell the person.
async fn copy_link() -> String {
    let Some(window) = web_sys::window() else {
        return String::new();
    };
    let href = window.location().href().unwrap_or_default();
    let clipboard = window.navigator().clipboard();
    match JsFuture::from(clipboard.write_text(&href)).await {
        Ok(_) => "Meeting link copied".into(),
        // No clipboard access (permission, insecure page): show the link to copy by hand.
        Err(_) => format!("Share this link: {href}"),
    }
}

#[component]
pub fn Controls<C: IntoView + 'static>(
    #[prop(into)] mic_on: Signal<bool>,
    #[prop(into)] cam_on: Signal<bool>,
    #[prop(into)] has_mic: Signal<bool>,
    #[prop(into)] has_cam: Signal<bool>,
    on_toggle_mic: Callback<()>,
    on_toggle_cam: Callback<()>,
    on_leave: Callback<()>,
    /// More buttons (screen share, chat, help), before "Leave". Typed children: boxed
    /// ones would cost the wasm an `AnyView` of their type.
    children: TypedChildren<C>,
) -> impl IntoView {
    let copied = RwSignal::new(None::<String>);
    let copy = move |_| {
        spawn_local(async move {
            let text = copy_link().await;
            copied.try_set(Some(text));
            // Long enough to read, short enough not to linger.
            set_timeout(
                move || drop(copied.try_set(None)),
                std::time::Duration::from_secs(4),
            );
        })
    };
    view! {
        <nav class="controls" aria-label="Call controls">
            <MediaToggle device=Device::Microphone on=mic_on available=has_mic on_toggle=on_toggle_mic/>
            <MediaToggle device=Device::Camera on=cam_on available=has_cam on_toggle=on_toggle_cam/>
            <button type="button" class="toggle" aria-label="Copy meeting link" title="Copy meeting link" on:click=copy>
                <IconView icon=Icon::Copy/>
            </button>
            {children.into_inner()()}
            <button type="button" class="leave" aria-label="Leave meeting" title="Leave meeting" on:click=move |_| on_leave.run(())>
                "Leave"
            </button>
            {move || copied.get().map(|t| view! { <span class="copied" role="status">{t}</span> })}
        </nav>
    }
}
