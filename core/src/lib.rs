//! Nonstop's core: everything about a call that is not browser or network I/O.
//!
//! - [`protocol`]: the signaling messages, shared by the server and the app.
//! - [`names`]: room and display name rules, and readable random room names.
//! - [`negotiation`]: who offers first and who yields on glare (perfect negotiation).
//!
//! Error policy: bad input (a malformed message, an invalid name, an unexpected
//! signaling event) gives an error value or a "drop this" decision; a panic is a bug.
//! Nothing here reads a clock or a random source: time and randomness are passed in.

pub mod ids;
pub mod names;
pub mod negotiation;
pub mod protocol;

pub use ids::ParticipantId;
