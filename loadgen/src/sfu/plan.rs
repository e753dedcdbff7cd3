//! Which streams a scripted participant receives: the app's own policy
//! (`nonstop_core::janus::receive_plan`), with the "layout" of a page of `page` tiles:
//! the cameras of the first `page` publishers in join order (participant ids grow with
//! join order) are shown, the others hidden; audio as the policy's speakers say.

use nonstop_core::adaptation::ReceiverHint;
use nonstop_core::janus::{receive_plan, MediaKind, RemoteStream, Speakers};
use nonstop_core::ParticipantId;

/// The streams to subscribe to, of those `available` (ours excluded by the client).
pub fn wanted_streams(
    available: impl Iterator<Item = RemoteStream>,
    page: usize,
    speakers: &Speakers,
) -> Vec<RemoteStream> {
    let available: Vec<RemoteStream> = available.collect();
    let mut cameras: Vec<ParticipantId> = available
        .iter()
        .filter(|s| s.kind == MediaKind::Video)
        .map(|s| s.participant)
        .collect();
    cameras.sort_unstable();
    cameras.dedup();
    cameras.truncate(page);
    let hint = |tile: nonstop_core::layout::TileId| {
        // No hint: shown in full. Off the page: hidden, no video.
        (!cameras.contains(&tile.participant)).then_some(ReceiverHint::Hidden)
    };
    receive_plan(&available, &|_| true, &hint, speakers, None)
        .into_iter()
        .map(|(stream, _layer)| stream)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nonstop_core::layout::TileKind;
    use nonstop_core::time::Time;

    fn stream(id: u64, kind: MediaKind) -> RemoteStream {
        RemoteStream {
            participant: ParticipantId::new(id),
            source: TileKind::Camera,
            kind,
        }
    }

    fn room(ids: impl Iterator<Item = u64>) -> Vec<RemoteStream> {
        ids.flat_map(|id| [stream(id, MediaKind::Audio), stream(id, MediaKind::Video)])
            .collect()
    }

    #[test]
    fn video_of_the_first_page_in_join_order() {
        let speakers = Speakers::default();
        // Listed out of order: the oldest (lowest ids) are shown.
        let wanted = wanted_streams(room((2..=30).rev()).into_iter(), 9, &speakers);
        let mut video: Vec<u64> = wanted
            .iter()
            .filter(|s| s.kind == MediaKind::Video)
            .map(|s| s.participant.get())
            .collect();
        video.sort_unstable();
        assert_eq!(video, (2..=10).collect::<Vec<_>>());
    }

    #[test]
    fn in_a_big_room_audio_only_of_speakers() {
        let mut speakers = Speakers::default();
        speakers.talking(ParticipantId::new(20), true, Time::from_millis(1));
        let wanted = wanted_streams(room(2..=30).into_iter(), 9, &speakers);
        let audio: Vec<u64> = wanted
            .iter()
            .filter(|s| s.kind == MediaKind::Audio)
            .map(|s| s.participant.get())
            .collect();
        assert_eq!(audio, vec![20]);
    }
}
