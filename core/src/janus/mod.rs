//! A Janus VideoRoom client, sans-IO: the frames of Janus's WebSocket API
//! (`wire`), the VideoRoom's requests and events (`videoroom`), the room's
//! publishers and our subscriber's m-lines (`feeds`), the simulcast layers
//! ([`simulcast`]), what a path to or from the SFU carries ([`PathBudget`]), what
//! to receive ([`receive_plan`]), and the state machine that
//! drives one participant's publisher and subscriber connections ([`JanusClient`]).
//! The app carries the frames over a WebSocket and does what the events say with its
//! two `RTCPeerConnection`s.

mod client;
mod downlink;
mod error;
mod feeds;
mod path_budget;
mod receive;
pub mod simulcast;
mod videoroom;
mod wire;

pub use client::{JanusClient, JanusEvent, Layer, Leg, RoomAccess, KEEPALIVE_AFTER, REPLY_TIMEOUT};
pub use error::{JanusError, Step};
pub use feeds::{MediaKind, RemoteStream};
pub use path_budget::{Delivered, PathBudget};
pub use receive::{receive_plan, Speakers, EVERYONE_HEARD_UP_TO, SPEAKERS_HEARD};
pub use wire::{Candidate, Trickled};

#[cfg(test)]
mod tests;
