//! Numbers as the page shows them (pixels, frame rates, percentages), written without
//! Rust's float formatting: `format!("{:.1}", x)` brings about 12 KB of formatting code
//! into the wasm, for a handful of numbers on screen.

/// `value` with `places` decimals, as `format!("{value:.places$}")` writes it, except
/// that a tie rounds away from zero (never visible at these precisions).
pub fn fixed(value: f64, places: u32) -> String {
    let scale = 10u64.pow(places);
    // `as` saturates: NaN shows as 0, which no caller passes.
    let scaled = (value.abs() * scale as f64 + 0.5).floor() as u64;
    let sign = if value < 0.0 && scaled != 0 { "-" } else { "" };
    let whole = scaled / scale;
    if places == 0 {
        format!("{sign}{whole}")
    } else {
        let fraction = scaled % scale;
        format!("{sign}{whole}.{fraction:0width$}", width = places as usize)
    }
}
