//! The message handler fed random frames (bytes, broken JSON, and well-formed
//! messages with random fields) from several connections at once: it never panics,
//! the room state stays consistent, and no relayed message crosses rooms.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use nonstop_core::protocol::{IceCandidate, MediaState};
use proptest::prelude::*;

use super::*;
use crate::out_queue::OutQueueRx;

/// How many connections take part.
const CONNS: usize = 5;
const ROOMS: [&str; 3] = ["room-a", "room-b", "x"];

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    let id = (0..12u64).prop_map(ParticipantId::new);
    let text = ".{0,24}";
    let media =
        (any::<bool>(), any::<bool>()).prop_map(|(audio, video)| MediaState { audio, video });
    prop_oneof![
        4 => (prop_oneof![4 => Just(PROTOCOL_VERSION), 1 => 0..3u32], 0..ROOMS.len(), prop_oneof![Just("Ada".to_string()), Just("\u{202E}x".to_string()), Just(" ".to_string()), text.prop_map(String::from)], media.clone())
            .prop_map(|(protocol, room, name, media)| ClientMsg::Join { protocol, room: ROOMS[room].into(), name, media, passcode: None, token: None }),
        4 => (id.clone(), text).prop_map(|(to, sdp)| ClientMsg::Offer { to, sdp }),
        2 => (id.clone(), text).prop_map(|(to, sdp)| ClientMsg::Answer { to, sdp }),
        3 => (id.clone(), text, proptest::option::of(text), proptest::option::of(any::<u16>())).prop_map(
            |(to, candidate, sdp_mid, sdp_m_line_index)| ClientMsg::Candidate {
                to,
                candidate: IceCandidate { candidate, sdp_mid, sdp_m_line_index, username_fragment: None },
            }
        ),
        2 => media.clone().prop_map(|media| ClientMsg::Media { media }),
        1 => Just(ClientMsg::Pong),
        1 => Just(ClientMsg::Leave),
        1 => (0..ROOMS.len(), id, text, media).prop_map(|(room, id, token, media)| ClientMsg::Resume {
            protocol: PROTOCOL_VERSION, room: ROOMS[room].into(), name: "Ada".into(), media, id, token,
        }),
    ]
}

fn frame() -> impl Strategy<Value = Message> {
    prop_oneof![
        6 => client_msg().prop_map(|m| Message::Text(m.to_json().into())),
        // Well-formed JSON cut short or with a byte changed.
        2 => (client_msg(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(m, at, byte)| {
            let mut bytes = m.to_json().into_bytes();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            bytes.truncate(bytes.len() - i / 2);
            Message::Text(String::from_utf8_lossy(&bytes).into_owned().into())
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| Message::Text(String::from_utf8_lossy(&b).into_owned().into())),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Message::Binary(b.into())),
        1 => Just(Message::Ping(vec![1u8].into())),
        1 => Just(Message::Close(None)),
    ]
}

struct Peer {
    conn: Connection,
    rx: OutQueueRx,
    open: bool,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_frames_never_panic_or_cross_rooms(
        frames in proptest::collection::vec((0..CONNS, frame()), 1..80)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let _guard = runtime.enter();
        let hub = Arc::new(Hub::new(3));
        let settings = Settings::default();
        let mut peers: Vec<Peer> = (0..CONNS)
            .map(|n| {
                let (queue, rx) = OutQueue::new(64, settings.send_queue_bytes);
                Peer {
                    conn: Connection {
                        hub: hub.clone(),
                        outbox: Outbox::new(queue, n as u64, IpAddr::V4(Ipv4Addr::LOCALHOST)),
                        id: None,
                        resume_grace: Duration::ZERO,
                        seat_wait: Duration::ZERO,
                        pending: None,
                        budget: MessageBudget::new(settings.rate_limits.clone(), Instant::now()),
                        media: MediaCoalescer::new(settings.media_interval),
                        rejections: RejectionLog::default(),
                    },
                    rx,
                    open: true,
                }
            })
            .collect();
        // The room each participant joined; ids are never reused.
        let mut room_of: HashMap<ParticipantId, String> = HashMap::new();

        for (n, frame) in frames {
            let peer = &mut peers[n];
            if !peer.open {
                continue;
            }
            let step = peer.conn.on_frame(frame);
            if let Some(id) = peer.conn.id {
                if let Some(room) = hub.rooms_for_test().room_name_of(id) {
                    room_of.entry(id).or_insert_with(|| room.to_string());
                }
            }
            if let Step::End(end) = step {
                peer.conn.finish(end);
                peer.open = false;
            }
            hub.rooms_for_test().assert_invariants();
            for peer in &mut peers {
                let me = peer.conn.id;
                while let Ok(item) = peer.rx.try_recv() {
                    let Outgoing::Msg(msg) = item else { continue };
                    let from = match msg.as_ref() {
                        ServerMsg::Offer { from, .. }
                        | ServerMsg::Answer { from, .. }
                        | ServerMsg::Candidate { from, .. }
                        | ServerMsg::Media { from, .. } => *from,
                        _ => continue,
                    };
                    let me = me.expect("relays reach joined participants only");
                    prop_assert_ne!(from, me);
                    prop_assert_eq!(room_of.get(&from), room_of.get(&me), "{:?} crossed rooms", msg);
                }
            }
        }
    }
}
