//! Offer/answer negotiation for one peer link, following the WebRTC "perfect
//! negotiation" pattern: both sides may start a renegotiation at any time, and when
//! their offers cross (glare) the *polite* side rolls back and answers while the
//! *impolite* side ignores the incoming offer. Roles come from the participant ids,
//! so the two browsers agree on them without talking.
//!
//! [`Negotiator`] holds the pattern's flags and the ICE candidates that arrive before
//! any remote description; the browser glue feeds it events and does what it says.

use crate::ids::ParticipantId;
use crate::protocol::IceCandidate;

/// This participant's part on one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// Sends the link's first offer. The newer participant does, since it learns about
    /// the older ones from the welcome message, while they learn about it from a
    /// `joined` event at the same time; one side waiting avoids glare on every join.
    pub initiator: bool,
    /// Yields on glare. The older participant is polite, so the newcomer (the
    /// initiator) wins a collision.
    pub polite: bool,
}

impl Role {
    pub fn between(local: ParticipantId, remote: ParticipantId) -> Role {
        debug_assert_ne!(local, remote, "a participant has no link to itself");
        let newer = local > remote;
        Role {
            initiator: newer,
            polite: !newer,
        }
    }
}

/// `RTCPeerConnection.signalingState`, as far as negotiation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    Stable,
    HaveLocalOffer,
    HaveRemoteOffer,
    HaveLocalPranswer,
    HaveRemotePranswer,
    Closed,
}

impl SignalingState {
    /// Maps the browser's string (`"have-local-offer"`, …); unknown values read as closed,
    /// which makes the negotiator drop what it cannot place.
    pub fn from_js(s: &str) -> SignalingState {
        match s {
            "stable" => SignalingState::Stable,
            "have-local-offer" => SignalingState::HaveLocalOffer,
            "have-remote-offer" => SignalingState::HaveRemoteOffer,
            "have-local-pranswer" => SignalingState::HaveLocalPranswer,
            "have-remote-pranswer" => SignalingState::HaveRemotePranswer,
            _ => SignalingState::Closed,
        }
    }
}

/// Kind of a received session description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    Offer,
    Answer,
}

/// What to do with a received description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptionAction {
    /// Glare, and we are impolite: our own offer stands; drop theirs.
    Ignore,
    /// `setRemoteDescription`, then report [`Negotiator::remote_description_applied`];
    /// for an offer, answer it with `setLocalDescription()` and send the answer.
    Apply { answer: bool },
}

/// What to do with a received ICE candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateAction {
    /// `addIceCandidate` now.
    Add(IceCandidate),
    /// Held until a remote description is set (see [`Negotiator::remote_description_applied`]).
    Queued,
}

/// Perfect-negotiation state for one link.
#[derive(Debug, Clone)]
pub struct Negotiator {
    role: Role,
    making_offer: bool,
    ignore_offer: bool,
    applying_answer: bool,
    has_remote_description: bool,
    pending_candidates: Vec<IceCandidate>,
}

