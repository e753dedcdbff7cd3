//! The three layers a publisher sends and which one a receiver takes. Layers are
//! relative to the camera: with a 720p camera they are about 180p, 360p and 720p;
//! the app asks for [`CAMERA_CAPTURE`] (360p), so 90p / 180p / 360p.

use super::client::Layer;
use super::downlink::AUDIO_RATE;
use crate::adaptation::{Bitrate, ReceiverHint, CAMERA_CAPTURE};

/// One simulcast encoding, as the publisher's `sendEncodings` name it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulcastLayer {
    pub rid: &'static str,
    pub scale_down_by: f64,
    pub max_bitrate: Bitrate,
    /// About what it carries from the camera the app asks for: what a receiver's
    /// downlink budget counts it as (`downlink::fit`).
    pub typical: Bitrate,
    /// The least that makes it worth sending over the layer below (see [`layer_caps`]):
    /// what looks good at its size in the mesh's ladder, a little under.
    pub worth: Bitrate,
}

/// In the order they are sent, highest first: Janus 1.1.2 reads the first rid as the
/// highest layer (substream 2), the order janus.js sends them in; sent lowest first,
/// "substream 2" would be the smallest picture.
pub const LAYERS: [SimulcastLayer; 3] = [
    SimulcastLayer {
        rid: "f",
        scale_down_by: 1.0,
        max_bitrate: Bitrate::kbps(1_500),
        typical: Bitrate::kbps(600),
        worth: Bitrate::kbps(250),
    },
    SimulcastLayer {
        rid: "h",
        scale_down_by: 2.0,
        max_bitrate: Bitrate::kbps(500),
        typical: Bitrate::kbps(250),
        worth: Bitrate::kbps(120),
    },
    SimulcastLayer {
        rid: "q",
        scale_down_by: 4.0,
        max_bitrate: Bitrate::kbps(150),
        typical: Bitrate::kbps(100),
        // Sent whatever is left: this is only its lowest cap.
        worth: Bitrate::kbps(30),
    },
];

/// What one layer may send, as its `sendEncodings` entry says it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerCap {
    pub active: bool,
    pub max_bitrate: Bitrate,
}

/// The caps of [`LAYERS`] (in their order) for an uplink that carries `budget`, our
/// microphone included (`None`: no limit seen, every layer at its maximum). Like the
/// browsers' own simulcast allocators, the lowest layer is served first and always
/// sent (every receiver can fall back to it); each higher one is sent only when what is
/// left gives it its `worth`, and takes at most its maximum. Turning a layer off, not
/// only capping it, spares the encoder its pictures, and Janus moves its receivers to
/// the highest layer that still arrives.
pub fn layer_caps(budget: Option<Bitrate>) -> [LayerCap; 3] {
    let mut caps = LAYERS.map(|l| LayerCap {
        active: true,
        max_bitrate: l.max_bitrate,
    });
    let Some(budget) = budget else {
        return caps;
    };
    let mut left = budget.saturating_sub(AUDIO_RATE);
    for (i, (cap, layer)) in caps.iter_mut().zip(LAYERS).enumerate().rev() {
        cap.active = left >= layer.worth || i == LAYERS.len() - 1;
        if cap.active {
            cap.max_bitrate = layer.max_bitrate.min(left.max(layer.worth));
            left = left.saturating_sub(cap.max_bitrate);
        }
    }
    caps
}

/// The short side of substream `index` (0 lowest) from a camera of the size the app
/// asks for. A receiver cannot know a publisher's real camera; one that gives less
/// only makes every layer smaller than the tile wanted, as it would in the mesh.
fn short_side(index: usize) -> f64 {
    f64::from(CAMERA_CAPTURE.short_side()) / LAYERS[LAYERS.len() - 1 - index].scale_down_by
}

/// The layer a tile needs: the smallest whose picture is at least the tile's size,
/// all frames. `None` when the tile is not shown (no video is needed at all).
pub fn layer_for(hint: ReceiverHint) -> Option<Layer> {
    let ReceiverHint::Shown(size) = hint else {
        return None;
    };
    if size.pixels() == 0 {
        return None;
    }
    let short = f64::from(size.short_side());
    let substream = (0..LAYERS.len())
        .find(|i| short_side(*i) >= short)
        .unwrap_or(LAYERS.len() - 1);
    Some(Layer {
        // At most 3 entries: the index fits.
        substream: substream as u8,
        temporal: 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adaptation::Resolution;

    fn shown(w: u32, h: u32) -> ReceiverHint {
        ReceiverHint::Shown(Resolution::new(w, h))
    }

    #[test]
    fn a_tile_gets_the_smallest_layer_that_fills_it() {
        // Layers of a 640x360 camera: 160x90, 320x180, 640x360.
        assert_eq!(layer_for(shown(160, 90)).map(|l| l.substream), Some(0));
        assert_eq!(layer_for(shown(320, 180)).map(|l| l.substream), Some(1));
        assert_eq!(layer_for(shown(640, 200)).map(|l| l.substream), Some(2));
        assert_eq!(layer_for(shown(1280, 720)).map(|l| l.substream), Some(2));
        assert_eq!(layer_for(shown(3840, 2160)).map(|l| l.substream), Some(2));
        assert_eq!(layer_for(shown(0, 0)), None);
        assert_eq!(layer_for(ReceiverHint::Hidden), None);
    }

    fn caps(kbps: u64) -> Vec<(bool, u64)> {
        layer_caps(Some(Bitrate::kbps(kbps)))
            .iter()
            .map(|c| (c.active, c.max_bitrate.as_bps() / 1000))
            .collect()
    }

    #[test]
    fn the_lowest_layer_is_served_first_and_a_higher_one_only_when_it_is_worth_it() {
        let unlimited: Vec<_> = LAYERS
            .iter()
            .map(|l| (true, l.max_bitrate.as_bps() / 1000))
            .collect();
        assert_eq!(
            layer_caps(None)
                .iter()
                .map(|c| (c.active, c.max_bitrate.as_bps() / 1000))
                .collect::<Vec<_>>(),
            unlimited
        );
        assert_eq!(caps(5_000), unlimited);
        // Top first to go: 40 for audio, 150 the lowest, 500 the middle, 250 short.
        assert_eq!(caps(939), [(false, 1500), (true, 500), (true, 150)]);
        assert_eq!(caps(940), [(true, 250), (true, 500), (true, 150)]);
        // The middle one takes what is left, down to its worth.
        assert_eq!(caps(400), [(false, 1500), (true, 210), (true, 150)]);
        assert_eq!(caps(309), [(false, 1500), (false, 500), (true, 150)]);
        // The lowest is always sent, at what is left.
        assert_eq!(caps(120), [(false, 1500), (false, 500), (true, 80)]);
        assert_eq!(caps(10), [(false, 1500), (false, 500), (true, 30)]);
    }
}
