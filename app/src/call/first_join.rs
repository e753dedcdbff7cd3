//! The first `join` of a call, tried again on its own while the server says
//! `going_away` (a node restarting, a room moving between nodes), as the core's
//! [`FirstJoinRetry`] decides. The page shows "Joining…" throughout; only the last
//! attempt's failure reaches the person.

use leptos::logging::warn;
use nonstop_core::protocol::ClientMsg;
use nonstop_core::reconnect::{FirstJoinRetry, JoinStep};

use super::handshake::{self, Accepted, Refused};
use crate::platform::clock::{now, sleep};
use crate::platform::random_seed;

/// Sends `join` (`hello`) until the server welcomes us, refuses, or the core's policy
/// gives up; the error is the last attempt's.
pub async fn join(hello: ClientMsg) -> Result<Accepted, Refused> {
    let mut policy = FirstJoinRetry::new(random_seed());
    let mut outcome = handshake::open(hello.clone()).await;
    loop {
        let refused = match outcome {
            Ok(accepted) => return Ok(accepted),
            Err(refused) => refused,
        };
        let JoinStep::RetryAfter(wait) = policy.after_failure(now(), refused.join_failure()) else {
            return Err(refused);
        };
        if let Refused::Unreachable { why, .. } = &refused {
            warn!("signaling: join not answered ({why}); trying again");
        }
        sleep(wait).await;
        outcome = handshake::retry(hello.clone()).await;
    }
}
