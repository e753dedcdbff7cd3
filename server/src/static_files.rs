//! The built app: files from the static folder as they are, and `index.html` for
//! every other path, because a meeting link (`/calm-otter`) is a route of the
//! single-page app, not a file.
//!
//! `scripts/setup` writes a brotli (`.br`) and a gzip (`.gz`) copy next to each built
//! asset; a client that accepts either gets that copy as it is, with no work at
//! request time (the on-the-fly gzip layer in `lib.rs` leaves responses that carry a
//! `Content-Encoding` alone). Trunk names the assets after a hash of their content,
//! so those are cached for a year; everything else (`index.html`, which names them,
//! and unhashed files) is revalidated on each use (`no-cache` plus `Last-Modified`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tracing::warn;

/// For files whose name carries a hash of their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For everything else: cache, but ask the server before each use.
pub const REVALIDATE: &str = "no-cache";

/// A router that serves `dir`, falling back to `dir/index.html`. Only pages of
/// `embed_origins` may show them in a frame (none if empty): a
/// `Content-Security-Policy: frame-ancestors` on every answer, which browsers enforce
/// (and which keeps other sites from overlaying the meeting page, clickjacking).
pub fn router(dir: &Path, embed_origins: &[String]) -> Router {
    let frame_ancestors = frame_ancestors(embed_origins);
    let index = Arc::new(dir.join("index.html"));
    let spa = spa_fallback.with_state(index);
    // Folders (`/` included) go to the fallback too, so the page always comes from
    // one place, with one set of headers.
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .fallback(spa);
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
        .layer(middleware::map_response(move |mut response: Response| {
            let policy = frame_ancestors.clone();
            async move {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, policy);
                response
            }
        }))
}

/// The `Content-Security-Policy` that lets `origins` (already checked to be origins)
/// frame the app, and nobody when there are none.
fn frame_ancestors(origins: &[String]) -> HeaderValue {
    let sources = if origins.is_empty() {
        "'none'".to_owned()
    } else {
        origins.join(" ")
    };
    HeaderValue::from_str(&format!("frame-ancestors {sources}"))
        .unwrap_or(HeaderValue::from_static("frame-ancestors 'none'"))
}

/// Answers paths that name no file in the folder.
async fn spa_fallback(State(index): State<Arc<PathBuf>>, request: Request) -> Response {
    if looks_like_a_file(request.uri().path()) {
        // A missing script or wasm file answered with HTML fails in confusing ways
        // ("expected magic word"); meeting names never contain a dot.
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if let Err(e) = tokio::fs::metadata(index.as_path()).await {
        warn!(path = %index.display(), error = %e, "cannot read the app's index.html");
        return (
            StatusCode::NOT_FOUND,
            "the app is not built here (index.html is missing)",
        )
            .into_response();
    }
    // ServeFile answers conditional requests (`If-Modified-Since`) with 304.
    match ServeFile::new(index.as_path()).oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// `Cache-Control` by name (hashed or not) and `Vary: Accept-Encoding` on every
/// successful answer, since the same path has several encodings.
async fn cache_headers(request: Request, next: Next) -> Response {
    let immutable = is_hashed(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        let policy = if immutable { IMMUTABLE } else { REVALIDATE };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        if !headers.contains_key(header::VARY) {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    response
}

/// Whether the last segment of `path` has an extension, like `app.wasm`.
fn looks_like_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

/// Whether the file name ends in a content hash the way Trunk names its output:
/// `nonstop-app-3f2a9c1d0b7e6a54.js`, `nonstop-app-3f2a9c1d0b7e6a54_bg.wasm`,
/// `main-3f2a9c1d0b7e6a54.css` (the hash is lower-case hex, at least 8 digits here).
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _ext)) = name.split_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() >= 8
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::{is_hashed, looks_like_a_file};

    #[test]
    fn meeting_links_are_not_files() {
        for path in ["/", "/calm-otter", "/Team_Sync-2", "/a/b"] {
            assert!(!looks_like_a_file(path), "{path}");
        }
        for path in ["/app.wasm", "/assets/index-3f2a.js", "/favicon.ico"] {
            assert!(looks_like_a_file(path), "{path}");
        }
    }

    #[test]
    fn trunk_output_is_recognised_as_hashed() {
        for path in [
            "/nonstop-app-3f2a9c1d0b7e6a54.js",
            "/nonstop-app-3f2a9c1d0b7e6a54_bg.wasm",
            "/main-9c1d0b7e6a54.css",
        ] {
            assert!(is_hashed(path), "{path}");
        }
        for path in [
            "/",
            "/index.html",
            "/favicon.svg",
            "/calm-otter",
            "/brisk-otter-maple-0421",
            "/app-1234.js",
            "/main-3F2A9C1D0B7E6A54.css",
        ] {
            assert!(!is_hashed(path), "{path}");
        }
    }
}
