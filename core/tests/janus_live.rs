//! The Janus client against a real Janus 1.1.2 (`/usr/bin/janus`), over its WebSocket
//! API, with signed tokens. Signaling only: the SDPs are hand-made, no media flows.
//! Janus is started here with a minimal configuration (VideoRoom and WebSockets only,
//! token auth, one room with a pin, `signed_tokens`, `require_pvtid`, `string_ids`).
//! It needs a private network namespace:
//!
//! ```text
//! cargo test -p nonstop-core --test janus_live --no-run
//! scripts/netns-run cargo test -p nonstop-core --test janus_live -- --ignored --test-threads 1
//! ```
//! `JANUS_LIVE_PRINT=1` prints every frame both ways.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use nonstop_core::janus::{JanusClient, JanusError, JanusEvent, RoomAccess};
use nonstop_core::layout::TileKind;
use nonstop_core::time::Time;
use nonstop_core::ParticipantId;
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const PORT: u16 = 18188;
const SECRET: &str = "live-test-token-secret";
const ROOM: &str = "live-room-7f3a9c";
const PIN: &str = "4821";

/// Janus with its own configuration folder, killed when dropped.
struct Janus {
    child: Child,
    dir: std::path::PathBuf,
}

impl Janus {
    fn start() -> Janus {
        let dir = std::env::temp_dir().join(format!("nonstop-janus-live-{}", std::process::id()));
        let lib = "/usr/lib/x86_64-linux-gnu/janus";
        for sub in ["plugins", "transports", "none"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let link = |from: &str, to: &str| {
            let _ = std::os::unix::fs::symlink(format!("{lib}/{from}"), dir.join(to));
        };
        link(
            "plugins/libjanus_videoroom.so",
            "plugins/libjanus_videoroom.so",
        );
        link(
            "transports/libjanus_websockets.so",
            "transports/libjanus_websockets.so",
        );
        let d = dir.display();
        let write = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
        write(
            "janus.jcfg",
            format!(
                "general: {{ configs_folder = \"{d}\", plugins_folder = \"{d}/plugins\",
                  transports_folder = \"{d}/transports\", events_folder = \"{d}/none\",
                  loggers_folder = \"{d}/none\", debug_level = 4,
                  admin_secret = \"live-admin-secret\", token_auth = true,
                  token_auth_secret = \"{SECRET}\" }}
                media: {{ rtp_port_range = \"20000-20100\" }}\n"
            ),
        );
        write(
            "janus.plugin.videoroom.jcfg",
            format!(
                "general: {{ admin_key = \"live-admin-key\", lock_rtp_forward = true, string_ids = true }}
                room-{ROOM}: {{ description = \"live\", is_private = true, secret = \"room-secret\",
                  pin = \"{PIN}\", require_pvtid = true, publishers = 10, signed_tokens = true,
                  videocodec = \"vp8\", audiocodec = \"opus\", audiolevel_event = true }}\n"
            ),
        );
        write(
            "janus.transport.websockets.jcfg",
            format!(
                "general: {{ ws = true, ws_port = {PORT}, ws_ip = \"127.0.0.1\" }}
                admin: {{ admin_ws = false }}\n"
            ),
        );
        let log = std::fs::File::create(dir.join("janus.log")).unwrap();
        let child = Command::new("/usr/bin/janus")
            .arg("-C")
            .arg(dir.join("janus.jcfg"))
            .arg("-F")
            .arg(&dir)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("/usr/bin/janus");
        let janus = Janus { child, dir };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", PORT)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "Janus did not listen; see {}",
                janus.dir.join("janus.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        janus
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `exp,realm,descriptions:base64(HMAC-SHA1(secret, "exp,realm,descriptions"))`.
fn signed(secret: &str, realm: &str, descriptions: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let payload = format!("{exp},{realm},{descriptions}");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("{payload}:{sig}")
}

fn access() -> RoomAccess {
    RoomAccess {
        room: ROOM.into(),
        pin: PIN.into(),
        token: signed(SECRET, "janus", "janus.plugin.videoroom"),
        room_token: signed(SECRET, "janus.plugin.videoroom", &format!("room={ROOM}")),
    }
}

/// One participant: the client and its socket.
struct Peer {
    name: u64,
    client: JanusClient,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    started: Instant,
    /// Added to the clock, to reach the keepalive without waiting for it.
    skipped: u64,
    seen: Vec<JanusEvent>,
}

impl Peer {
    fn join(id: u64, access: RoomAccess) -> Peer {
        let mut request = format!("ws://127.0.0.1:{PORT}")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "janus-protocol".parse().unwrap());
        let (ws, _) = tungstenite::connect(request).expect("Janus's WebSocket");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        }
        let started = Instant::now();
        let client = JanusClient::new(access, ParticipantId::new(id), id, Time::ZERO);
        Peer {
            name: id,
            client,
            ws,
            started,
            skipped: 0,
            seen: Vec::new(),
        }
    }

    fn now(&self) -> Time {
        Time::from_millis(self.started.elapsed().as_millis() as u64 + self.skipped)
    }

    /// Sends what the client queued, feeds it what arrives, until an event matches.
    fn until(&mut self, what: &str, matches: impl Fn(&JanusEvent) -> bool) -> JanusEvent {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            if let Some(event) = self.pump().into_iter().find(|e| matches(e)) {
                return event;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {what}; saw {:?}",
                self.name,
                self.seen
            );
        }
    }

    /// Runs for a while; panics on a failure.
    fn settle(&mut self) {
        let until = Instant::now() + Duration::from_millis(600);
        while Instant::now() < until {
            if let Some(JanusEvent::Failed(e)) = self
                .pump()
                .into_iter()
                .find(|e| matches!(e, JanusEvent::Failed(_)))
            {
                panic!("{}: failed: {e}", self.name);
            }
        }
    }

    /// One round: send what is queued, read one frame (or wait 50 ms), run timers;
    /// returns the events that came out.
    fn pump(&mut self) -> Vec<JanusEvent> {
        let print = std::env::var_os("JANUS_LIVE_PRINT").is_some();
        while let Some(frame) = self.client.poll_transmit() {
            if print {
                println!("{} > {frame}", self.name);
            }
            self.ws.send(Message::text(frame)).unwrap();
        }
        match self.ws.read() {
            Ok(Message::Text(text)) => {
                if print {
                    println!("{} < {text}", self.name);
                }
                let now = self.now();
                self.client
                    .handle_input(now, &text)
                    .expect("a readable frame");
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{}: socket: {e}", self.name),
        }
        let now = self.now();
        if self.client.next_deadline().is_some_and(|d| d <= now) {
            self.client.handle_timeout(now);
        }
        let mut out = Vec::new();
        while let Some(event) = self.client.poll_event() {
            self.seen.push(event.clone());
            out.push(event);
        }
        out
    }

    fn publish_now(&mut self) -> JanusEvent {
        let now = self.now();
        let mids = [
            ("0".into(), TileKind::Camera),
            ("1".into(), TileKind::Camera),
        ];
        assert!(self.client.publish(now, offer(self.name), &mids));
        self.until("an answer", |e| matches!(e, JanusEvent::PublisherAnswer(_)))
    }
}

const ICE: &str = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n";

/// A browser-like publisher offer: Opus, and VP8 with three simulcast layers by rid.
fn offer(id: u64) -> String {
    format!(
        "v=0\r\no=- {id} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n{ICE}a=setup:actpass\r\na=mid:0\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=sendonly\r\na=msid:s{id} a{id}\r\n\
a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=ssrc:1{id} cname:c{id}\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n{ICE}a=setup:actpass\r\na=mid:1\r\n\
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n\
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n\
a=sendonly\r\na=msid:s{id} v{id}\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:96 VP8/90000\r\n\
a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 ccm fir\r\n\
a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n"
    )
}

#[test]
#[ignore = "needs /usr/bin/janus; run inside scripts/netns-run"]
fn join_publish_with_simulcast_keep_alive_and_close() {
    let _janus = Janus::start();
    let mut a = Peer::join(101, access());
    a.until("joined", |e| *e == JanusEvent::ReadyToPublish);
    let JanusEvent::PublisherAnswer(sdp) = a.publish_now() else {
        unreachable!()
    };
    assert!(
        sdp.contains("a=simulcast:recv q;h;f"),
        "Janus takes the three layers: {sdp}"
    );

    // Our id is ours alone in the room.
    let mut twin = Peer::join(101, access());
    match twin.until("a refusal", |e| matches!(e, JanusEvent::Failed(_))) {
        JanusEvent::Failed(JanusError::Refused { code: 436, .. }) => {}
        other => panic!("{other:?}"),
    }

    // A keepalive after 25 s of silence, answered.
    a.skipped += 26_000;
    a.settle();

    let now = a.now();
    a.client.close(now);
    a.until("closed", |e| *e == JanusEvent::Closed);
}

#[test]
#[ignore = "needs /usr/bin/janus; run inside scripts/netns-run"]
fn a_failed_publish_goes_again_on_a_fresh_handle() {
    let _janus = Janus::start();
    let mut c = Peer::join(103, access());
    c.until("joined", |e| *e == JanusEvent::ReadyToPublish);
    let now = c.now();
    let mids = [("0".into(), TileKind::Camera)];
    assert!(c.client.publish(now, "v=0\r\nnot an sdp\r\n".into(), &mids));
    c.until("joined again", |e| *e == JanusEvent::ReadyToPublish);
    c.publish_now();
    c.settle();
}

#[test]
#[ignore = "needs /usr/bin/janus; run inside scripts/netns-run"]
fn a_wrong_pin_a_forged_room_token_and_a_forged_core_token_are_refused() {
    let _janus = Janus::start();
    let refused = |access: RoomAccess| {
        let mut p = Peer::join(104, access);
        match p.until("a failure", |e| matches!(e, JanusEvent::Failed(_))) {
            JanusEvent::Failed(JanusError::Refused { code, .. }) => code,
            other => panic!("{other:?}"),
        }
    };
    let wrong_pin = RoomAccess {
        pin: "0000".into(),
        ..access()
    };
    assert_eq!(refused(wrong_pin), 433);
    let forged = RoomAccess {
        room_token: signed("guess", "janus.plugin.videoroom", &format!("room={ROOM}")),
        ..access()
    };
    assert_eq!(refused(forged), 433);
    let other_room = RoomAccess {
        room_token: signed(SECRET, "janus.plugin.videoroom", "room=another-room"),
        ..access()
    };
    assert_eq!(refused(other_room), 433);
    let forged_core = RoomAccess {
        token: signed("guess", "janus", "janus.plugin.videoroom"),
        ..access()
    };
    assert_eq!(refused(forged_core), 403);
}
