//! An SFU that only keeps a record: rooms made and destroyed, grants handed out.

use std::sync::{Arc, Mutex};

use nonstop_core::protocol::SfuGrant;
use nonstop_core::ParticipantId;
use nonstop_server::sfu::{SfuError, SfuFuture, SfuRoom, SfuRooms};

#[derive(Debug, Default)]
pub struct Record {
    /// Capacity asked for, per room made.
    pub created: Vec<(String, usize)>,
    pub destroyed: Vec<String>,
    /// (room, participant) put out of a room.
    pub kicked: Vec<(String, ParticipantId)>,
    /// Creations refused so far.
    pub failed: usize,
    /// The SFU died: nothing can be made, and the rooms it had are gone.
    pub dead: bool,
}

pub struct FakeSfu {
    pub record: Arc<Mutex<Record>>,
    /// Lifetime of the grants, in seconds.
    pub expires_in: u64,
    /// Refuse this many creations first.
    pub fail_first: usize,
}

impl FakeSfu {
    pub fn new(expires_in: u64) -> FakeSfu {
        FakeSfu {
            record: Arc::default(),
            expires_in,
            fail_first: 0,
        }
    }
}

impl SfuRooms for FakeSfu {
    fn create(&self, capacity: usize) -> SfuFuture<'_, Result<SfuRoom, SfuError>> {
        Box::pin(async move {
            let mut record = self.record.lock().unwrap();
            if record.dead {
                return Err(SfuError::Unreachable("the fake is dead".into()));
            }
            if record.failed < self.fail_first {
                record.failed += 1;
                return Err(SfuError::Unreachable("the fake says no".into()));
            }
            let id = format!("room-{}", record.created.len() + 1);
            record.created.push((id.clone(), capacity));
            Ok(SfuRoom {
                id,
                pin: "pin".into(),
                secret: "secret".into(),
                instance: 0,
            })
        })
    }

    fn destroy(&self, room: SfuRoom) -> SfuFuture<'_, ()> {
        Box::pin(async move {
            self.record.lock().unwrap().destroyed.push(room.id);
        })
    }

    fn grant(&self, room: &SfuRoom, participant: ParticipantId) -> SfuGrant {
        SfuGrant {
            path: "/janus".into(),
            room: room.id.clone(),
            pin: room.pin.clone(),
            token: format!("token-for-{participant}"),
            room_token: format!("room-token-for-{participant}"),
            expires_in: self.expires_in,
        }
    }

    fn exists(&self, room: &SfuRoom) -> SfuFuture<'_, Result<bool, SfuError>> {
        let id = room.id.clone();
        Box::pin(async move {
            let record = self.record.lock().unwrap();
            if record.dead {
                return Err(SfuError::Unreachable("the fake is dead".into()));
            }
            Ok(!record.destroyed.contains(&id))
        })
    }

    fn kick(&self, room: &SfuRoom, participant: ParticipantId) -> SfuFuture<'_, ()> {
        let id = room.id.clone();
        Box::pin(async move {
            self.record.lock().unwrap().kicked.push((id, participant));
        })
    }
}
