//! A `<video>` showing a `MediaStream`.

use leptos::html::Video;
use leptos::prelude::*;
use web_sys::MediaStream;

/// Plays `stream`. `local` mirrors the picture (people expect a mirror of themselves)
/// and mutes it (no echo of one's own voice).
#[component]
pub fn VideoView(
    /// The stream to show; `None` shows nothing.
    #[prop(into)]
    stream: Signal<Option<MediaStream>, LocalStorage>,
    /// Whether this is our own camera.
    #[prop(optional)]
    local: bool,
    #[prop(optional, into)] testid: Option<&'static str>,
) -> impl IntoView {
    let video = NodeRef::<Video>::new();
    Effect::new(move |_| {
        let stream = stream.get();
        if let Some(el) = video.get() {
            el.set_src_object(stream.as_ref());
        }
    });
    view! {
        <video
            node_ref=video
            class:mirrored=local
            data-testid=testid
            autoplay
            playsinline
            muted=local
            prop:muted=local
        ></video>
    }
}
