//! Where relayed calls go: the seam between the rooms (which decide when a call needs
//! an SFU room) and the SFU itself (Janus, in `janus/`). Secrets stay on the server;
//! browsers get only [`SfuGrant`]s.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use nonstop_core::protocol::SfuGrant;
use nonstop_core::ParticipantId;

/// A call's room on the SFU, as the server holds it (secrets stay here).
#[derive(Clone, Debug)]
pub struct SfuRoom {
    pub id: String,
    pub pin: String,
    pub secret: String,
    /// Which SFU instance holds it (index into the configured list; 0 with one instance).
    pub instance: usize,
}

#[derive(Debug)]
pub enum SfuError {
    /// No SFU is reachable.
    Unreachable(String),
    /// The SFU refused.
    Refused(String),
}

impl fmt::Display for SfuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SfuError::Unreachable(why) => write!(f, "no SFU is reachable: {why}"),
            SfuError::Refused(why) => write!(f, "the SFU refused: {why}"),
        }
    }
}

impl std::error::Error for SfuError {}

pub type SfuFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where relayed calls go. `None` in the server's state when no SFU is configured or reachable.
pub trait SfuRooms: Send + Sync {
    /// Creates a room for up to `capacity` publishers.
    fn create(&self, capacity: usize) -> SfuFuture<'_, Result<SfuRoom, SfuError>>;
    /// Destroys it (best effort: errors are logged, not returned).
    fn destroy(&self, room: SfuRoom) -> SfuFuture<'_, ()>;
    /// A short-lived grant for one participant, for this room only.
    fn grant(&self, room: &SfuRoom, participant: ParticipantId) -> SfuGrant;
    /// Whether the room still exists: `Ok(false)` when the SFU restarted without it.
    fn exists(&self, room: &SfuRoom) -> SfuFuture<'_, Result<bool, SfuError>>;
    /// Puts `participant`'s publisher out of the room, if it is there (best effort:
    /// errors are logged, not returned).
    fn kick(&self, room: &SfuRoom, participant: ParticipantId) -> SfuFuture<'_, ()>;
}
