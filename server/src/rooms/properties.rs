//! Random sequences of joins, leaves, relays, media changes, rebinds and
//! re-admissions: the state stays consistent, and nothing is ever delivered to
//! someone outside the sender's room.

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Join { room: usize, name: usize },
    Leave { id: u64 },
    Relay { from: u64, to: u64 },
    Media { id: u64, audio: bool },
    Rebind { id: u64, room: usize },
    Readmit { id: u64, room: usize },
}

const ROOMS: [&str; 3] = ["room-a", "room-b", "room-c"];
const NAMES: [&str; 3] = ["Ada", "Bob", "Zoë 🎥"];

fn op() -> impl Strategy<Value = Op> {
    let id = 1..25u64;
    prop_oneof![
        3 => (0..ROOMS.len(), 0..NAMES.len()).prop_map(|(room, name)| Op::Join { room, name }),
        1 => id.clone().prop_map(|id| Op::Leave { id }),
        3 => (id.clone(), id.clone()).prop_map(|(from, to)| Op::Relay { from, to }),
        1 => (id.clone(), any::<bool>()).prop_map(|(id, audio)| Op::Media { id, audio }),
        1 => (id.clone(), 0..ROOMS.len()).prop_map(|(id, room)| Op::Rebind { id, room }),
        1 => (id, 0..ROOMS.len()).prop_map(|(id, room)| Op::Readmit { id, room }),
    ]
}

/// Every delivery goes to someone in `room` (the sender's room, looked up before the
/// operation).
fn all_in(rooms: &Rooms<u64>, deliveries: &[Delivery], room: Option<&RoomName>) {
    for d in deliveries {
        assert_eq!(
            rooms.room_name_of(d.to),
            room,
            "delivery to {} outside the room: {:?}",
            d.to,
            d.msg
        );
    }
}

proptest! {
    #[test]
    fn rooms_stay_consistent_and_separate(ops in proptest::collection::vec(op(), 1..120)) {
        let mut rooms = Rooms::<u64>::new(4);
        for op in ops {
            match op {
                Op::Join { room, name } => {
                    let room_name = RoomName::parse(ROOMS[room]).unwrap();
                    let name = DisplayName::parse(NAMES[name]).unwrap();
                    if let Ok(joined) = rooms.join(room_name.clone(), name, MediaState::default(), None, 0) {
                        all_in(&rooms, &joined.deliveries, Some(&room_name));
                    }
                }
                Op::Leave { id } => {
                    let id = ParticipantId::new(id);
                    let room = rooms.room_name_of(id).cloned();
                    if let Some(removed) = rooms.leave(id, LeaveReason::Left) {
                        all_in(&rooms, &removed.deliveries, room.as_ref());
                        prop_assert!(rooms.room_name_of(id).is_none());
                    }
                }
                Op::Relay { from, to } => {
                    let (from, to) = (ParticipantId::new(from), ParticipantId::new(to));
                    if let Ok(delivery) = rooms.relay(from, to, Signal::Offer("v=0".into())) {
                        prop_assert_eq!(delivery.to, to);
                        prop_assert_ne!(from, to);
                        prop_assert!(rooms.room_name_of(from).is_some());
                        prop_assert_eq!(rooms.room_name_of(from), rooms.room_name_of(to));
                    }
                }
                Op::Media { id, audio } => {
                    let id = ParticipantId::new(id);
                    let room = rooms.room_name_of(id).cloned();
                    let deliveries = rooms.set_media(id, MediaState { audio, video: true });
                    all_in(&rooms, &deliveries, room.as_ref());
                    prop_assert!(deliveries.iter().all(|d| d.to != id));
                }
                Op::Rebind { id, room } => {
                    let id = ParticipantId::new(id);
                    let room_name = RoomName::parse(ROOMS[room]).unwrap();
                    if rooms.rebind(id, &room_name, 1).is_some() {
                        prop_assert_eq!(rooms.room_name_of(id), Some(&room_name));
                    }
                }
                Op::Readmit { id, room } => {
                    let room_name = RoomName::parse(ROOMS[room]).unwrap();
                    let name = DisplayName::parse("Back").unwrap();
                    let id = ParticipantId::new(id);
                    if let Ok(back) = rooms.readmit(id, room_name.clone(), name, MediaState::default(), None, 2) {
                        all_in(&rooms, &back.deliveries, Some(&room_name));
                    }
                }
            }
            rooms.assert_invariants();
        }
    }
}
