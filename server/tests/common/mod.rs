//! A real server on 127.0.0.1:0 and WebSocket/HTTP clients for it.

// Each test file uses a different part of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use nonstop_core::protocol::{ClientMsg, MediaState, Participant, ServerMsg, PROTOCOL_VERSION};
use nonstop_core::ParticipantId;
use nonstop_server::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod fake_sfu;
pub mod raw;

/// Longest any single expected event may take before the test fails (instead of
/// hanging). Generous: the machine may be busy compiling.
pub const PATIENCE: Duration = Duration::from_secs(5);

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(settings: Settings) -> TestServer {
        TestServer::start_with_sfu(settings, None).await
    }

    /// Relaying large calls through `sfu`.
    pub async fn start_with_sfu(
        settings: Settings,
        sfu: Option<std::sync::Arc<dyn nonstop_server::sfu::SfuRooms>>,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(nonstop_server::serve_with_sfu(
            listener,
            settings,
            sfu,
            async {
                // A dropped sender (test over) stops the server as well.
                stopped.await.ok();
            },
        ));
        TestServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// With default settings and no app folder.
    pub async fn start_default() -> TestServer {
        TestServer::start(Settings {
            static_dir: PathBuf::from("/nonexistent/nonstop-test"),
            ..Settings::default()
        })
        .await
    }

    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// A connected client that has joined `room` as `name`.
    pub async fn joined(&self, room: &str, name: &str) -> (Client, ParticipantId) {
        let mut client = self.connect().await;
        let (id, _) = client.join(room, name).await;
        (client, id)
    }

    /// Like [`joined`](Self::joined), and waits for the resume token that follows the
    /// welcome: (client, id, token).
    pub async fn joined_with_token(
        &self,
        room: &str,
        name: &str,
    ) -> (Client, ParticipantId, String) {
        let (mut client, id) = self.joined(room, name).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while client.token.is_none() {
            assert!(tokio::time::Instant::now() < deadline, "no session token");
            // Nothing else is expected; the session message is consumed by next_event.
            if let Ok(event) =
                tokio::time::timeout(Duration::from_millis(50), client.next_event()).await
            {
                panic!("expected only the token, got {event:?}");
            }
        }
        let token = client.token.clone().unwrap();
        (client, id, token)
    }

    /// Stops the server as Ctrl-C would and waits until `serve` has returned.
    pub async fn shut_down(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        let task = self.task.take().unwrap();
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

impl TestServer {
    /// Starts stopping the server as Ctrl-C (SIGTERM) would, without waiting.
    pub fn begin_shutdown(&mut self) {
        self.stop.take().unwrap().send(()).unwrap();
    }

    /// After [`begin_shutdown`](Self::begin_shutdown): waits until `serve` has
    /// returned, failing after `limit`.
    pub async fn finish_shutdown(mut self, limit: Duration) {
        let task = self.task.take().unwrap();
        tokio::time::timeout(limit, task)
            .await
            .expect("serve returns in time after shutdown")
            .unwrap()
            .unwrap();
    }
}

pub fn join_msg(room: &str, name: &str) -> ClientMsg {
    ClientMsg::Join {
        protocol: PROTOCOL_VERSION,
        room: room.into(),
        name: name.into(),
        media: MediaState::default(),
        passcode: None,
        token: None,
    }
}

/// A `resume` of participant `id` in `room`, with its resume token.
pub fn resume_msg(room: &str, name: &str, id: ParticipantId, token: &str) -> ClientMsg {
    ClientMsg::Resume {
        protocol: PROTOCOL_VERSION,
        room: room.into(),
        name: name.into(),
        media: MediaState::default(),
        id,
        token: token.into(),
    }
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The resume token from the last `session` message (which events skip).
    pub token: Option<String>,
}

/// What arrived, pings aside.
#[derive(Debug)]
pub enum Event {
    Msg(ServerMsg),
    /// A close frame's code (1005 when it had none), or the stream ending.
    Closed(Option<u16>),
}

impl Client {
    /// A WebSocket to the server at `addr`.
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("WebSocket connect");
        Client { ws, token: None }
    }

    pub async fn send(&mut self, msg: &ClientMsg) {
        self.send_text(&msg.to_json()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send_frame(Message::text(text)).await;
    }

    pub async fn send_frame(&mut self, frame: Message) {
        self.ws.send(frame).await.expect("send to server");
    }

    /// Sends a frame the server may refuse by dropping the connection mid-write.
    pub async fn try_send_frame(
        &mut self,
        frame: Message,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(frame).await
    }

    /// Joins and returns (my id, who was there).
    pub async fn join(&mut self, room: &str, name: &str) -> (ParticipantId, Vec<Participant>) {
        self.send(&join_msg(room, name)).await;
        match self.recv().await {
            ServerMsg::Welcome {
                you, participants, ..
            } => (you, participants),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// The next event, answering pings on the way as a browser would.
    pub async fn next_event(&mut self) -> Event {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("an event from the server in time");
            match frame {
                Some(Ok(Message::Text(text))) => match ServerMsg::parse(text.as_str()) {
                    Ok(ServerMsg::Ping) => {
                        // Best effort: the server may have closed the socket after
                        // this ping, and the test wants to see that close next.
                        if let Err(e) = self.ws.send(Message::text(ClientMsg::Pong.to_json())).await
                        {
                            eprintln!("pong not sent: {e}");
                        }
                    }
                    Ok(ServerMsg::Session { token }) => self.token = Some(token),
                    Ok(msg) => return Event::Msg(msg),
                    Err(e) => panic!("server sent something unparsable: {e}: {text}"),
                },
                Some(Ok(Message::Close(frame))) => {
                    return Event::Closed(Some(frame.map_or(1005, |f| u16::from(f.code))))
                }
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                Some(Err(_)) | None => return Event::Closed(None),
            }
        }
    }

    /// The next message, pings aside; panics on close.
    pub async fn recv(&mut self) -> ServerMsg {
        match self.next_event().await {
            Event::Msg(msg) => msg,
            Event::Closed(code) => panic!("closed ({code:?}) while a message was expected"),
        }
    }

    /// Expects the server to close the socket; returns the close code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        match self.next_event().await {
            Event::Closed(code) => code,
            Event::Msg(msg) => panic!("expected the socket to close, got {msg:?}"),
        }
    }

    /// Closes from this side with a close frame.
    pub async fn close(mut self) {
        self.ws.close(None).await.expect("close");
    }

    /// Closes from this side with a close frame carrying `code`.
    pub async fn close_with(mut self, code: u16) {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: code.into(),
            reason: "".into(),
        };
        self.ws.close(Some(frame)).await.expect("close");
    }
}

/// A plain HTTP/1.1 GET: (status, lower-cased head, body).
pub async fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Vec<u8>) {
    http_request(addr, "GET", path, headers, None).await
}

/// A plain HTTP/1.1 request, with a JSON body if given: (status, lower-cased head, body).
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("HTTP response in time")
        .unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP head");
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, head, response[split + 4..].to_vec())
}

/// A fresh folder under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "nonstop-server-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("could not remove {}: {e}", self.0.display());
        }
    }
}
