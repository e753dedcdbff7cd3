//! The call: the signaling session and one [`peer_link::PeerLink`] per remote
//! participant, reflected into [`view::CallView`] signals that the components render.
//! Decisions (who offers, who yields, what to do with a description or candidate)
//! come from `nonstop_core`; this module carries them out.

mod peer_link;
mod session;
pub mod view;

pub use session::Call;
