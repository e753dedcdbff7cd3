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
    /// Told the video's aspect ratio (width / height) when it is known or changes.
    #[prop(optional)]
    on_aspect: Option<Callback<f64>>,
) -> impl IntoView {
    let report_aspect = move |target: Option<web_sys::EventTarget>| {
        let Some(cb) = on_aspect else { return };
        let Some(v) = target
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlVideoElement>(t).ok())
        else {
            return;
        };
        let (w, h) = (v.video_width(), v.video_height());
        if w > 0 && h > 0 {
            cb.run(f64::from(w) / f64::from(h));
        }
    };
    let video = NodeRef::<Video>::new();
    Effect::new(move |_| {
        let stream = stream.get();
        if let Some(el) = video.get() {
            el.set_src_object(stream.as_ref());
            if !local {
                // The chosen speaker (setSinkId), if any.
                crate::platform::devices::apply_sink(&el);
            }
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
            on:resize=move |ev| report_aspect(ev.target())
            on:loadedmetadata=move |ev| report_aspect(ev.target())
        ></video>
    }
}
