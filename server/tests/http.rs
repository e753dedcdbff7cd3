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
    serve_dir(dir).await
}

/// A server for the app in `dir`.
async fn serve_dir(dir: TempDir) -> (TestServer, TempDir) {
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

const HASHED: &str = "/nonstop-app-3f2a9c1d0b7e6a54_bg.wasm";

/// A folder as `scripts/setup` leaves it: a hashed asset with its `.br` and `.gz`.
async fn serve_precompressed() -> (TestServer, TempDir) {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    let name = HASHED.trim_start_matches('/');
    std::fs::write(dir.path().join(name), b"\0asm raw bytes".repeat(100)).unwrap();
    // Not real compressed data: the test checks which file is sent, byte for byte.
    std::fs::write(dir.path().join(format!("{name}.br")), b"brotli body").unwrap();
    std::fs::write(dir.path().join(format!("{name}.gz")), b"gzip body").unwrap();
    serve_dir(dir).await
}

#[tokio::test]
async fn hashed_assets_come_precompressed_and_cached_for_good() {
    let (server, _dir) = serve_precompressed().await;
    let (status, head, body) = http_get(
        server.addr,
        HASHED,
        &[("Accept-Encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(body, b"brotli body");
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(head.contains("content-type: application/wasm"), "{head}");
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    assert!(head.contains("vary: accept-encoding"), "{head}");

    let (status, head, body) = http_get(server.addr, HASHED, &[("Accept-Encoding", "gzip")]).await;
    assert_eq!((status, body.as_slice()), (200, b"gzip body".as_slice()));
    assert!(head.contains("content-encoding: gzip"), "{head}");

    let (status, head, body) = http_get(server.addr, HASHED, &[]).await;
    assert_eq!(status, 200);
    assert!(!head.contains("content-encoding"), "{head}");
    assert_eq!(body, b"\0asm raw bytes".repeat(100));
}

#[tokio::test]
async fn the_page_is_revalidated_on_every_load() {
    let (server, _dir) = serve_precompressed().await;
    for path in ["/", "/calm-otter", "/index.html"] {
        let (status, head, _) = http_get(server.addr, path, &[]).await;
        assert_eq!(status, 200, "{path}: {head}");
        assert!(head.contains("cache-control: no-cache"), "{path}: {head}");
        let last_modified = head
            .lines()
            .find_map(|l| l.strip_prefix("last-modified: "))
            .map(http_date_case)
            .unwrap_or_else(|| panic!("{path}: no last-modified in {head}"));
        let (status, head, body) =
            http_get(server.addr, path, &[("If-Modified-Since", &last_modified)]).await;
        assert_eq!(status, 304, "{path}: {head}");
        assert!(body.is_empty());
    }
}

/// Undoes `http_get`'s lower-casing of a date: `sun, 29 nov 2026 22:29:35 gmt` back
/// to `Sun, 29 Nov 2026 22:29:35 GMT`.
fn http_date_case(date: &str) -> String {
    date.split(' ')
        .map(|word| match word {
            "gmt" => "GMT".to_owned(),
            _ => {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn only_the_configured_sites_may_frame_the_app() {
    // By default, nobody: browsers refuse to show the page in another site's frame.
    let (server, _dir) = serve_app().await;
    for path in ["/", "/calm-otter", "/assets/app-1234.js"] {
        let (status, head, _) = http_get(server.addr, path, &[]).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            head.contains("content-security-policy: frame-ancestors 'none'"),
            "{path}: {head}"
        );
    }

    let dir = TempDir::new();
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    let server = TestServer::start(Settings {
        static_dir: dir.path().to_path_buf(),
        embed_origins: vec![
            "https://www.example.org".into(),
            "http://127.0.0.1:9000".into(),
        ],
        ..Settings::default()
    })
    .await;
    let (_, head, _) = http_get(server.addr, "/calm-otter", &[]).await;
    assert!(
        head.contains(
            "content-security-policy: frame-ancestors https://www.example.org http://127.0.0.1:9000"
        ),
        "{head}"
    );

    // The embedding scripts: the host page's as it is, the frame's answering the same
    // origins the browser lets frame the page.
    let (status, head, body) = http_get(server.addr, "/embed.js", &[]).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/javascript"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("window.Nonstop = { createFrame }"));
    let (status, _, body) = http_get(server.addr, "/embed-frame.js", &[]).await;
    assert_eq!(status, 200);
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains(
            r#"const ALLOWED_ORIGINS = ["https://www.example.org","http://127.0.0.1:9000"];"#
        ),
        "{body}"
    );
}
