//! Who is alive and which node is each room's home, kept in Redis by two scripts.
//!
//! Scripts run atomically in Redis, which is what makes a room's home unique: the
//! read of the current home, the liveness check and the write are one step, so two
//! nodes claiming a room at once get the same answer. Both read Redis's clock
//! (`TIME`), never a node's.

use std::sync::LazyLock;

use redis::aio::ConnectionLike;
use redis::{RedisResult, Script};

use super::ALIVE_WINDOW;

/// Every node's last heartbeat (Redis time, ms).
pub const NODES_KEY: &str = "nonstop:nodes";
/// The session secret nodes share when none is configured.
pub const SECRET_KEY: &str = "nonstop:session-secret";
/// How long a room's lease outlives its home's last renewal. Far longer than a
/// heartbeat: a home that lost Redis for a moment keeps its rooms. A dead home's rooms
/// move as soon as it is not alive, lease or not.
const ROOM_LEASE_MS: u64 = 60_000;

fn room_key(room: &str) -> String {
    format!("nonstop:room:{room}")
}

/// KEYS: room, nodes. ARGV: this node, alive window (ms), lease (ms).
/// Returns the room's home: its holder if alive, else this node, now holding it.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local home = redis.call('GET', KEYS[1])
if home and home ~= ARGV[1] then
  local seen = redis.call('ZSCORE', KEYS[2], home)
  if seen and tonumber(seen) >= now - tonumber(ARGV[2]) then
    return home
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return ARGV[1]
",
    )
});

/// KEYS: nodes. ARGV: this node, alive window (ms).
/// Records this node's heartbeat, forgets nodes long dead, returns the live ones.
static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 100 * tonumber(ARGV[2]))
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf')
",
    )
});

/// KEYS: nodes. ARGV: the node, alive window (ms). 1 if the node is alive, else 0.
static ALIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if seen and tonumber(seen) >= now - tonumber(ARGV[2]) then return 1 end
return 0
",
    )
});

/// Whether `node` heartbeated within the alive window.
pub async fn is_alive<C: ConnectionLike + Send>(redis: &mut C, node: &str) -> RedisResult<bool> {
    about_node(&ALIVE, node).invoke_async(redis).await
}

/// `script` called with the nodes' set, `node` and the alive window.
fn about_node<'a>(script: &'a Script, node: &str) -> redis::ScriptInvocation<'a> {
    let mut call = script.key(NODES_KEY);
    call.arg(node).arg(ALIVE_WINDOW.as_millis() as u64);
    call
}

fn claim_invocation<'a>(room: &str, node: &str) -> redis::ScriptInvocation<'a> {
    let mut call = CLAIM.key(room_key(room));
    call.key(NODES_KEY)
        .arg(node)
        .arg(ALIVE_WINDOW.as_millis() as u64)
        .arg(ROOM_LEASE_MS);
    call
}

/// The home of `room`, claimed for `node` if it has none alive.
pub async fn claim<C: ConnectionLike + Send>(
    redis: &mut C,
    room: &str,
    node: &str,
) -> RedisResult<String> {
    claim_invocation(room, node).invoke_async(redis).await
}

/// Renews `node`'s lease on each of `rooms`; the rooms another node holds now.
pub async fn renew<C: ConnectionLike + Send>(
    redis: &mut C,
    rooms: &[String],
    node: &str,
) -> RedisResult<Vec<String>> {
    let mut lost = Vec::new();
    for room in rooms {
        let home = claim(redis, room, node).await?;
        if home != node {
            lost.push(room.clone());
        }
    }
    Ok(lost)
}

/// Records `node`'s heartbeat; the nodes alive now, `node` among them.
pub async fn heartbeat<C: ConnectionLike + Send>(
    redis: &mut C,
    node: &str,
) -> RedisResult<Vec<String>> {
    about_node(&HEARTBEAT, node).invoke_async(redis).await
}

/// Takes `node` off the live list (it is stopping).
pub async fn leave<C: ConnectionLike + Send>(redis: &mut C, node: &str) -> RedisResult<()> {
    redis::cmd("ZREM")
        .arg(NODES_KEY)
        .arg(node)
        .exec_async(redis)
        .await
}
