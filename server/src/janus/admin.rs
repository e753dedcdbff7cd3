//! A client of Janus's Admin API over WebSocket (subprotocol `janus-admin-protocol`):
//! one connection, opened on first use and again after it drops, shared by all
//! requests; each request carries a transaction id that its answer echoes, and waits
//! at most [`REQUEST_TIMEOUT`] for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// Longest wait for the Admin API's WebSocket to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest wait for an answer. Room creation takes milliseconds; more means Janus is
/// stuck or overloaded, and the call had better stay in mesh than wait.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request got no success answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// No connection, or it dropped before the answer.
    Unreachable(String),
    /// No answer within [`REQUEST_TIMEOUT`].
    Timeout,
    /// Janus (or the plugin) answered with an error.
    Refused { code: i64, reason: String },
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Unreachable(why) => write!(f, "{why}"),
            AdminError::Timeout => {
                write!(f, "no answer within {} s", REQUEST_TIMEOUT.as_secs_f32())
            }
            AdminError::Refused { code, reason } => write!(f, "error {code}: {reason}"),
        }
    }
}

/// Answers awaited, by transaction; `None` once the connection is gone.
type Pending = Arc<Mutex<Option<HashMap<String, oneshot::Sender<Value>>>>>;

struct Connection {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
}

impl Connection {
    fn is_open(&self) -> bool {
        self.pending.lock().unwrap().is_some() && !self.out.is_closed()
    }
}

pub struct AdminClient {
    url: String,
    secret: Mutex<String>,
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
    next_transaction: AtomicU64,
}

impl AdminClient {
    /// For the Admin API at `url` (`ws://127.0.0.1:7188`), with `admin_secret`.
    /// Connects on the first request.
    pub fn new(url: String, secret: String) -> AdminClient {
        AdminClient {
            url,
            secret: Mutex::new(secret),
            connection: tokio::sync::Mutex::new(None),
            next_transaction: AtomicU64::new(1),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `admin_secret` of the following requests (Janus restarted with a new one).
    pub fn set_secret(&self, secret: String) {
        *self.secret.lock().unwrap() = secret;
    }

    /// Sends `request` (an object with at least `janus`), with a transaction and the
    /// admin secret added, and returns Janus's `success` answer.
    pub async fn request(&self, mut request: Value) -> Result<Value, AdminError> {
        let connection = self.connection().await?;
        let transaction = format!("t{}", self.next_transaction.fetch_add(1, Ordering::Relaxed));
        request["transaction"] = Value::from(transaction.as_str());
        request["admin_secret"] = Value::from(self.secret.lock().unwrap().as_str());
        let (tx, rx) = oneshot::channel();
        match connection.pending.lock().unwrap().as_mut() {
            Some(pending) => pending.insert(transaction.clone(), tx),
            None => return Err(AdminError::Unreachable("connection closed".into())),
        };
        if connection.out.send(request.to_string()).is_err() {
            return Err(AdminError::Unreachable("connection closed".into()));
        }
        let answer = match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => {
                return Err(AdminError::Unreachable(
                    "connection closed before the answer".into(),
                ))
            }
            Err(_) => {
                if let Some(pending) = connection.pending.lock().unwrap().as_mut() {
                    pending.remove(&transaction);
                }
                return Err(AdminError::Timeout);
            }
        };
        match answer["janus"].as_str() {
            Some("success") => Ok(answer),
            _ => Err(AdminError::Refused {
                code: answer["error"]["code"].as_i64().unwrap_or(0),
                reason: answer["error"]["reason"]
                    .as_str()
                    .unwrap_or("unexpected answer")
                    .to_owned(),
            }),
        }
    }

    /// The open connection, or a new one.
    async fn connection(&self) -> Result<Arc<Connection>, AdminError> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.is_open()) {
            return Ok(c.clone());
        }
        let c = Arc::new(self.connect().await?);
        *slot = Some(c.clone());
        Ok(c)
    }

    async fn connect(&self) -> Result<Connection, AdminError> {
        let unreachable = |why: String| AdminError::Unreachable(why);
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| unreachable(format!("bad URL: {e}")))?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("janus-admin-protocol"),
        );
        let (socket, _) = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio_tungstenite::connect_async_with_config(request, None, true),
        )
        .await
        .map_err(|_| {
            unreachable(format!(
                "no WebSocket within {} s",
                CONNECT_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| unreachable(e.to_string()))?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        tokio::spawn(async move {
            // Ends when the client drops the connection (all senders gone) or a write fails.
            while let Some(text) = outgoing.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let answers = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(answer) = serde_json::from_str::<Value>(&text) else {
                    tracing::warn!("Janus Admin API sent something that is not JSON");
                    continue;
                };
                let waiting = answer["transaction"].as_str().and_then(|t| {
                    answers
                        .lock()
                        .unwrap()
                        .as_mut()
                        .and_then(|pending| pending.remove(t))
                });
                if let Some(waiting) = waiting {
                    let _ = waiting.send(answer);
                }
            }
            // Everyone still waiting hears "closed" now rather than at the timeout.
            answers.lock().unwrap().take();
        });
        Ok(Connection { out, pending })
    }
}
