//! Realistic signaling payloads: an SDP about the size a browser sends for one audio
//! and one video transceiver (4-5 KB), and host/srflx ICE candidates. The send time
//! travels inside them, where a browser puts a number anyway: the SDP's session id
//! (`o=- <id> ...`) and the candidate's foundation (`candidate:<foundation> ...`).

/// The SDP body after the `o=` line: Chromium's offer for audio (Opus, RED, G.711
/// and friends) and video (VP8, VP9, H.264 profiles, AV1 with RTX), trimmed of
/// nothing that changes its size much.
const BODY: &str = "s=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS 3b1d3c5e-9f0a-4d5c-8a7e-2f6b1c9d0e4a\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Xk3p\r\na=ice-pwd:q9V1pN0sUe3kR7wYh2ZbT6cA\r\na=ice-options:trickle\r\n\
a=fingerprint:sha-256 4A:1F:9C:2B:77:D0:3E:58:A6:0B:E9:41:C2:7D:15:F3:88:6A:0C:D4:92:3B:E7:51:0F:A8:6C:29:B4:D3:70:1E\r\n\
a=setup:actpass\r\na=mid:0\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n\
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n\
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
a=sendrecv\r\na=msid:3b1d3c5e-9f0a-4d5c-8a7e-2f6b1c9d0e4a 7c2e9a41-5b3d-4f8e-a1c6-0d9b2e7f3a58\r\n\
a=rtcp-mux\r\na=rtcp-rsize\r\n\
a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n\
a=ssrc:2836411522 cname:Vq5lXq3m0cS2rJ8d\r\na=ssrc:2836411522 msid:3b1d3c5e-9f0a-4d5c-8a7e-2f6b1c9d0e4a 7c2e9a41-5b3d-4f8e-a1c6-0d9b2e7f3a58\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102 103 104 105 106 107 108 109 127 125 39 40 45 46 112 113 114\r\n\
c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Xk3p\r\na=ice-pwd:q9V1pN0sUe3kR7wYh2ZbT6cA\r\na=ice-options:trickle\r\n\
a=fingerprint:sha-256 4A:1F:9C:2B:77:D0:3E:58:A6:0B:E9:41:C2:7D:15:F3:88:6A:0C:D4:92:3B:E7:51:0F:A8:6C:29:B4:D3:70:1E\r\n\
a=setup:actpass\r\na=mid:1\r\n\
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n\
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n\
a=extmap:13 urn:3gpp:video-orientation\r\n\
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n\
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n\
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type\r\n\
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing\r\n\
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space\r\n\
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n\
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n\
a=sendrecv\r\na=msid:3b1d3c5e-9f0a-4d5c-8a7e-2f6b1c9d0e4a 1f8d6c3b-2a4e-4b9f-9e7d-5c0a3b8f2d61\r\n\
a=rtcp-mux\r\na=rtcp-rsize\r\n\
a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n\
a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n\
a=rtpmap:98 VP9/90000\r\na=rtcp-fb:98 goog-remb\r\na=rtcp-fb:98 transport-cc\r\na=rtcp-fb:98 ccm fir\r\na=rtcp-fb:98 nack\r\na=rtcp-fb:98 nack pli\r\na=fmtp:98 profile-id=0\r\n\
a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\n\
a=rtpmap:100 VP9/90000\r\na=rtcp-fb:100 goog-remb\r\na=rtcp-fb:100 transport-cc\r\na=rtcp-fb:100 ccm fir\r\na=rtcp-fb:100 nack\r\na=rtcp-fb:100 nack pli\r\na=fmtp:100 profile-id=2\r\n\
a=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\n\
a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 goog-remb\r\na=rtcp-fb:102 transport-cc\r\na=rtcp-fb:102 ccm fir\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n\
a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n\
a=rtpmap:104 H264/90000\r\na=rtcp-fb:104 goog-remb\r\na=rtcp-fb:104 transport-cc\r\na=rtcp-fb:104 ccm fir\r\na=rtcp-fb:104 nack\r\na=rtcp-fb:104 nack pli\r\na=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n\
a=rtpmap:105 rtx/90000\r\na=fmtp:105 apt=104\r\n\
a=rtpmap:106 H264/90000\r\na=rtcp-fb:106 goog-remb\r\na=rtcp-fb:106 transport-cc\r\na=rtcp-fb:106 ccm fir\r\na=rtcp-fb:106 nack\r\na=rtcp-fb:106 nack pli\r\na=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
a=rtpmap:107 rtx/90000\r\na=fmtp:107 apt=106\r\n\
a=rtpmap:108 H264/90000\r\na=rtcp-fb:108 goog-remb\r\na=rtcp-fb:108 transport-cc\r\na=rtcp-fb:108 ccm fir\r\na=rtcp-fb:108 nack\r\na=rtcp-fb:108 nack pli\r\na=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n\
a=rtpmap:109 rtx/90000\r\na=fmtp:109 apt=108\r\n\
a=rtpmap:127 H264/90000\r\na=rtcp-fb:127 goog-remb\r\na=rtcp-fb:127 transport-cc\r\na=rtcp-fb:127 ccm fir\r\na=rtcp-fb:127 nack\r\na=rtcp-fb:127 nack pli\r\na=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n\
a=rtpmap:125 rtx/90000\r\na=fmtp:125 apt=127\r\n\
a=rtpmap:39 AV1/90000\r\na=rtcp-fb:39 goog-remb\r\na=rtcp-fb:39 transport-cc\r\na=rtcp-fb:39 ccm fir\r\na=rtcp-fb:39 nack\r\na=rtcp-fb:39 nack pli\r\na=fmtp:39 level-idx=5;profile=0;tier=0\r\n\
a=rtpmap:40 rtx/90000\r\na=fmtp:40 apt=39\r\n\
a=rtpmap:45 AV1/90000\r\na=rtcp-fb:45 goog-remb\r\na=rtcp-fb:45 transport-cc\r\na=rtcp-fb:45 ccm fir\r\na=rtcp-fb:45 nack\r\na=rtcp-fb:45 nack pli\r\na=fmtp:45 level-idx=5;profile=1;tier=0\r\n\
a=rtpmap:46 rtx/90000\r\na=fmtp:46 apt=45\r\n\
a=rtpmap:112 red/90000\r\na=rtpmap:113 rtx/90000\r\na=fmtp:113 apt=112\r\na=rtpmap:114 ulpfec/90000\r\n\
a=ssrc-group:FID 1620364731 3397525127\r\n\
a=ssrc:1620364731 cname:Vq5lXq3m0cS2rJ8d\r\na=ssrc:1620364731 msid:3b1d3c5e-9f0a-4d5c-8a7e-2f6b1c9d0e4a 1f8d6c3b-2a4e-4b9f-9e7d-5c0a3b8f2d61\r\n\
a=ssrc:3397525127 cname:Vq5lXq3m0cS2rJ8d\r\na=ssrc:3397525127 msid:3b1d3c5e-9f0a-4d5c-8a7e-2f6b1c9d0e4a 1f8d6c3b-2a4e-4b9f-9e7d-5c0a3b8f2d61\r\n";

