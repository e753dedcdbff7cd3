//! The seam between the rooms logic and the SFU that carries relayed calls: rooms on
//! the SFU are created, destroyed and granted through [`SfuRooms`]; `janus` implements
//! it for Janus VideoRoom.

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
    Unreachable(String),
    Refused(String),
}

impl std::fmt::Display for SfuError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
}
