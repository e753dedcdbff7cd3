//! The publisher connection: offers send-only Opus and VP8 (one layer, no simulcast),
//! takes Janus's answer, then writes the media clock's samples.

use std::net::IpAddr;
use std::time::Instant;

use nonstop_core::layout::TileKind;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Pt};

use super::media::{Sample, SILENT_LEVEL, SPEAKER_LEVEL};
use super::peer::{Peer, PeerEvent};

pub struct Publisher {
    pub peer: Peer,
    pending: Option<SdpPendingOffer>,
    audio: Mid,
    video: Mid,
    /// The negotiated payload types, once Janus answered.
    pts: Option<(Pt, Pt)>,
    pub connected: bool,
    speaker: bool,
}

/// What `JanusClient::publish` needs: the offer and what each m-line carries.
pub type Offer = (String, Vec<(String, TileKind)>);

impl Publisher {
    pub fn new(ip: IpAddr, now: Instant, speaker: bool) -> Result<(Publisher, Offer), String> {
        let mut peer = Peer::new(ip, now).map_err(|e| e.to_string())?;
        let mut change = peer.rtc.sdp_api();
        let stream = Some("camera".to_string());
        let audio = change.add_media(
            MediaKind::Audio,
            Direction::SendOnly,
            stream.clone(),
            None,
            None,
        );
        let video = change.add_media(MediaKind::Video, Direction::SendOnly, stream, None, None);
        let (offer, pending) = change.apply().ok_or("no offer to make")?;
        let mids = vec![
            (audio.to_string(), TileKind::Camera),
            (video.to_string(), TileKind::Camera),
        ];
        let publisher = Publisher {
            peer,
            pending: Some(pending),
            audio,
            video,
            pts: None,
            connected: false,
            speaker,
        };
        Ok((publisher, (offer.to_sdp_string(), mids)))
    }

    pub fn accept(&mut self, sdp: &str, events: &mut Vec<PeerEvent>) -> Result<(), String> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| format!("Janus's answer: {e}"))?;
        let pending = self.pending.take().ok_or("an answer without an offer")?;
        self.peer
            .rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| format!("Janus's answer: {e}"))?;
        let pt = |rtc: &mut str0m::Rtc, mid: Mid, codec: Codec| {
            let writer = rtc.writer(mid)?;
            let pt = writer
                .payload_params()
                .find(|p| p.spec().codec == codec)
                .map(|p| p.pt());
            pt
        };
        let audio = pt(&mut self.peer.rtc, self.audio, Codec::Opus);
        let video = pt(&mut self.peer.rtc, self.video, Codec::Vp8);
        self.pts = audio.zip(video);
        self.peer.drain(events).map_err(|e| e.to_string())?;
        if self.pts.is_none() {
            return Err("Janus's answer has no Opus or no VP8".into());
        }
        Ok(())
    }

    /// Writes one sample (nothing before the connection is up).
    pub fn write(
        &mut self,
        now: Instant,
        sample: Sample,
        events: &mut Vec<PeerEvent>,
    ) -> Result<(), String> {
        let Some((audio_pt, video_pt)) = self.pts.filter(|_| self.connected) else {
            return Ok(());
        };
        let written = match sample {
            Sample::Audio(ticks, data, talking) => {
                let (level, voice) = if self.speaker && talking {
                    (SPEAKER_LEVEL, true)
                } else {
                    (SILENT_LEVEL, false)
                };
                match self.peer.rtc.writer(self.audio) {
                    Some(w) => w.audio_level(-level, voice).write(
                        audio_pt,
                        now,
                        MediaTime::new(ticks, Frequency::FORTY_EIGHT_KHZ),
                        data,
                    ),
                    None => return Ok(()),
                }
            }
            Sample::Video(ticks, data) => match self.peer.rtc.writer(self.video) {
                Some(w) => w.write(video_pt, now, MediaTime::from_90khz(ticks), data),
                None => return Ok(()),
            },
        };
        written.map_err(|e| e.to_string())?;
        self.peer.drain(events).map_err(|e| e.to_string())
    }
}
