//! Sizes and rectangles in CSS pixels, and fitting a video's aspect ratio into a box.

use serde::{Deserialize, Serialize};

/// A width and a height in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Size {
    pub w: f64,
    pub h: f64,
}

impl Size {
    pub const fn new(w: f64, h: f64) -> Size {
        Size { w, h }
    }

    pub fn area(self) -> f64 {
        self.w * self.h
    }

    /// NaN, infinite and negative lengths read as 0, so that bad input gives an empty
    /// layout instead of rectangles at NaN.
    pub(crate) fn sanitised(self) -> Size {
        Size::new(length(self.w), length(self.h))
    }
}

/// A rectangle in CSS pixels; `x` and `y` are its top left corner, relative to the
/// container's top left corner.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub const fn new(x: f64, y: f64, w: f64, h: f64) -> Rect {
        Rect { x, y, w, h }
    }

    pub fn size(self) -> Size {
        Size::new(self.w, self.h)
    }

    pub fn area(self) -> f64 {
        self.w * self.h
    }

    pub fn right(self) -> f64 {
        self.x + self.w
    }

    pub fn bottom(self) -> f64 {
        self.y + self.h
    }

    /// Whether the two share some area (touching edges do not count).
    pub fn overlaps(self, other: Rect) -> bool {
        let w = self.right().min(other.right()) - self.x.max(other.x);
        let h = self.bottom().min(other.bottom()) - self.y.max(other.y);
        w > 1e-9 && h > 1e-9
    }

    /// Whether `inner` lies within this rectangle, allowing `eps` pixels of rounding.
    pub fn contains(self, inner: Rect, eps: f64) -> bool {
        inner.x >= self.x - eps
            && inner.y >= self.y - eps
            && inner.right() <= self.right() + eps
            && inner.bottom() <= self.bottom() + eps
    }
}

/// A usable length: finite and not negative (anything else reads as 0).
pub(crate) fn length(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v.min(MAX_LENGTH)
    } else {
        0.0
    }
}

/// Longest length taken as it is, in CSS pixels: far beyond any screen, and small
/// enough that sums of rectangles stay exact to well under a pixel.
const MAX_LENGTH: f64 = 1.0e7;

/// Narrowest and widest aspect ratio (width / height) taken as it is: past these a
/// stats glitch or a 1-pixel-high window share would make a useless sliver.
const MIN_ASPECT: f64 = 0.2;
const MAX_ASPECT: f64 = 5.0;

/// A usable aspect ratio: `fallback` when missing, NaN or not positive, else clamped.
pub(crate) fn aspect_or(aspect: Option<f64>, fallback: f64) -> f64 {
    match aspect {
        Some(a) if a.is_finite() && a > 0.0 => a.clamp(MIN_ASPECT, MAX_ASPECT),
        _ => fallback,
    }
}

/// The largest box of the given aspect ratio that fits in `space`.
pub(crate) fn fit(aspect: f64, space: Size) -> Size {
    let (w, h) = (length(space.w), length(space.h));
    if w <= 0.0 || h <= 0.0 {
        return Size::default();
    }
    if w / h > aspect {
        // Space is wider than the video: height decides.
        Size::new(h * aspect, h)
    } else {
        Size::new(w, w / aspect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_the_aspect_ratio_and_stays_inside() {
        let s = fit(16.0 / 9.0, Size::new(1280.0, 1000.0));
        assert_eq!(s, Size::new(1280.0, 720.0));
        let s = fit(16.0 / 9.0, Size::new(2000.0, 720.0));
        assert_eq!(s, Size::new(1280.0, 720.0));
        assert_eq!(fit(1.0, Size::new(-5.0, f64::NAN)), Size::default());
    }

    #[test]
    fn bad_aspect_ratios_fall_back_or_clamp() {
        assert_eq!(aspect_or(None, 1.5), 1.5);
        assert_eq!(aspect_or(Some(f64::NAN), 1.5), 1.5);
        assert_eq!(aspect_or(Some(-1.0), 1.5), 1.5);
        assert_eq!(aspect_or(Some(1000.0), 1.5), MAX_ASPECT);
    }

    #[test]
    fn touching_rectangles_do_not_overlap() {
        let a = Rect::new(0.0, 0.0, 10.0, 10.0);
        assert!(!a.overlaps(Rect::new(10.0, 0.0, 10.0, 10.0)));
        assert!(a.overlaps(Rect::new(9.0, 9.0, 10.0, 10.0)));
        assert!(!a.overlaps(Rect::new(5.0, 5.0, 0.0, 0.0)));
    }
}