/// An SDP carrying `stamp` as its session id.
pub fn sdp(stamp: u64) -> String {
    format!("v=0\r\no=- {stamp} 2 IN IP4 127.0.0.1\r\n{BODY}")
}

/// The `n`th candidate of a browser, carrying `stamp` as its foundation: first host
/// candidates, then server-reflexive ones (RFC 5737 addresses).
pub fn candidate(stamp: u64, n: usize) -> String {
    let port = 50_000 + n as u32 * 7;
    if n.is_multiple_of(2) {
        format!(
            "candidate:{stamp} 1 udp 2122260223 192.0.2.{} {port} typ host generation 0 ufrag Xk3p network-id 1 network-cost 10",
            10 + n
        )
    } else {
        format!(
            "candidate:{stamp} 1 udp 1686052607 198.51.100.7 {port} typ srflx raddr 192.0.2.{} rport {port} generation 0 ufrag Xk3p network-id 1 network-cost 10",
            10 + n
        )
    }
}

/// The stamp [`sdp`] or [`candidate`] put in `text`.
pub fn stamp(text: &str) -> Option<u64> {
    let rest = if let Some(i) = text.find("o=- ") {
        &text[i + 4..]
    } else {
        let i = text.find("candidate:")?;
        &text[i + "candidate:".len()..]
    };
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_browser_sized_and_carry_their_stamp() {
        let offer = sdp(1_234_567_890_123);
        assert!(
            (3_000..=5_500).contains(&offer.len()),
            "{} bytes",
            offer.len()
        );
        assert_eq!(stamp(&offer), Some(1_234_567_890_123));
        for n in 0..4 {
            assert_eq!(stamp(&candidate(42, n)), Some(42));
        }
        assert_eq!(stamp("nothing here"), None);
    }
}
