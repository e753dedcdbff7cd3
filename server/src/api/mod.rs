//! The REST API under `/api/`: rooms, meeting tokens, who is in a call, and its own
//! OpenAPI document. On only with `--api-key-file`; without it every `/api/` path
//! answers 404 and rooms open on demand, as they always did.
//!
//! - [`store`]: the database (SQLite or PostgreSQL) and its migrations.
//! - [`directory`]: the API's rooms in memory, and who may join them.
//! - [`meeting_token`]: the tokens a private room's joins carry.
//! - [`routes`]: the handlers; [`error`]: their error bodies.

pub mod directory;
pub mod error;
pub mod meeting_token;
pub mod routes;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use nonstop_core::protocol::{ErrorCode, ProtocolError};
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

use crate::limits::token_bucket::{Rate, TokenBucket};
pub use crate::turn::unix_now;
use directory::Directory;
use meeting_token::TokenKey;
use store::Store;

/// Shortest API key accepted: a key is a password for everything the API can do.
pub const MIN_KEY_CHARS: usize = 16;

/// Requests per second one key may make on average, and at most at once.
const KEY_RATE: Rate = Rate {
    burst: 40.0,
    per_sec: 20.0,
};

/// How the API is set up (`--api-key-file`, `--database-url`, `--rooms-on-demand`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    pub key_file: PathBuf,
    pub database_url: String,
    /// Whether a visitor may open a room the API never made, by joining it.
    pub rooms_on_demand: bool,
}

#[derive(Debug)]
pub struct Api {
    store: Store,
    directory: Arc<Directory>,
    /// SHA-256 digests (hex) of the keys that may use the API.
    keys: HashSet<String>,
    buckets: Mutex<HashMap<String, TokenBucket>>,
    /// The server's room capacity: the most `max_participants` may say.
    capacity: usize,
}

impl Api {
    /// Reads the keys, opens the database (made and migrated as needed), and loads
    /// the rooms. Every failure is a message naming what to fix.
    pub async fn open(config: &ApiConfig, capacity: usize) -> Result<Api, String> {
        let text = std::fs::read_to_string(&config.key_file)
            .map_err(|e| format!("--api-key-file {}: {e}", config.key_file.display()))?;
        let keys = parse_keys(&text)
            .map_err(|why| format!("--api-key-file {}: {why}", config.key_file.display()))?;
        let store = Store::open(&config.database_url).await?;
        let digests: Vec<String> = keys.iter().map(|k| digest(k)).collect();
        store
            .set_api_keys(&digests, unix_now())
            .await
            .map_err(|e| format!("cannot store the API keys: {e}"))?;
        let keys = store
            .api_keys()
            .await
            .map_err(|e| format!("cannot read the API keys: {e}"))?
            .into_iter()
            .collect();
        let secret = store
            .secret(
                "meeting_token_key",
                crate::resume::random_nonce() + &crate::resume::random_nonce(),
            )
            .await
            .map_err(|e| format!("cannot read the meeting-token key: {e}"))?;
        let rooms = store
            .all_rooms()
            .await
            .map_err(|e| format!("cannot read the rooms: {e}"))?;
        let directory = Arc::new(
            Directory::new(
                rooms,
                TokenKey::from_secret(&secret),
                config.rooms_on_demand,
            )
            .with_store(store.clone()),
        );
        Ok(Api {
            store,
            directory,
            keys,
            buckets: Mutex::new(HashMap::new()),
            capacity,
        })
    }

    /// Ends the calls of rooms past their `expires_at` (checked every second) until
    /// `stop`. The rooms stay, for the API to show or extend.
    pub async fn end_expired_calls(self: Arc<Self>, hub: Arc<Hub>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => return,
            }
            for room in self.directory.expired(unix_now()) {
                hub.end_room(
                    &room,
                    ProtocolError::new(
                        ErrorCode::RoomDeleted,
                        "This meeting has ended: its time is up.",
                    ),
                );
            }
        }
    }

    /// Who may join which room: the hub asks it at every join.
    pub fn directory(&self) -> Arc<Directory> {
        self.directory.clone()
    }

    /// `Some(digest)` of `key` if it may use the API.
    fn key(&self, key: &str) -> Option<String> {
        let digest = digest(key);
        self.keys.contains(&digest).then_some(digest)
    }

    /// Whether the key with `digest` may make one more request now.
    fn within_rate(&self, digest: &str) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry(digest.to_owned())
            .or_insert_with(|| TokenBucket::full(KEY_RATE, now))
            .try_take(1.0, now)
    }
}

/// The keys in a key file: one per line; blank lines and `#` comments skipped.
fn parse_keys(text: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let key = line.trim();
        if key.is_empty() || key.starts_with('#') {
            continue;
        }
        if key.chars().count() < MIN_KEY_CHARS || key.chars().any(char::is_whitespace) {
            return Err(format!(
                "line {}: an API key is at least {MIN_KEY_CHARS} characters, without spaces",
                n + 1
            ));
        }
        keys.push(key.to_owned());
    }
    if keys.is_empty() {
        return Err("no keys in the file (one per line)".into());
    }
    Ok(keys)
}

fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_holds_one_key_per_line_and_refuses_short_ones() {
        let keys = parse_keys("# ours\n\n  0123456789abcdef  \nfedcba9876543210xyz\n").unwrap();
        assert_eq!(keys, ["0123456789abcdef", "fedcba9876543210xyz"]);
        assert!(parse_keys("short\n").unwrap_err().contains("line 1"));
        assert!(parse_keys("# nothing\n").unwrap_err().contains("no keys"));
    }
}
