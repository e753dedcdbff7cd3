//! `/janus`: a browser's WebSocket on the server's own origin, piped to Janus's client
//! API WebSocket on loopback (subprotocol `janus-protocol`). One address and one TLS
//! certificate serve signaling, the app and Janus; Janus's WebSocket never faces the
//! internet. Messages pass through unchanged both ways (Janus checks the tokens);
//! WebSocket pings stay on their hop (each side's library answers them).

use axum::extract::ws::{self, WebSocket};
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::{
    frame::coding::CloseCode, CloseFrame, WebSocketConfig,
};
use tokio_tungstenite::tungstenite::{self as tg, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use crate::AppState;

/// Janus's WebSocket subprotocol, which browsers ask for and Janus requires.
pub const SUBPROTOCOL: &str = "janus-protocol";

/// Largest message either way. A multistream subscriber's SDP grows by about a
/// kilobyte per stream: a page of 25 videos plus the speakers' audio stays far below.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Longest wait for Janus's WebSocket to open (it is on loopback: milliseconds).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Longest wait for the close frames to go out when a connection ends.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

type Upstream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `/janus`: the pool's first instance (what grants named before there was a pool).
pub async fn upgrade_first(
    ws: WebSocketUpgrade,
    state: State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    upgrade(ws, Path(0), state, headers, extensions).await
}

/// The `/janus/N` handler (N: the instance in the pool, as the grant says): same origin
/// check and connection caps as `/ws`, then a connection to that Janus, then the
/// upgrade (so a browser hears at once, with a status and a text, when Janus is not
/// configured or not reachable).
pub async fn upgrade(
    ws: WebSocketUpgrade,
    Path(instance): Path<usize>,
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let Some(janus) = state.settings.janus.get(instance) else {
        let pool = state.settings.janus.len();
        let why = if pool == 0 {
            "no SFU: this server runs without Janus (--janus-ws not set)\n".to_owned()
        } else {
            format!("no SFU number {instance}: this server has {pool} Janus instance(s), numbered from 0\n")
        };
        return (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    };
    let admitted = match state.admit_websocket(&headers, &extensions) {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    let upstream = match connect(&janus.client_ws).await {
        Ok(upstream) => upstream,
        Err(why) => {
            tracing::warn!(janus = %janus.client_ws, error = %why, "/janus: Janus not reachable");
            return (
                StatusCode::BAD_GATEWAY,
                "the SFU (Janus) is not reachable\n",
            )
                .into_response();
        }
    };
    let (shutdown, connections) = (state.shutdown.clone(), state.connections.clone());
    ws.protocols([SUBPROTOCOL])
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |browser| {
            connections.track_future(async move {
                pipe(browser, upstream, shutdown).await;
                drop(admitted);
            })
        })
}

/// Janus's client WebSocket at `url`.
async fn connect(url: &str) -> Result<Upstream, String> {
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok((upstream, _))) => Ok(upstream),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no WebSocket within {} s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// Copies messages both ways until either side closes (the close goes on to the other
/// side) or the server shuts down (the browser is told 1001 and may `claim` its Janus
/// session from the next server within Janus's reclaim timeout).
async fn pipe(browser: WebSocket, janus: Upstream, shutdown: CancellationToken) {
    let (mut to_browser, mut from_browser) = browser.split();
    let (mut to_janus, mut from_janus) = janus.split();
    loop {
        tokio::select! {
            message = from_browser.next() => match message {
                Some(Ok(message)) => {
                    let Some(message) = to_upstream(message) else { continue };
                    let closing = matches!(message, Message::Close(_));
                    if to_janus.send(message).await.is_err() || closing {
                        break;
                    }
                }
                // Dropped without a close frame, or an oversized message.
                Some(Err(_)) | None => {
                    let _ = to_janus.send(Message::Close(None)).await;
                    break;
                }
            },
            message = from_janus.next() => match message {
                Some(Ok(message)) => {
                    let Some(message) = to_browser_message(message) else { continue };
                    let closing = matches!(message, ws::Message::Close(_));
                    if to_browser.send(message).await.is_err() || closing {
                        break;
                    }
                }
                Some(Err(_)) | None => {
                    let _ = to_browser
                        .send(ws::Message::Close(Some(ws::CloseFrame {
                            code: ws::close_code::AWAY,
                            reason: "the SFU closed the connection".into(),
                        })))
                        .await;
                    break;
                }
            },
            () = shutdown.cancelled() => {
                let _ = to_browser
                    .send(ws::Message::Close(Some(ws::CloseFrame {
                        code: ws::close_code::AWAY,
                        reason: "server restarting".into(),
                    })))
                    .await;
                let _ = to_janus.send(Message::Close(None)).await;
                break;
            }
        }
    }
    // Completes the close handshakes (each library has queued its reply to a close it
    // received) without waiting long for a side that stopped reading.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        let _ = to_browser.close().await;
        let _ = to_janus.close().await;
    })
    .await;
}

/// A browser's message as Janus gets it; `None` for pings and pongs (hop by hop).
fn to_upstream(message: ws::Message) -> Option<Message> {
    Some(match message {
        ws::Message::Text(text) => Message::text(text.as_str()),
        ws::Message::Binary(bytes) => Message::Binary(bytes),
        ws::Message::Close(frame) => Message::Close(frame.map(|f| CloseFrame {
            code: CloseCode::from(f.code),
            reason: f.reason.as_str().into(),
        })),
        ws::Message::Ping(_) | ws::Message::Pong(_) => return None,
    })
}

/// Janus's message as the browser gets it; `None` for pings, pongs and raw frames.
fn to_browser_message(message: Message) -> Option<ws::Message> {
    Some(match message {
        Message::Text(text) => ws::Message::Text(text.as_str().into()),
        Message::Binary(bytes) => ws::Message::Binary(bytes),
        Message::Close(frame) => ws::Message::Close(frame.map(|f| ws::CloseFrame {
            code: f.code.into(),
            reason: f.reason.as_str().into(),
        })),
        Message::Ping(_) | Message::Pong(_) | tg::Message::Frame(_) => return None,
    })
}
