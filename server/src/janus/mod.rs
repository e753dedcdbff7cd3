//! Janus (VideoRoom) as the SFU of relayed calls.
//!
//! The signaling server holds Janus's secrets and is the only one that creates and
//! destroys rooms, through the Admin API (`admin`). Browsers get, per participant, a
//! short-lived grant: signed tokens (`tokens`) that let them use VideoRoom, and join
//! one room only, plus that room's pin; they reach Janus's WebSocket through the
//! server's own origin (`proxy`). Several instances make a pool (`pool`): each new
//! relayed call goes to the least loaded one.
//!
//! A room outlives the server that made it when that server stops without destroying
//! it (a crash, a restart): its calls come back as mesh on the restarted server, which
//! knows nothing of the old room. So each room's secret is derived from Janus's admin
//! key and its id ([`room_secret`]), and each room is marked as Nonstop's: any server
//! holding the key can destroy a marked room that no server holds any more
//! ([`Janus::sweep_orphans`]).

mod admin;
mod pool;
pub mod proxy;
pub mod tokens;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use nonstop_core::protocol::SfuGrant;
use nonstop_core::ParticipantId;
use serde_json::{json, Value};

pub use admin::{AdminClient, AdminError};
pub use nonstop_core::topology::SfuLoad;
pub use pool::JanusPool;

use crate::sfu::{SfuError, SfuFuture, SfuRoom, SfuRooms};
use crate::turn::unix_now;

/// Lifetime of a grant's tokens: a leaked one soon dies. Janus checks the core token
/// on every request (keepalives too) and the room token on `join`, so a client moves to
/// each fresh grant, which it gets before expiry (`expires_in`; refreshed at half of
/// it, like TURN credentials).
pub const GRANT_TTL: Duration = Duration::from_secs(10 * 60);

/// Where browsers reach Janus's WebSocket on the server's own origin: the pool's
/// instance N at `/janus/N` (see [`proxy_path`]); `/janus` alone is instance 0.
pub const PROXY_PATH: &str = "/janus";

/// The path on the server's origin that leads to the pool's `instance`.
pub fn proxy_path(instance: usize) -> String {
    format!("{PROXY_PATH}/{instance}")
}

/// VideoRoom's error for a publisher id that is not in the room.
const NO_SUCH_FEED: i64 = 428;

/// The `description` of every room a Nonstop server makes: what the orphan sweep
/// looks for, so that it never touches rooms made by anything else on the same Janus.
pub const ROOM_DESCRIPTION: &str = "nonstop relayed call";

/// How often [`Janus::sweep_orphans`] should run: an orphan goes at the second sweep
/// that finds it empty, so within two of these of its last participant leaving.
pub const ORPHAN_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The secret of room `room` on a Janus whose VideoRoom admin key is `admin_key`.
/// Browsers never see either; a restarted server (or another node) can compute it
/// again, which a random secret lost with its process would not allow.
pub fn room_secret(admin_key: &str, room: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let message = format!("nonstop videoroom secret {room}");
    URL_SAFE_NO_PAD.encode(crate::resume::hmac_sha256(
        admin_key.as_bytes(),
        message.as_bytes(),
    ))
}

/// Janus's secrets, as `scripts/janus-start` writes them (`name=value` lines).
#[derive(Clone, PartialEq, Eq)]
pub struct JanusSecrets {
    /// The Admin API's `admin_secret`.
    pub admin_secret: String,
    /// VideoRoom's `admin_key`: needed to create rooms.
    pub admin_key: String,
    /// `token_auth_secret`: signs the browsers' tokens.
    pub token_auth_secret: String,
}

impl std::fmt::Debug for JanusSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print them (settings are logged).
        f.write_str("JanusSecrets(..)")
    }
}

impl JanusSecrets {
    /// From `admin_secret=…`, `admin_key=…` and `token_auth_secret=…` lines (blank
    /// lines and `#` comments ignored); all three are needed.
    pub fn parse(text: &str) -> Result<JanusSecrets, String> {
        let (mut admin_secret, mut admin_key, mut token_auth_secret) = (None, None, None);
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| format!("expected name=value lines, got {line:?}"))?;
            let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
            match name.trim() {
                "admin_secret" => admin_secret = value,
                "admin_key" => admin_key = value,
                "token_auth_secret" => token_auth_secret = value,
                other => return Err(format!("unknown name {other:?}")),
            }
        }
        let need = |v: Option<String>, name: &str| v.ok_or_else(|| format!("no {name}"));
        Ok(JanusSecrets {
            admin_secret: need(admin_secret, "admin_secret")?,
            admin_key: need(admin_key, "admin_key")?,
            token_auth_secret: need(token_auth_secret, "token_auth_secret")?,
        })
    }

    pub fn read(path: &Path) -> Result<JanusSecrets, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        JanusSecrets::parse(&text)
    }
}

