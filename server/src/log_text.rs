//! Client text in logs: escaped (no forged lines, no terminal escapes) and cut short
//! (no log flooding), and rejection logs rate-limited per connection.

/// Most characters of client text a log line shows.
pub const MAX_LOGGED_CHARS: usize = 80;

/// Rejections logged per connection in full; the rest are counted.
const LOGGED_REJECTIONS: u32 = 5;

/// `text` as a log may show it: escaped like a Rust string literal's inside, at most
/// [`MAX_LOGGED_CHARS`] characters of it, and its length if it was cut.
pub fn for_log(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(MAX_LOGGED_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    let total = text.chars().count();
    if total > MAX_LOGGED_CHARS {
        shown.push_str(&format!("… ({} bytes)", text.len()));
    }
    shown
}

/// Decides which of one connection's rejections get a log line.
#[derive(Debug, Default)]
pub struct RejectionLog {
    logged: u32,
    unlogged: u64,
}

impl RejectionLog {
    /// Whether to log this rejection; the others are only counted.
    pub fn admit(&mut self) -> bool {
        if self.logged < LOGGED_REJECTIONS {
            self.logged += 1;
            true
        } else {
            self.unlogged += 1;
            false
        }
    }

    /// Rejections that were counted without a log line, for a summary at the end.
    pub fn unlogged(&self) -> u64 {
        self.unlogged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_and_escapes_cannot_forge_a_line() {
        let forged = "x\n2026-11-29T22:00:00Z ERROR fake\u{1b}[31m";
        let shown = for_log(forged);
        assert!(
            !shown.contains('\n') && !shown.contains('\u{1b}'),
            "{shown}"
        );
        assert!(shown.starts_with("x\\n2026"), "{shown}");
    }

    #[test]
    fn long_text_is_cut_with_its_length() {
        let shown = for_log(&"é".repeat(10_000));
        assert!(shown.starts_with(&"é".repeat(MAX_LOGGED_CHARS)));
        assert!(shown.ends_with("… (20000 bytes)"), "{shown}");
        assert_eq!(for_log("short"), "short");
    }

    #[test]
    fn the_first_few_rejections_are_logged_then_counted() {
        let mut log = RejectionLog::default();
        let logged = (0..100).filter(|_| log.admit()).count();
        assert_eq!((logged, log.unlogged()), (5, 95));
    }
}
