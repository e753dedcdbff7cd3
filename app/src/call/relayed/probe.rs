//! A relayed transport on its own, outside any call, for the end-to-end test of the
//! Janus client (`e2e/tests/janus-client.spec.ts`; calls switch in `session.rs`):
//! `window.wasmBindings.nonstopJanusProbe(...)` publishes our camera to a room and
//! receives the given participants; `nonstopJanusProbeStreams()` lists what arrived;
//! `nonstopJanusProbeWant(...)` sizes a tile.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Array;
use nonstop_core::adaptation::{ReceiverHint, Resolution};
use nonstop_core::janus::RoomAccess;
use nonstop_core::layout::{TileId, TileKind};
use nonstop_core::vec_map::VecMap;
use nonstop_core::ParticipantId;
use wasm_bindgen::prelude::*;

use super::{RelayedTransport, SfuAccess};
use crate::call::transport::{MediaTransport, TransportEvent};
use crate::platform::media::{self, MediaStream};

type Streams = Rc<RefCell<VecMap<TileId, MediaStream>>>;

thread_local! {
    static PROBE: RefCell<Option<(RelayedTransport, Streams)>> = const { RefCell::new(None) };
}

/// Joins `room` on the Janus at `url` as participant `me` with the camera and
/// microphone, and receives `peers`.
#[wasm_bindgen(js_name = nonstopJanusProbe)]
#[allow(clippy::too_many_arguments)]
pub async fn probe(
    me: f64,
    url: String,
    room: String,
    pin: String,
    token: String,
    room_token: String,
    peers: Box<[f64]>,
) -> Result<(), JsValue> {
    let (local, _problem_shows_as_missing_tracks) = media::acquire().await;
    let streams: Streams = Rc::default();
    let sink = Rc::clone(&streams);
    let access = SfuAccess {
        url,
        room: RoomAccess {
            room,
            pin,
            token,
            room_token,
        },
    };
    let transport = RelayedTransport::new(
        ParticipantId::new(me as u64),
        access,
        Vec::new(),
        local,
        move |event| {
            if let TransportEvent::RemoteMedia { source, stream } = event {
                match stream {
                    Some(s) => sink.borrow_mut().insert(source, s),
                    None => sink.borrow_mut().remove(&source),
                };
            }
        },
    )?;
    let peers: Vec<ParticipantId> = peers
        .iter()
        .map(|p| ParticipantId::new(*p as u64))
        .collect();
    transport.set_peers(&peers, &[]);
    PROBE.with(|p| p.replace(Some((transport, streams))));
    Ok(())
}

/// `[[participant, "camera" | "screen", MediaStream], ...]`.
#[wasm_bindgen(js_name = nonstopJanusProbeStreams)]
pub fn probe_streams() -> Array {
    PROBE.with(|p| {
        let probe = p.borrow();
        let Some((_, streams)) = probe.as_ref() else {
            return Array::new();
        };
        let streams = streams.borrow();
        streams
            .iter()
            .map(|(tile, stream)| {
                let kind = match tile.kind {
                    TileKind::Camera => "camera",
                    TileKind::Screen => "screen",
                };
                Array::of3(
                    &(tile.participant.get() as f64).into(),
                    &kind.into(),
                    stream,
                )
            })
            .collect::<Array>()
    })
}

/// Shows `participant`'s camera in a tile of `width` x `height` device pixels (0 x 0:
/// not shown), as the layout would tell the transport.
#[wasm_bindgen(js_name = nonstopJanusProbeWant)]
pub fn probe_want(participant: f64, width: u32, height: u32) -> bool {
    PROBE.with(|p| {
        let probe = p.borrow();
        let Some((transport, _)) = probe.as_ref() else {
            return false;
        };
        let tile = TileId::camera(ParticipantId::new(participant as u64));
        transport.want(tile, ReceiverHint::Shown(Resolution::new(width, height)))
    })
}
