//! The client driven through each step with the frames Janus 1.1.2 sends (recorded
//! from the real one in `tests/janus_live.rs`, or from the VideoRoom's documentation
//! where a step needs media flowing: publisher lists, `attached`, `updated`).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::layout::TileKind;
use crate::time::Time;
use crate::ParticipantId;

const SESSION: u64 = 7572580407258405;
const PUB: u64 = 7823418895044944;
const SUB: u64 = 4307352209355458;

fn access() -> RoomAccess {
    RoomAccess {
        room: "live-room".into(),
        pin: "4821".into(),
        token: "core-token".into(),
        room_token: "room-token".into(),
    }
}

fn at(ms: u64) -> Time {
    Time::from_millis(ms)
}

/// The client and the frames it sent, read back as JSON.
struct Run {
    client: JanusClient,
    sent: Vec<Value>,
    events: Vec<JanusEvent>,
}

impl Run {
    fn new() -> Run {
        let client = JanusClient::new(access(), ParticipantId::new(101), 0x65, at(0));
        let mut run = Run {
            client,
            sent: Vec::new(),
            events: Vec::new(),
        };
        run.drain();
        run
    }

    fn drain(&mut self) {
        while let Some(frame) = self.client.poll_transmit() {
            self.sent.push(serde_json::from_str(&frame).unwrap());
        }
        while let Some(event) = self.client.poll_event() {
            self.events.push(event);
        }
    }

    /// The last frame sent whose `janus` (and `body.request`, if given) match.
    fn last(&self, janus: &str, request: Option<&str>) -> Value {
        self.sent
            .iter()
            .rev()
            .find(|f| f["janus"] == janus && request.is_none_or(|r| f["body"]["request"] == r))
            .unwrap_or_else(|| panic!("no {janus} {request:?} in {:#?}", self.sent))
            .clone()
    }

