//! One WebRTC connection: a str0m `Rtc` (sans-IO: ICE, DTLS-SRTP, RTP) and the UDP
//! socket it owns. The participant's loop feeds it packets and timeouts; after every
//! change its output is drained (packets sent, events kept) until it names its next
//! timeout, as str0m requires.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::Mid;
use str0m::net::{Protocol, Receive};
use str0m::rtp::SeqNo;
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig, RtcError};
use tokio::net::UdpSocket;

/// What a connection reports to the participant.
#[derive(Debug)]
pub enum PeerEvent {
    /// ICE and DTLS are up: media may be written.
    Connected,
    /// ICE gave up (or the connection closed).
    Lost,
    /// A frame (or audio packet) arrived on `mid`.
    Media {
        mid: Mid,
        packets: u64,
        bytes: usize,
    },
}

pub struct Peer {
    pub rtc: Rtc,
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    /// When the `Rtc` wants [`Peer::handle_timeout`] next.
    pub timeout: Instant,
    /// Packets the socket would not take (its buffer full), not yet reported.
    pub send_drops: u64,
}

/// Only what Janus's VideoRoom negotiates here: Opus and VP8.
pub fn config() -> RtcConfig {
    RtcConfig::new()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .set_stats_interval(None)
}

impl Peer {
    /// A connection whose one ICE candidate is a fresh UDP port on `ip`.
    pub fn new(ip: IpAddr, now: Instant) -> io::Result<Peer> {
        let std_socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
        std_socket.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(std_socket)?;
        let local = socket.local_addr()?;
        let mut rtc = config().build(now);
        let candidate = Candidate::host(local, "udp")
            .map_err(|e| io::Error::other(format!("host candidate {local}: {e}")))?;
        rtc.add_local_candidate(candidate);
        Ok(Peer {
            rtc,
            socket: Arc::new(socket),
            local,
            timeout: now,
            send_drops: 0,
        })
    }

    pub fn socket(&self) -> Arc<UdpSocket> {
        Arc::clone(&self.socket)
    }

    /// A datagram that arrived on our socket.
    pub fn receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        data: &[u8],
        events: &mut Vec<PeerEvent>,
    ) -> Result<(), RtcError> {
        let Ok(contents) = data.try_into() else {
            return Ok(()); // not STUN, DTLS or (S)RTP: ignore
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        if !self.rtc.accepts(&input) {
            return Ok(());
        }
        self.rtc.handle_input(input)?;
        self.drain(events)
    }

    /// Runs the `Rtc`'s timers if they are due.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        events: &mut Vec<PeerEvent>,
    ) -> Result<(), RtcError> {
        if now < self.timeout {
            return Ok(());
        }
        self.rtc.handle_input(Input::Timeout(now))?;
        self.drain(events)
    }

    /// Sends what the `Rtc` has queued and keeps its events, until it names its next
    /// timeout. Call after every change made to `rtc`.
    pub fn drain(&mut self, events: &mut Vec<PeerEvent>) -> Result<(), RtcError> {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(at) => {
                    // str0m may name a time far away when idle; look again within a second.
                    let soon = Instant::now() + Duration::from_secs(1);
                    self.timeout = at.min(soon);
                    return Ok(());
                }
                Output::Transmit(t) => {
                    if self.socket.try_send_to(&t.contents, t.destination).is_err() {
                        self.send_drops += 1;
                    }
                }
                Output::Event(event) => match event {
                    Event::Connected => events.push(PeerEvent::Connected),
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        events.push(PeerEvent::Lost)
                    }
                    Event::Closed => events.push(PeerEvent::Lost),
                    Event::MediaData(data) => events.push(PeerEvent::Media {
                        mid: data.mid,
                        packets: packets_in(&data.seq_range),
                        bytes: data.data.len(),
                    }),
                    _ => {}
                },
            }
        }
    }
}

/// RTP packets that made up one received frame.
fn packets_in(range: &RangeInclusive<SeqNo>) -> u64 {
    let (start, end) = (**range.start(), **range.end());
    end.saturating_sub(start) + 1
}