impl Negotiator {
    pub fn new(role: Role) -> Self {
        Self {
            role,
            making_offer: false,
            ignore_offer: false,
            applying_answer: false,
            has_remote_description: false,
            pending_candidates: Vec::new(),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// `negotiationneeded` fired: we start `setLocalDescription()` for an offer.
    pub fn offer_started(&mut self) {
        self.making_offer = true;
    }

    /// Our offer was sent (or creating it failed).
    pub fn offer_finished(&mut self) {
        self.making_offer = false;
    }

    /// A description arrived from the remote peer while our connection is in `state`.
    pub fn remote_description(
        &mut self,
        kind: SdpKind,
        state: SignalingState,
    ) -> DescriptionAction {
        if state == SignalingState::Closed {
            return DescriptionAction::Ignore;
        }
        let ready_for_offer =
            !self.making_offer && (state == SignalingState::Stable || self.applying_answer);
        let collision = kind == SdpKind::Offer && !ready_for_offer;
        self.ignore_offer = !self.role.polite && collision;
        if self.ignore_offer {
            return DescriptionAction::Ignore;
        }
        self.applying_answer = kind == SdpKind::Answer;
        DescriptionAction::Apply {
            answer: kind == SdpKind::Offer,
        }
    }

    /// `setRemoteDescription` finished. Returns the candidates held back until now, to
    /// add in order.
    pub fn remote_description_applied(&mut self) -> Vec<IceCandidate> {
        self.applying_answer = false;
        self.has_remote_description = true;
        std::mem::take(&mut self.pending_candidates)
    }

    /// `setRemoteDescription` failed; the description is dropped.
    pub fn remote_description_failed(&mut self) {
        self.applying_answer = false;
    }

    /// A candidate arrived from the remote peer.
    pub fn remote_candidate(&mut self, candidate: IceCandidate) -> CandidateAction {
        if self.has_remote_description {
            CandidateAction::Add(candidate)
        } else {
            self.pending_candidates.push(candidate);
            CandidateAction::Queued
        }
    }

    /// Whether a failed `addIceCandidate` is expected: candidates that belong to an
    /// offer we ignored cannot be added, and that is fine.
    pub fn candidate_error_expected(&self) -> bool {
        self.ignore_offer
    }
}

/// The `mid`s of the media sections where an offer asks us to send: those it marks
/// `recvonly` (it receives there). Each side sends on transceivers of its own and
/// receives on others, so the offerer offers one `recvonly` section per kind for the
/// answerer's camera and microphone, and the answerer finds them here (the browser
/// exposes no offered direction before the answer).
pub fn offered_for_us_to_send(offer_sdp: &str) -> Vec<String> {
    let mut out = Vec::new();
    for section in offer_sdp.split("\nm=").skip(1) {
        let mut mid = None;
        let mut recvonly = false;
        for line in section.lines().map(str::trim_end) {
            if let Some(m) = line.strip_prefix("a=mid:") {
                mid = Some(m.to_string());
            }
            recvonly |= line == "a=recvonly";
        }
        if let (true, Some(mid)) = (recvonly, mid) {
            out.push(mid);
        }
    }
    out
}

/// Whether `offer` comes from a new connection of the remote peer rather than the one
/// `current_remote` (the remote description in force) was made by: its DTLS
/// certificate differs. A browser whose connection failed beyond an ICE restart's
/// reach (Firefox fails DTLS along with ICE when an interface goes down, and never
/// recovers it) starts a new one; the other side must then start afresh too.
pub fn from_new_connection(current_remote: Option<&str>, offer: &str) -> bool {
    let fingerprint = |sdp: &str| {
        sdp.lines()
            .map(str::trim_end)
            .find_map(|l| l.strip_prefix("a=fingerprint:"))
            .map(str::to_string)
    };
    match (current_remote.and_then(fingerprint), fingerprint(offer)) {
        (Some(now), Some(offered)) => now != offered,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn cand(n: u32) -> IceCandidate {
        IceCandidate {
            candidate: format!("candidate:{n} 1 udp 1 127.0.0.1 {n} typ host"),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: None,
        }
    }

    #[test]
    fn newer_participant_initiates_and_is_impolite() {
        let old = ParticipantId::new(1);
        let new = ParticipantId::new(2);
        assert_eq!(
            Role::between(new, old),
            Role {
                initiator: true,
                polite: false
            }
        );
        assert_eq!(
            Role::between(old, new),
            Role {
                initiator: false,
                polite: true
            }
        );
    }

    #[test]
    fn candidates_wait_for_the_remote_description_and_keep_their_order() {
        let mut n = Negotiator::new(Role::between(ParticipantId::new(1), ParticipantId::new(2)));
        assert_eq!(n.remote_candidate(cand(1)), CandidateAction::Queued);
        assert_eq!(n.remote_candidate(cand(2)), CandidateAction::Queued);
        assert_eq!(
            n.remote_description(SdpKind::Offer, SignalingState::Stable),
            DescriptionAction::Apply { answer: true }
        );
        assert_eq!(n.remote_description_applied(), vec![cand(1), cand(2)]);
        assert_eq!(n.remote_candidate(cand(3)), CandidateAction::Add(cand(3)));
        assert!(n.remote_description_applied().is_empty());
    }

    #[test]
    fn impolite_side_ignores_a_crossing_offer_and_its_candidates_errors() {
        let mut n = Negotiator::new(Role {
            initiator: true,
            polite: false,
        });
        n.offer_started();
        assert_eq!(
            n.remote_description(SdpKind::Offer, SignalingState::Stable),
            DescriptionAction::Ignore
        );
        assert!(n.candidate_error_expected());
        n.offer_finished();
        assert_eq!(
            n.remote_description(SdpKind::Answer, SignalingState::HaveLocalOffer),
            DescriptionAction::Apply { answer: false }
        );
        assert!(!n.candidate_error_expected());
    }

    #[test]
    fn polite_side_yields_on_glare() {
        let mut n = Negotiator::new(Role {
            initiator: false,
            polite: true,
        });
        n.offer_started();
        n.offer_finished();
        assert_eq!(
            n.remote_description(SdpKind::Offer, SignalingState::HaveLocalOffer),
            DescriptionAction::Apply { answer: true }
        );
    }

    #[test]
    fn nothing_is_applied_to_a_closed_connection() {
        let mut n = Negotiator::new(Role {
            initiator: false,
            polite: true,
        });
        assert_eq!(
            n.remote_description(SdpKind::Offer, SignalingState::Closed),
            DescriptionAction::Ignore
        );
    }

    // A deterministic model of two browsers negotiating over an ordered relay, used to
    // check that any interleaving of renegotiations ends with both sides stable.

    #[derive(Debug, Clone, Copy)]
    enum Wire {
        Offer,
        Answer,
    }

    struct Browser {
        neg: Negotiator,
        state: SignalingState,
        /// Local changes not yet carried by a completed offer/answer round we started.
        needs_negotiation: bool,
        /// An offer is being created (between `offer_started` and sending it).
        creating_offer: bool,
        inbox: VecDeque<Wire>,
        offers_applied: u32,
    }

    impl Browser {
        fn new(role: Role) -> Self {
            Self {
                neg: Negotiator::new(role),
                state: SignalingState::Stable,
                needs_negotiation: false,
                creating_offer: false,
                inbox: VecDeque::new(),
                offers_applied: 0,
            }
        }
    }

    /// One step for browser `i`: `action` picks what it does, if it can.
    fn step(browsers: &mut [Browser; 2], i: usize, action: u8) {
        let other = 1 - i;
        match action % 4 {
            // The app changes something (adds a track): negotiation becomes needed.
            0 => browsers[i].needs_negotiation = true,
            // negotiationneeded fires only in stable state, when nothing is in flight.
            1 => {
                let b = &mut browsers[i];
                if b.needs_negotiation && b.state == SignalingState::Stable && !b.creating_offer {
                    b.neg.offer_started();
                    b.creating_offer = true;
                }
            }
            // setLocalDescription() resolves: the offer goes out (unless the state moved).
            2 => {
                let b = &mut browsers[i];
                if b.creating_offer {
                    b.creating_offer = false;
                    b.neg.offer_finished();
                    if b.state == SignalingState::Stable {
                        b.state = SignalingState::HaveLocalOffer;
                        browsers[other].inbox.push_back(Wire::Offer);
                    }
                }
            }
            // Deliver the next message in order.
            _ => {
                let Some(msg) = browsers[i].inbox.pop_front() else {
                    return;
                };
                let b = &mut browsers[i];
                let kind = match msg {
                    Wire::Offer => SdpKind::Offer,
                    Wire::Answer => SdpKind::Answer,
                };
                match b.neg.remote_description(kind, b.state) {
                    DescriptionAction::Ignore => {}
                    DescriptionAction::Apply { answer: true } => {
                        // Implicit rollback of our own offer, if any, then answer.
                        b.neg.remote_description_applied();
                        b.offers_applied += 1;
                        b.state = SignalingState::Stable;
                        browsers[other].inbox.push_back(Wire::Answer);
                    }
                    DescriptionAction::Apply { answer: false } => {
                        if b.state == SignalingState::HaveLocalOffer {
                            b.neg.remote_description_applied();
                            b.state = SignalingState::Stable;
                            b.needs_negotiation = false;
                        } else {
                            b.neg.remote_description_failed();
                        }
                    }
                }
            }
        }
    }

    fn settle(browsers: &mut [Browser; 2]) {
        // Run every side's non-change actions until nothing moves any more.
        for _ in 0..100 {
            for i in 0..2 {
                for action in 1..4 {
                    step(browsers, i, action);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_interleaving_of_renegotiations_ends_stable(
            steps in proptest::collection::vec((0usize..2, 0u8..4), 0..60)
        ) {
            let a = ParticipantId::new(1);
            let b = ParticipantId::new(2);
            let mut browsers = [Browser::new(Role::between(a, b)), Browser::new(Role::between(b, a))];
            for (i, action) in steps {
                step(&mut browsers, i, action);
            }
            settle(&mut browsers);
            for br in &browsers {
                prop_assert_eq!(br.state, SignalingState::Stable);
                prop_assert!(!br.needs_negotiation, "a change was never negotiated");
                prop_assert!(br.inbox.is_empty());
            }
        }
    }

    #[test]
    fn simultaneous_offers_resolve_in_favour_of_the_impolite_side() {
        let mut browsers = [
            Browser::new(Role::between(ParticipantId::new(1), ParticipantId::new(2))),
            Browser::new(Role::between(ParticipantId::new(2), ParticipantId::new(1))),
        ];
        for i in 0..2 {
            step(&mut browsers, i, 0);
            step(&mut browsers, i, 1);
        }
        for i in 0..2 {
            step(&mut browsers, i, 2);
        }
        // Both offers are on the wire. Deliver them.
        step(&mut browsers, 0, 3);
        step(&mut browsers, 1, 3);
        assert_eq!(browsers[0].offers_applied, 1, "polite side took the offer");
        assert_eq!(browsers[1].offers_applied, 0, "impolite side ignored it");
        settle(&mut browsers);
        assert!(browsers.iter().all(|b| b.state == SignalingState::Stable));
        assert!(browsers.iter().all(|b| !b.needs_negotiation));
    }

    #[test]
    fn the_sections_an_offer_receives_on_are_where_we_send() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\na=group:BUNDLE 0 1 2 3\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=sendonly\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=recvonly\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\na=mid:3\r\n";
        assert_eq!(offered_for_us_to_send(sdp), vec!["2", "3"]);
        assert!(offered_for_us_to_send("v=0\r\n").is_empty());
    }

    #[test]
    fn an_offer_with_another_certificate_is_a_new_connection() {
        let sdp = |fp: &str| {
            format!("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 {fp}\r\na=mid:0\r\n")
        };
        assert!(!from_new_connection(Some(&sdp("AA:BB")), &sdp("AA:BB")));
        assert!(from_new_connection(Some(&sdp("AA:BB")), &sdp("CC:DD")));
        assert!(
            !from_new_connection(None, &sdp("CC:DD")),
            "no connection yet"
        );
        assert!(!from_new_connection(Some("v=0\r\n"), &sdp("CC:DD")));
    }
}