    fn tx(&self, janus: &str, request: Option<&str>) -> String {
        self.last(janus, request)["transaction"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn input(&mut self, now: u64, frame: Value) {
        self.client
            .handle_input(at(now), &frame.to_string())
            .unwrap();
        self.drain();
    }

    /// A VideoRoom event from `sender`, answering `transaction` (if any).
    fn event(
        &mut self,
        now: u64,
        sender: u64,
        transaction: Option<String>,
        data: Value,
        jsep: Option<Value>,
    ) {
        let mut frame = json!({
            "janus": "event", "session_id": SESSION, "sender": sender,
            "plugindata": { "plugin": "janus.plugin.videoroom", "data": data },
        });
        if let Some(t) = transaction {
            frame["transaction"] = json!(t);
        }
        if let Some(jsep) = jsep {
            frame["jsep"] = jsep;
        }
        self.input(now, frame);
    }

    fn take_events(&mut self) -> Vec<JanusEvent> {
        std::mem::take(&mut self.events)
    }

    /// Session created, both handles attached: the publisher's `join` is out.
    fn attached() -> Run {
        let mut run = Run::new();
        run.create_and_attach();
        run
    }

    /// Janus answers `create` and both `attach`es.
    fn create_and_attach(&mut self) {
        let create = self.tx("create", None);
        self.input(
            10,
            json!({"janus": "success", "transaction": create, "data": {"id": SESSION}}),
        );
        let attaches: Vec<String> = self
            .sent
            .iter()
            .filter(|f| f["janus"] == "attach")
            .map(|f| f["transaction"].as_str().unwrap().to_string())
            .collect();
        self.input(20, json!({"janus": "success", "session_id": SESSION, "transaction": attaches[0], "data": {"id": PUB}}));
        self.input(20, json!({"janus": "success", "session_id": SESSION, "transaction": attaches[1], "data": {"id": SUB}}));
    }

    /// Session created, both handles attached, joined with `publishers` present.
    fn joined(publishers: Value) -> Run {
        let mut run = Run::attached();
        let join = run.tx("message", Some("join"));
        run.input(
            30,
            json!({"janus": "ack", "session_id": SESSION, "transaction": join}),
        );
        run.event(
            40,
            PUB,
            Some(join),
            json!({
                "videoroom": "joined", "room": "live-room", "description": "live", "id": "101",
                "private_id": 1861099876u64, "publishers": publishers,
            }),
            None,
        );
        run
    }

    fn published() -> Run {
        let mut run = Run::joined(json!([]));
        assert!(run
            .client
            .publish(at(50), "offer-sdp".into(), &camera_mids()));
        run.drain();
        let publish = run.tx("message", Some("publish"));
        run.event(60, PUB, Some(publish), json!({
            "videoroom": "event", "room": "live-room", "configured": "ok",
            "audio_codec": "opus", "video_codec": "vp8", "streams": [
                {"type": "audio", "mindex": 0, "mid": "0", "description": "camera", "codec": "opus", "fec": true},
                {"type": "video", "mindex": 1, "mid": "1", "description": "camera", "codec": "vp8", "simulcast": true}
            ]}), Some(json!({"type": "answer", "sdp": "answer-sdp"})));
        run
    }
}

fn camera_mids() -> Vec<(String, TileKind)> {
    vec![
        ("0".into(), TileKind::Camera),
        ("1".into(), TileKind::Camera),
    ]
}

/// A publisher as `joined` and `event.publishers` list it (1.x, multistream).
fn publisher(id: &str) -> Value {
    json!({"id": id, "display": "x", "streams": [
        {"type": "audio", "mindex": 0, "mid": "0", "description": "camera", "codec": "opus"},
        {"type": "video", "mindex": 1, "mid": "1", "description": "camera", "codec": "vp8", "simulcast": true},
    ], "talking": false})
}

fn stream(id: u64, kind: MediaKind) -> RemoteStream {
    RemoteStream {
        participant: ParticipantId::new(id),
        source: TileKind::Camera,
        kind,
    }
}

#[test]
fn it_creates_a_session_attaches_two_handles_and_joins_as_publisher() {
    let run = Run::joined(json!([]));
    assert_eq!(run.sent[0]["janus"], "create");
    assert_eq!(run.sent[0]["token"], "core-token");
    let attach = run.last("attach", None);
    assert_eq!(attach["plugin"], "janus.plugin.videoroom");
    assert_eq!(attach["session_id"], SESSION);
    let join = run.last("message", Some("join"));
    assert_eq!(join["handle_id"], PUB);
    assert_eq!(
        join["token"], "core-token",
        "the core token goes with every request"
    );
    assert_eq!(
        join["body"],
        json!({"request": "join", "ptype": "publisher", "room": "live-room", "pin": "4821",
               "token": "room-token", "id": "101"}),
        "our id is our participant id as a string; the room token goes in the body"
    );
    assert_eq!(
        run.events,
        vec![JanusEvent::ReadyToPublish, JanusEvent::RoomChanged]
    );
    let ids: BTreeSet<&str> = run
        .sent
        .iter()
        .map(|f| f["transaction"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), run.sent.len(), "transaction ids are unique");
}

#[test]
fn the_offer_goes_out_with_publish_and_its_answer_comes_back() {
    let mut run = Run::published();
    let publish = run.last("message", Some("publish"));
    assert_eq!(
        publish["jsep"],
        json!({"type": "offer", "sdp": "offer-sdp"})
    );
    assert_eq!(
        publish["body"]["descriptions"],
        json!([{"mid": "0", "description": "camera"}, {"mid": "1", "description": "camera"}])
    );
    assert!(run
        .take_events()
        .contains(&JanusEvent::PublisherAnswer("answer-sdp".into())));
    // A later offer (a screen added) renegotiates with `configure`.
    let mids = vec![("2".to_string(), TileKind::Screen)];
    assert!(run.client.publish(at(70), "offer-2".into(), &mids));
    run.drain();
    let configure = run.last("message", Some("configure"));
    assert_eq!(
        configure["body"]["descriptions"],
        json!([{"mid": "2", "description": "screen"}])
    );
    assert_eq!(configure["jsep"]["type"], "offer");
}

#[test]
fn a_failed_publish_detaches_the_handle_and_joins_again_on_a_fresh_one_once() {
    let mut run = Run::joined(json!([]));
    run.take_events();
    assert!(run.client.publish(at(50), "bad".into(), &camera_mids()));
    run.drain();
    let publish = run.tx("message", Some("publish"));
    // Recorded: a malformed offer is refused by Janus's core, not the plugin.
    run.input(
        60,
        json!({"janus": "error", "session_id": SESSION, "transaction": publish,
        "error": {"code": 465, "reason": "Invalid line (2nd char is not '='): not an sdp"}}),
    );
    let detach = run.last("detach", None);
    assert_eq!(detach["handle_id"], PUB);
    assert!(
        !run.client.publish(at(61), "offer".into(), &camera_mids()),
        "not in the room now"
    );
    let detach = run.tx("detach", None);
    run.input(
        70,
        json!({"janus": "success", "session_id": SESSION, "transaction": detach}),
    );
    let attach = run.tx("attach", None);
    run.input(80, json!({"janus": "success", "session_id": SESSION, "transaction": attach, "data": {"id": 555}}));
    let join = run.last("message", Some("join"));
    assert_eq!(join["handle_id"], 555);
    run.event(90, 555, Some(join["transaction"].as_str().unwrap().into()), json!({
        "videoroom": "joined", "room": "live-room", "id": "101", "private_id": 9, "publishers": []}), None);
    assert!(run.take_events().contains(&JanusEvent::ReadyToPublish));
    // The second failure ends it.
    assert!(run.client.publish(at(100), "bad".into(), &camera_mids()));
    run.drain();
    let publish = run.tx("message", Some("publish"));
    run.event(
        110,
        555,
        Some(publish),
        json!({"videoroom": "event", "error_code": 437, "error": "bad sdp"}),
        None,
    );
    assert!(matches!(
        run.take_events().last(),
        Some(JanusEvent::Failed(JanusError::PublishFailed {
            code: 437,
            ..
        }))
    ));
}

#[test]
fn the_subscriber_joins_with_the_private_id_and_maps_its_m_lines() {
    let mut run = Run::joined(json!([publisher("102")]));
    let wanted = BTreeSet::from([stream(102, MediaKind::Audio), stream(102, MediaKind::Video)]);
    assert_eq!(run.client.available().collect::<BTreeSet<_>>(), wanted);
    run.client.set_wanted(at(50), wanted);
    run.drain();
    let join = run.last("message", Some("join"));
    assert_eq!(join["handle_id"], SUB);
    assert_eq!(
        join["body"],
        json!({"request": "join", "ptype": "subscriber", "room": "live-room", "pin": "4821",
               "token": "room-token", "private_id": 1861099876u64,
               "streams": [{"feed": "102", "mid": "0"}, {"feed": "102", "mid": "1"}]})
    );
    run.take_events();
    run.event(
        60,
        SUB,
        Some(join["transaction"].as_str().unwrap().into()),
        json!({
        "videoroom": "attached", "room": "live-room", "streams": [
            {"type": "audio", "active": true, "mindex": 0, "mid": "0", "ready": false, "send": true,
             "feed_id": "102", "feed_display": "x", "feed_mid": "0", "codec": "opus"},
            {"type": "video", "active": true, "mindex": 1, "mid": "1", "ready": false, "send": true,
             "feed_id": "102", "feed_display": "x", "feed_mid": "1", "codec": "vp8"}
        ]}),
        Some(json!({"type": "offer", "sdp": "janus-offer"})),
    );
    assert_eq!(
        run.take_events(),
        vec![
            JanusEvent::RoomChanged,
            JanusEvent::SubscriberOffer("janus-offer".into())
        ]
    );
    assert_eq!(
        run.client.carried_by("1"),
        Some(stream(102, MediaKind::Video))
    );
    // The downlink budget counts streams per sender: audio and video of 102 are one;
    // a stream that cannot be placed is its own, whatever its SSRC.
    assert_eq!(run.client.sender_key(Some("0"), 7), 102);
    assert_eq!(run.client.sender_key(Some("1"), 8), 102);
    let unplaced = [
        run.client.sender_key(None, 102),
        run.client.sender_key(Some("9"), 0),
    ];
    assert!(unplaced.iter().all(|k| *k != 102) && unplaced[0] != unplaced[1]);
    assert!(run.client.answer(at(70), "our-answer".into()));
    run.drain();
    let start = run.last("message", Some("start"));
    assert_eq!(start["handle_id"], SUB);
    assert_eq!(
        start["jsep"],
        json!({"type": "answer", "sdp": "our-answer"})
    );

    // A layer chosen before `started` waits for it.
    let low = Layer {
        substream: 0,
        temporal: 1,
    };
    let plan = [
        (stream(102, MediaKind::Audio), None),
        (stream(102, MediaKind::Video), Some(low)),
    ];
    run.client.receive(at(75), &plan);
    run.drain();
    assert_eq!(
        run.sent
            .iter()
            .filter(|f| f["body"]["request"] == "configure")
            .count(),
        0
    );
    run.event(
        80,
        SUB,
        Some(start["transaction"].as_str().unwrap().into()),
        json!({"videoroom": "event", "room": "live-room", "started": "ok"}),
        None,
    );
    let configure = run.last("message", Some("configure"));
    assert_eq!(
        configure["body"]["streams"],
        json!([{"mid": "1", "substream": 0, "temporal": 1}])
    );
    run.client.receive(at(85), &plan);
    run.drain();
    assert_eq!(
        run.sent
            .iter()
            .filter(|f| f["body"]["request"] == "configure")
            .count(),
        1,
        "sent once"
    );

    // Later changes are `update`s on the same connection.
    run.client
        .set_wanted(at(90), BTreeSet::from([stream(102, MediaKind::Audio)]));
    run.drain();
    let update = run.last("message", Some("update"));
    assert_eq!(
        update["body"],
        json!({"request": "update", "unsubscribe": [{"feed": "102", "mid": "1"}]})
    );
}

#[test]
fn one_subscriber_change_at_a_time() {
    let mut run = Run::joined(json!([publisher("102"), publisher("103")]));
    run.client
        .set_wanted(at(50), BTreeSet::from([stream(102, MediaKind::Video)]));
    run.drain();
    run.client.set_wanted(
        at(51),
        BTreeSet::from([stream(102, MediaKind::Video), stream(103, MediaKind::Video)]),
    );
    run.drain();
    assert_eq!(
        run.sent
            .iter()
            .filter(|f| f["body"]["ptype"] == "subscriber")
            .count(),
        1
    );
    assert_eq!(
        run.sent
            .iter()
            .filter(|f| f["body"]["request"] == "update")
            .count(),
        0,
        "waits"
    );
    let join = run.tx("message", Some("join"));
    run.event(60, SUB, Some(join), json!({"videoroom": "attached", "room": "live-room", "streams": [
        {"type": "video", "active": true, "mindex": 0, "mid": "0", "feed_id": "102", "feed_mid": "1"}]}),
        Some(json!({"type": "offer", "sdp": "o1"})));
    run.client.answer(at(61), "a1".into());
    run.drain();
    let start = run.tx("message", Some("start"));
    run.event(
        70,
        SUB,
        Some(start),
        json!({"videoroom": "event", "started": "ok"}),
        None,
    );
    let update = run.last("message", Some("update"));
    assert_eq!(
        update["body"]["subscribe"],
        json!([{"feed": "103", "mid": "1"}])
    );
}

#[test]
fn room_news_keeps_the_publisher_table() {
    let mut run = Run::published();
    run.take_events();
    run.event(
        100,
        PUB,
        None,
        json!({"videoroom": "event", "room": "live-room", "publishers": [publisher("104")]}),
        None,
    );
    assert_eq!(run.take_events(), vec![JanusEvent::RoomChanged]);
    assert_eq!(run.client.available().count(), 2);
    run.event(110, PUB, None, json!({"videoroom": "talking", "room": "live-room", "id": "104", "audio-level-dBov-avg": 42.0}), None);
    run.event(120, PUB, None, json!({"videoroom": "stopped-talking", "room": "live-room", "id": "104", "audio-level-dBov-avg": 70.0}), None);
    let p = ParticipantId::new(104);
    assert_eq!(
        run.take_events(),
        vec![
            JanusEvent::Talking {
                participant: p,
                talking: true
            },
            JanusEvent::Talking {
                participant: p,
                talking: false
            },
        ]
    );
    run.event(
        130,
        PUB,
        None,
        json!({"videoroom": "event", "room": "live-room", "unpublished": "104"}),
        None,
    );
    assert_eq!(run.client.available().count(), 0);
    run.event(
        140,
        PUB,
        None,
        json!({"videoroom": "event", "room": "live-room", "leaving": "104"}),
        None,
    );
    assert_eq!(
        run.take_events(),
        vec![JanusEvent::RoomChanged, JanusEvent::RoomChanged]
    );
    // Janus takes a gone feed off the subscriber connection itself, with an offer.
    run.event(
        150,
        SUB,
        None,
        json!({"videoroom": "updated", "room": "live-room", "streams": []}),
        Some(json!({"type": "offer", "sdp": "o2"})),
    );
    assert_eq!(
        run.take_events(),
        vec![
            JanusEvent::RoomChanged,
            JanusEvent::SubscriberOffer("o2".into())
        ]
    );
    run.input(
        160,
        json!({"janus": "webrtcup", "session_id": SESSION, "sender": PUB}),
    );
    run.input(
        170,
        json!({"janus": "hangup", "session_id": SESSION, "sender": SUB, "reason": "DTLS alert"}),
    );
    run.input(180, json!({"janus": "slowlink", "session_id": SESSION, "sender": PUB, "uplink": true, "lost": 12}));
    assert_eq!(
        run.take_events(),
        vec![
            JanusEvent::MediaUp(Leg::Publisher),
            JanusEvent::HungUp(Leg::Subscriber),
            JanusEvent::SlowLink {
                leg: Leg::Publisher,
                uplink: true
            },
        ]
    );
}

#[test]
fn a_keepalive_goes_out_after_25_s_of_silence_and_must_be_answered() {
    let mut run = Run::published();
    assert_eq!(run.client.next_deadline(), Some(at(50) + KEEPALIVE_AFTER));
    run.client.handle_timeout(at(25_049));
    run.drain();
    assert_eq!(
        run.sent
            .iter()
            .filter(|f| f["janus"] == "keepalive")
            .count(),
        0
    );
    run.client.handle_timeout(at(25_050));
    run.drain();
    let keepalive = run.last("keepalive", None);
    assert_eq!(keepalive["session_id"], SESSION);
    run.input(
        25_060,
        json!({"janus": "ack", "session_id": SESSION, "transaction": keepalive["transaction"]}),
    );
    assert_eq!(run.client.next_deadline(), Some(at(50_050)));
    run.client.handle_timeout(at(50_050));
    run.client.handle_timeout(at(60_050));
    run.drain();
    assert_eq!(
        run.take_events().last(),
        Some(&JanusEvent::Failed(JanusError::NoReply(Step::Keepalive)))
    );
    assert_eq!(run.client.next_deadline(), None);
}

#[test]
fn after_a_new_websocket_the_session_is_claimed_and_goes_on() {
    let mut run = Run::published();
    run.take_events();
    // A keepalive was in flight when the socket dropped: it is no longer waited for.
    run.client.handle_timeout(at(25_050));
    assert!(run.client.socket_lost(at(26_000)), "a session to claim");
    run.drain();
    let claim = run.last("claim", None);
    assert_eq!(
        (claim["session_id"].clone(), claim["token"].clone()),
        (json!(SESSION), json!("core-token"))
    );
    run.input(
        26_010,
        json!({"janus": "success", "session_id": SESSION, "transaction": claim["transaction"]}),
    );
    run.client.handle_timeout(at(40_000));
    run.drain();
    assert_eq!(run.take_events(), vec![], "nothing failed");
    // Keepalives go on.
    run.client.handle_timeout(at(26_000) + KEEPALIVE_AFTER);
    run.drain();
    assert!(run.last("keepalive", None)["transaction"] != claim["transaction"]);
    // Janus answered on the new socket: a later drop is claimed again.
    assert!(run.client.socket_lost(at(60_000)));
    run.drain();
    let again = run.last("claim", None);
    assert!(again["transaction"] != claim["transaction"]);
    // That socket drops too before a word from Janus: Janus is not there.
    assert!(
        !run.client.socket_lost(at(60_500)),
        "no second claim in a row"
    );

    // Before Janus made us a session there is nothing to claim.
    assert!(!Run::new().client.socket_lost(at(100)));

    // A session Janus no longer has cannot be claimed: the client ends, saying why.
    let mut run = Run::published();
    run.take_events();
    assert!(run.client.socket_lost(at(1_000)));
    run.drain();
    let claim = run.tx("claim", None);
    run.input(
        1_010,
        json!({"janus": "error", "transaction": claim, "error": {"code": 458, "reason": "No such session"}}),
    );
    assert_eq!(
        run.take_events().pop(),
        Some(JanusEvent::Failed(JanusError::SessionLost))
    );
}

#[test]
fn a_new_path_ends_the_lost_one_s_session_before_it_joins() {
    const OLD: u64 = 31337;
    let joins = |run: &Run| {
        run.sent
            .iter()
            .filter(|f| f["body"]["request"] == "join")
            .count()
    };
    let mut run = Run::new();
    run.client.end_previous(at(5), OLD);
    run.drain();
    let claim = run.last("claim", None);
    assert_eq!(claim["session_id"], json!(OLD));
    run.input(
        8,
        json!({"janus": "success", "session_id": OLD, "transaction": claim["transaction"]}),
    );
    let destroy = run.last("destroy", None);
    assert_eq!(destroy["session_id"], json!(OLD));
    // Our own session and handles come meanwhile; the join waits for the old session
    // to go, or Janus would refuse it (our id is still in the room).
    run.create_and_attach();
    assert_eq!(joins(&run), 0);
    // Janus ends the old session's handles: notices about them are not ours.
    run.input(
        25,
        json!({"janus": "hangup", "session_id": OLD, "sender": 999, "reason": "Close PC"}),
    );
    run.input(26, json!({"janus": "timeout", "session_id": OLD}));
    run.input(
        30,
        json!({"janus": "success", "session_id": OLD, "transaction": destroy["transaction"]}),
    );
    assert_eq!(run.take_events(), vec![], "nothing of ours failed");
    assert_eq!(run.last("message", Some("join"))["handle_id"], json!(PUB));

    // A lost session Janus already dropped (458), or no answer at all: no matter, the
    // join goes out.
    let mut gone = Run::new();
    gone.client.end_previous(at(5), OLD);
    gone.create_and_attach();
    let claim = gone.tx("claim", None);
    gone.input(
        30,
        json!({"janus": "error", "transaction": claim, "error": {"code": 458, "reason": "No such session"}}),
    );
    let mut silent = Run::new();
    silent.client.end_previous(at(5), OLD);
    silent.create_and_attach();
    silent.client.handle_timeout(at(5) + REPLY_TIMEOUT);
    silent.drain();
    for run in [gone, silent] {
        assert_eq!(joins(&run), 1);
        assert!(
            !run.events
                .iter()
                .any(|e| matches!(e, JanusEvent::Failed(_))),
            "{:?}",
            run.events
        );
    }
}

#[test]
fn renewed_tokens_go_with_the_next_requests() {
    let mut run = Run::published();
    run.client
        .renew("fresh-core-token".into(), "fresh-room-token".into());
    run.client.handle_timeout(at(25_050));
    run.drain();
    assert_eq!(run.last("keepalive", None)["token"], "fresh-core-token");
}

#[test]
fn a_session_janus_ended_fails_the_client() {
    let mut run = Run::published();
    run.input(100, json!({"janus": "timeout", "session_id": SESSION}));
    assert_eq!(
        run.take_events().last(),
        Some(&JanusEvent::Failed(JanusError::SessionLost))
    );
}

#[test]
fn a_refused_join_says_why() {
    let mut run = Run::new();
    let create = run.tx("create", None);
    run.input(
        10,
        json!({"janus": "success", "transaction": create, "data": {"id": SESSION}}),
    );
    let first = run.sent.iter().find(|f| f["janus"] == "attach").unwrap()["transaction"].clone();
    run.input(20, json!({"janus": "success", "session_id": SESSION, "transaction": first, "data": {"id": PUB}}));
    let join = run.tx("message", Some("join"));
    run.event(
        30,
        PUB,
        Some(join),
        json!({"videoroom": "event", "error_code": 433, "error": "Unauthorized (wrong pin)"}),
        None,
    );
    let Some(JanusEvent::Failed(error)) = run.take_events().pop() else {
        panic!("not failed")
    };
    assert_eq!(
        error.to_string(),
        "the SFU refused JoinAsPublisher (433: the room pin or room token was refused): Unauthorized (wrong pin)"
    );
    // Recorded: a wrong core token.
    let mut run = Run::new();
    let create = run.tx("create", None);
    run.input(
        10,
        json!({"janus": "error", "transaction": create,
        "error": {"code": 403, "reason": "Unauthorized request (wrong or missing secret/token)"}}),
    );
    assert!(matches!(
        run.take_events().pop(),
        Some(JanusEvent::Failed(JanusError::Refused {
            step: Step::CreateSession,
            code: 403,
            ..
        }))
    ));
}

#[test]
fn a_join_refused_because_our_id_is_still_in_the_room_is_tried_again_each_second() {
    let mut run = Run::attached();
    let in_room = json!({"videoroom": "event", "error_code": 436, "error": "User ID 101 exists"});
    // Refused 19 times: a warning each time, and the same join again a second later.
    let mut now = 30;
    for _ in 0..19 {
        let join = run.tx("message", Some("join"));
        run.event(now, PUB, Some(join.clone()), in_room.clone(), None);
        assert!(matches!(
            run.take_events().as_slice(),
            [JanusEvent::Warning(JanusError::Refused { code: 436, .. })]
        ));
        assert_eq!(run.client.next_deadline(), Some(at(now + 1000)));
        run.client.handle_timeout(at(now + 999));
        run.drain();
        assert_eq!(
            run.tx("message", Some("join")),
            join,
            "not before the second"
        );
        now += 1000;
        run.client.handle_timeout(at(now));
        run.drain();
        assert_ne!(run.tx("message", Some("join")), join, "joined again");
        assert_eq!(run.last("message", Some("join"))["body"]["id"], "101");
    }
    // The twentieth refusal ends it, and says why.
    let join = run.tx("message", Some("join"));
    run.event(now, PUB, Some(join), in_room, None);
    let Some(JanusEvent::Failed(error)) = run.take_events().pop() else {
        panic!("not failed")
    };
    assert_eq!(
        error.to_string(),
        "the SFU refused JoinAsPublisher (436: this participant id is already in the room): User ID 101 exists"
    );
}

#[test]
fn closing_unpublishes_then_leaves_then_destroys_the_session() {
    let mut run = Run::published();
    run.take_events();
    run.client.close(at(100));
    run.drain();
    let unpublish = run.tx("message", Some("unpublish"));
    assert_eq!(run.last("message", Some("unpublish"))["handle_id"], PUB);
    run.event(
        110,
        PUB,
        Some(unpublish),
        json!({"videoroom": "event", "room": "live-room", "unpublished": "ok"}),
        None,
    );
    let leave = run.tx("message", Some("leave"));
    // Recorded.
    run.event(
        120,
        PUB,
        Some(leave),
        json!({"videoroom": "event", "room": "live-room", "leaving": "ok"}),
        None,
    );
    let destroy = run.tx("destroy", None);
    assert_eq!(run.take_events(), vec![]);
    run.input(
        130,
        json!({"janus": "success", "session_id": SESSION, "transaction": destroy}),
    );
    assert_eq!(run.take_events(), vec![JanusEvent::Closed]);
    assert_eq!(run.client.next_deadline(), None);
}

#[test]
fn closing_goes_on_when_a_step_gets_no_answer() {
    let mut run = Run::published();
    run.client.close(at(100));
    run.client.handle_timeout(at(100) + REPLY_TIMEOUT);
    run.client
        .handle_timeout(at(100) + REPLY_TIMEOUT + REPLY_TIMEOUT);
    run.drain();
    assert!(run.sent.iter().any(|f| f["janus"] == "destroy"));
    run.client.handle_timeout(at(100_000));
    run.drain();
    assert_eq!(run.take_events().last(), Some(&JanusEvent::Closed));
}

#[test]
fn our_candidates_trickle_on_the_right_handle() {
    let mut run = Run::published();
    let candidate = Candidate {
        candidate: "candidate:1 1 udp 2122260223 10.99.0.11 50000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    };
    assert!(run
        .client
        .trickle(at(100), Leg::Publisher, Trickled::Candidate(candidate)));
    assert!(run.client.trickle(
        at(101),
        Leg::Subscriber,
        Trickled::Completed { completed: true }
    ));
    run.drain();
    let trickles: Vec<&Value> = run
        .sent
        .iter()
        .filter(|f| f["janus"] == "trickle")
        .collect();
    assert_eq!(trickles[0]["handle_id"], PUB);
    assert_eq!(trickles[0]["candidate"]["sdpMid"], "0");
    assert_eq!(trickles[0]["candidate"]["sdpMLineIndex"], 0);
    assert_eq!(trickles[1]["handle_id"], SUB);
    assert_eq!(trickles[1]["candidate"], json!({"completed": true}));
}

#[test]
fn a_newcomer_learns_who_is_talking_from_the_publisher_list() {
    // Janus sends `talking` only when it changes: someone speaking since before we
    // joined is known only from the list's `talking`.
    let mut talking = publisher("103");
    talking["talking"] = json!(true);
    let mut run = Run::joined(json!([publisher("102"), talking]));
    let said: Vec<JanusEvent> = run
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, JanusEvent::Talking { .. }))
        .collect();
    assert_eq!(
        said,
        vec![JanusEvent::Talking {
            participant: ParticipantId::new(103),
            talking: true
        }]
    );
}
