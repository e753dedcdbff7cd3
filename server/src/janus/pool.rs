//! Several Janus instances as one [`SfuRooms`]. A new relayed call goes to the least
//! loaded instance that answers; the instance is recorded in the call's [`SfuRoom`]
//! (`instance`), and everything later about that room (grants, checks, kicks,
//! destruction) goes to that instance. When an instance dies, the rooms' watch finds
//! their rooms lost, the calls go back to mesh, and the next room they ask for is made
//! on an instance that answers: the clients publish again as for any switch to relayed.
//!
//! Load is read from each Janus itself (its VideoRooms and their publishers), not
//! counted here, so every signaling node of a cluster sees the calls of all the others.

use std::time::Duration;

use futures_util::future::join_all;
use nonstop_core::protocol::SfuGrant;
use nonstop_core::ParticipantId;

use super::{Janus, JanusConfig};
use crate::sfu::{SfuError, SfuFuture, SfuRoom, SfuRooms};

/// Longest wait for an instance to tell its load. It is on loopback or the local
/// network: a slower one is skipped for this room rather than delaying the switch.
const LOAD_TIMEOUT: Duration = Duration::from_secs(1);

/// How busy one Janus is. Ordered by publishers first: each one is an upload to
/// receive and, in a room of n, up to n - 1 streams to forward, so they stand for the
/// forwarded streams, which Janus's API does not count cheaply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Load {
    /// Publishers in all its VideoRooms.
    pub participants: u64,
    /// Its VideoRooms.
    pub rooms: u64,
}

impl Load {
    /// The load of an instance whose rooms have these numbers of publishers.
    pub fn of_rooms(publishers: impl IntoIterator<Item = u64>) -> Load {
        publishers
            .into_iter()
            .fold(Load::default(), |load, n| Load {
                participants: load.participants + n,
                rooms: load.rooms + 1,
            })
    }
}

/// The instances to try for a new room, best first: those that told their load, least
/// loaded first (the earlier in the list on a tie, so a quiet pool fills in order).
fn placement_order(loads: &[Option<Load>]) -> Vec<usize> {
    let mut answered: Vec<(Load, usize)> = loads
        .iter()
        .enumerate()
        .filter_map(|(i, load)| load.map(|load| (load, i)))
        .collect();
    answered.sort();
    answered.into_iter().map(|(_, i)| i).collect()
}

/// The Janus instances relayed calls go to, in the order the flags gave them: the
/// index of each is its `instance` in [`SfuRoom`] and `/janus/N` on the proxy.
pub struct JanusPool {
    instances: Vec<Janus>,
}

impl JanusPool {
    pub fn new(configs: &[JanusConfig]) -> JanusPool {
        JanusPool {
            instances: configs.iter().map(Janus::new).collect(),
        }
    }

    pub fn instances(&self) -> &[Janus] {
        &self.instances
    }

    /// Each instance's load, `None` for one that did not tell it in time.
    pub async fn loads(&self) -> Vec<Option<Load>> {
        join_all(self.instances.iter().map(|janus| async move {
            match tokio::time::timeout(LOAD_TIMEOUT, janus.load()).await {
                Ok(Ok(load)) => Some(load),
                Ok(Err(e)) => {
                    tracing::warn!(janus = janus.admin_url(), error = %e, "SFU: no load from this Janus; not used for new rooms now");
                    None
                }
                Err(_) => {
                    tracing::warn!(janus = janus.admin_url(), "SFU: no load from this Janus within 1 s; not used for new rooms now");
                    None
                }
            }
        }))
        .await
    }

    async fn create_room(&self, capacity: usize) -> Result<SfuRoom, SfuError> {
        // One instance: no choice to make, so no question to ask first.
        let (order, loads) = if self.instances.len() == 1 {
            (vec![0], vec![None])
        } else {
            let loads = self.loads().await;
            (placement_order(&loads), loads)
        };
        let mut last = SfuError::Unreachable(format!(
            "none of the {} Janus instances answers",
            self.instances.len()
        ));
        for instance in order {
            match self.instances[instance].create(capacity).await {
                Ok(room) => {
                    tracing::info!(
                        instance,
                        janus = self.instances[instance].admin_url(),
                        load = ?loads[instance],
                        "SFU: room placed"
                    );
                    return Ok(SfuRoom { instance, ..room });
                }
                // It died since it told its load: the next one may do.
                Err(e @ SfuError::Unreachable(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// The instance that holds `room`.
    fn holder(&self, room: &SfuRoom) -> Result<&Janus, SfuError> {
        self.instances.get(room.instance).ok_or_else(|| {
            SfuError::Unreachable(format!("no Janus number {} in the pool", room.instance))
        })
    }
}

impl SfuRooms for JanusPool {
    fn create(&self, capacity: usize) -> SfuFuture<'_, Result<SfuRoom, SfuError>> {
        Box::pin(self.create_room(capacity))
    }

    fn destroy(&self, room: SfuRoom) -> SfuFuture<'_, ()> {
        Box::pin(async move {
            if let Ok(janus) = self.holder(&room) {
                janus.destroy(room).await;
            }
        })
    }

    fn grant(&self, room: &SfuRoom, participant: ParticipantId) -> SfuGrant {
        // Rooms are made here only, so their instance is always in the pool.
        self.instances[room.instance].grant(room, participant)
    }

    fn exists(&self, room: &SfuRoom) -> SfuFuture<'_, Result<bool, SfuError>> {
        match self.holder(room) {
            Ok(janus) => janus.exists(room),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }

    fn kick(&self, room: &SfuRoom, participant: ParticipantId) -> SfuFuture<'_, ()> {
        match self.holder(room) {
            Ok(janus) => janus.kick(room, participant),
            Err(_) => Box::pin(async {}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_adds_up_the_rooms() {
        assert_eq!(Load::of_rooms([]), Load::default());
        assert_eq!(
            Load::of_rooms([3, 0, 6]),
            Load {
                participants: 9,
                rooms: 3
            }
        );
    }

    #[test]
    fn a_new_room_goes_to_the_least_loaded_instance_that_answers() {
        let load = |participants, rooms| {
            Some(Load {
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
}
