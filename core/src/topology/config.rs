//! The topology policy's parameters. The defaults are the server's unless its flags say
//! otherwise; tests shorten the times.

use crate::adaptation::{Bitrate, Config as AdaptationConfig};
use crate::time::Millis;

#[derive(Debug, Clone, PartialEq)]
pub struct TopologyConfig {
    /// A call of more participants than this is relayed (when an SFU is available).
    pub relay_above: usize,
    /// Without an SFU room, a call holds at most this many participants: a full mesh
    /// beyond it is more than most uplinks carry.
    pub mesh_limit: usize,
    /// A relayed call goes back to mesh only after it has needed no relay for this
    /// long, so that someone leaving and rejoining does not switch it back and forth.
    pub hold: Millis,
    /// A switch commits when every present participant is ready, or after this long:
    /// one stuck client does not keep the others on the old path.
    pub ready_timeout: Millis,
    /// What a mesh needs from a participant's uplink per peer: thin audio and the
    /// lowest video the adaptation controller sends. An uplink that cannot give each
    /// peer this much is better served by uploading once, to the SFU.
    pub per_peer_min: Bitrate,
    /// First retry after creating an SFU room failed; doubles, with jitter, up to
    /// `retry_max`.
    pub retry_base: Millis,
    pub retry_max: Millis,
}

pub const DEFAULT_RELAY_ABOVE: usize = 5;
pub const DEFAULT_MESH_LIMIT: usize = 8;

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            relay_above: DEFAULT_RELAY_ABOVE,
            mesh_limit: DEFAULT_MESH_LIMIT,
            hold: Millis::from_secs(30),
            ready_timeout: Millis::from_secs(5),
            per_peer_min: AdaptationConfig::default().delay_floor(),
            retry_base: Millis::from_secs(2),
            retry_max: Millis::from_secs(60),
        }
    }
}
