//! The two halves of the embedding bridge (README, "Embedding"): `/embed.js`, which a
//! developer's page loads to put the call in a frame, and `/embed-frame.js`, which the
//! meeting page loads when it finds itself in one. The second gets the `--embed-origin`
//! list written in: it answers only those sites, the same ones the browser lets frame
//! the page (`static_files`, `frame-ancestors`).

use std::sync::Arc;

use axum::http::header;
use axum::routing::get;
use axum::Router;

use crate::static_files::REVALIDATE;

const HOST_SCRIPT: &str = include_str!("../../public/embed.js");
const FRAME_SCRIPT: &str = include_str!("../../public/embed-frame.js");
/// Where the frame script's list of allowed origins goes.
const ORIGINS_SLOT: &str = "/*ORIGINS*/[]";

/// The frame script with `origins` (already checked to be origins) in it.
pub fn frame_script(origins: &[String]) -> String {
    let list = serde_json::to_string(origins).unwrap_or_else(|_| "[]".into());
    FRAME_SCRIPT.replacen(ORIGINS_SLOT, &list, 1)
}

/// `GET /embed.js` and `GET /embed-frame.js`.
pub fn router<S: Clone + Send + Sync + 'static>(origins: &[String]) -> Router<S> {
    let frame: Arc<str> = frame_script(origins).into();
    Router::new()
        .route("/embed.js", get(|| async { (headers(), HOST_SCRIPT) }))
        .route(
            "/embed-frame.js",
            get(move || async move { (headers(), frame.to_string()) }),
        )
}

/// Scripts, revalidated on each use: a new server version may change them.
fn headers() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, REVALIDATE),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_script_carries_the_allowed_origins() {
        assert!(FRAME_SCRIPT.contains(ORIGINS_SLOT));
        let script = frame_script(&[
            "https://shop.example".into(),
            "http://127.0.0.1:8080".into(),
        ]);
        assert!(script.contains(
            r#"const ALLOWED_ORIGINS = ["https://shop.example","http://127.0.0.1:8080"];"#
        ));
        assert!(frame_script(&[]).contains("const ALLOWED_ORIGINS = [];"));
    }
}
