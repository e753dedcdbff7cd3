//! The layout engine: where each video tile goes on the stage.
//!
//! [`layout`] is a pure function of the stage size, the tiles and the mode: no DOM
//! reads, no state, so the app recomputes it whenever one of them changes and the
//! same input always gives the same rectangles. Every tile comes back exactly once,
//! either placed (with a rectangle inside the stage, overlapping no other) or hidden
//! (on another page, or no room in the strip). Hidden tiles are the ones whose video
//! need not be received.
//!
//! - Grid: every tile the same size, rows × columns chosen for the largest tiles
//!   (which is the most video area), short last row centred, paged above
//!   [`LayoutParams::page_size`] tiles. Local and pinned tiles stay on every page.
//! - Speaker and presentation: one main tile large, the others as thumbnails in a
//!   strip below it (or beside it, when the stage is much wider than the main video).
//!   The main tile is the pinned one, else (presentation) a screen share, else the
//!   active speaker's camera.
//! - Auto, the default: grid, switching to a spotlight when a tile is pinned, and to
//!   presentation when someone shares their screen.

mod geometry;
mod grid;
mod outcome;
mod request;
mod spotlight;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use crate::ids::ParticipantId;
use crate::vec_map::VecSet;
use geometry::aspect_or;
use grid::{best_fit, paginate};
use spotlight::{spotlight, StripRules};

pub use geometry::{Rect, Size};
pub use outcome::{Arrangement, Layout, Placement};
pub use request::{LayoutParams, LayoutRequest, Mode, Tile, TileId, TileKind, DEFAULT_ASPECT};

/// Lays the tiles out. Never panics: NaN or negative sizes read as 0 (everything is
/// placed with an empty rectangle), bad parameters are clamped to sensible ones.
pub fn layout(req: &LayoutRequest<'_>) -> Layout {
    let params = req.params.sanitised();
    let container = req.container.sanitised();
    let mut seen = VecSet::new();
    let tiles: Vec<&Tile> = req.tiles.iter().filter(|t| seen.insert(t.id)).collect();
    let spotlight_wanted = match req.mode {
        Mode::Grid => false,
        Mode::Speaker | Mode::Presentation => true,
        Mode::Auto => tiles.iter().any(|t| t.pinned || t.id.is_screen()),
    };
    let prefer_screen = matches!(req.mode, Mode::Auto | Mode::Presentation);
    match main_tile(&tiles, prefer_screen, req.active_speaker) {
        Some(main) if spotlight_wanted => spotlight_layout(container, &tiles, main, &params),
        _ => grid_layout(container, &tiles, req.page, &params),
    }
}

/// The main tile: pinned, else (if `prefer_screen`) a screen share, preferably someone
/// else's, else the active speaker, else someone speaking, else someone other than us.
fn main_tile(tiles: &[&Tile], prefer_screen: bool, active: Option<ParticipantId>) -> Option<usize> {
    let find = |pred: &dyn Fn(&Tile) -> bool| tiles.iter().position(|t| pred(t));
    let camera = |t: &Tile| !t.id.is_screen();
    find(&|t| t.pinned)
        .or_else(|| {
            prefer_screen
                .then(|| find(&|t| t.id.is_screen() && !t.local))
                .flatten()
        })
        .or_else(|| prefer_screen.then(|| find(&|t| t.id.is_screen())).flatten())
        .or_else(|| active.and_then(|p| find(&|t| t.id == TileId::camera(p))))
        .or_else(|| find(&|t| t.speaking && !t.local && camera(t)))
        .or_else(|| find(&|t| !t.local && camera(t)))
        .or_else(|| find(&|t| !t.local))
        .or_else(|| (!tiles.is_empty()).then_some(0))
}

