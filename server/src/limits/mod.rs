//! Limits that keep one client from costing the server (or the other clients) more
//! than its share: rates per connection, coalesced `media`, and connection caps.

pub mod connection_caps;
pub mod media_coalescer;
pub mod message_budget;
pub mod token_bucket;

pub use connection_caps::{ConnectionCaps, Refusal, Slot};
pub use media_coalescer::MediaCoalescer;
pub use message_budget::{MessageBudget, RateLimits, Verdict};
