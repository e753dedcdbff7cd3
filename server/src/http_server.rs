//! Accepting connections: what `axum::serve` does, plus what it lacks for a server on
//! the internet: a deadline for request headers (a half-sent request or a silent
//! socket is closed, and so is an idle keep-alive connection) and caps on open
//! connections. A connection over a cap is still answered, with 503 or 429 and a
//! short text (see [`refuse_over_cap`]), and `/healthz` keeps answering on it.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::header::CONNECTION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, error};

use crate::limits::{ConnectionCaps, Refusal, Slot};

/// Largest HTTP request head (request line and headers) the server reads.
const MAX_HEAD_BYTES: usize = 32 * 1024;

/// Header deadline of a connection over a cap: it holds a file descriptor the server
/// is short of, so a silent one goes sooner.
const REFUSED_HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// Carried by every request: the connection's slot (a WebSocket keeps it for as long
/// as it is open), or why the connection is over a cap.
#[derive(Debug, Clone)]
pub enum Admission {
    Admitted(Arc<Slot>),
    Refused(Refusal),
}

/// Serves `app` on `listener` until `stop` is cancelled, then lets each connection
/// finish its request and returns.
pub async fn serve_http(
    listener: TcpListener,
    app: Router,
    caps: Arc<ConnectionCaps>,
    header_timeout: Duration,
    stop: CancellationToken,
) -> io::Result<()> {
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    on_accept_error(e).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let admission = match caps.admit(peer.ip()) {
            Ok(slot) => Admission::Admitted(Arc::new(slot)),
            Err(refusal) => {
                debug!(%peer, ?refusal, "over a connection cap");
                Admission::Refused(refusal)
            }
        };
        // Signaling messages are small and latency matters more than packet count.
        if let Err(e) = stream.set_nodelay(true) {
            debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let (app, stop) = (app.clone(), stop.clone());
        connections.spawn(async move {
            let refused = matches!(admission, Admission::Refused(_));
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(admission.clone());
                // What `into_make_service_with_connect_info` would give: the client's
                // address, for per-address limits past the accept (TURN, passcodes).
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request.map(axum::body::Body::new))
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(if refused {
                    header_timeout.min(REFUSED_HEADER_TIMEOUT)
                } else {
                    header_timeout
                })
                .max_buf_size(MAX_HEAD_BYTES)
                // A refused connection gets its answer and is closed.
                .keep_alive(!refused);
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                // Timeouts and resets by clients are routine.
                debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        });
    }
    // Stop accepting at once: new connections are refused rather than left in the
    // backlog while the open ones finish.
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Answers a request on a connection over a cap with its status and a short text,
/// except `/healthz`, which a full server still answers.
pub async fn refuse_over_cap(request: Request, next: Next) -> Response {
    if let Some(Admission::Refused(refusal)) = request.extensions().get::<Admission>() {
        if request.uri().path() != "/healthz" {
            crate::metrics::refused(refusal.label());
            let (status, text) = refusal.response();
            return (status, [(CONNECTION, "close")], text).into_response();
        }
    }
    next.run(request).await
}

/// Accept fails for a connection already gone (just go on) or for want of file
/// descriptors (wait for some to be freed instead of spinning).
async fn on_accept_error(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted | WouldBlock
    ) {
        return;
    }
    error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
