//! The rooms REST API end to end over HTTP, and what its rooms and tokens do to joins.
//! Every test runs against SQLite, then against PostgreSQL when
//! `NONSTOP_TEST_DATABASE_URL` names one (`scripts/test` starts a throwaway cluster).

mod common;

use std::time::Duration;

use common::{http_request, join_msg, Event, TempDir, TestServer};
use nonstop_core::protocol::{ClientMsg, ErrorCode, ServerMsg};
use nonstop_server::api::ApiConfig;
use nonstop_server::Settings;
use serde_json::{json, Value};

const KEY: &str = "test-key-0123456789";
const AUTH: (&str, &str) = ("Authorization", "Bearer test-key-0123456789");

/// The databases every test runs against: `None` for a SQLite file in the test's own
/// folder, and PostgreSQL if `NONSTOP_TEST_DATABASE_URL` names one (shared by the tests:
/// their room names are unique).
fn databases() -> Vec<Option<String>> {
    std::iter::once(None)
        .chain(std::env::var("NONSTOP_TEST_DATABASE_URL").ok().map(Some))
        .collect()
}

/// Runs each `cases::NAME` once per database, as the test `NAME`.
macro_rules! on_every_database {
    ($($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                for db in databases() {
                    eprintln!("{} on {}", stringify!($name), db.as_deref().unwrap_or("SQLite"));
                    cases::$name(db.as_deref()).await;
                }
            }
        )+
    };
}

/// A server with the API on `database_url`, its key file in `dir`.
async fn api_server(dir: &TempDir, db: Option<&str>, on_demand: bool) -> TestServer {
    let sqlite = format!("sqlite:{}", dir.path().join("nonstop.db").display());
    let key_file = dir.path().join("keys");
    if !key_file.exists() {
        std::fs::write(&key_file, format!("# test keys\n{KEY}\n")).unwrap();
    }
    TestServer::start(Settings {
        static_dir: "/nonexistent/nonstop-test".into(),
        capacity: 50,
        api: Some(ApiConfig {
            key_file,
            database_url: db.map_or(sqlite, str::to_owned),
            rooms_on_demand: on_demand,
        }),
        ..Settings::default()
    })
    .await
}

/// A room name no other test (or earlier run on a shared PostgreSQL) uses.
fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nonce: u32 = std::process::id()
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos());
    format!("{prefix}-{nonce:08x}-{n}")
}

/// (status, JSON body) of an authenticated request.
async fn call(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call_as(server, &[AUTH], method, path, body).await
}

async fn call_as(
    server: &TestServer,
    headers: &[(&str, &str)],
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let (status, head, bytes) =
        http_request(server.addr, method, path, headers, body.as_deref()).await;
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {head}"));
    (status, json)
}

fn now() -> u64 {
    nonstop_server::turn::unix_now()
}

#[tokio::test]
async fn without_a_key_file_there_is_no_api() {
    let server = TestServer::start_default().await;
    let (status, body) = call_as(&server, &[AUTH], "GET", "/api/rooms", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("--api-key-file"));
}

on_every_database!(
    rooms_are_made_listed_changed_and_deleted,
    every_error_says_what_is_wrong,
    rooms_keys_and_tokens_outlive_a_restart,
    a_private_room_admits_only_a_valid_token_for_it,
    deleting_a_room_ends_its_call_for_everyone,
    an_owner_removes_people_and_ends_the_call_and_nobody_else_may,
    with_rooms_on_demand_off_only_the_apis_rooms_exist,
    the_openapi_document_lists_every_endpoint,
    servers_sharing_a_database_see_each_others_rooms,
);

/// The tests, each run on every database.
mod cases {
    use super::*;

