//! What a participant receives from the SFU: the video of the tiles it shows, each in
//! the layer its size needs, and audio. In a small call everyone's audio; in a big one
//! only the latest speakers', because a 200-person call must not hold 199 audio
//! decoders open (nor make the SFU forward 199 × 200 audio streams). Who speaks comes
//! from Janus's `talking` events, which reach every participant whether or not it
//! receives the speaker's audio.

use super::client::Layer;
use super::downlink::fit;
use super::feeds::{MediaKind, RemoteStream};
use super::simulcast::layer_for;
use crate::adaptation::{Bitrate, ReceiverHint};
use crate::layout::TileId;
use crate::time::Time;
use crate::ParticipantId;

/// With at most this many other participants' microphones in the room, everyone is
/// heard: nobody's first words are lost while their audio is being subscribed.
pub const EVERYONE_HEARD_UP_TO: usize = 8;
/// Above that, the audio of this many participants: those who speak now, then those
/// who spoke last. A conversation's few voices stay subscribed; a newcomer's first
/// half second (Janus's talking detection) is not heard.
pub const SPEAKERS_HEARD: usize = 6;

/// Who has spoken, and when each last began to: fed with Janus's `talking` events.
#[derive(Debug, Default, Clone)]
pub struct Speakers {
    /// Per participant: talking now, and when it last began to talk. Kept in the order
    /// they are heard in: talking now first, then the latest to begin (no sorting: the
    /// app's wasm would carry a sort for it).
    order: Vec<(ParticipantId, bool, Time)>,
}

impl Speakers {
    /// A `talking` (or `stopped-talking`) event. True when it changes anything.
    pub fn talking(&mut self, participant: ParticipantId, talking: bool, now: Time) -> bool {
        let was = self.order.iter().position(|(p, ..)| *p == participant);
        let entry = match was.map(|i| self.order.remove(i)) {
            Some((_, before, since)) if before == talking => {
                // Nothing new: back where it was.
                self.order
                    .insert(was.unwrap_or(0), (participant, talking, since));
                return false;
            }
            Some((_, _, since)) if !talking => (participant, false, since),
            None if !talking => return false,
            _ => (participant, true, now),
        };
        let at = self
            .order
            .iter()
            .position(|&(_, t, since)| (t, since) < (entry.1, entry.2))
            .unwrap_or(self.order.len());
        self.order.insert(at, entry);
        true
    }

    /// Whose audio is received, of the `microphones` in the room.
    fn heard(&self, microphones: &[ParticipantId]) -> Vec<ParticipantId> {
        if microphones.len() <= EVERYONE_HEARD_UP_TO {
            return microphones.to_vec();
        }
        let mut heard = Vec::new();
        for (p, ..) in &self.order {
            if heard.len() < SPEAKERS_HEARD && microphones.contains(p) {
                heard.push(*p);
            }
        }
        heard
    }
}

