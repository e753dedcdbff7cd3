//! Which web pages may open the signaling WebSocket: the `Origin` check on `/ws`.
//!
//! Browsers send `Origin` with every WebSocket handshake and never let a page forge
//! it, so this is what stops a page on another site from using the server (joining
//! meetings, collecting TURN credentials) from its visitors' browsers. Allowed:
//! - the server's own origin: `http://` or `https://` plus the `Host` the request came
//!   to, or the `X-Forwarded-Host` a proxy in front of it reports (behind a TLS reverse
//!   proxy, the public name; under `trunk serve`, the dev server's `127.0.0.1:8000`:
//!   Trunk forwards the browser's headers, puts the backend in `Host` and the original
//!   host in `X-Forwarded-Host`). A page cannot set either header on a WebSocket
//!   handshake, and a page from another site has its own origin in `Origin`, so this
//!   admits no other site;
//! - every origin given with `--allowed-origin` (`*` allows any);
//! - requests without `Origin`: not from a browser page (a command-line client, a test,
//!   a proxy that opens its own connection, such as `trunk serve`'s). A non-browser
//!   client can send any `Origin` it likes, so refusing it would stop nobody; the check
//!   protects browsers' users, whose pages cannot omit the header.

use axum::http::{header, HeaderMap};

/// The configured allow-list (`--allowed-origin`), normalized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    any: bool,
    listed: Vec<String>,
}

impl AllowedOrigins {
    /// From the flag's values: origins like `https://meet.example.org` (scheme, host,
    /// optional port; no path), or `*`. Refused: anything else, so a typo does not
    /// silently lock everyone out.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<AllowedOrigins, String> {
        let mut allowed = AllowedOrigins::default();
        for value in values {
            let value = value.as_ref().trim();
            if value.is_empty() {
                continue;
            }
            if value == "*" {
                allowed.any = true;
                continue;
            }
            match parse_origin(value) {
                Some(origin) => allowed.listed.push(origin),
                None => {
                    return Err(format!(
                        "--allowed-origin {value:?}: expected an origin like https://meet.example.org or http://127.0.0.1:8000, or *"
                    ))
                }
            }
        }
        Ok(allowed)
    }

    /// `Ok` if a handshake with these headers may proceed; otherwise the refused origin.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let Ok(origin) = origin.to_str() else {
            return Err(String::from_utf8_lossy(origin.as_bytes()).into_owned());
        };
        if self.any {
            return Ok(());
        }
        let origin_n = normalize(origin);
        if self.listed.contains(&origin_n) {
            return Ok(());
        }
        let own = headers
            .get_all(header::HOST)
            .iter()
            .chain(headers.get_all("x-forwarded-host"))
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(','))
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty());
        for host in own {
            if origin_n == normalize(&format!("http://{host}"))
                || origin_n == normalize(&format!("https://{host}"))
            {
                return Ok(());
            }
        }
        Err(origin.to_owned())
    }
}

/// `value` as a normalized web origin (`http(s)://host[:port]`, no path), if it is one.
pub fn parse_origin(value: &str) -> Option<String> {
    let normalized = normalize(value);
    let host = normalized
        .strip_prefix("http://")
        .or_else(|| normalized.strip_prefix("https://"))?;
    (!host.is_empty() && !host.contains(['/', '?', '#', ' ', ',', ';', '\''])).then_some(normalized)
}

/// Lower case, no trailing slash, no default port.
fn normalize(origin: &str) -> String {
    let mut o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("http://", ":80"), ("https://", ":443")] {
        if o.starts_with(scheme) && o.ends_with(port) {
            o.truncate(o.len() - port.len());
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn by_default_only_the_servers_own_origin_and_non_browsers() {
        let none = AllowedOrigins::default();
        assert!(none
            .check(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"))
            .is_ok());
        assert!(none
            .check(&headers(
                Some("https://Meet.Example.org"),
                "meet.example.org"
            ))
            .is_ok());
        assert!(none
            .check(&headers(
                Some("https://meet.example.org:443/"),
                "meet.example.org"
            ))
            .is_ok());
        assert!(none.check(&headers(None, "127.0.0.1:8080")).is_ok());
        assert_eq!(
            none.check(&headers(Some("http://localhost:8080"), "127.0.0.1:8080")),
            Err("http://localhost:8080".into())
        );
        assert!(none
            .check(&headers(Some("http://127.0.0.1:8000"), "127.0.0.1:8080"))
            .is_err());
        assert!(none
            .check(&headers(Some("null"), "127.0.0.1:8080"))
            .is_err());
        assert!(none
            .check(&headers(Some("https://evil.example"), "meet.example.org"))
            .is_err());
    }

    #[test]
    fn the_host_a_proxy_forwarded_counts_as_own() {
        // What `trunk serve` on :8000 sends to the server on :8080.
        let mut h = headers(Some("http://127.0.0.1:8000"), "127.0.0.1");
        h.insert("x-forwarded-host", "127.0.0.1:8000".parse().unwrap());
        assert!(AllowedOrigins::default().check(&h).is_ok());
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(AllowedOrigins::default().check(&h).is_err());
    }

    #[test]
    fn listed_origins_and_the_wildcard() {
        let dev =
            AllowedOrigins::parse(&[" http://127.0.0.1:8000 ", "https://meet.example.org/", ""])
                .unwrap();
        assert!(dev
            .check(&headers(Some("http://127.0.0.1:8000"), "127.0.0.1:8080"))
            .is_ok());
        assert!(dev
            .check(&headers(Some("https://meet.example.org"), "10.0.0.5:8080"))
            .is_ok());
        assert!(dev
            .check(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"))
            .is_ok());
        assert!(dev
            .check(&headers(Some("http://127.0.0.1:9999"), "127.0.0.1:8080"))
            .is_err());
        let any = AllowedOrigins::parse(&["*"]).unwrap();
        assert!(any
            .check(&headers(Some("https://evil.example"), "x"))
            .is_ok());
        for bad in [
            "example.org",
            "ftp://x",
            "https://x/path",
            "https://",
            "http://a,b",
        ] {
            assert!(AllowedOrigins::parse(&[bad]).is_err(), "{bad}");
        }
    }
}