/// The aspect ratio the tiles share, if those with video all have (about) the same;
/// else the default one, in which the others are letterboxed.
fn common_aspect<'t>(tiles: impl IntoIterator<Item = &'t Tile>, default: f64) -> f64 {
    let mut aspects = tiles
        .into_iter()
        .filter_map(|t| t.aspect)
        .map(|a| aspect_or(Some(a), default));
    let Some(first) = aspects.next() else {
        return default;
    };
    if aspects.all(|a| (a - first).abs() <= first * 0.01) {
        first
    } else {
        default
    }
}

fn grid_layout(container: Size, tiles: &[&Tile], page: usize, params: &LayoutParams) -> Layout {
    let sticky: Vec<bool> = tiles.iter().map(|t| t.local || t.pinned).collect();
    let page = paginate(&sticky, params.page_size, page);
    let shown: Vec<&Tile> = page.shown.iter().map(|&i| tiles[i]).collect();
    let aspect = common_aspect(shown.iter().copied(), params.default_aspect);
    let fit = best_fit(shown.len(), container, aspect, params.gap, f64::INFINITY);
    let stage = Rect::new(0.0, 0.0, container.w, container.h);
    let rects = fit.place(shown.len(), stage, params.gap);
    Layout {
        arrangement: Arrangement::Grid,
        placed: shown
            .iter()
            .zip(rects)
            .map(|(t, rect)| Placement { id: t.id, rect })
            .collect(),
        hidden: hidden_tiles(tiles, &page.shown),
        main: None,
        page: page.page,
        pages: page.pages,
    }
}

fn spotlight_layout(
    container: Size,
    tiles: &[&Tile],
    main: usize,
    params: &LayoutParams,
) -> Layout {
    let others: Vec<usize> = (0..tiles.len()).filter(|&i| i != main).collect();
    let main_aspect = aspect_or(tiles[main].aspect, params.default_aspect);
    let thumb_aspect = common_aspect(others.iter().map(|&i| tiles[i]), params.default_aspect);
    let rules = StripRules {
        gap: params.gap,
        share: params.strip_share,
        min_thumb_width: params.min_thumb_width,
    };
    let plan = spotlight(container, main_aspect, others.len(), thumb_aspect, rules);
    // When the strip overflows, local and pinned tiles keep their place first; the
    // rest fill up in display order. Either way the strip shows them in display order.
    // Counted out rather than sorted: each sort adds a few KB to the app's wasm.
    let priority = |i: usize| tiles[i].local || tiles[i].pinned;
    let slots = plan.thumbs.len();
    let priority_count = others.iter().filter(|&&i| priority(i)).count();
    let mut priority_slots = slots.min(priority_count);
    let mut other_slots = slots.saturating_sub(priority_count);
    let in_strip = others.iter().copied().filter(|&i| {
        let free = if priority(i) {
            &mut priority_slots
        } else {
            &mut other_slots
        };
        let fits = *free > 0;
        *free -= usize::from(fits);
        fits
    });
    let mut placed: Vec<(usize, Rect)> = in_strip.zip(plan.thumbs).collect();
    placed.insert(
        placed.partition_point(|&(i, _)| i < main),
        (main, plan.main),
    );
    let shown: Vec<usize> = placed.iter().map(|(i, _)| *i).collect();
    let main_id = tiles[main].id;
    Layout {
        arrangement: if main_id.is_screen() {
            Arrangement::Presentation
        } else {
            Arrangement::Speaker
        },
        placed: placed
            .into_iter()
            .map(|(i, rect)| Placement {
                id: tiles[i].id,
                rect,
            })
            .collect(),
        hidden: hidden_tiles(tiles, &shown),
        main: Some(main_id),
        page: 0,
        pages: 1,
    }
}

/// The tiles not in `shown` (indices in increasing order), in input order.
fn hidden_tiles(tiles: &[&Tile], shown: &[usize]) -> Vec<TileId> {
    (0..tiles.len())
        .filter(|i| shown.binary_search(i).is_err())
        .map(|i| tiles[i].id)
        .collect()
}