/// Where Janus is and how to talk to it (`--janus-*` flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JanusConfig {
    /// Janus's client API WebSocket (loopback), which `/janus` proxies to.
    pub client_ws: String,
    /// Janus's Admin API WebSocket (loopback).
    pub admin_ws: String,
    pub secrets: JanusSecrets,
    /// Where `secrets` were read: read again when Janus refuses or cannot be reached,
    /// since `scripts/janus-start` makes new ones each time Janus (re)starts.
    pub secrets_file: Option<PathBuf>,
}

/// Janus as the server's [`SfuRooms`].
pub struct Janus {
    admin: AdminClient,
    secrets: Mutex<JanusSecrets>,
    secrets_file: Option<PathBuf>,
    /// Rooms this process made here and has not destroyed: never orphans.
    made: Mutex<HashSet<String>>,
    /// Marked rooms unknown to this process that the last sweep found empty.
    suspects: Mutex<HashSet<String>>,
}

impl Janus {
    pub fn new(config: &JanusConfig) -> Janus {
        Janus {
            admin: AdminClient::new(config.admin_ws.clone(), config.secrets.admin_secret.clone()),
            secrets: Mutex::new(config.secrets.clone()),
            secrets_file: config.secrets_file.clone(),
            made: Mutex::default(),
            suspects: Mutex::default(),
        }
    }

    /// The start-up check: the Admin API answers and accepts our admin secret.
    pub async fn check(&self) -> Result<(), AdminError> {
        self.with_fresh_secrets(|_| self.admin.request(json!({"janus": "get_status"})))
            .await
            .map(|_| ())
    }

    /// Runs `attempt` with the secrets; if it fails and the secrets file says something
    /// new (Janus restarted), runs it once more with those.
    async fn with_fresh_secrets<T, Fut>(
        &self,
        attempt: impl Fn(JanusSecrets) -> Fut,
    ) -> Result<T, AdminError>
    where
        Fut: std::future::Future<Output = Result<T, AdminError>>,
    {
        let first = attempt(self.secrets()).await;
        if first.is_err() && self.reload_secrets() {
            return attempt(self.secrets()).await;
        }
        first
    }

    fn secrets(&self) -> JanusSecrets {
        self.secrets.lock().unwrap().clone()
    }

