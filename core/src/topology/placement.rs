//! Where a new SFU room goes when the server has several SFU instances: the least
//! loaded one that told its load.

/// How busy one SFU instance is. Ordered by publishers first: each one is an upload to
/// receive and, in a room of n, up to n - 1 streams to forward, so they stand for the
/// forwarded streams, which Janus's API does not count cheaply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SfuLoad {
    /// Publishers in all its rooms.
    pub participants: u64,
    /// Its rooms.
    pub rooms: u64,
}

impl SfuLoad {
    /// The load of an instance whose rooms have these numbers of publishers.
    pub fn of_rooms(publishers: impl IntoIterator<Item = u64>) -> SfuLoad {
        publishers
            .into_iter()
            .fold(SfuLoad::default(), |load, n| SfuLoad {
                participants: load.participants + n,
                rooms: load.rooms + 1,
            })
    }
}

/// The instances to try for a new room, best first, by index into `loads` (`None`:
/// the instance did not tell its load in time): those that told it, least loaded
/// first, the earlier in the list on a tie, so that a quiet pool fills in order.
pub fn placement_order(loads: &[Option<SfuLoad>]) -> Vec<usize> {
    let mut answered: Vec<(SfuLoad, usize)> = loads
        .iter()
        .enumerate()
        .filter_map(|(i, load)| load.map(|load| (load, i)))
        .collect();
    answered.sort();
    answered.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_room_goes_to_the_least_loaded_instance_that_answers() {
        let load = |participants, rooms| {
            Some(SfuLoad {
                participants,
                rooms,
            })
        };
        // Fewer publishers first, then fewer rooms, then the earlier instance.
        assert_eq!(
            placement_order(&[load(12, 2), load(6, 1), load(6, 0), load(6, 0)]),
            [2, 3, 1, 0]
        );
        // A silent instance (dead, or too slow) gets nothing, however empty it may be.
        assert_eq!(placement_order(&[load(40, 5), None, load(7, 1)]), [2, 0]);
        assert!(placement_order(&[None, None]).is_empty());
    }

    #[test]
    fn load_counts_publishers_and_rooms() {
        assert_eq!(
            SfuLoad::of_rooms([3, 0, 5]),
            SfuLoad {
                participants: 8,
                rooms: 3
            }
        );
    }
}
