//! Which path a call's media takes, decided by the signaling server as sans-IO logic:
//! a full mesh for small calls, relayed through an SFU room for large ones (or when a
//! participant's uplink cannot carry the mesh), switching make before break.
//!
//! The rules, each tested (`tests.rs`, and over random sequences in `properties.rs`):
//! - Relayed when the call has more than [`TopologyConfig::relay_above`] participants,
//!   or a participant's reported uplink cannot give each peer
//!   [`TopologyConfig::per_peer_min`] (`need.rs`); back to mesh only after the call has
//!   needed no relay for [`TopologyConfig::hold`], so a rejoin does not flap.
//! - A switch is `Prepare` to every present participant (with a grant when relayed),
//!   then `Commit` once all of them said ready, or at
//!   [`TopologyConfig::ready_timeout`] for those who did not. One switch at a time; a
//!   participant arriving meanwhile is told `Prepare`, one arriving in a relayed call
//!   `Prepare` then `Commit`.
//! - The SFU room is created before the switch to relayed (a failure keeps the call in
//!   mesh and is retried with backoff) and destroyed once the call committed back to mesh.
//! - Without an SFU the call stays in mesh, and joins beyond
//!   [`TopologyConfig::mesh_limit`] are refused ([`RoomTopology::admits`]).
//! - Grants are refreshed at half their lifetime while the call uses the SFU.
//! - The SFU room is checked while the call has it (`sfu_watch.rs`); once it is lost
//!   the call goes back to mesh at once ([`RoomTopology::sfu_room_lost`]).
//! - With several SFU instances, a new room goes to the least loaded one that told
//!   its load ([`placement_order`]).

mod config;
mod effect;
mod need;
mod placement;
mod room;
mod sfu_watch;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

pub use config::{TopologyConfig, DEFAULT_MESH_LIMIT, DEFAULT_RELAY_ABOVE};
pub use effect::TopologyEffect;
pub use placement::{placement_order, SfuLoad};
pub use room::RoomTopology;
pub use sfu_watch::{SfuCheck, SfuVerdict, SfuWatch, CHECK_INTERVAL as SFU_CHECK_INTERVAL};