    pub async fn rooms_are_made_listed_changed_and_deleted(db: Option<&str>) {
        let dir = TempDir::new();
        let server = api_server(&dir, db, true).await;
        let name = unique("standup");

        let (status, room) = call(
            &server,
            "POST",
            "/api/rooms",
            Some(json!({"name": name, "max_participants": 8, "relay_above": 3})),
        )
        .await;
        assert_eq!(status, 201, "{room}");
        assert_eq!(room["name"], name.as_str());
        assert_eq!(room["privacy"], "public");
        assert_eq!(room["max_participants"], 8);
        assert_eq!(room["relay_above"], 3);
        assert!(room["created_at"].as_u64().unwrap() >= now() - 5);

        let (status, again) =
            call(&server, "POST", "/api/rooms", Some(json!({"name": name}))).await;
        assert_eq!(
            (status, again["code"].as_str()),
            (409, Some("name_taken")),
            "{again}"
        );

        let (status, random) = call(
            &server,
            "POST",
            "/api/rooms",
            Some(json!({"privacy": "private"})),
        )
        .await;
        assert_eq!(status, 201);
        let random_name = random["name"].as_str().unwrap().to_owned();
        assert_eq!(random_name.len(), 12, "{random}");

        let (status, got) = call(&server, "GET", &format!("/api/rooms/{name}"), None).await;
        assert_eq!((status, &got), (200, &room));

        // Paged: one at a time, in name order, until `next` is absent.
        let mut seen = Vec::new();
        let mut path = "/api/rooms?limit=1".to_owned();
        loop {
            let (status, page) = call(&server, "GET", &path, None).await;
            assert_eq!(status, 200, "{page}");
            let data = page["data"].as_array().unwrap();
            assert!(data.len() <= 1);
            seen.extend(data.iter().map(|r| r["name"].as_str().unwrap().to_owned()));
            match page["next"].as_str() {
                Some(next) => path = format!("/api/rooms?limit=1&starting_after={next}"),
                None => break,
            }
        }
        assert!(
            seen.contains(&name) && seen.contains(&random_name),
            "{seen:?}"
        );
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "in name order: {seen:?}"
        );

