//! The grid of tiles.

use leptos::prelude::*;

use super::tile::TileView;
use crate::call::view::CallView;

#[component]
pub fn Stage(call: CallView) -> impl IntoView {
    let ids = Memo::new(move |_| {
        call.tiles
            .with(|ts| ts.iter().map(|t| t.id).collect::<Vec<_>>())
    });
    // Enough columns for a roughly square grid; CSS sizes the tiles.
    let columns = move || {
        let n = ids.with(Vec::len).max(1);
        (n as f64).sqrt().ceil() as usize
    };
    view! {
        <main class="stage" data-testid="stage" style:--columns=move || columns().to_string()>
            <For each=move || ids.get() key=|id| *id let:id>
                <TileView id=id call=call/>
            </For>
        </main>
    }
}
