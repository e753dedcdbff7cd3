//! One call as the local participant sees it, as sans-IO state machines: the app feeds
//! server messages and link readings in, and reads back what to show and what to do.
//!
//! - [`CallState`] (`state.rs`): the roster (participants, their media, their camera
//!   and screen sources), the topology, each remote link's recovery and tile state
//!   ([`LinkState`], decided once in `link_state.rs`), the reconcile after our own
//!   resume, and whether a participant whose signaling ended is gone (`vanish.rs`):
//!   a killed browser disappears for the others as soon as its link goes quiet,
//!   instead of after the server's resume grace.
//!
//!   Driving it from the app: one stats sampler per peer connection calls
//!   [`CallState::observe_link`] (a few times a second; 250 ms is what the tests
//!   simulate), and answers [`CallEffect::SampleNow`] with a reading at once; the
//!   server's `joined`, `left`, `interrupted`, `back` and our `resumed` go to the
//!   methods of the same names, `media` to [`CallState::media_changed`];
//!   [`CallState::poll`] runs at [`CallState::next_deadline`].
//!   After any input, the app holds a link to every [`CallState::wanted_links`] and
//!   shows [`CallState::tiles`].
//! - [`PathSwitch`] (`path_switch.rs`), held by [`CallState`]: the mesh or relayed
//!   path, switched make before break: the tiles show the committed path, the other
//!   is built next to it, `topology_ready` once every camera flows on it; after the
//!   commit each participant's tiles move once its camera flows on the new path, and
//!   the old path closes when all did (or after `DRAIN_MAX`).
//!   When our path to the SFU breaks while the call uses it, [`RelayedRetry`]
//!   (`relayed_retry.rs`) says when to build it again ([`CallEffect::RebuildRelayed`]).
//! - [`HintSender`] and [`hint_for`] (`hints.rs`): receiver hints from the layout.
//! - [`EnergyMeter`] (`audio_level.rs`): audio levels from energy counters for
//!   [`crate::speaker`].

mod audio_level;
mod hints;
mod link_state;
mod path_switch;
mod relayed_retry;
mod silent_link;
mod state;
mod vanish;

pub use audio_level::EnergyMeter;
pub use hints::{hint_for, HintSender, HINT_REFRESH, HINT_RETRY};
pub use link_state::{decide_link_state, LinkFacts, LinkState};
pub use path_switch::PathSwitch;
pub use relayed_retry::RelayedRetry;
pub use state::{
    CallEffect, CallState, LinkObservation, Member, Presence, SourceKey, SourceKind, TileModel,
    Topology, UNCONFIRMED_PATIENCE,
};
pub use vanish::{BYTE_WINDOW, PACKET_WINDOW};
