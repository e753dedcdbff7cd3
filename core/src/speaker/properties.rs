//! Property tests: any sequence of samples, leaves and clock jumps, however wild the
//! levels, keeps the detector consistent and deterministic.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Sample { id: u64, level: f64 },
    Leave(u64),
    Advance,
    Local(Option<u64>),
}

fn op() -> impl Strategy<Value = Op> {
    let level = prop_oneof![4 => 0.0f64..0.5, 1 => any::<f64>()];
    prop_oneof![
        20 => (0u64..5, level).prop_map(|(id, level)| Op::Sample { id, level }),
        1 => (0u64..5).prop_map(Op::Leave),
        2 => Just(Op::Advance),
        1 => proptest::option::of(0u64..5).prop_map(Op::Local),
    ]
}

/// Runs the ops, checking after each that the events match the state change, and
/// returns the event log.
fn run(ops: &[(Op, u64)]) -> Vec<SpeakerEvent> {
    let mut det = SpeakerDetector::default();
    let mut known = BTreeSet::new();
    let mut local = None;
    let mut t = 0u64;
    let mut log = Vec::new();
    for (op, dt) in ops {
        // Mostly forward, now and then a little back (samples of a round out of order).
        t = if *dt >= 50 {
            t + dt
        } else {
            t.saturating_sub(*dt)
        };
        let before: BTreeSet<_> = det.speaking().collect();
        let active_before = det.active();
        let events = match op {
            Op::Sample { id, level } => {
                known.insert(*id);
                det.observe(Time::from_millis(t), ParticipantId::new(*id), *level)
            }
            Op::Leave(id) => {
                known.remove(id);
                det.remove(ParticipantId::new(*id))
            }
            Op::Advance => det.advance(Time::from_millis(t)),
            Op::Local(id) => {
                local = id.map(ParticipantId::new);
                det.set_local(local)
            }
        };
        let mut speaking = before;
        let mut active = active_before;
        for e in &events {
            match *e {
                SpeakerEvent::StartedSpeaking(id) => assert!(speaking.insert(id), "{e:?} twice"),
                SpeakerEvent::StoppedSpeaking(id) => {
                    assert!(speaking.remove(&id), "{e:?} unstarted")
                }
                SpeakerEvent::ActiveSpeaker(id) => active = id,
            }
        }
        assert_eq!(
            speaking,
            det.speaking().collect(),
            "events tell every change"
        );
        assert_eq!(active, det.active());
        if let Some(a) = det.active() {
            assert!(
                known.contains(&a.get()),
                "the spotlight is on someone present"
            );
            assert_ne!(Some(a), local, "never on us");
        }
        assert!(det.speaking().all(|id| known.contains(&id.get())));
        log.extend(events);
    }
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn events_and_state_always_agree(ops in proptest::collection::vec((op(), 0u64..600), 0..300)) {
        let first = run(&ops);
        prop_assert_eq!(run(&ops), first, "same input, same decisions");
    }
}
