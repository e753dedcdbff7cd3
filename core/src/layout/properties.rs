//! Property tests: whatever the stage and the tiles, the layout is sound.

use proptest::prelude::*;

use super::geometry::length;
use super::grid::tile_size;
use super::*;

/// Checks what every layout promises; shared with the unit tests.
pub(super) fn assert_sound(req: &LayoutRequest<'_>, out: &Layout) {
    let stage = Rect::new(0.0, 0.0, length(req.container.w), length(req.container.h));
    let mut ids: Vec<TileId> = Vec::new();
    for t in req.tiles {
        if !ids.contains(&t.id) {
            ids.push(t.id);
        }
    }
    // Every tile exactly once, placed or hidden, and both lists in input order.
    let placed: Vec<TileId> = out.placed.iter().map(|p| p.id).collect();
    let in_order = |list: &[TileId]| {
        ids.iter()
            .filter(|id| list.contains(id))
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(placed, in_order(&placed), "placed tiles keep input order");
    assert_eq!(
        out.hidden,
        in_order(&out.hidden),
        "hidden tiles keep input order"
    );
    assert_eq!(placed.len() + out.hidden.len(), ids.len(), "each tile once");
    assert!(ids
        .iter()
        .all(|id| placed.contains(id) != out.hidden.contains(id)));
    // Inside the stage, and no two overlap.
    for (i, a) in out.placed.iter().enumerate() {
        assert!(a.rect.w >= 0.0 && a.rect.h >= 0.0, "{a:?}");
        assert!(stage.contains(a.rect, 1e-6), "{a:?} outside {stage:?}");
        for b in &out.placed[i + 1..] {
            assert!(!a.rect.overlaps(b.rect), "{a:?} overlaps {b:?}");
        }
    }
    assert!(out.page < out.pages);
    if let Some(main) = out.main {
        assert_eq!(
            out.arrangement == Arrangement::Presentation,
            main.is_screen()
        );
        assert!(placed.contains(&main), "the main tile is always shown");
    }
}

/// In a grid, no other rows × columns would have given bigger tiles.
fn assert_grid_is_best(req: &LayoutRequest<'_>, out: &Layout) {
    let Some(first) = out.placed.first() else {
        return;
    };
    if first.rect.area() <= 0.0 {
        return;
    }
    let n = out.placed.len();
    let shown = out
        .placed
        .iter()
        .filter_map(|p| req.tiles.iter().find(|t| t.id == p.id));
    let params = req.params.sanitised();
    let aspect = common_aspect(shown, params.default_aspect);
    for rows in 1..=n {
        for cols in 1..=n {
            if rows * cols >= n {
                let other = tile_size(
                    rows,
                    cols,
                    req.container.sanitised(),
                    aspect,
                    params.gap,
                    f64::INFINITY,
                );
                assert!(
                    first.rect.area() >= other.area() * (1.0 - 1e-12),
                    "{rows}×{cols} gives {other:?}, bigger than {:?}",
                    first.rect
                );
            }
        }
    }
}

fn tile_strategy() -> impl Strategy<Value = Tile> {
    let aspect = prop_oneof![
        Just(None),
        Just(Some(16.0 / 9.0)),
        Just(Some(4.0 / 3.0)),
        Just(Some(9.0 / 16.0)),
        (0.1f64..8.0).prop_map(Some),
    ];
    (0u64..12, any::<bool>(), aspect, any::<[bool; 3]>()).prop_map(
        |(p, screen, aspect, [local, pinned, speaking])| {
            let participant = ParticipantId::new(p);
            Tile {
                id: if screen {
                    TileId::screen(participant)
                } else {
                    TileId::camera(participant)
                },
                aspect,
                local,
                pinned: pinned && p % 5 == 0,
                speaking,
            }
        },
    )
}

fn mode_strategy() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Auto),
        Just(Mode::Grid),
        Just(Mode::Speaker),
        Just(Mode::Presentation)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn layouts_are_sound(
        w in 50.0f64..2500.0,
        h in 50.0f64..2500.0,
        tiles in proptest::collection::vec(tile_strategy(), 0..40),
        mode in mode_strategy(),
        page in 0usize..4,
        page_size in 1usize..30,
        gap in 0.0f64..24.0,
        active in proptest::option::of(0u64..12),
    ) {
        let mut req = LayoutRequest::new(Size::new(w, h), &tiles);
        req.mode = mode;
        req.page = page;
        req.params.page_size = page_size;
        req.params.gap = gap;
        req.active_speaker = active.map(ParticipantId::new);
        let out = layout(&req);
        assert_sound(&req, &out);
        if out.arrangement == Arrangement::Grid {
            assert_grid_is_best(&req, &out);
        }
        // A pure function: the same input gives the same output.
        prop_assert_eq!(&layout(&req.clone()), &out);
    }

    #[test]
    fn speaking_never_moves_a_grid(
        w in 200.0f64..2000.0,
        h in 200.0f64..2000.0,
        tiles in proptest::collection::vec(tile_strategy(), 0..30),
        flips in any::<u64>(),
        active in proptest::option::of(0u64..12),
    ) {
        let mut req = LayoutRequest::new(Size::new(w, h), &tiles);
        req.mode = Mode::Grid;
        let before = layout(&req);
        let talking: Vec<Tile> = tiles
            .iter()
            .enumerate()
            .map(|(i, t)| Tile { speaking: flips >> (i % 64) & 1 == 1, ..t.clone() })
            .collect();
        let mut req = LayoutRequest::new(Size::new(w, h), &talking);
        req.mode = Mode::Grid;
        req.active_speaker = active.map(ParticipantId::new);
        prop_assert_eq!(layout(&req), before);
    }

    #[test]
    fn nonsense_sizes_never_panic(
        w in any::<f64>(),
        h in any::<f64>(),
        gap in any::<f64>(),
        share in any::<f64>(),
        aspect in any::<f64>(),
        n in 0usize..8,
        mode in mode_strategy(),
    ) {
        let tiles: Vec<Tile> = (0..n as u64)
            .map(|p| Tile { aspect: Some(aspect), ..Tile::camera(ParticipantId::new(p)) })
            .collect();
        let mut req = LayoutRequest::new(Size::new(w, h), &tiles);
        req.mode = mode;
        req.params.gap = gap;
        req.params.strip_share = share;
        req.params.default_aspect = aspect;
        req.params.min_thumb_width = aspect;
        req.params.page_size = 0;
        let out = layout(&req);
        assert_sound(&req, &out);
    }
}
