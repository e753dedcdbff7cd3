//! Nonstop's core: everything about a call that is not browser or network I/O.
//!
//! - [`protocol`]: the signaling messages, shared by the server and the app.
//! - [`call`]: one call's state: roster, sources, link states, who vanished, hints.
//! - [`names`]: room and display name rules, and readable random room names.
//! - [`chat`]: chat text split into text and links, for safe rendering.
//! - [`devices`]: which camera, microphone or speaker to use (stored choice, default, first).
//! - [`peer_msg`]: messages between two browsers over their link's data channel.
//! - [`negotiation`]: who offers first and who yields on glare (perfect negotiation).
//! - [`layout`]: where each video tile goes on the stage (grid, speaker, presentation).
//! - [`speaker`]: who is speaking, and who has the spotlight, from sampled audio levels.
//! - [`adaptation`]: per-link send quality (bit rate, resolution, video on/off) from link stats.
//! - [`recovery`]: when to restart ICE, go relay-only or give up on a link; backoff with jitter.
//! - [`reconnect`]: when the signaling socket counts as dead, and when to reconnect it.
//! - [`janus`]: a Janus VideoRoom client (relayed mode), sans-IO.
//! - [`time`]: the caller's clock as a type ([`time::Time`], [`time::Millis`]).
//! - [`topology`]: mesh or relayed through an SFU, and switching between them (the server's decision).
//!
//! Error policy: bad input (a malformed message, an invalid name, an unexpected
//! signaling event) gives an error value or a "drop this" decision; a panic is a bug.
//! Nothing here reads a clock or a random source: time and randomness are passed in.

pub mod adaptation;
pub mod call;
pub mod chat;
pub mod devices;
pub mod ids;
pub mod janus;
mod json;
pub mod layout;
pub mod names;
pub mod negotiation;
pub mod peer_msg;
pub mod protocol;
pub mod reconnect;
pub mod recovery;
pub mod speaker;
pub mod time;
pub mod topology;
pub mod vec_map;

pub use ids::ParticipantId;
