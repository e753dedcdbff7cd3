//! Chat text as the UI shows it: plain text with web links picked out, so the app can
//! render links as `<a>` elements and everything else as text nodes (never as HTML).
//!
//! Only `http://` and `https://` links count (no `javascript:` or `data:`); a link ends at
//! whitespace, and trailing punctuation that usually belongs to the sentence
//! (`.,;:!?` and an unbalanced closing bracket or quote) is left out of it.

/// A piece of a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    /// An `http(s)://` address, to show as a link to itself.
    Link(&'a str),
}

const SCHEMES: [&str; 2] = ["https://", "http://"];

/// Splits `text` into text and links, in order; concatenated they give `text` back.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest_start = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let scheme = SCHEMES
            .iter()
            .find(|s| text.len() - i >= s.len() && text[i..i + s.len()].eq_ignore_ascii_case(s));
        if let (true, Some(scheme)) = (at_word_start, scheme) {
            let end = text[i..]
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
                .map_or(text.len(), |e| i + e);
            let end = i + trim_trailing(&text[i..end]);
            if end > i + scheme.len() {
                if rest_start < i {
                    out.push(Segment::Text(&text[rest_start..i]));
                }
                out.push(Segment::Link(&text[i..end]));
                rest_start = end;
                i = end;
                continue;
            }
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    if rest_start < text.len() {
        out.push(Segment::Text(&text[rest_start..]));
    }
    out
}

/// Length of `link` without the punctuation that most likely ends the sentence.
fn trim_trailing(link: &str) -> usize {
    let mut end = link.len();
    loop {
        let Some(last) = link[..end].chars().next_back() else {
            return end;
        };
        let unbalanced = |open: char, close: char| {
            last == close && link[..end].matches(open).count() < link[..end].matches(close).count()
        };
        let strip = matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'')
            || unbalanced('(', ')')
            || unbalanced('[', ']');
        if !strip {
            return end;
        }
        end -= last.len_utf8();
    }
}

#[cfg(test)]
mod tests {
    use super::Segment::{Link, Text};
    use super::*;

    #[test]
    fn plain_text_is_one_segment() {
        assert_eq!(segments("hello there"), vec![Text("hello there")]);
        assert_eq!(segments(""), vec![]);
    }

    #[test]
    fn links_are_picked_out() {
        assert_eq!(
            segments("see https://example.com/a?b=1, then (http://x.org/y)."),
            vec![
                Text("see "),
                Link("https://example.com/a?b=1"),
                Text(", then ("),
                Link("http://x.org/y"),
                Text(")."),
            ]
        );
        assert_eq!(
            segments("https://en.wikipedia.org/wiki/Rust_(programming_language)"),
            vec![Link(
                "https://en.wikipedia.org/wiki/Rust_(programming_language)"
            )]
        );
    }

    #[test]
    fn other_schemes_and_bare_schemes_stay_text() {
        assert_eq!(
            segments("javascript:alert(1) data:text/html,x https:// xhttps://a.b"),
            vec![Text(
                "javascript:alert(1) data:text/html,x https:// xhttps://a.b"
            )]
        );
    }

    #[test]
    fn hostile_html_stays_text_and_stops_links() {
        let s = segments("<img src=x onerror=alert(1)>https://a.b/<script>");
        assert_eq!(
            s,
            vec![
                Text("<img src=x onerror=alert(1)>"),
                Link("https://a.b/"),
                Text("<script>"),
            ]
        );
    }

    #[test]
    fn segments_give_the_text_back() {
        for t in [
            "ünïcode https://é.fr/ü ok",
            "a https://b.c",
            "http://x http://y",
            "((https://a.b))",
        ] {
            let joined: String = segments(t)
                .iter()
                .map(|s| match s {
                    Text(x) | Link(x) => *x,
                })
                .collect();
            assert_eq!(joined, t);
        }
    }
}
