//! The grid solver: how many rows and columns give the biggest tiles, where each tile
//! goes, and which tiles make up a page.

use super::geometry::{fit, Rect, Size};

/// A grid shape and the tile size it gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GridFit {
    pub rows: usize,
    pub cols: usize,
    pub tile: Size,
}

/// The tile size for `rows` × `cols` cells in `space`: the largest box of the video's
/// aspect ratio that fits a cell, shrunk to `max_area` (thumbnails must stay small
/// next to the main tile; a plain grid passes infinity).
pub(crate) fn tile_size(
    rows: usize,
    cols: usize,
    space: Size,
    aspect: f64,
    gap: f64,
    max_area: f64,
) -> Size {
    let (rows, cols) = (rows.max(1) as f64, cols.max(1) as f64);
    let cell_w = (space.w - gap * (cols - 1.0)) / cols;
    let cell_h = (space.h - gap * (rows - 1.0)) / rows;
    let tile = fit(aspect, Size::new(cell_w, cell_h));
    if tile.area() > max_area {
        let scale = (max_area / tile.area()).sqrt();
        Size::new(tile.w * scale, tile.h * scale)
    } else {
        tile
    }
}

/// The shape that shows `n` tiles biggest. Every tile has the same size, so the
/// biggest tile is also the most video area. Only `ceil(n / cols)` rows are worth
/// trying for each column count: more rows only shrink the cells. On a tie the
/// fewer columns win, which leaves fewer empty cells.
pub(crate) fn best_fit(n: usize, space: Size, aspect: f64, gap: f64, max_area: f64) -> GridFit {
    let n = n.max(1);
    let mut best = GridFit {
        rows: n,
        cols: 1,
        tile: tile_size(n, 1, space, aspect, gap, max_area),
    };
    for cols in 2..=n {
        let rows = n.div_ceil(cols);
        let tile = tile_size(rows, cols, space, aspect, gap, max_area);
        if tile.area() > best.tile.area() {
            best = GridFit { rows, cols, tile };
        }
    }
    best
}

impl GridFit {
    /// The block the used rows and columns take, gaps included.
    pub fn block(&self, n: usize, gap: f64) -> Size {
        let rows = n.div_ceil(self.cols.max(1)).max(1) as f64;
        let cols = n.min(self.cols).max(1) as f64;
        Size::new(
            cols * self.tile.w + (cols - 1.0) * gap,
            rows * self.tile.h + (rows - 1.0) * gap,
        )
    }

    /// Rectangles for `n` tiles, row by row, the block centred in `area` and every row
    /// (the last, shorter one included) centred on its own.
    pub fn place(&self, n: usize, area: Rect, gap: f64) -> Vec<Rect> {
        let tile = self.tile;
        if tile.w <= 0.0 || tile.h <= 0.0 {
            // No room at all: empty rectangles in the middle, still inside the area.
            let centre = Rect::new(area.x + area.w / 2.0, area.y + area.h / 2.0, 0.0, 0.0);
            return vec![centre; n];
        }
        let cols = self.cols.max(1);
        let top = area.y + (area.h - self.block(n, gap).h).max(0.0) / 2.0;
        (0..n)
            .map(|i| {
                let (row, col) = (i / cols, i % cols);
                let in_row = (n - row * cols).min(cols) as f64;
                let row_w = in_row * tile.w + (in_row - 1.0) * gap;
                let left = area.x + (area.w - row_w).max(0.0) / 2.0;
                Rect::new(
                    left + col as f64 * (tile.w + gap),
                    top + row as f64 * (tile.h + gap),
                    tile.w,
                    tile.h,
                )
            })
            .collect()
    }
}

/// One page of a grid: which tiles (indices into the input) show on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    pub shown: Vec<usize>,
    pub page: usize,
    pub pages: usize,
}

/// Splits `n` tiles into pages of at most `page_size`. Sticky tiles (the local one, the
/// pinned ones) show on every page: people keep an eye on their own picture, and a pin
/// means "keep this in view". Unless they alone fill a page, in which case nothing is
/// sticky. `page` is clamped to the last page. Shown tiles keep their input order.
pub(crate) fn paginate(sticky: &[bool], page_size: usize, page: usize) -> Page {
    let n = sticky.len();
    let page_size = page_size.max(1);
    if n <= page_size {
        return Page {
            shown: (0..n).collect(),
            page: 0,
            pages: 1,
        };
    }
    let sticky_count = sticky.iter().filter(|s| **s).count();
    let keep = |i: usize| sticky_count < page_size && sticky[i];
    let rest: Vec<usize> = (0..n).filter(|i| !keep(*i)).collect();
    let per_page = if sticky_count < page_size {
        page_size - sticky_count
    } else {
        page_size
    };
    let pages = rest.len().div_ceil(per_page).max(1);
    let page = page.min(pages - 1);
    let on_page = &rest[(page * per_page).min(rest.len())..((page + 1) * per_page).min(rest.len())];
    let shown = (0..n).filter(|i| keep(*i) || on_page.contains(i)).collect();
    Page { shown, page, pages }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: f64 = 16.0 / 9.0;
    const NO_CAP: f64 = f64::INFINITY;

    #[test]
    fn four_tiles_in_a_wide_container_make_two_by_two() {
        let fit = best_fit(4, Size::new(1280.0, 720.0), WIDE, 0.0, NO_CAP);
        assert_eq!((fit.rows, fit.cols), (2, 2));
        assert_eq!(fit.tile, Size::new(640.0, 360.0));
    }

    #[test]
    fn a_short_last_row_is_centred() {
        let fit = best_fit(3, Size::new(1280.0, 720.0), WIDE, 0.0, NO_CAP);
        assert_eq!((fit.rows, fit.cols), (2, 2));
        let rects = fit.place(3, Rect::new(0.0, 0.0, 1280.0, 720.0), 0.0);
        assert_eq!(rects[2], Rect::new(320.0, 360.0, 640.0, 360.0));
    }

    #[test]
    fn sticky_tiles_show_on_every_page() {
        let mut sticky = vec![false; 30];
        sticky[7] = true;
        let first = paginate(&sticky, 25, 0);
        assert_eq!(first.pages, 2);
        assert_eq!(first.shown.len(), 25);
        let second = paginate(&sticky, 25, 1);
        assert_eq!(second.shown, vec![7, 25, 26, 27, 28, 29]);
        assert_eq!(paginate(&sticky, 25, 99).page, 1, "page clamps to the last");
    }

    #[test]
    fn sticky_tiles_that_fill_a_page_are_paged_like_the_rest() {
        let page = paginate(&[true, true, true], 2, 1);
        assert_eq!((page.shown, page.pages), (vec![2], 2));
    }
}
