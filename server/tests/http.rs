//! The app's files, the fallback to index.html for meeting links, and /healthz.

mod common;

use common::{http_get, TempDir, TestServer};
use nonstop_server::Settings;

const INDEX: &str =
    "<!doctype html><html><head><title>Nonstop</title></head><body>app</body></html>";

async fn serve_app() -> (TestServer, TempDir) {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    // Big and repetitive enough to be worth compressing.
    let script = "console.log('nonstop');\n".repeat(200);
    std::fs::write(dir.path().join("assets/app-1234.js"), script).unwrap();
    let server = TestServer::start(Settings {
        static_dir: dir.path().to_path_buf(),
        ..Settings::default()
    })
    .await;
    (server, dir)
}

#[tokio::test]
async fn meeting_links_get_the_app() {
    let (server, _dir) = serve_app().await;
    for path in [
        "/",
        "/calm-otter",
        "/Team_Sync-2",
        "/some/deeper/path",
        "/assets",
    ] {
        let (status, head, body) = http_get(server.addr, path, &[]).await;
        assert_eq!(status, 200, "{path}: {head}");
        assert!(head.contains("content-type: text/html"), "{path}: {head}");
        assert!(head.contains("cache-control: no-cache"), "{path}: {head}");
        assert_eq!(String::from_utf8(body).unwrap(), INDEX, "{path}");
    }
}

#[tokio::test]
async fn real_files_are_served_as_they_are_and_missing_ones_are_404() {
    let (server, dir) = serve_app().await;
    let (status, head, body) = http_get(server.addr, "/assets/app-1234.js", &[]).await;
    assert_eq!(status, 200);
    assert!(head.contains("javascript"), "{head}");
    assert_eq!(
        body,
        std::fs::read(dir.path().join("assets/app-1234.js")).unwrap()
    );

    let (status, _, _) = http_get(server.addr, "/assets/missing-5678.wasm", &[]).await;
    assert_eq!(status, 404, "a missing asset is not answered with the app");
}

#[tokio::test]
async fn responses_are_gzipped_for_clients_that_accept_it() {
    let (server, _dir) = serve_app().await;
    let (status, head, body) = http_get(
        server.addr,
        "/assets/app-1234.js",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(body.len() < 200 * 24, "compressed: {} bytes", body.len());
}

#[tokio::test]
async fn healthz_says_ok_even_without_an_app() {
    let server = TestServer::start_default().await;
    let (status, _, body) = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!((status, body.as_slice()), (200, b"ok".as_slice()));
    // No app folder: meeting links get a clear 404 rather than a crash.
    let (status, _, _) = http_get(server.addr, "/calm-otter", &[]).await;
    assert_eq!(status, 404);
}
