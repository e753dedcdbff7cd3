//! The call: the signaling session and one [`peer_link::PeerLink`] per remote
//! participant, reflected into [`view::CallView`] signals that the components render.
//! Decisions (who offers, who yields, what to do with a description or candidate)
//! come from `nonstop_core`; this module carries them out.

pub mod adaptation;
mod chat_state;
pub mod device_switch;
mod peer_link;
pub mod recovery;
pub(crate) mod screen_link;
pub mod screen_share;
mod session;
pub mod speaker_glue;
mod stage_state;
pub mod view;

pub use session::{Call, JoinError};