/// The streams to receive of those `available`, and the layer of each video: only
/// participants `shown` (the call's present peers); video only of tiles whose `hint`
/// says they are on screen (a tile with no hint yet is shown in full); audio as
/// [`Speakers`] says; then fitted to the downlink `budget` (largest videos lowered
/// first, [`PathBudget`](super::PathBudget)). (Plain loops and `dyn` callbacks: this runs in the app, whose
/// wasm carries every iterator adapter and closure as code of its own.)
pub fn receive_plan(
    available: &[RemoteStream],
    shown: &dyn Fn(ParticipantId) -> bool,
    hint: &dyn Fn(TileId) -> Option<ReceiverHint>,
    speakers: &Speakers,
    budget: Option<Bitrate>,
) -> Vec<(RemoteStream, Option<Layer>)> {
    let mut microphones = Vec::new();
    for s in available {
        if s.kind == MediaKind::Audio && shown(s.participant) {
            microphones.push(s.participant);
        }
    }
    let heard = speakers.heard(&microphones);
    let mut plan = Vec::new();
    for &s in available {
        if !shown(s.participant) {
            continue;
        }
        let layer = match s.kind {
            MediaKind::Audio if heard.contains(&s.participant) => None,
            MediaKind::Audio => continue,
            MediaKind::Video => {
                let tile = TileId {
                    participant: s.participant,
                    kind: s.source,
                };
                match hint(tile).map(layer_for) {
                    None => Some(Layer {
                        substream: 2,
                        temporal: 2,
                    }),
                    Some(None) => continue,
                    Some(layer) => layer,
                }
            }
        };
        plan.push((s, layer));
    }
    fit(&mut plan, budget);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adaptation::Resolution;
    use crate::layout::TileKind;

    fn p(id: u64) -> ParticipantId {
        ParticipantId::new(id)
    }

    fn camera(id: u64, kind: MediaKind) -> RemoteStream {
        RemoteStream {
            participant: p(id),
            source: TileKind::Camera,
            kind,
        }
    }

    /// Audio and camera of participants 1..=n.
    fn room(n: u64) -> Vec<RemoteStream> {
        (1..=n)
            .flat_map(|id| [camera(id, MediaKind::Audio), camera(id, MediaKind::Video)])
            .collect()
    }

    fn heard(plan: &[(RemoteStream, Option<Layer>)]) -> Vec<u64> {
        let mut ids: Vec<u64> = plan
            .iter()
            .filter(|(s, _)| s.kind == MediaKind::Audio)
            .map(|(s, _)| s.participant.get())
            .collect();
        ids.sort_unstable();
        ids
    }

    fn plan(n: u64, speakers: &Speakers) -> Vec<(RemoteStream, Option<Layer>)> {
        receive_plan(&room(n), &|_| true, &|_| None, speakers, None)
    }

    fn at(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    #[test]
    fn in_a_small_call_everyone_is_heard_whether_they_spoke_or_not() {
        let plan = plan(EVERYONE_HEARD_UP_TO as u64, &Speakers::default());
        assert_eq!(heard(&plan).len(), EVERYONE_HEARD_UP_TO);
    }

    #[test]
    fn in_a_big_call_only_the_latest_speakers_are_heard() {
        let mut speakers = Speakers::default();
        assert!(heard(&plan(199, &speakers)).is_empty(), "nobody spoke yet");
        for (i, id) in (10..20).enumerate() {
            assert!(speakers.talking(p(id), true, at(i as u64 * 1000)));
            speakers.talking(p(id), false, at(i as u64 * 1000 + 500));
        }
        assert_eq!(heard(&plan(199, &speakers)), vec![14, 15, 16, 17, 18, 19]);
        // Someone talking now stays heard however long ago they began.
        speakers.talking(p(3), true, at(100));
        assert_eq!(heard(&plan(199, &speakers)), vec![3, 15, 16, 17, 18, 19]);
        assert!(
            !speakers.talking(p(3), true, at(30_000)),
            "still talking: no change"
        );
        // Those who left do not take the places of the others.
        assert_eq!(heard(&plan(15, &speakers)), vec![3, 11, 12, 13, 14, 15]);
    }

    #[test]
    fn video_follows_the_tiles_and_their_sizes() {
        let small = ReceiverHint::Shown(Resolution::new(160, 90));
        let plan = receive_plan(
            &room(3),
            &|id| id != p(3),
            &|tile| match tile.participant.get() {
                1 => Some(small),
                2 => Some(ReceiverHint::Hidden),
                _ => None,
            },
            &Speakers::default(),
            None,
        );
        let video: Vec<(u64, Option<Layer>)> = plan
            .iter()
            .filter(|(s, _)| s.kind == MediaKind::Video)
            .map(|(s, l)| (s.participant.get(), *l))
            .collect();
        assert_eq!(video, vec![(1, layer_for(small))]);
        assert_eq!(heard(&plan), vec![1, 2], "a hidden tile is still heard");
    }
}
