//! Identifier newtypes.

use serde::{Deserialize, Serialize};

/// A participant's id, assigned by the signaling server and unique for the server's
/// lifetime. Ids grow with join order, which [`crate::negotiation::Role`] relies on
/// for a deterministic tie-break between two peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(u64);

impl ParticipantId {
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    pub const fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
