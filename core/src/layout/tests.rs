//! Unit tests: the viewports and call sizes the e2e suite uses, and each mode.

use super::properties::assert_sound;
use super::*;

const DESKTOP: Size = Size::new(1280.0, 720.0);
const PHONE: Size = Size::new(390.0, 844.0);

fn p(n: u64) -> ParticipantId {
    ParticipantId::new(n)
}

/// `n` camera tiles, the first one ours.
fn call(n: u64) -> Vec<Tile> {
    (0..n)
        .map(|i| Tile {
            local: i == 0,
            ..Tile::camera(p(i))
        })
        .collect()
}

fn run(req: &LayoutRequest<'_>) -> Layout {
    let out = layout(req);
    assert_sound(req, &out);
    out
}

fn grid(container: Size, tiles: &[Tile]) -> Layout {
    let mut req = LayoutRequest::new(container, tiles);
    req.mode = Mode::Grid;
    run(&req)
}

/// Distinct row tops and the tile size.
fn shape(out: &Layout) -> (usize, Size) {
    let mut tops: Vec<f64> = out.placed.iter().map(|p| p.rect.y).collect();
    tops.dedup();
    (tops.len(), out.placed[0].rect.size())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.01
}

#[test]
fn one_tile_fills_the_stage() {
    let out = grid(DESKTOP, &call(1));
    assert_eq!(out.placed[0].rect, Rect::new(0.0, 0.0, 1280.0, 720.0));
    let out = grid(PHONE, &call(1));
    let r = out.placed[0].rect;
    assert!(close(r.w, 390.0) && close(r.h, 219.375) && close(r.y, (844.0 - 219.375) / 2.0));
}

#[test]
fn desktop_grids_for_two_four_and_seven() {
    // Two side by side: 636 wide cells beat 356 high ones.
    let (rows, size) = shape(&grid(DESKTOP, &call(2)));
    assert_eq!(rows, 1);
    assert!(close(size.w, 636.0));
    assert_eq!(shape(&grid(DESKTOP, &call(4))).0, 2);
    // Seven: 3 × 3 with one tile, centred, in the last row.
    let out = grid(DESKTOP, &call(7));
    assert_eq!(shape(&out).0, 3);
    let last = out.placed[6].rect;
    assert!(close(last.x + last.w / 2.0, 640.0), "{last:?}");
}

#[test]
fn phone_grids_stack_in_one_column() {
    for n in [2, 4, 7] {
        let out = grid(PHONE, &call(n));
        assert_eq!(shape(&out).0, n as usize, "{n} tiles");
        assert!(out
            .placed
            .iter()
            .all(|t| close(t.rect.x + t.rect.w / 2.0, 195.0)));
    }
}

#[test]
fn thirty_tiles_page_with_ours_on_every_page() {
    for container in [DESKTOP, PHONE] {
        let tiles = call(30);
        let mut req = LayoutRequest::new(container, &tiles);
        let first = run(&req);
        assert_eq!(
            (first.pages, first.placed.len(), first.hidden.len()),
            (2, 25, 5)
        );
        req.page = 1;
        let second = run(&req);
        assert_eq!(second.placed.len(), 6, "ours and the 5 left");
        assert_eq!(second.placed[0].id, TileId::camera(p(0)));
        req.page = 7;
        assert_eq!(run(&req).page, 1, "a page past the end shows the last");
    }
}

#[test]
fn speaker_mode_puts_the_active_speaker_large() {
    let tiles = call(4);
    let mut req = LayoutRequest::new(DESKTOP, &tiles);
    req.mode = Mode::Speaker;
    req.active_speaker = Some(p(2));
    let out = run(&req);
    assert_eq!(
        (out.arrangement, out.main),
        (Arrangement::Speaker, Some(TileId::camera(p(2))))
    );
    let main = out.rect_of(TileId::camera(p(2))).unwrap();
    for t in out.placed.iter().filter(|t| t.id != TileId::camera(p(2))) {
        assert!(
            t.rect.y >= main.bottom(),
            "thumbnails below on a landscape stage"
        );
        assert!(t.rect.area() * 4.0 <= main.area() + 1e-6);
    }
    // With nobody speaking yet, someone else than us.
    req.active_speaker = None;
    assert_eq!(run(&req).main, Some(TileId::camera(p(1))));
}

