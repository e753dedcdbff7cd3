//! Janus's own view of the room through its Admin API: how many publishers it has.
//! The server's Janus client (`nonstop_server::janus`) does the talking and reads the
//! secrets file that scripts/janus-start writes.

use std::path::Path;

use nonstop_server::janus::{Janus, JanusConfig, JanusSecrets};
use serde_json::json;

/// A client of the Admin API at `url` with the secrets in `secrets_file`.
pub fn connect(url: &str, secrets_file: &Path) -> Result<Janus, String> {
    let secrets =
        JanusSecrets::read(secrets_file).map_err(|e| format!("{}: {e}", secrets_file.display()))?;
    Ok(Janus::new(&JanusConfig {
        // Only the Admin API is used here.
        client_ws: String::new(),
        admin_ws: url.to_string(),
        secrets,
        secrets_file: None,
    }))
}

/// (participants, publishers) in `room`, as Janus's VideoRoom lists them.
pub async fn room_counts(janus: &Janus, room: &str) -> Result<(usize, usize), String> {
    let answer = janus
        .videoroom(json!({"request": "listparticipants", "room": room}))
        .await
        .map_err(|e| e.to_string())?;
    let list = answer["participants"]
        .as_array()
        .ok_or_else(|| format!("no participants in {answer}"))?;
    let publishers = list.iter().filter(|p| p["publisher"] == true).count();
    Ok((list.len(), publishers))
}
