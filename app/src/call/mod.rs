//! One call. `session.rs` runs it: signaling in, the core's `CallState` deciding, a
//! media transport (`transport.rs`; the mesh in `mesh/`) carrying media, and `view/`
//! the data model the components render. Around them: `adaptation.rs` and
//! `speaking.rs` (fed from the same link samples), `handshake.rs`, `first_join.rs` and
//! `reconnect.rs` (the signaling session), `screen_share.rs`, `device_switch.rs`.
//!
//! Dependencies point one way: session → everything else; mesh → transport; the
//! view imports no call logic.

pub mod adaptation;
pub mod device_switch;
mod first_join;
mod handshake;
mod mesh;
mod reconnect;
pub mod relayed;
pub mod screen_share;
mod session;
mod speaking;
pub mod transport;
pub mod view;

pub use session::{Call, JoinError};
