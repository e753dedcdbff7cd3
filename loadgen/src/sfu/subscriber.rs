//! The subscriber connection: answers Janus's offers (the first and each update on
//! the same connection) and watches what arrives per m-line: packets, bytes, and
//! freezes (a video m-line that had media and then none for [`FREEZE_AFTER`]).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::media::Mid;

use super::peer::{Peer, PeerEvent};

/// A video stream with no frame for this long after media flowed counts as frozen.
pub const FREEZE_AFTER: Duration = Duration::from_millis(500);

/// What one m-line of the subscriber connection received.
#[derive(Debug, Clone)]
pub struct Received {
    pub mid: Mid,
    pub last: Instant,
    pub packets: u64,
    pub bytes: u64,
    pub frozen: bool,
}

pub struct Subscriber {
    pub peer: Peer,
    pub lines: Vec<Received>,
}

impl Subscriber {
    pub fn new(ip: IpAddr, now: Instant) -> Result<Subscriber, String> {
        Ok(Subscriber {
            peer: Peer::new(ip, now).map_err(|e| e.to_string())?,
            lines: Vec::new(),
        })
    }

    /// Janus's offer (first or renegotiation): our answer.
    pub fn answer(&mut self, sdp: &str, events: &mut Vec<PeerEvent>) -> Result<String, String> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| format!("Janus's offer: {e}"))?;
        let answer = self
            .peer
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| format!("Janus's offer: {e}"))?;
        self.peer.drain(events).map_err(|e| e.to_string())?;
        Ok(answer.to_sdp_string())
    }

    /// Counts what arrived on `mid`. True on the m-line's first media.
    pub fn media(&mut self, now: Instant, mid: Mid, packets: u64, bytes: usize) -> bool {
        match self.lines.iter_mut().find(|l| l.mid == mid) {
            Some(line) => {
                line.last = now;
                line.packets += packets;
                line.bytes += bytes as u64;
                line.frozen = false;
                false
            }
            None => {
                self.lines.push(Received {
                    mid,
                    last: now,
                    packets,
                    bytes: bytes as u64,
                    frozen: false,
                });
                true
            }
        }
    }

    /// New freezes at `now` among the m-lines `watched` says are expected to flow
    /// (video the plan still wants).
    pub fn new_freezes(&mut self, now: Instant, watched: impl Fn(Mid) -> bool) -> u64 {
        let mut frozen = 0;
        for line in self.lines.iter_mut().filter(|l| !l.frozen) {
            if now.duration_since(line.last) > FREEZE_AFTER && watched(line.mid) {
                line.frozen = true;
                frozen += 1;
            }
        }
        frozen
    }

    /// M-lines that received something within the last second.
    pub fn flowing(&self, now: Instant) -> impl Iterator<Item = &Received> {
        self.lines
            .iter()
            .filter(move |l| now.duration_since(l.last) <= Duration::from_secs(1))
    }
}
