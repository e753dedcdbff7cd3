//! The server with a real Janus, started with the project's configuration
//! (scripts/janus-start) inside a private network namespace (scripts/netns-run): each
//! test re-runs itself there. Proves at the signaling level (no media) that a grant lets
//! a browser-like client into its room through `/janus`, and that everything else is
//! refused: no token, a forged or expired one, another room's token, a wrong pin, and
//! creating or destroying rooms without the admin key.
//!
//! Without `janus` installed these tests say so and pass, except under `CI=true`
//! (scripts/setup installs it there), where they fail.

mod common;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use nonstop_core::ParticipantId;
use nonstop_server::janus::{tokens, Janus, JanusConfig, JanusPool, JanusSecrets, SfuLoad};
use nonstop_server::sfu::{SfuError, SfuRoom, SfuRooms};
use nonstop_server::Settings;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Set in the re-run inside the namespace.
const IN_NETNS: &str = "NONSTOP_JANUS_TEST_IN_NETNS";
/// Janus's ports inside the test's own namespace (nothing else listens there).
const CLIENT_WS: &str = "ws://127.0.0.1:8188";
const ADMIN_WS: &str = "ws://127.0.0.1:7188";
/// A second Janus's client WebSocket, for the pool's test.
const SECOND_CLIENT_WS: &str = "ws://127.0.0.1:8189";
/// Janus core: "Unauthorized request (wrong or missing secret/token)".
const JANUS_ERROR_UNAUTHORIZED: i64 = 403;
/// Janus core: "Provided token can't access plugin".
const JANUS_ERROR_UNAUTHORIZED_PLUGIN: i64 = 405;
/// VideoRoom: "Unauthorized" (wrong pin, secret, admin key or room token).
const VIDEOROOM_ERROR_UNAUTHORIZED: i64 = 433;
/// VideoRoom: "Missing mandatory element".
const VIDEOROOM_ERROR_MISSING_ELEMENT: i64 = 429;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `test` against a fresh Janus and a server configured for it, inside a private
/// network namespace. `name` is the calling test's name (it is re-run by name).
fn with_janus<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Setup) -> Fut,
    Fut: Future<Output = ()>,
{
    if Command::new("janus").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "janus is not installed, and under CI=true the Janus tests must run: scripts/setup installs the Debian package janus"
        );
        eprintln!("skipped {name}: janus is not installed (Debian package janus; scripts/setup installs it)");
        return;
    }
    if std::env::var_os(IN_NETNS).is_none() {
        let out = Command::new(repo().join("scripts/netns-run"))
            .arg(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(IN_NETNS, "1")
            .output()
            .expect("scripts/netns-run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        print!("{stdout}");
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{name} failed in its namespace");
        assert!(
            stdout.contains("1 passed"),
            "{name} did not run in its namespace"
        );
        return;
    }
    let run_dir = std::env::temp_dir().join(format!("nonstop-janus-test-{}", std::process::id()));
    // Held here too: a test that uses only some of `Setup` drops the rest at once.
    let janus = Arc::new(Mutex::new(JanusProcess::start(&run_dir)));
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let deadline = Instant::now() + Duration::from_secs(10);
            // scripts/janus-start writes the secrets, then starts Janus.
            let secrets = loop {
                match JanusSecrets::read(&run_dir.join("secrets")) {
                    Ok(secrets) => break secrets,
                    Err(e) => assert!(Instant::now() < deadline, "no Janus secrets: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            let config = JanusConfig {
                client_ws: CLIENT_WS.into(),
                admin_ws: ADMIN_WS.into(),
                secrets,
                secrets_file: Some(run_dir.join("secrets")),
            };
            let sfu = Janus::new(&config);
            while let Err(e) = sfu.check().await {
                assert!(Instant::now() < deadline, "Janus did not come up: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let server = TestServer::start(Settings {
                static_dir: PathBuf::from("/nonexistent/nonstop-test"),
                janus: vec![config.clone()],
                ..Settings::default()
            })
            .await;
            test(Setup {
                server,
                sfu,
                config,
                janus: Arc::clone(&janus),
            })
            .await;
        });
}

struct Setup {
    server: TestServer,
    /// The server's view of Janus (the same configuration as the server's own).
    sfu: Janus,
    config: JanusConfig,
    janus: Arc<Mutex<JanusProcess>>,
}

impl Setup {
    /// A browser-like client of Janus through the server's `/janus`.
    async fn browser(&self) -> JanusClient {
        JanusClient::connect(&format!("ws://{}/janus", self.server.addr)).await
    }

    fn token_secret(&self) -> &str {
        &self.config.secrets.token_auth_secret
    }

    /// Participant `id` joins `room` as a publisher with its grant, as the app does
    /// through `/janus`: Janus's answer.
    async fn join_with_grant(&self, room: &SfuRoom, id: u64) -> Value {
        let grant = self.sfu.grant(room, ParticipantId::new(id));
        let mut browser = self.browser().await;
        let handle = browser.session_with_videoroom(&grant.token).await;
        browser
            .videoroom(
                handle,
                &grant.token,
                join(&grant.room, &grant.pin, &grant.room_token, id),
            )
            .await
    }

    /// Kills Janus and starts it again (scripts/janus-start makes new secrets); returns
    /// once the new secrets are written and Janus listens.
    async fn restart_janus(&self) {
        let run_dir = {
            let mut janus = self.janus.lock().unwrap();
            let _ = janus.0.kill();
            let _ = janus.0.wait();
            let _ = std::fs::remove_file(janus.1.join("secrets"));
            janus.0 = JanusProcess::spawn(&janus.1);
            janus.1.clone()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listening = TcpStream::connect(ADMIN_WS.trim_start_matches("ws://"))
                .await
                .is_ok();
            if listening && JanusSecrets::read(&run_dir.join("secrets")).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "Janus did not come back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Janus, started by scripts/janus-start; killed, and its run folder removed, when
/// dropped (also when the test fails).
struct JanusProcess(Child, PathBuf);

impl JanusProcess {
    fn start(run_dir: &Path) -> JanusProcess {
        JanusProcess(Self::spawn(run_dir), run_dir.to_owned())
    }

    fn spawn(run_dir: &Path) -> Child {
        Command::new(repo().join("scripts/janus-start"))
            .arg(run_dir)
            .spawn()
            .expect("scripts/janus-start")
    }

    /// Another Janus next to the test's own, on other ports: (it, its configuration),
    /// once it answers.
    async fn second(run_dir: &Path) -> (JanusProcess, JanusConfig) {
        let child = Command::new(repo().join("scripts/janus-start"))
            .arg(run_dir)
            .env("NONSTOP_JANUS_WS_PORT", "8189")
            .env("NONSTOP_JANUS_ADMIN_PORT", "7189")
            .env("NONSTOP_JANUS_RTP_PORTS", "30000-30999")
            .spawn()
            .expect("scripts/janus-start");
        let process = JanusProcess(child, run_dir.to_owned());
        let deadline = Instant::now() + Duration::from_secs(10);
        let secrets = loop {
            if let Ok(secrets) = JanusSecrets::read(&run_dir.join("secrets")) {
                break secrets;
            }
            assert!(
                Instant::now() < deadline,
                "no secrets from the second Janus"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let config = JanusConfig {
            client_ws: "ws://127.0.0.1:8189".into(),
            admin_ws: "ws://127.0.0.1:7189".into(),
            secrets,
            secrets_file: Some(run_dir.join("secrets")),
        };
        while let Err(e) = Janus::new(&config).check().await {
            assert!(
                Instant::now() < deadline,
                "the second Janus did not come up: {e}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (process, config)
    }
}

impl Drop for JanusProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// What the app does with Janus's WebSocket API, reduced to requests and answers.
struct JanusClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next: u64,
}

impl JanusClient {
    async fn connect(url: &str) -> JanusClient {
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("janus-protocol"),
        );
        let (ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .unwrap_or_else(|e| panic!("WebSocket {url}: {e}"));
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            "janus-protocol"
        );
        JanusClient { ws, next: 1 }
    }

    /// Sends `request` with a fresh transaction; Janus's final answer to it (after an
    /// `ack`, for plugin messages that answer later).
    async fn request(&mut self, mut request: Value) -> Value {
        let transaction = format!("b{}", self.next);
        self.next += 1;
        request["transaction"] = transaction.clone().into();
        self.ws
            .send(Message::text(request.to_string()))
            .await
            .unwrap();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("an answer from Janus within 5 s")
                .expect("the socket open")
                .unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let answer: Value = serde_json::from_str(&text).unwrap();
            // A plugin message may be acknowledged first and answered later; for other
            // requests (keepalive) the `ack` is the answer.
            let acked_only = answer["janus"] == "ack" && request["janus"] == "message";
            if answer["transaction"] == transaction.as_str() && !acked_only {
                return answer;
            }
        }
    }

    /// `create` then `attach` to VideoRoom with `token`: (session, handle).
    async fn session_with_videoroom(&mut self, token: &str) -> (u64, u64) {
        let created = self
            .request(json!({"janus": "create", "token": token}))
            .await;
        assert_eq!(created["janus"], "success", "{created}");
        let session = created["data"]["id"].as_u64().unwrap();
        let attached = self
            .request(json!({
                "janus": "attach", "session_id": session, "token": token,
                "plugin": tokens::VIDEOROOM,
            }))
            .await;
        assert_eq!(attached["janus"], "success", "{attached}");
        (session, attached["data"]["id"].as_u64().unwrap())
    }

    /// A message to the VideoRoom handle: the plugin's answer (`plugindata.data`).
    async fn videoroom(
        &mut self,
        (session, handle): (u64, u64),
        token: &str,
        body: Value,
    ) -> Value {
        let answer = self
            .request(json!({
                "janus": "message", "session_id": session, "handle_id": handle,
                "token": token, "body": body,
            }))
            .await;
        assert_ne!(answer["janus"], "error", "{answer}");
        answer["plugindata"]["data"].clone()
    }
}

/// VideoRoom's `join` as a publisher.
fn join(room: &str, pin: &str, room_token: &str, participant: u64) -> Value {
    json!({
        "request": "join", "ptype": "publisher", "room": room, "pin": pin,
        "token": room_token, "id": participant.to_string(),
    })
}

/// Janus core error code of an answer (0 if it is no error).
/// Whether Janus has room `id` (asked through `sfu`'s Admin API).
async fn room_exists(sfu: &Janus, id: &str) -> bool {
    let answer = sfu
        .videoroom(json!({"request": "exists", "room": id}))
        .await;
    answer.unwrap()["exists"].as_bool().unwrap()
}

fn core_error(answer: &Value) -> i64 {
    assert_eq!(answer["janus"], "error", "expected an error, got {answer}");
    answer["error"]["code"].as_i64().unwrap()
}

#[test]
fn the_admin_api_creates_and_destroys_rooms() {
    with_janus("the_admin_api_creates_and_destroys_rooms", |s| async move {
        let exists = |room: String| {
            let sfu = &s.sfu;
            async move {
                sfu.videoroom(json!({"request": "exists", "room": room}))
                    .await
                    .unwrap()["exists"]
                    .as_bool()
                    .unwrap()
            }
        };
        let (mut create_ms, mut destroy_ms) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            let started = Instant::now();
            let room = s.sfu.create(200).await.unwrap();
            create_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(exists(room.id.clone()).await);
            let id = room.id.clone();
            let started = Instant::now();
            s.sfu.destroy(room).await;
            destroy_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(!exists(id).await);
        }
        // A private room is not listed.
        let room = s.sfu.create(6).await.unwrap();
        let list = s.sfu.videoroom(json!({"request": "list"})).await.unwrap();
        assert!(!list.to_string().contains(&room.id), "{list}");
        s.sfu.destroy(room).await;
        for v in [&mut create_ms, &mut destroy_ms] {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        }
        println!(
            "measured: Admin API room create median {:.2} ms (max {:.2}), destroy median {:.2} ms (max {:.2}), 20 each",
            create_ms[10], create_ms[19], destroy_ms[10], destroy_ms[19]
        );
    });
}

#[test]
fn rooms_left_by_a_server_that_stopped_are_swept_once_empty() {
    with_janus(
        "rooms_left_by_a_server_that_stopped_are_swept_once_empty",
        |s| async move {
            // The server that made these stopped without destroying them (`s.sfu` stands
            // for it); one still has a participant in it, a page not yet gone to mesh.
            let left_empty = s.sfu.create(6).await.unwrap();
            let still_used = s.sfu.create(6).await.unwrap();
            let grant = s.sfu.grant(&still_used, ParticipantId::new(7));
            let mut page = s.browser().await;
            let handle = page.session_with_videoroom(&grant.token).await;
            let joined = page
                .videoroom(
                    handle,
                    &grant.token,
                    join(&grant.room, &grant.pin, &grant.room_token, 7),
                )
                .await;
            assert_eq!(joined["videoroom"], "joined", "{joined}");
            // A room made by something else on the same Janus: never ours to destroy.
            let foreign = "someone-elses-room";
            let made = s
                .sfu
                .videoroom(json!({
                    "request": "create",
                    "admin_key": s.config.secrets.admin_key,
                    "room": foreign,
                    "is_private": true,
                    "secret": "theirs",
                }))
                .await;
            assert!(made.is_ok(), "{made:?}");

            // The restarted server: its own room is never swept, even empty.
            let restarted = Janus::new(&s.config);
            let own = restarted.create(6).await.unwrap();
            // First sweep: an empty unknown room may be another node's, just made.
            assert_eq!(restarted.sweep_orphans().await.unwrap(), 0);
            assert!(room_exists(&restarted, &left_empty.id).await);
            // Second: still empty, so nobody holds it.
            assert_eq!(restarted.sweep_orphans().await.unwrap(), 1);
            assert!(
                !room_exists(&restarted, &left_empty.id).await,
                "the empty orphan is gone"
            );
            assert!(
                room_exists(&restarted, &still_used.id).await,
                "a room someone is in stays"
            );
            assert!(
                room_exists(&restarted, &own.id).await,
                "the sweeping server's own room stays"
            );
            assert!(
                room_exists(&restarted, foreign).await,
                "a room not made by Nonstop stays"
            );

            // Its page gone (kicked here, as a closed tab ends up), the other goes too,
            // at the second sweep that finds it empty.
            restarted.kick(&still_used, ParticipantId::new(7)).await;
            drop(page);
            assert_eq!(restarted.sweep_orphans().await.unwrap(), 0);
            assert_eq!(restarted.sweep_orphans().await.unwrap(), 1);
            assert!(!room_exists(&restarted, &still_used.id).await);
            assert!(room_exists(&restarted, &own.id).await);
            restarted.destroy(own).await;
        },
    );
}

#[test]
fn a_pool_places_each_room_on_the_least_loaded_janus_and_passes_over_a_dead_one() {
    with_janus(
        "a_pool_places_each_room_on_the_least_loaded_janus_and_passes_over_a_dead_one",
        |s| async move {
            // All of it: the block uses only some fields, and would drop the server.
            let s = s;
            let run_dir =
                std::env::temp_dir().join(format!("nonstop-janus-test-b-{}", std::process::id()));
            let (mut second, second_config) = JanusProcess::second(&run_dir).await;
            let pool = JanusPool::new(&[s.config.clone(), second_config]);
            let loads = || async { pool.loads().await };
            let empty = Some(SfuLoad::default());
            assert_eq!(loads().await, [empty, empty]);

            // Both empty: the first; then the one with fewer rooms; then the first again.
            let a = pool.create(6).await.unwrap();
            let b = pool.create(6).await.unwrap();
            let c = pool.create(6).await.unwrap();
            assert_eq!([a.instance, b.instance, c.instance], [0, 1, 0]);
            // The load counts this pool's private rooms (the admin key lists them).
            let rooms = |rooms, participants| {
                Some(SfuLoad {
                    participants,
                    rooms,
                })
            };
            assert_eq!(loads().await, [rooms(2, 0), rooms(1, 0)]);

            // Two publishers in room b, on the second: the first has fewer publishers now,
            // though more rooms. Grants lead to the room's own instance (`/janus/1`).
            let grant = pool.grant(&b, ParticipantId::new(7));
            assert_eq!(grant.path, "/janus/1");
            let mut browsers = Vec::new();
            for id in [7, 8] {
                let grant = pool.grant(&b, ParticipantId::new(id));
                let mut browser = JanusClient::connect(SECOND_CLIENT_WS).await;
                let handle = browser.session_with_videoroom(&grant.token).await;
                let joined = browser
                    .videoroom(
                        handle,
                        &grant.token,
                        join(&grant.room, &grant.pin, &grant.room_token, id),
                    )
                    .await;
                assert_eq!(joined["videoroom"], "joined", "{joined}");
                browsers.push(browser);
            }
            assert_eq!(loads().await, [rooms(2, 0), rooms(1, 2)]);
            let d = pool.create(6).await.unwrap();
            assert_eq!(d.instance, 0);

            // Checks and kicks go to the room's own instance.
            for room in [&a, &b, &c, &d] {
                assert!(pool.exists(room).await.unwrap());
            }
            pool.kick(&b, ParticipantId::new(8)).await;
            assert_eq!(loads().await, [rooms(3, 0), rooms(1, 1)]);

            // The second dies: its room cannot be checked, and new rooms all go to the first.
            let _ = second.0.kill();
            let _ = second.0.wait();
            assert!(matches!(
                pool.exists(&b).await,
                Err(SfuError::Unreachable(_))
            ));
            let started = Instant::now();
            let e = pool.create(6).await.unwrap();
            let placed_ms = started.elapsed().as_millis();
            assert_eq!(e.instance, 0);
            assert_eq!(loads().await[1], None);
            println!(
                "measured: a room placed with one of two Janus instances dead took {placed_ms} ms"
            );
            for room in [a, c, d, e] {
                pool.destroy(room).await;
            }
            assert_eq!(loads().await[0], empty);

            // This server's pool has one Janus: `/janus/0` is it, `/janus/1` a clear refusal.
            let through_server =
                JanusClient::connect(&format!("ws://{}/janus/0", s.server.addr)).await;
            drop(through_server);
            let err = tokio_tungstenite::connect_async(format!("ws://{}/janus/1", s.server.addr))
                .await
                .unwrap_err();
            let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
                panic!("expected an HTTP refusal, got {err}");
            };
            assert_eq!(response.status(), 503);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            assert!(body.contains("no SFU number 1"), "{body}");
        },
    );
}

#[test]
fn a_restarted_janus_is_used_with_its_new_secrets_without_restarting_the_server() {
    with_janus(
        "a_restarted_janus_is_used_with_its_new_secrets_without_restarting_the_server",
        |s| async move {
            let before = s.sfu.create(6).await.unwrap();
            assert!(s.sfu.exists(&before).await.unwrap());
            s.restart_janus().await;
            let run_dir = s.janus.lock().unwrap().1.clone();
            let fresh = JanusSecrets::read(&run_dir.join("secrets")).unwrap();
            assert!(fresh != s.config.secrets, "new secrets");
            // The room went with the old Janus; the new one answers to its new secrets,
            // read from the file at the first refusal.
            assert!(!s.sfu.exists(&before).await.unwrap());
            let room = s
                .sfu
                .create(6)
                .await
                .expect("a room on the restarted Janus");
            assert!(s.sfu.exists(&room).await.unwrap());
            // Grants are signed with the new token secret: a browser gets in.
            let joined = s.join_with_grant(&room, 7).await;
            assert_eq!(joined["videoroom"], "joined", "{joined}");
            s.sfu.destroy(room).await;
        },
    );
}

#[test]
fn a_grant_lets_a_browser_join_its_room_as_publisher() {
    with_janus(
        "a_grant_lets_a_browser_join_its_room_as_publisher",
        |s| async move {
            let room = s.sfu.create(6).await.unwrap();
            let joined = s.join_with_grant(&room, 7).await;
            assert_eq!(joined["videoroom"], "joined", "{joined}");
            assert_eq!(joined["room"], room.id.as_str());
            assert_eq!(joined["id"], "7");
            s.sfu.destroy(room).await;
        },
    );
}

#[test]
fn a_participant_who_left_is_kicked_and_their_id_can_join_again() {
    with_janus(
        "a_participant_who_left_is_kicked_and_their_id_can_join_again",
        |s| async move {
            let room = s.sfu.create(6).await.unwrap();
            let grant = s.sfu.grant(&room, ParticipantId::new(7));
            let join_7 = || join(&grant.room, &grant.pin, &grant.room_token, 7);
            // A page that froze: its Janus session stays open, in the room as 7.
            let mut frozen = s.browser().await;
            let handle = frozen.session_with_videoroom(&grant.token).await;
            let joined = frozen.videoroom(handle, &grant.token, join_7()).await;
            assert_eq!(joined["videoroom"], "joined", "{joined}");
            // The same id again is refused while it is there...
            let mut again = s.browser().await;
            let handle = again.session_with_videoroom(&grant.token).await;
            let refused = again.videoroom(handle, &grant.token, join_7()).await;
            assert_eq!(refused["error_code"], 436, "{refused}");
            // ...and let in once the server has put the frozen one out.
            s.sfu.kick(&room, ParticipantId::new(7)).await;
            let joined = again.videoroom(handle, &grant.token, join_7()).await;
            assert_eq!(joined["videoroom"], "joined", "{joined}");
            // Kicking someone who is not there is quiet.
            s.sfu.kick(&room, ParticipantId::new(8)).await;
            drop(frozen);
            s.sfu.destroy(room).await;
        },
    );
}

#[test]
fn janus_refuses_requests_without_a_valid_core_token() {
    with_janus(
        "janus_refuses_requests_without_a_valid_core_token",
        |s| async move {
            let mut browser = s.browser().await;
            let in_ten_minutes = nonstop_server::turn::unix_now() + 600;
            let no_token = browser.request(json!({"janus": "create"})).await;
            let forged = browser
            .request(json!({"janus": "create", "token": tokens::session_token("not-the-secret", in_ten_minutes)}))
            .await;
            let expired = browser
            .request(json!({"janus": "create", "token": tokens::session_token(s.token_secret(), in_ten_minutes - 660)}))
            .await;
            // A VideoRoom room token is no core token.
            let room = s.sfu.create(6).await.unwrap();
            let room_token_only = browser
            .request(json!({"janus": "create", "token": s.sfu.grant(&room, ParticipantId::new(1)).room_token}))
            .await;
            println!(
            "measured: Janus core errors: no token {}, forged {}, expired {}, room token as core token {}",
            core_error(&no_token),
            core_error(&forged),
            core_error(&expired),
            core_error(&room_token_only)
        );
            for answer in [&no_token, &forged, &expired, &room_token_only] {
                assert_eq!(core_error(answer), JANUS_ERROR_UNAUTHORIZED, "{answer}");
            }
            // A core token that names no plugin opens a session but attaches nothing.
            let bare = tokens::sign(s.token_secret(), in_ten_minutes, "janus", &[]);
            let created = browser
                .request(json!({"janus": "create", "token": bare}))
                .await;
            let session = created["data"]["id"].as_u64().unwrap();
            let attached = browser
            .request(json!({"janus": "attach", "session_id": session, "token": bare, "plugin": tokens::VIDEOROOM}))
            .await;
            println!(
                "measured: attach with a token naming no plugin: error {}",
                core_error(&attached)
            );
            assert_eq!(core_error(&attached), JANUS_ERROR_UNAUTHORIZED_PLUGIN);
            // Every request is checked, keepalives too: an open session needs the token
            // of the latest grant, an expired one is refused (and the session would time out).
            let keepalive = |token: String| json!({"janus": "keepalive", "session_id": session, "token": token});
            let fresh = browser.request(keepalive(bare.clone())).await;
            assert_eq!(fresh["janus"], "ack", "{fresh}");
            let stale = browser
                .request(keepalive(tokens::session_token(
                    s.token_secret(),
                    in_ten_minutes - 660,
                )))
                .await;
            println!(
                "measured: keepalive with an expired token: error {}",
                core_error(&stale)
            );
            assert_eq!(core_error(&stale), JANUS_ERROR_UNAUTHORIZED);
            s.sfu.destroy(room).await;
        },
    );
}

#[test]
fn videoroom_refuses_other_rooms_wrong_pins_and_bad_room_tokens() {
    with_janus(
        "videoroom_refuses_other_rooms_wrong_pins_and_bad_room_tokens",
        |s| async move {
            let (x, y) = (
                s.sfu.create(6).await.unwrap(),
                s.sfu.create(6).await.unwrap(),
            );
            let in_x = s.sfu.grant(&x, ParticipantId::new(1));
            let in_y = s.sfu.grant(&y, ParticipantId::new(2));
            let now = nonstop_server::turn::unix_now();
            let mut browser = s.browser().await;
            let handle = browser.session_with_videoroom(&in_x.token).await;
            let mut refused = Vec::new();
            let attempts = [
                // X's participant with Y's room id, X's pin and token.
                (
                    "another room's id",
                    join(&y.id, &in_x.pin, &in_x.room_token, 1),
                ),
                // Y's pin too, still X's room token.
                (
                    "another room's token",
                    join(&y.id, &y.pin, &in_x.room_token, 1),
                ),
                (
                    "a wrong pin",
                    join(&x.id, "not-the-pin", &in_x.room_token, 1),
                ),
                (
                    "no pin",
                    json!({"request": "join", "ptype": "publisher", "room": x.id, "token": in_x.room_token, "id": "1"}),
                ),
                (
                    "no room token",
                    json!({"request": "join", "ptype": "publisher", "room": x.id, "pin": x.pin, "id": "1"}),
                ),
                (
                    "a forged room token",
                    join(
                        &x.id,
                        &x.pin,
                        &tokens::room_token("not-the-secret", now + 600, &x.id),
                        1,
                    ),
                ),
                (
                    "an expired room token",
                    join(
                        &x.id,
                        &x.pin,
                        &tokens::room_token(s.token_secret(), now - 60, &x.id),
                        1,
                    ),
                ),
                (
                    "subscribing in another room",
                    json!({"request": "join", "ptype": "subscriber", "room": y.id, "pin": y.pin, "token": in_x.room_token, "streams": [{"feed": "2"}]}),
                ),
            ];
            for (what, body) in attempts {
                let answer = browser.videoroom(handle, &in_x.token, body).await;
                assert_eq!(answer["videoroom"], "event", "{what}: {answer}");
                refused.push((what, answer["error_code"].as_i64().unwrap_or(0), answer));
            }
            let codes: Vec<String> = refused
                .iter()
                .map(|(what, code, _)| format!("{what} {code}"))
                .collect();
            println!("measured: VideoRoom join errors: {}", codes.join(", "));
            for (what, code, answer) in refused {
                let expected = if what == "no pin" {
                    VIDEOROOM_ERROR_MISSING_ELEMENT
                } else {
                    VIDEOROOM_ERROR_UNAUTHORIZED
                };
                assert_eq!(code, expected, "{what}: {answer}");
            }
            // Y's own participant gets in with Y's grant, on the same kind of connection.
            let mut other = s.browser().await;
            let handle = other.session_with_videoroom(&in_y.token).await;
            let joined = other
                .videoroom(
                    handle,
                    &in_y.token,
                    join(&y.id, &in_y.pin, &in_y.room_token, 2),
                )
                .await;
            assert_eq!(joined["videoroom"], "joined", "{joined}");
            s.sfu.destroy(x).await;
            s.sfu.destroy(y).await;
        },
    );
}

#[test]
fn a_browser_cannot_create_or_destroy_rooms() {
    with_janus("a_browser_cannot_create_or_destroy_rooms", |s| async move {
        let room = s.sfu.create(6).await.unwrap();
        let grant = s.sfu.grant(&room, ParticipantId::new(1));
        let mut browser = s.browser().await;
        let handle = browser.session_with_videoroom(&grant.token).await;
        let mut codes = Vec::new();
        for (what, body) in [
            (
                "create",
                json!({"request": "create", "room": "mine", "publishers": 200}),
            ),
            (
                "create with a guessed key",
                json!({"request": "create", "room": "mine", "admin_key": "guess"}),
            ),
            ("destroy", json!({"request": "destroy", "room": room.id})),
            (
                "destroy with the pin as secret",
                json!({"request": "destroy", "room": room.id, "secret": grant.pin}),
            ),
            (
                "edit",
                json!({"request": "edit", "room": room.id, "new_pin": "mine"}),
            ),
            (
                "rtp_forward",
                json!({"request": "rtp_forward", "room": room.id, "publisher_id": "1", "host": "127.0.0.1"}),
            ),
        ] {
            let answer = browser.videoroom(handle, &grant.token, body).await;
            let code = answer["error_code"].as_i64().unwrap_or(0);
            codes.push(format!("{what} {code}"));
            assert_ne!(code, 0, "{what} was accepted: {answer}");
        }
        println!(
            "measured: VideoRoom admin requests from a browser: {}",
            codes.join(", ")
        );
        let exists = s
            .sfu
            .videoroom(json!({"request": "exists", "room": room.id}))
            .await
            .unwrap();
        assert_eq!(exists["exists"], true);
        let mine = s
            .sfu
            .videoroom(json!({"request": "exists", "room": "mine"}))
            .await
            .unwrap();
        assert_eq!(mine["exists"], false);
        s.sfu.destroy(room).await;
    });
}

#[test]
fn the_proxy_passes_messages_through_and_measures_its_cost() {
    with_janus(
        "the_proxy_passes_messages_through_and_measures_its_cost",
        |s| async move {
            let mut direct = JanusClient::connect(CLIENT_WS).await;
            let mut proxied = s.browser().await;
            // `info` needs no token: the same answer both ways.
            let a = direct.request(json!({"janus": "info"})).await;
            let b = proxied.request(json!({"janus": "info"})).await;
            assert_eq!(a["name"], b["name"]);
            assert_eq!(b["janus"], "server_info");
            let mut medians = Vec::new();
            for client in [&mut direct, &mut proxied] {
                let mut times = Vec::new();
                for _ in 0..300 {
                    let started = Instant::now();
                    client.request(json!({"janus": "info"})).await;
                    times.push(started.elapsed().as_secs_f64() * 1e6);
                }
                times.sort_by(|a, b| a.partial_cmp(b).unwrap());
                medians.push((times[150], times[285]));
            }
            println!(
            "measured: Janus `info` round trip, median (p95): direct {:.0} us ({:.0}), through /janus {:.0} us ({:.0})",
            medians[0].0, medians[0].1, medians[1].0, medians[1].1
        );
            // A browser whose /janus socket dropped (a server restart) claims its session
            // from a new one and keeps its handle (Janus's reclaim_session_timeout).
            let room = s.sfu.create(2).await.unwrap();
            let grant = s.sfu.grant(&room, ParticipantId::new(1));
            let (session, handle) = proxied.session_with_videoroom(&grant.token).await;
            proxied.ws.close(None).await.unwrap();
            let mut again = s.browser().await;
            let claimed = again
                .request(json!({"janus": "claim", "session_id": session, "token": grant.token}))
                .await;
            assert_eq!(claimed["janus"], "success", "{claimed}");
            let joined = again
                .videoroom(
                    (session, handle),
                    &grant.token,
                    join(&room.id, &room.pin, &grant.room_token, 1),
                )
                .await;
            assert_eq!(joined["videoroom"], "joined", "{joined}");
            // Pages of other sites are refused, like on /ws.
            let mut request = format!("ws://{}/janus", s.server.addr)
                .into_client_request()
                .unwrap();
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_static("https://evil.example"));
            request.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_static("janus-protocol"),
            );
            match tokio_tungstenite::connect_async(request).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), 403)
                }
                other => panic!("a foreign origin was not refused: {other:?}"),
            }
            s.sfu.destroy(room).await;
            // A server shutdown tells /janus clients to come back (1001), like /ws clients.
            let mut open = s.browser().await;
            s.server.shut_down().await;
            let close = loop {
                match tokio::time::timeout(Duration::from_secs(5), open.ws.next())
                    .await
                    .unwrap()
                {
                    Some(Ok(Message::Close(frame))) => break frame.unwrap(),
                    Some(Ok(_)) => continue,
                    other => panic!("expected a close frame, got {other:?}"),
                }
            };
            assert_eq!(u16::from(close.code), 1001);
        },
    );
}

#[tokio::test]
async fn without_janus_the_proxy_says_so_and_rooms_cannot_be_created() {
    // No Janus flags: /janus answers 503 with a reason.
    let server = TestServer::start_default().await;
    let err = tokio_tungstenite::connect_async(format!("ws://{}/janus", server.addr))
        .await
        .unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
        panic!("expected an HTTP refusal, got {err}");
    };
    assert_eq!(response.status(), 503);
    let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
    assert!(body.contains("without Janus"), "{body}");
    // Janus configured but not running (nothing listens on port 1): clear errors, fast.
    let janus = Janus::new(&JanusConfig {
        client_ws: "ws://127.0.0.1:1".into(),
        admin_ws: "ws://127.0.0.1:1".into(),
        secrets: JanusSecrets::parse("admin_secret=a\nadmin_key=k\ntoken_auth_secret=t\n").unwrap(),
        secrets_file: None,
    });
    let started = Instant::now();
    let check = janus.check().await.unwrap_err();
    assert!(check.to_string().contains("refused"), "{check}");
    assert!(matches!(
        janus.create(6).await,
        Err(SfuError::Unreachable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(1));
}
