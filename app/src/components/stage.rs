//! The stage: tiles placed by the core's layout engine. The component measures its
//! area (ResizeObserver) into `StageView::size`, renders each placed tile at its
//! rectangle (hidden and off-page tiles are not rendered at all), and offers the
//! page controls when the grid has more than one page.

use leptos::html::Div;
use leptos::prelude::*;
use nonstop_core::layout::{Arrangement, Mode, Size};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::tile::TileView;
use crate::call::view::CallView;

#[component]
pub fn Stage(call: CallView) -> impl IntoView {
    let stage = call.stage;
    let area = NodeRef::<Div>::new();
    let observer =
        StoredValue::new_local(None::<(web_sys::ResizeObserver, Closure<dyn FnMut(JsValue)>)>);
    Effect::new(move |_| {
        let Some(el) = area.get() else { return };
        let measured: web_sys::Element = el.clone().into();
        let measure = move || {
            let size = Size::new(
                f64::from(measured.client_width()),
                f64::from(measured.client_height()),
            );
            if stage.size.try_get_untracked().is_some_and(|s| s != size) {
                stage.size.set(size);
            }
        };
        measure();
        let callback = Closure::<dyn FnMut(JsValue)>::new(move |_| measure());
        if let Ok(ro) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
            ro.observe(&el);
            observer.set_value(Some((ro, callback)));
        }
    });
    on_cleanup(move || {
        if let Some(Some((ro, _))) = observer.try_update_value(Option::take) {
            ro.disconnect();
        }
    });

    let placed = Memo::new(move |_| {
        stage
            .layout
            .with(|l| l.placed.iter().map(|p| p.id).collect::<Vec<_>>())
    });
    let pages = move || stage.layout.with(|l| (l.page, l.pages));
    view! {
        <main class="stage" data-testid="stage" data-arrangement=move || stage.layout.with(|l| arrangement_name(l.arrangement))>
            <div class="stage-area" node_ref=area data-testid="stage-area">
                <For each=move || placed.get() key=|id| *id let:id>
                    <TileView tile=id call=call/>
                </For>
            </div>
            {move || {
                let (page, count) = pages();
                (count > 1).then(|| view! {
                    <nav class="pager" aria-label="Pages">
                        <button type="button" aria-label="Previous page" disabled=page == 0
                            on:click=move |_| stage.page.set(page.saturating_sub(1))>"‹"</button>
                        <span data-testid="page-status">{format!("Page {} of {count}", page + 1)}</span>
                        // Braces: an unbraced `>=` would end the tag in `view!`.
                        <button type="button" aria-label="Next page" disabled={page + 1 >= count}
                            on:click=move |_| stage.page.set(page + 1)>"›"</button>
                    </nav>
                })
            }}
        </main>
    }
}

/// Grid, speaker or automatic layout, as a group of toggle buttons.
/// The stage's `data-arrangement` (what the tests and the style sheet read).
fn arrangement_name(arrangement: Arrangement) -> &'static str {
    match arrangement {
        Arrangement::Grid => "grid",
        Arrangement::Speaker => "speaker",
        Arrangement::Presentation => "presentation",
    }
}

#[component]
pub fn LayoutSwitcher(call: CallView) -> impl IntoView {
    let mode = call.stage.mode;
    let choice = move |m: Mode, label: &'static str| {
        view! {
            <button type="button" class="chip" aria-pressed=move || (mode.get() == m).to_string()
                on:click=move |_| mode.set(m)>{label}</button>
        }
    };
    view! {
        <div class="layout-switch" role="group" aria-label="Layout">
            {choice(Mode::Auto, "Auto")}
            {choice(Mode::Grid, "Grid")}
            {choice(Mode::Speaker, "Speaker")}
        </div>
    }
}
