//! Random sequences of joins, leaves, relays, media changes, interruptions, rebinds
//! and re-admissions: the state stays consistent, nothing is ever delivered to
//! someone outside the sender's room, and each recipient hears of a participant's
//! interruption and return alternately.

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Join { room: usize, name: usize },
    Leave { id: u64 },
    Relay { from: u64, to: u64 },
    Media { id: u64, audio: bool },
    Rebind { id: u64, room: usize },
    Interrupt { id: u64 },
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
        1 => id.clone().prop_map(|id| Op::Interrupt { id }),
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

/// What each recipient has been told about each other participant's seat: `true`
/// while it is interrupted.
#[derive(Default)]
struct Heard(HashMap<(ParticipantId, ParticipantId), bool>);

impl Heard {
    /// Checks `deliveries` against what their recipients heard before: a `back` only
    /// after an `interrupted`, never two `interrupted` in a row. A `welcome` or
    /// `resumed` starts the recipient's view afresh.
    fn observe(&mut self, deliveries: &[Delivery]) {
        for d in deliveries {
            match &d.msg {
                ServerMsg::Welcome { .. } | ServerMsg::Resumed { .. } => {
                    self.0.retain(|(to, _), _| *to != d.to);
                }
                ServerMsg::Interrupted { id } => {
                    let was = self.0.insert((d.to, *id), true).unwrap_or(false);
                    assert!(!was, "{} told twice that {id} is interrupted", d.to);
                }
                ServerMsg::Back { participant } => {
                    let was = self.0.insert((d.to, participant.id), false);
                    assert_eq!(
                        was,
                        Some(true),
                        "{} told {} is back without an interruption",
                        d.to,
                        participant.id
                    );
                }
                ServerMsg::Left { id, .. } => {
                    self.0.remove(&(d.to, *id));
                }
                _ => {}
            }
        }
    }
}

proptest! {
    #[test]
    fn rooms_stay_consistent_and_separate(ops in proptest::collection::vec(op(), 1..120)) {
        let mut rooms = Rooms::<u64>::new(4);
        let mut heard = Heard::default();
        for op in ops {
            match op {
                Op::Join { room, name } => {
                    let room_name = RoomName::parse(ROOMS[room]).unwrap();
                    let name = DisplayName::parse(NAMES[name]).unwrap();
                    if let Ok(joined) = rooms.join(room_name.clone(), name, MediaState::default(), None, 0) {
                        all_in(&rooms, &joined.deliveries, Some(&room_name));
                        heard.observe(&joined.deliveries);
                    }
                }
                Op::Leave { id } => {
                    let id = ParticipantId::new(id);
                    let room = rooms.room_name_of(id).cloned();
                    if let Some(removed) = rooms.leave(id, LeaveReason::Left) {
                        all_in(&rooms, &removed.deliveries, room.as_ref());
                        heard.observe(&removed.deliveries);
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
                    if let Some((_, deliveries)) = rooms.rebind(id, &room_name, MediaState::default(), 1) {
                        prop_assert_eq!(rooms.room_name_of(id), Some(&room_name));
                        all_in(&rooms, &deliveries, Some(&room_name));
                        heard.observe(&deliveries);
                    }
                }
                Op::Interrupt { id } => {
                    let id = ParticipantId::new(id);
                    let room = rooms.room_name_of(id).cloned();
                    let deliveries = rooms.interrupt(id);
                    all_in(&rooms, &deliveries, room.as_ref());
                    prop_assert!(deliveries.iter().all(|d| d.to != id));
                    heard.observe(&deliveries);
                }
                Op::Readmit { id, room } => {
                    let room_name = RoomName::parse(ROOMS[room]).unwrap();
                    let name = DisplayName::parse("Back").unwrap();
                    let id = ParticipantId::new(id);
                    if let Ok(back) = rooms.readmit(id, room_name.clone(), name, MediaState::default(), None, JoinTerms::default(), 2) {
                        all_in(&rooms, &back.deliveries, Some(&room_name));
                        heard.observe(&back.deliveries);
                    }
                }
            }
            rooms.assert_invariants();
        }
    }
}
