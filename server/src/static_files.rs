//! The built app: files from the static folder as they are, and `index.html` for
//! every other path, because a meeting link (`/calm-otter`) is a route of the
//! single-page app, not a file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::handler::Handler;
use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use tower_http::services::ServeDir;
use tracing::warn;

/// A router that serves `dir`, falling back to `dir/index.html`.
pub fn router(dir: &Path) -> Router {
    let index = Arc::new(dir.join("index.html"));
    let spa = spa_fallback.with_state(index);
    // Folders (`/` included) go to the fallback too, so the page always comes from
    // one place, with one set of headers.
    let files = ServeDir::new(dir)
        .append_index_html_on_directories(false)
        .fallback(spa);
    Router::new().fallback_service(files)
}

/// Answers paths that name no file in the folder.
async fn spa_fallback(State(index): State<Arc<PathBuf>>, uri: Uri) -> Response {
    if looks_like_a_file(uri.path()) {
        // A missing script or wasm file answered with HTML fails in confusing ways
        // ("expected magic word"); meeting names never contain a dot.
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match tokio::fs::read(index.as_path()).await {
        // `no-cache`: after a deploy the page must name the new hashed assets.
        Ok(html) => ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response(),
        Err(e) => {
            warn!(path = %index.display(), error = %e, "cannot read the app's index.html");
            (
                StatusCode::NOT_FOUND,
                "the app is not built here (index.html is missing)",
            )
                .into_response()
        }
    }
}

/// Whether the last segment of `path` has an extension, like `app.wasm`.
fn looks_like_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::looks_like_a_file;

    #[test]
    fn meeting_links_are_not_files() {
        for path in ["/", "/calm-otter", "/Team_Sync-2", "/a/b"] {
            assert!(!looks_like_a_file(path), "{path}");
        }
        for path in ["/app.wasm", "/assets/index-3f2a.js", "/favicon.ico"] {
            assert!(looks_like_a_file(path), "{path}");
        }
    }
}
