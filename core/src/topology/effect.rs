//! What the topology state machine asks its owner (the signaling server) to do.

use crate::ids::ParticipantId;
use crate::protocol::{SwitchPhase, TopologyMode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopologyEffect {
    /// Create the call's SFU room, then report
    /// [`RoomTopology::sfu_room_created`](super::RoomTopology::sfu_room_created) or
    /// [`RoomTopology::sfu_room_failed`](super::RoomTopology::sfu_room_failed).
    CreateSfuRoom,
    /// Destroy the call's SFU room: the call is back in mesh for good.
    DestroySfuRoom,
    /// Send `to` a `topology` message; with its grant when `mode` is relayed, then
    /// report the grant's lifetime with
    /// [`RoomTopology::grants_issued`](super::RoomTopology::grants_issued).
    Tell {
        to: ParticipantId,
        mode: TopologyMode,
        phase: SwitchPhase,
    },
    /// Send `to` a fresh grant (`sfu_grant`), then report its lifetime with
    /// [`RoomTopology::grants_issued`](super::RoomTopology::grants_issued).
    RefreshGrant { to: ParticipantId },
    /// The call now uses `mode` (a switch committed): for logs and metrics.
    Switched { mode: TopologyMode },
}
