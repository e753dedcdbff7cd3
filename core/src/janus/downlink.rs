//! How much the SFU may send us: each receiver fits the layers it asks for to its own
//! downlink budget (a [`PathBudget`](super::PathBudget) fed with what arrives on its
//! subscriber connection): [`fit`] lowers the largest videos' layers until the plan
//! fits.

use super::client::Layer;
use super::feeds::RemoteStream;
use super::simulcast::LAYERS;
use crate::adaptation::Bitrate;

/// Each received microphone's share of the budget.
pub const AUDIO_RATE: Bitrate = Bitrate::kbps(40);

/// About what a layer carries (a 360p camera, VP8): its top rate scaled by the
/// frames kept (temporal layer 0 is a quarter of them, 1 half).
fn typical(layer: Layer) -> Bitrate {
    let top = LAYERS[LAYERS.len() - 1 - usize::from(layer.substream.min(2))].typical;
    top.scaled([0.5, 0.7, 1.0][usize::from(layer.temporal.min(2))])
}

/// Lowers layers of `plan` until it fits `budget`: always the largest video first
/// (fewer pixels before fewer frames), down to the lowest layer, never off.
pub fn fit(plan: &mut [(RemoteStream, Option<Layer>)], budget: Option<Bitrate>) {
    let Some(budget) = budget else { return };
    loop {
        let mut total = Bitrate::bps(0);
        // The largest video's rank (substream, then temporal layer; 0: the lowest
        // layer, nothing left to give up) and where it is.
        let mut largest = (0, 0);
        for (i, (_, layer)) in plan.iter().enumerate() {
            // The plan's streams without a layer are microphones.
            let Some(l) = layer else {
                total = total + AUDIO_RATE;
                continue;
            };
            total = total + typical(*l);
            let rank = l.substream * 3 + l.temporal;
            if rank > largest.0 {
                largest = (rank, i);
            }
        }
        if largest.0 == 0 || total <= budget {
            return;
        }
        if let Some(l) = &mut plan[largest.1].1 {
            if l.substream > 0 {
                l.substream -= 1;
            } else {
                l.temporal -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::janus::MediaKind;
    use crate::layout::TileKind;
    use crate::ParticipantId;

    fn video(id: u64, substream: u8) -> (RemoteStream, Option<Layer>) {
        let stream = RemoteStream {
            participant: ParticipantId::new(id),
            source: TileKind::Camera,
            kind: MediaKind::Video,
        };
        (
            stream,
            Some(Layer {
                substream,
                temporal: 2,
            }),
        )
    }

    fn substreams(plan: &[(RemoteStream, Option<Layer>)]) -> Vec<(u8, u8)> {
        plan.iter()
            .filter_map(|(_, l)| l.map(|l| (l.substream, l.temporal)))
            .collect()
    }

    #[test]
    fn the_largest_video_steps_down_first_until_the_plan_fits() {
        let mut plan = vec![video(1, 2), video(2, 1), video(3, 2)];
        fit(&mut plan, None);
        assert_eq!(substreams(&plan), vec![(2, 2), (1, 2), (2, 2)]);
        // Room for one top layer and two middle ones.
        let budget = typical(Layer {
            substream: 2,
            temporal: 2,
        }) + typical(Layer {
            substream: 1,
            temporal: 2,
        })
        .scaled(2.0);
        fit(&mut plan, Some(budget));
        assert_eq!(substreams(&plan), vec![(1, 2), (1, 2), (2, 2)]);
        // Too little for anything: every video at its lowest, none off.
        fit(&mut plan, Some(Bitrate::kbps(1)));
        assert_eq!(substreams(&plan), vec![(0, 0), (0, 0), (0, 0)]);
    }
}
