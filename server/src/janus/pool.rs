//! Several Janus instances as one [`SfuRooms`]. A new relayed call goes to the least
//! loaded instance that answers; the instance is recorded in the call's [`SfuRoom`]
//! (`instance`), and everything later about that room (grants, checks, kicks,
//! destruction) goes to that instance. When an instance dies, the rooms' watch finds
//! their rooms lost, the calls go back to mesh, and the next room they ask for is made
//! on an instance that answers: the clients publish again as for any switch to relayed.
//!
//! Load is read from each Janus itself (its VideoRooms and their publishers), not
//! counted here, so every signaling node of a cluster sees the calls of all the others.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use nonstop_core::protocol::SfuGrant;
use nonstop_core::topology::{placement_order, SfuLoad};
use nonstop_core::ParticipantId;

use super::{Janus, JanusConfig};
use crate::sfu::{SfuError, SfuFuture, SfuRoom, SfuRooms};

/// Longest wait for an instance to tell its load. It is on loopback or the local
/// network: a slower one is skipped for this room rather than delaying the switch.
const LOAD_TIMEOUT: Duration = Duration::from_secs(1);

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
    pub async fn loads(&self) -> Vec<Option<SfuLoad>> {
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

    /// Sweeps every instance's orphan rooms ([`Janus::sweep_orphans`]) every
    /// [`ORPHAN_SWEEP_EVERY`](super::ORPHAN_SWEEP_EVERY), for as long as the pool is in use.
    pub fn sweep_orphans_while_used(pool: &Arc<JanusPool>) {
        let pool = Arc::downgrade(pool);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(super::ORPHAN_SWEEP_EVERY).await;
                let Some(pool) = pool.upgrade() else { return };
                for janus in &pool.instances {
                    if let Err(e) = janus.sweep_orphans().await {
                        tracing::debug!(janus = janus.admin_url(), error = %e, "SFU: no orphan sweep this time");
                    }
                }
            }
        });
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
