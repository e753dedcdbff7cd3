//! Speaker and presentation layouts: one main tile as large as it can be, the other
//! tiles as thumbnails in a strip beside or below it.

use super::geometry::{fit, Rect, Size};
use super::grid::best_fit;

/// Where the main tile and the thumbnails go.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spotlight {
    pub main: Rect,
    /// One rectangle per thumbnail that fits, at most as many as asked for; the rest
    /// of the thumbnails are hidden.
    pub thumbs: Vec<Rect>,
}

/// How the strip is sized.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StripRules {
    pub gap: f64,
    /// The share of the container (its height for a bottom strip, its width for a side
    /// strip) kept free of the main tile for the strip.
    pub share: f64,
    /// Thumbnails narrower than this are not worth showing: the strip shows fewer.
    pub min_thumb_width: f64,
}

/// Lays out a main tile of `main_aspect` and up to `others` thumbnails of
/// `thumb_aspect` in `container`.
///
/// The strip goes to the right when the main tile at full height still leaves the
/// strip's share of the width free (a wide window, or a 4:3 screen share), and at the
/// bottom otherwise (a 16:9 window, a phone held upright). Inside its band the
/// thumbnails form a grid of their own, as large as fits but never larger than a
/// quarter of the main tile, and the main tile and the thumbnails are centred together
/// so that a phone's spare height is not one big hole between them.
pub(crate) fn spotlight(
    container: Size,
    main_aspect: f64,
    others: usize,
    thumb_aspect: f64,
    rules: StripRules,
) -> Spotlight {
    let (w, h, gap) = (container.w, container.h, rules.gap);
    let alone = || Spotlight {
        main: centred(fit(main_aspect, container), container),
        thumbs: Vec::new(),
    };
    if others == 0 {
        return alone();
    }
    let side = h * main_aspect + gap + rules.share * w <= w;
    let (main, band) = if side {
        let main = fit(main_aspect, Size::new(w * (1.0 - rules.share) - gap, h));
        (main, Size::new(w - main.w - gap, h))
    } else {
        let main = fit(main_aspect, Size::new(w, h * (1.0 - rules.share) - gap));
        (main, Size::new(w, h - main.h - gap))
    };
    if main.area() <= 0.0 || band.area() <= 0.0 {
        return alone();
    }
    let max_thumb_area = main.area() / 4.0;
    let readable = (1..=others).rev().find_map(|k| {
        let grid = best_fit(k, band, thumb_aspect, gap, max_thumb_area);
        (grid.tile.w >= rules.min_thumb_width).then_some((k, grid))
    });
    let Some((k, grid)) = readable else {
        return alone();
    };
    let block = grid.block(k, gap);
    if side {
        let left = (w - (main.w + gap + block.w)).max(0.0) / 2.0;
        let strip = Rect::new(left + main.w + gap, 0.0, block.w, h);
        Spotlight {
            main: Rect::new(left, (h - main.h) / 2.0, main.w, main.h),
            thumbs: grid.place(k, strip, gap),
        }
    } else {
        let top = (h - (main.h + gap + block.h)).max(0.0) / 2.0;
        let strip = Rect::new(0.0, top + main.h + gap, w, block.h);
        Spotlight {
            main: Rect::new((w - main.w) / 2.0, top, main.w, main.h),
            thumbs: grid.place(k, strip, gap),
        }
    }
}

fn centred(size: Size, container: Size) -> Rect {
    Rect::new(
        (container.w - size.w) / 2.0,
        (container.h - size.h) / 2.0,
        size.w,
        size.h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: f64 = 16.0 / 9.0;
    const RULES: StripRules = StripRules {
        gap: 8.0,
        share: 0.2,
        min_thumb_width: 96.0,
    };

    #[test]
    fn a_wide_window_gets_a_bottom_strip() {
        let s = spotlight(Size::new(1280.0, 720.0), WIDE, 3, WIDE, RULES);
        assert_eq!(s.thumbs.len(), 3);
        assert!(s.thumbs.iter().all(|t| t.y >= s.main.bottom()));
    }

    #[test]
    fn a_four_by_three_share_gets_a_side_strip() {
        let s = spotlight(Size::new(1280.0, 720.0), 4.0 / 3.0, 3, WIDE, RULES);
        assert_eq!(s.main.h, 720.0);
        assert!(s.thumbs.iter().all(|t| t.x >= s.main.right()));
    }

    #[test]
    fn no_room_for_thumbnails_leaves_the_main_tile_alone() {
        let s = spotlight(Size::new(200.0, 120.0), WIDE, 3, WIDE, RULES);
        assert!(s.thumbs.is_empty());
        assert_eq!(s.main.h, 112.5);
    }
}