#[test]
fn speaker_mode_on_a_phone_stacks_main_and_thumbnails() {
    let tiles = call(4);
    let mut req = LayoutRequest::new(PHONE, &tiles);
    req.mode = Mode::Speaker;
    req.active_speaker = Some(p(3));
    let out = run(&req);
    let main = out.rect_of(TileId::camera(p(3))).unwrap();
    assert!(close(main.w, 390.0));
    assert!(out.hidden.is_empty());
    assert!(out
        .placed
        .iter()
        .filter(|t| t.rect != main)
        .all(|t| t.rect.y >= main.bottom()));
}

#[test]
fn a_full_strip_hides_the_rest_but_keeps_ours() {
    let tiles = call(30);
    let mut req = LayoutRequest::new(DESKTOP, &tiles);
    req.mode = Mode::Speaker;
    req.active_speaker = Some(p(29));
    let out = run(&req);
    assert!(
        !out.hidden.is_empty() && out.placed.len() > 5,
        "{} shown",
        out.placed.len()
    );
    assert!(
        out.rect_of(TileId::camera(p(0))).is_some(),
        "our own tile stays"
    );
    assert!(out.is_hidden(TileId::camera(p(28))));
    assert_eq!(out.pages, 1);
}

#[test]
fn a_screen_share_switches_auto_to_presentation() {
    let mut tiles = call(3);
    tiles.push(Tile {
        aspect: Some(1920.0 / 1200.0),
        ..Tile::screen(p(2))
    });
    let out = run(&LayoutRequest::new(DESKTOP, &tiles));
    assert_eq!(out.arrangement, Arrangement::Presentation);
    assert_eq!(out.main, Some(TileId::screen(p(2))));
    assert_eq!(
        out.placed.len(),
        4,
        "the sharer's camera is a thumbnail too"
    );
    let screen = out.rect_of(TileId::screen(p(2))).unwrap();
    assert!(close(screen.w / screen.h, 1.6));
    // The grid mode, chosen explicitly, still shows the share as one tile among others.
    let mut req = LayoutRequest::new(DESKTOP, &tiles);
    req.mode = Mode::Grid;
    assert_eq!(run(&req).arrangement, Arrangement::Grid);
}

#[test]
fn a_pin_wins_over_the_speaker_and_the_screen() {
    let mut tiles = call(4);
    tiles.push(Tile::screen(p(3)));
    tiles[1].pinned = true;
    for mode in [Mode::Auto, Mode::Speaker, Mode::Presentation] {
        let mut req = LayoutRequest::new(DESKTOP, &tiles);
        req.mode = mode;
        req.active_speaker = Some(p(2));
        let out = run(&req);
        assert_eq!(out.main, Some(TileId::camera(p(1))), "{mode:?}");
        assert_eq!(out.arrangement, Arrangement::Speaker);
    }
}

#[test]
fn without_a_pin_or_screen_auto_is_a_grid() {
    let out = run(&LayoutRequest::new(DESKTOP, &call(5)));
    assert_eq!((out.arrangement, out.main), (Arrangement::Grid, None));
}

#[test]
fn cameras_off_keep_the_default_shape() {
    let tiles: Vec<Tile> = call(2)
        .into_iter()
        .map(|t| Tile { aspect: None, ..t })
        .collect();
    let out = grid(DESKTOP, &tiles);
    let r = out.placed[0].rect;
    assert!(close(r.w / r.h, 16.0 / 9.0));
    assert!(!tiles[0].has_video());
}

#[test]
fn portrait_videos_get_portrait_tiles() {
    let tiles: Vec<Tile> = call(2)
        .into_iter()
        .map(|t| Tile {
            aspect: Some(9.0 / 16.0),
            ..t
        })
        .collect();
    let r = grid(DESKTOP, &tiles).placed[0].rect;
    assert!(close(r.h, 720.0) && close(r.w, 405.0));
}

#[test]
fn a_repeated_tile_counts_once() {
    let mut tiles = call(2);
    tiles.push(tiles[1].clone());
    let out = grid(DESKTOP, &tiles);
    assert_eq!(out.placed.len(), 2);
}

#[test]
fn no_tiles_no_rectangles() {
    let out = run(&LayoutRequest::new(DESKTOP, &[]));
    assert!(out.placed.is_empty() && out.hidden.is_empty());
    assert_eq!(out.pages, 1);
}

#[test]
fn a_zero_stage_places_empty_rectangles() {
    let out = grid(Size::new(0.0, f64::NAN), &call(3));
    assert!(out.placed.iter().all(|t| t.rect.area() == 0.0));
}