        let (status, changed) = call(
            &server,
            "PATCH",
            &format!("/api/rooms/{name}"),
            Some(json!({"privacy": "private", "max_participants": null, "relay_above": 4})),
        )
        .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["privacy"], "private");
        assert_eq!(changed["max_participants"], Value::Null);
        assert_eq!(changed["relay_above"], 4);

        let (status, deleted) = call(&server, "DELETE", &format!("/api/rooms/{name}"), None).await;
        assert_eq!(status, 200, "{deleted}");
        assert_eq!(deleted["ended_for"], 0);
        for method in ["GET", "DELETE"] {
            let (status, gone) = call(&server, method, &format!("/api/rooms/{name}"), None).await;
            assert_eq!(
                (status, gone["code"].as_str()),
                (404, Some("not_found")),
                "{method}: {gone}"
            );
        }
    }

    pub async fn every_error_says_what_is_wrong(db: Option<&str>) {
        let dir = TempDir::new();
        let server = api_server(&dir, db, true).await;

        let (status, body) = call_as(&server, &[], "GET", "/api/rooms", None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{body}"
        );
        let (status, body) = call_as(
            &server,
            &[("Authorization", "Bearer not-a-key-of-ours-at-all")],
            "GET",
            "/api/rooms",
            None,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{body}"
        );

        let cases = [
            (json!({"nmae": "typo"}), "invalid_request", None, "nmae"),
            (
                json!({"privacy": "secret"}),
                "invalid_request",
                None,
                "secret",
            ),
            (json!({"name": "a b/c"}), "invalid_field", Some("name"), ""),
            (
                json!({"max_participants": 51}),
                "invalid_field",
                Some("max_participants"),
                "50",
            ),
            (
                json!({"max_participants": 0}),
                "invalid_field",
                Some("max_participants"),
                "",
            ),
            (
                json!({"relay_above": 0}),
                "invalid_field",
                Some("relay_above"),
                "50",
            ),
            (
                json!({"expires_at": 1}),
                "invalid_field",
                Some("expires_at"),
                "past",
            ),
        ];
        for (body, code, field, says) in cases {
            let (status, err) = call(&server, "POST", "/api/rooms", Some(body.clone())).await;
            assert_eq!(status, 400, "{body}: {err}");
            assert_eq!(err["code"], code, "{body}: {err}");
            assert_eq!(err["field"].as_str(), field, "{body}: {err}");
            assert!(
                err["message"].as_str().unwrap().contains(says),
                "{body}: {err}"
            );
        }
        let (status, err) = call(&server, "GET", "/api/rooms?limit=1000", None).await;
        assert_eq!(
            (status, err["field"].as_str()),
            (400, Some("limit")),
            "{err}"
        );
        let (status, err) = call(
            &server,
            "POST",
            "/api/meeting-tokens",
            Some(json!({"room": "x y"})),
        )
        .await;
        assert_eq!(
            (status, err["field"].as_str()),
            (400, Some("room")),
            "{err}"
        );
        let (status, err) = call(&server, "GET", "/api/nothing-here", None).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (404, Some("not_found")),
            "{err}"
        );
        let (status, err) = call(&server, "GET", "/api/rooms/never-made-here/presence", None).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (404, Some("not_found")),
            "{err}"
        );

        // One key's burst, then 429 with its code.
        let mut limited = None;
        for n in 0..100 {
            let (status, body) = call(&server, "GET", "/api/rooms", None).await;
            if status == 429 {
                limited = Some((n, body));
                break;
            }
        }
        let (n, body) = limited.expect("rate limited within 100 requests");
        assert!(n >= 30, "limited after only {n}");
        assert_eq!(body["code"], "rate_limited");
    }

    pub async fn rooms_keys_and_tokens_outlive_a_restart(db: Option<&str>) {
        let dir = TempDir::new();
        let name = unique("kept");
        let server = api_server(&dir, db, true).await;
        let (status, _) = call(
            &server,
            "POST",
            "/api/rooms",
            Some(json!({"name": name, "privacy": "private"})),
        )
        .await;
        assert_eq!(status, 201);
        let (_, token) = call(
            &server,
            "POST",
            "/api/meeting-tokens",
            Some(json!({"room": name, "user_name": "Ada"})),
        )
        .await;
        let token = token["token"].as_str().unwrap().to_owned();
        server.shut_down().await;

        let server = api_server(&dir, db, true).await;
        let (status, room) = call(&server, "GET", &format!("/api/rooms/{name}"), None).await;
        assert_eq!(
            (status, room["privacy"].as_str()),
            (200, Some("private")),
            "{room}"
        );
        let (mut client, _) = (server.connect().await, ());
        client
            .send(&join_with(&name, "someone", Some(&token)))
            .await;
        match client.recv().await {
            ServerMsg::Welcome { .. } => {}
            other => panic!("the token from before the restart should admit: {other:?}"),
        }
    }

    /// Two servers on one database (two nodes): a room made, changed or deleted through
    /// one counts for joins on the other at once, and tokens work on both.
    pub async fn servers_sharing_a_database_see_each_others_rooms(db: Option<&str>) {
        let dir = TempDir::new();
        let one = api_server(&dir, db, false).await;
        // The first has made and migrated the database before the second opens it
        // (on SQLite two migrations at once would race; PostgreSQL takes a lock).
        assert_eq!(call(&one, "GET", "/api/rooms", None).await.0, 200);
        let two = api_server(&dir, db, false).await;
        let room = unique("shared");
        let (status, _) = call(
            &one,
            "POST",
            "/api/rooms",
            Some(json!({"name": room, "privacy": "private"})),
        )
        .await;
        assert_eq!(status, 201);
        let token = token_for(&one, json!({"room": room, "user_name": "Ada"})).await;
        let mut ada = two.connect().await;
        ada.send(&join_with(&room, "someone", Some(&token))).await;
        match ada.recv().await {
            ServerMsg::Welcome { name, .. } => assert_eq!(name.as_deref(), Some("Ada")),
            other => panic!("the other server's room and token should admit: {other:?}"),
        }

        // Public now (changed through the first), then gone (deleted through it).
        let (status, _) = call(
            &one,
            "PATCH",
            &format!("/api/rooms/{room}"),
            Some(json!({"privacy": "public"})),
        )
        .await;
        assert_eq!(status, 200);
        let mut bob = two.connect().await;
        bob.send(&join_with(&room, "Bob", None)).await;
        assert!(matches!(bob.recv().await, ServerMsg::Welcome { .. }));
        let (status, _) = call(&one, "DELETE", &format!("/api/rooms/{room}"), None).await;
        assert_eq!(status, 200);
        let (code, message) = refused(&two, join_with(&room, "Cy", None)).await;
        assert_eq!(code, ErrorCode::RoomNotFound, "{message}");
    }

    fn join_with(room: &str, name: &str, token: Option<&str>) -> ClientMsg {
        match join_msg(room, name) {
            ClientMsg::Join {
                protocol,
                room,
                name,
                media,
                passcode,
                ..
            } => ClientMsg::Join {
                protocol,
                room,
                name,
                media,
                passcode,
                token: token.map(Into::into),
            },
            _ => unreachable!(),
        }
    }

    /// The code of the error a join gets.
    async fn refused(server: &TestServer, msg: ClientMsg) -> (ErrorCode, String) {
        let mut client = server.connect().await;
        client.send(&msg).await;
        match client.recv().await {
            ServerMsg::Error { code, message } => (code, message),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    async fn token_for(server: &TestServer, body: Value) -> String {
        let (status, token) = call(server, "POST", "/api/meeting-tokens", Some(body)).await;
        assert_eq!(status, 201, "{token}");
        token["token"].as_str().unwrap().to_owned()
    }

    pub async fn a_private_room_admits_only_a_valid_token_for_it(db: Option<&str>) {
        let dir = TempDir::new();
        let server = api_server(&dir, db, true).await;
        let (room, other) = (unique("private"), unique("other"));
        for name in [&room, &other] {
            let (status, _) = call(
                &server,
                "POST",
                "/api/rooms",
                Some(json!({"name": name, "privacy": "private", "max_participants": 1})),
            )
            .await;
            assert_eq!(status, 201);
        }

        let (code, message) = refused(&server, join_with(&room, "Eve", None)).await;
        assert_eq!(code, ErrorCode::TokenRequired, "{message}");
        assert!(message.contains("private"), "{message}");

        let wrong_room = token_for(&server, json!({"room": other})).await;
        let (code, message) = refused(&server, join_with(&room, "Eve", Some(&wrong_room))).await;
        assert_eq!(code, ErrorCode::InvalidToken);
        assert!(message.contains("another meeting"), "{message}");

        let short = token_for(&server, json!({"room": room, "expires_at": now() + 1})).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (code, message) = refused(&server, join_with(&room, "Eve", Some(&short))).await;
        assert_eq!(code, ErrorCode::InvalidToken);
        assert!(message.contains("expired"), "{message}");

        let (code, _) = refused(&server, join_with(&room, "Eve", Some("1.forged.token"))).await;
        assert_eq!(code, ErrorCode::InvalidToken);

        // A valid one: in, under the token's name whatever the join says.
        let good = token_for(
            &server,
            json!({"room": room, "user_name": "Grace Hopper", "is_owner": true}),
        )
        .await;
        let mut grace = server.connect().await;
        grace
            .send(&join_with(&room, "typed name", Some(&good)))
            .await;
        let me = match grace.recv().await {
            ServerMsg::Welcome { you, name, .. } => {
                assert_eq!(
                    name.as_deref(),
                    Some("Grace Hopper"),
                    "told the name others see"
                );
                you
            }
            other => panic!("expected welcome, got {other:?}"),
        };
        let (status, presence) =
            call(&server, "GET", &format!("/api/rooms/{room}/presence"), None).await;
        assert_eq!(status, 200);
        assert_eq!(presence["count"], 1);
        assert_eq!(presence["participants"][0]["name"], "Grace Hopper");
        assert_eq!(presence["participants"][0]["id"], me.get());

        // The room's own limit (1), below the server's capacity.
        let (code, _) = refused(&server, join_with(&room, "Eve", Some(&good))).await;
        assert_eq!(code, ErrorCode::RoomFull);
    }

    pub async fn an_owner_removes_people_and_ends_the_call_and_nobody_else_may(db: Option<&str>) {
        let dir = TempDir::new();
        let server = api_server(&dir, db, true).await;
        let room = unique("owned");
        let owner_token = token_for(
            &server,
            json!({"room": room, "user_name": "Owner", "is_owner": true}),
        )
        .await;
        let mut owner = server.connect().await;
        owner.send(&join_with(&room, "x", Some(&owner_token))).await;
        match owner.recv().await {
            ServerMsg::Welcome { owner: true, .. } => {}
            other => panic!("expected an owner's welcome, got {other:?}"),
        };
        let (mut ada, _) = server.joined(&room, "Ada").await;
        let (mut bob, bob_id) = server.joined(&room, "Bob").await;
        for _ in 0..2 {
            assert!(matches!(owner.recv().await, ServerMsg::Joined { .. }));
        }
        assert!(matches!(ada.recv().await, ServerMsg::Joined { .. }));

        // Ada is no owner: refused, nothing happens.
        ada.send(&ClientMsg::Remove {
            participant: bob_id,
        })
        .await;
        match ada.recv().await {
            ServerMsg::Error {
                code: ErrorCode::NotOwner,
                ..
            } => {}
            other => panic!("expected not_owner, got {other:?}"),
        }
        ada.send(&ClientMsg::EndCall).await;
        match ada.recv().await {
            ServerMsg::Error {
                code: ErrorCode::NotOwner,
                ..
            } => {}
            other => panic!("expected not_owner, got {other:?}"),
        }

        // The owner removes Bob: he is told and closed, the others hear he left.
        owner
            .send(&ClientMsg::Remove {
                participant: bob_id,
            })
            .await;
        match bob.recv().await {
            ServerMsg::Error {
                code: ErrorCode::Removed,
                message,
            } => {
                assert!(message.contains("removed you"), "{message}")
            }
            other => panic!("expected removed, got {other:?}"),
        }
        assert_eq!(bob.expect_close().await, Some(1000));
        for client in [&mut owner, &mut ada] {
            match client.recv().await {
                ServerMsg::Left { id, .. } => assert_eq!(id, bob_id),
                other => panic!("expected Bob to leave, got {other:?}"),
            }
        }

        // The owner ends the call: everyone, the owner too, is told and closed.
        owner.send(&ClientMsg::EndCall).await;
        for client in [&mut ada, &mut owner] {
            match client.recv().await {
                ServerMsg::Error {
                    code: ErrorCode::CallEnded,
                    ..
                } => {}
                other => panic!("expected call_ended, got {other:?}"),
            }
        }
        let (status, presence) =
            call(&server, "GET", &format!("/api/rooms/{room}/presence"), None).await;
        assert_eq!(status, 404, "the call is over: {presence}");
    }

    pub async fn deleting_a_room_ends_its_call_for_everyone(db: Option<&str>) {
        let dir = TempDir::new();
        let server = api_server(&dir, db, true).await;
        let room = unique("doomed");
        let (status, _) = call(&server, "POST", "/api/rooms", Some(json!({"name": room}))).await;
        assert_eq!(status, 201);
        let (mut ada, _) = server.joined(&room, "Ada").await;
        let (mut bob, _) = server.joined(&room, "Bob").await;
        let ServerMsg::Joined { .. } = ada.recv().await else {
            panic!("Ada should see Bob")
        };

        let (status, deleted) = call(&server, "DELETE", &format!("/api/rooms/{room}"), None).await;
        assert_eq!(
            (status, deleted["ended_for"].as_u64()),
            (200, Some(2)),
            "{deleted}"
        );
        for client in [&mut ada, &mut bob] {
            match client.recv().await {
                ServerMsg::Error {
                    code: ErrorCode::RoomDeleted,
                    message,
                } => {
                    assert!(message.contains("deleted"), "{message}")
                }
                other => panic!("expected room_deleted, got {other:?}"),
            }
            match client.next_event().await {
                Event::Closed(code) => assert_eq!(code, Some(1000)),
                Event::Msg(msg) => panic!("expected the close, got {msg:?}"),
            }
        }
        let (status, _) = call(&server, "GET", &format!("/api/rooms/{room}/presence"), None).await;
        assert_eq!(status, 404, "nobody left, and no room");
    }

    pub async fn with_rooms_on_demand_off_only_the_apis_rooms_exist(db: Option<&str>) {
        let dir = TempDir::new();
        let server = api_server(&dir, db, false).await;
        let (code, message) = refused(&server, join_msg(&unique("made-up"), "Eve")).await;
        assert_eq!(code, ErrorCode::RoomNotFound);
        assert!(message.contains("no meeting called"), "{message}");

        let room = unique("real");
        let (status, _) = call(
            &server,
            "POST",
            "/api/rooms",
            Some(json!({"name": room, "expires_at": now() + 2})),
        )
        .await;
        assert_eq!(status, 201);
        let (mut ada, _) = server.joined(&room, "Ada").await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (code, message) = refused(&server, join_msg(&room, "Bob")).await;
        assert_eq!(code, ErrorCode::RoomNotFound);
        assert!(message.contains("expired"), "{message}");
        // The call in it ended when its time was up.
        match ada.recv().await {
            ServerMsg::Error {
                code: ErrorCode::RoomDeleted,
                message,
            } => assert!(message.contains("time is up"), "{message}"),
            other => panic!("expected the end of the call, got {other:?}"),
        }
    }

    pub async fn the_openapi_document_lists_every_endpoint(db: Option<&str>) {
        let dir = TempDir::new();
        let server = api_server(&dir, db, true).await;
        let (status, doc) = call_as(&server, &[], "GET", "/api/openapi.json", None).await;
        assert_eq!(status, 200);
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/rooms",
            "/api/rooms/{name}",
            "/api/rooms/{name}/presence",
            "/api/meeting-tokens",
        ] {
            assert!(
                paths.contains_key(path),
                "{path} missing: {:?}",
                paths.keys()
            );
        }
        assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    }
}
