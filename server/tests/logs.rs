//! What an attacker can make the server log: escaped, cut short and rate-limited
//! client text, never an SDP or a token (at any level). One test: it installs the
//! process's log subscriber.

mod common;

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::{TestServer, PATIENCE};
use nonstop_core::protocol::{ClientMsg, MediaState, ServerMsg, PROTOCOL_VERSION};
use nonstop_server::Settings;
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn attacker_text_is_escaped_cut_and_rate_limited_and_secrets_never_logged() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let server = TestServer::start(Settings {
        static_dir: PathBuf::from("/nonexistent/nonstop-test"),
        session_secret: Some("test-session-secret".into()),
        ..Settings::default()
    })
    .await;
    let (mut ada, ada_id) = server.joined("calm-otter", "Ada").await;
    let (mut bob, bob_id) = server.joined("calm-otter", "Bob").await;
    assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));

    // Secrets that must not reach the log at any level: an SDP, and a resume token.
    bob.send(&ClientMsg::Offer {
        to: ada_id,
        sdp: "v=0 SECRET-SDP-MARKER".into(),
    })
    .await;
    assert!(matches!(ada.recv().await, ServerMsg::Offer { .. }));
    let mut thief = server.connect().await;
    thief
        .send(&ClientMsg::Resume {
            protocol: PROTOCOL_VERSION,
            room: "calm-otter".into(),
            name: "Ada".into(),
            media: MediaState::default(),
            id: bob_id,
            token: "SECRET-TOKEN-MARKER".into(),
        })
        .await;
    assert!(matches!(thief.recv().await, ServerMsg::Error { .. }));

    // The flood: 1,000 rejected messages of 64 KB, each forging a log line
    // (was: 62 MiB of log in 1.7 s, and a fake ERROR line).
    let forged = format!(
        // `\\n` in JSON: serde's "unknown variant" error quotes a real newline.
        "{{\"type\":\"nope\\nERROR forged line{}\"}}",
        "x".repeat(64 * 1000)
    );
    let mut mal = server.connect().await;
    for _ in 0..1_000 {
        if mal
            .try_send_frame(Message::text(forged.clone()))
            .await
            .is_err()
        {
            break;
        }
    }
    // It is closed for going over its rate (its own doing).
    while !matches!(
        tokio::time::timeout(PATIENCE, mal.next_event()).await,
        Ok(common::Event::Closed(_)) | Err(_)
    ) {}
    server.shut_down().await;

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("SECRET-SDP-MARKER"), "an SDP was logged");
    assert!(!text.contains("SECRET-TOKEN-MARKER"), "a token was logged");
    assert!(
        !text.lines().any(|l| l.starts_with("ERROR forged")),
        "a forged line got through"
    );
    assert!(
        text.contains("ERROR forged"),
        "the rejection is logged, escaped"
    );
    let rejected_lines = text
        .lines()
        .filter(|l| l.contains("rejected a message"))
        .count();
    assert!(rejected_lines <= 5 * 3, "{rejected_lines} rejection lines");
    assert!(text.len() < 64 * 1024, "{} bytes of log", text.len());
    eprintln!("{} bytes of log for the whole attack", text.len());
}
