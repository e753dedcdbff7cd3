//! Janus's own view of the room through its Admin API: how many publishers it has.

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// The `admin_secret` line of scripts/janus-start's secrets file.
pub fn admin_secret(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("admin_secret="))
        .map(str::to_string)
        .ok_or_else(|| format!("{}: no admin_secret", file.display()))
}

/// (participants, publishers) in `room`, as Janus's VideoRoom lists them.
pub async fn room_counts(url: &str, secret: &str, room: &str) -> Result<(usize, usize), String> {
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("janus-admin-protocol"),
    );
    let ask = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| e.to_string())?;
        let req = json!({
            "janus": "message_plugin",
            "transaction": "bench-sfu",
            "admin_secret": secret,
            "plugin": "janus.plugin.videoroom",
            "request": {"request": "listparticipants", "room": room},
        });
        ws.send(Message::text(req.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        while let Some(frame) = ws.next().await {
            let Ok(Message::Text(text)) = frame else {
                continue;
            };
            let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let _ = ws.close(None).await;
            let list = v["response"]["participants"]
                .as_array()
                .ok_or_else(|| format!("no participants in {text}"))?;
            let publishers = list.iter().filter(|p| p["publisher"] == true).count();
            return Ok((list.len(), publishers));
        }
        Err("the Admin API closed".to_string())
    };
    tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .map_err(|_| "the Admin API did not answer".to_string())?
}