    /// Reads the secrets file again; true if it holds new secrets (now in use).
    fn reload_secrets(&self) -> bool {
        let Some(path) = &self.secrets_file else {
            return false;
        };
        let fresh = match JanusSecrets::read(path) {
            Ok(fresh) => fresh,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "Janus secrets file");
                return false;
            }
        };
        let mut secrets = self.secrets.lock().unwrap();
        if *secrets == fresh {
            return false;
        }
        tracing::info!(file = %path.display(), "Janus has new secrets (it restarted): using them");
        self.admin.set_secret(fresh.admin_secret.clone());
        *secrets = fresh;
        true
    }

    pub fn admin_url(&self) -> &str {
        self.admin.url()
    }

    /// The Admin API client (also for tests and diagnostics).
    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    /// A request to VideoRoom through the Admin API (`message_plugin`): its answer, or
    /// the plugin's error.
    pub async fn videoroom(&self, request: Value) -> Result<Value, AdminError> {
        self.videoroom_with(|_| request.clone()).await
    }

    /// Like [`videoroom`](Self::videoroom), with a request made from the secrets (and
    /// made again if they change).
    async fn videoroom_with(
        &self,
        build: impl Fn(&JanusSecrets) -> Value,
    ) -> Result<Value, AdminError> {
        self.with_fresh_secrets(|secrets| self.videoroom_once(build(&secrets)))
            .await
    }

    async fn videoroom_once(&self, request: Value) -> Result<Value, AdminError> {
        let answer = self
            .admin
            .request(json!({
                "janus": "message_plugin",
                "plugin": tokens::VIDEOROOM,
                "request": request,
            }))
            .await?;
        let response = answer["response"].clone();
        match response["error_code"].as_i64() {
            Some(code) => Err(AdminError::Refused {
                code,
                reason: response["error"].as_str().unwrap_or("").to_owned(),
            }),
            None => Ok(response),
        }
    }

    /// How busy this Janus is: its VideoRooms and their publishers (the admin key
    /// lists the private rooms too, so this counts every node's calls on it).
    pub async fn load(&self) -> Result<SfuLoad, AdminError> {
        let answer = self
            .videoroom_with(|secrets| json!({"request": "list", "admin_key": secrets.admin_key}))
            .await?;
        let rooms = answer["list"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        Ok(SfuLoad::of_rooms(
            rooms
                .iter()
                .map(|r| r["num_participants"].as_u64().unwrap_or(0)),
        ))
    }

    /// Destroys the rooms here that a Nonstop server made and none holds any more:
    /// marked ([`ROOM_DESCRIPTION`]), not made by this process, and found empty by this
    /// sweep and the one before. Two sweeps, because a room another node (or this one)
    /// has just made is empty until its participants join; a live call's room is never
    /// empty for a whole [`ORPHAN_SWEEP_EVERY`]. A room someone is still in (a page not
    /// yet moved to the mesh) waits until they leave. Returns how many went.
    pub async fn sweep_orphans(&self) -> Result<usize, AdminError> {
        let answer = self
            .videoroom_with(|secrets| json!({"request": "list", "admin_key": secrets.admin_key}))
            .await?;
        let made = self.made.lock().unwrap().clone();
        let empty_unknown: HashSet<String> = answer["list"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter(|r| r["description"] == ROOM_DESCRIPTION)
            .filter(|r| r["num_participants"].as_u64() == Some(0))
            .filter_map(|r| r["room"].as_str())
            .filter(|id| !made.contains(*id))
            .map(str::to_owned)
            .collect();
        let previous =
            std::mem::replace(&mut *self.suspects.lock().unwrap(), empty_unknown.clone());
        let mut swept = 0;
        for id in empty_unknown.intersection(&previous) {
            let request = |secrets: &JanusSecrets| {
                json!({
                    "request": "destroy",
                    "room": id,
                    "secret": room_secret(&secrets.admin_key, id),
                    "permanent": false,
                })
            };
            match self.videoroom_with(request).await {
                Ok(_) => swept += 1,
                Err(e) => {
                    tracing::warn!(room = %id, error = %e, "SFU: cannot destroy a room no server holds")
                }
            }
            self.suspects.lock().unwrap().remove(id);
        }
        if swept > 0 {
            tracing::info!(
                janus = self.admin_url(),
                swept,
                "SFU: destroyed empty rooms that no server holds any more (left by a restart)"
            );
        }
        Ok(swept)
    }

    async fn create_room(&self, capacity: usize) -> Result<SfuRoom, SfuError> {
        let id = random_text(16);
        let admin_key = self.secrets().admin_key;
        let room = SfuRoom {
            secret: room_secret(&admin_key, &id),
            id,
            pin: random_text(12),
            instance: 0,
        };
        self.made.lock().unwrap().insert(room.id.clone());
        let created = self
            .videoroom_with(|secrets| {
                json!({
                    "request": "create",
                    "admin_key": secrets.admin_key,
                    "room": room.id,
                    "description": ROOM_DESCRIPTION,
                    "permanent": false,
                    "is_private": true,
                    // Derived from the key this request is made with (new after a Janus
                    // restart, which makes the secrets again).
                    "secret": room_secret(&secrets.admin_key, &room.id),
                    "pin": room.pin,
                    "require_pvtid": true,
                    "publishers": capacity,
                    "signed_tokens": true,
                    "videocodec": "vp8",
                    "audiocodec": "opus",
                    // `talking` events tell each participant whose audio to receive in a
                    // big call (core's `receive_plan`): after half a second of voice (25
                    // packets of 20 ms) instead of Janus's default two.
                    "audiolevel_event": true,
                    "audio_active_packets": 25,
                })
            })
            .await;
        if let Err(e) = created {
            self.made.lock().unwrap().remove(&room.id);
            return Err(sfu_error(e));
        }
        // The secret it was made with, should the key have changed under the request.
        Ok(SfuRoom {
            secret: room_secret(&self.secrets().admin_key, &room.id),
            ..room
        })
    }

    async fn destroy_room(&self, room: SfuRoom) {
        self.made.lock().unwrap().remove(&room.id);
        let started = std::time::Instant::now();
        match self
            .videoroom(json!({
                "request": "destroy",
                "room": room.id,
                "secret": room.secret,
                "permanent": false,
            }))
            .await
        {
            Ok(_) => tracing::debug!(
                took_ms = started.elapsed().as_millis() as u64,
                "SFU room destroyed"
            ),
            Err(e) => tracing::warn!(error = %e, "SFU: cannot destroy a room"),
        }
    }

    /// The grant for `room`, valid until `now_unix` plus [`GRANT_TTL`].
    pub fn grant_at(&self, room: &SfuRoom, now_unix: u64) -> SfuGrant {
        let expiry = now_unix + GRANT_TTL.as_secs();
        let secret = self.secrets.lock().unwrap().token_auth_secret.clone();
        SfuGrant {
            path: proxy_path(room.instance),
            room: room.id.clone(),
            pin: room.pin.clone(),
            token: tokens::session_token(&secret, expiry),
            room_token: tokens::room_token(&secret, expiry, &room.id),
            expires_in: GRANT_TTL.as_secs(),
        }
    }
}

impl SfuRooms for Janus {
    fn create(&self, capacity: usize) -> SfuFuture<'_, Result<SfuRoom, SfuError>> {
        Box::pin(self.create_room(capacity))
    }

    fn destroy(&self, room: SfuRoom) -> SfuFuture<'_, ()> {
        Box::pin(self.destroy_room(room))
    }

    fn grant(&self, room: &SfuRoom, _participant: ParticipantId) -> SfuGrant {
        // The tokens name no participant: Janus checks room and expiry only; the
        // publisher id a client joins with is its participant id (string_ids).
        self.grant_at(room, unix_now())
    }

    fn exists(&self, room: &SfuRoom) -> SfuFuture<'_, Result<bool, SfuError>> {
        let request = json!({"request": "exists", "room": room.id});
        Box::pin(async move {
            let answer = self.videoroom(request).await.map_err(sfu_error)?;
            Ok(answer["exists"].as_bool().unwrap_or(false))
        })
    }

    fn kick(&self, room: &SfuRoom, participant: ParticipantId) -> SfuFuture<'_, ()> {
        let request = json!({
            "request": "kick",
            "room": room.id,
            "secret": room.secret,
            "id": participant.to_string(),
        });
        Box::pin(async move {
            match self.videoroom(request).await {
                Ok(_) => {
                    tracing::info!(%participant, "SFU: a participant who left was still publishing; kicked")
                }
                // Who left the usual way has left the SFU room too.
                Err(AdminError::Refused {
                    code: NO_SUCH_FEED, ..
                }) => {}
                Err(e) => {
                    tracing::warn!(%participant, error = %e, "SFU: cannot kick a participant who left")
                }
            }
        })
    }
}

