//! `/metrics`: the Prometheus text format, counters that move with joins, relays
//! and rejections, and the option to serve it on another address.

mod common;

use common::TestServer;
use nonstop_core::protocol::{ClientMsg, ServerMsg};

/// The number on the line of `/metrics` that starts with `series ` (0 when absent).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

async fn scrape(server: &TestServer) -> String {
    let (status, head, body) = common::http_get(server.addr, "/metrics", &[]).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn metrics_count_joins_relays_and_rejections() {
    let server = TestServer::start_default().await;
    // Counters are process-wide (other tests run alongside): compare before/after.
    let before = scrape(&server).await;
    let (mut ada, ada_id) = server.joined("metrics-room", "Ada").await;
    let (mut bob, _bob_id) = server.joined("metrics-room", "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));
    bob.send(&ClientMsg::Offer {
        to: ada_id,
        sdp: "v=0".into(),
    })
    .await;
    assert!(matches!(ada.recv().await, ServerMsg::Offer { .. }));
    ada.send_text("not json").await;
    assert!(matches!(ada.recv().await, ServerMsg::Error { .. }));

    let after = scrape(&server).await;
    assert_eq!(metric(&after, "nonstop_rooms"), 1.0, "{after}");
    assert_eq!(metric(&after, "nonstop_participants"), 2.0, "{after}");
    assert!(metric(&after, "nonstop_connections_open") >= 2.0, "{after}");
    for series in [
        "nonstop_messages_relayed_total{type=\"offer\"}",
        "nonstop_relay_latency_seconds_count{type=\"offer\"}",
        "nonstop_rejections_total{code=\"malformed\"}",
        "nonstop_connections_total",
    ] {
        assert!(
            metric(&after, series) > metric(&before, series),
            "{series} did not move:\n{after}"
        );
    }
}

#[tokio::test]
async fn metrics_can_move_off_the_public_port() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = probe.local_addr().unwrap();
    drop(probe);
    let server = TestServer::start(nonstop_server::Settings {
        static_dir: "/nonexistent/nonstop-test".into(),
        metrics_addr: Some(metrics_addr),
        ..Default::default()
    })
    .await;
    let (status, _, _) = common::http_get(server.addr, "/metrics", &[]).await;
    assert_eq!(status, 404);
    // The second listener starts with the server; give it a moment.
    let mut tries = 0;
    let text = loop {
        match tokio::net::TcpStream::connect(metrics_addr).await {
            Ok(_) => break common::http_get(metrics_addr, "/metrics", &[]).await.2,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("metrics listener: {e}"),
        }
    };
    assert!(String::from_utf8(text).unwrap().contains("nonstop_rooms 0"));
}
