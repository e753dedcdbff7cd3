//! Whether a call needs relaying: the one rule behind both switching up and (after the
//! hold) switching back down.

use super::config::TopologyConfig;
use crate::adaptation::Bitrate;

/// Whether a call of `seats` participants, whose reported uplinks are `uplinks`, needs
/// the SFU: it has more than `relay_above` participants, or one of them cannot give
/// each peer [`TopologyConfig::per_peer_min`]. With two participants a mesh uploads
/// one copy, as an SFU would: no uplink is a reason to relay then.
pub(crate) fn needs_relay(
    config: &TopologyConfig,
    seats: usize,
    mut uplinks: impl Iterator<Item = Bitrate>,
) -> bool {
    if seats > config.relay_above {
        return true;
    }
    let peers = seats.saturating_sub(1) as u64;
    if peers < 2 {
        return false;
    }
    let mesh_needs = Bitrate::bps(config.per_peer_min.as_bps().saturating_mul(peers));
    uplinks.any(|uplink| uplink < mesh_needs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_relay_above_needs_relay() {
        let config = TopologyConfig::default();
        assert!(!needs_relay(&config, 5, std::iter::empty()));
        assert!(needs_relay(&config, 6, std::iter::empty()));
    }

    #[test]
    fn an_uplink_short_of_the_mesh_needs_relay_from_three_participants() {
        let config = TopologyConfig::default();
        // 120 kb/s per peer by default: thin audio plus the lowest video.
        assert_eq!(config.per_peer_min, Bitrate::kbps(120));
        let thin = [Bitrate::kbps(300)];
        assert!(
            !needs_relay(&config, 2, thin.into_iter()),
            "one copy either way"
        );
        assert!(!needs_relay(&config, 3, thin.into_iter()), "240 kb/s fit");
        assert!(needs_relay(&config, 4, thin.into_iter()), "360 kb/s do not");
        assert!(!needs_relay(&config, 4, [Bitrate::kbps(360)].into_iter()));
    }
}