fn sfu_error(e: AdminError) -> SfuError {
    match e {
        AdminError::Refused { .. } => SfuError::Refused(e.to_string()),
        AdminError::Unreachable(_) | AdminError::Timeout => SfuError::Unreachable(e.to_string()),
    }
}

/// `bytes` random bytes as base64url without padding: room ids, pins and secrets that
/// fit in Janus's configuration and tokens (no `,` `:` or quotes).
fn random_text(bytes: usize) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the system's random source");
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_file() {
        let s =
            JanusSecrets::parse("# x\nadmin_secret=sa\n\nadmin_key = sb\ntoken_auth_secret=sc=\n")
                .unwrap();
        assert_eq!(
            (&*s.admin_secret, &*s.admin_key, &*s.token_auth_secret),
            ("sa", "sb", "sc=")
        );
        assert!(!format!("{s:?}").contains("sa"));
        assert!(JanusSecrets::parse("admin_secret=a\nadmin_key=b\n").is_err());
        assert!(JanusSecrets::parse("admin_secret=a\nadmin_key=b\ntoken_auth_secret=\n").is_err());
        assert!(JanusSecrets::parse("oops\n").is_err());
        assert!(JanusSecrets::parse("api_secret=x\n").is_err());
    }

    #[test]
    fn grants_carry_no_room_secret_and_name_their_room() {
        let janus = Janus::new(&JanusConfig {
            client_ws: "ws://127.0.0.1:8188".into(),
            admin_ws: "ws://127.0.0.1:7188".into(),
            secrets: JanusSecrets {
                admin_secret: "admin-secret".into(),
                admin_key: "admin-key".into(),
                token_auth_secret: "north".into(),
            },
            secrets_file: None,
        });
        let room = SfuRoom {
            id: random_text(16),
            pin: random_text(12),
            secret: random_text(24),
            instance: 0,
        };
        assert_eq!(room.id.len(), 22);
        let grant = janus.grant_at(&room, 1_700_000_000);
        assert_eq!(grant.path, "/janus/0");
        assert_eq!(grant.expires_in, 600);
        assert_eq!(grant.token, tokens::session_token("north", 1_700_000_600));
        assert_eq!(
            grant.room_token,
            tokens::room_token("north", 1_700_000_600, &room.id)
        );
        let text = serde_json::to_string(&grant).unwrap();
        for secret in ["admin-secret", "admin-key", room.secret.as_str()] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
    }
}
