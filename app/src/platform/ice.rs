//! ICE-level controls and readings of an `RTCPeerConnection` for keeping links alive:
//! restart ICE (optionally relay-only), read the connection state, and read which
//! route the selected candidate pair takes (direct, relay over UDP, TCP or TLS).

use js_sys::Reflect;
use nonstop_core::protocol::IceServer;
use nonstop_core::recovery::LinkCondition;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

use super::js_error_text;

#[wasm_bindgen]
extern "C" {
    /// `RTCPeerConnection` methods web-sys lacks.
    #[wasm_bindgen(extends = RtcPeerConnection, js_name = RTCPeerConnection)]
    type IcePeerConnection;

    /// Asks for new ICE credentials on the next negotiation (fires `negotiationneeded`).
    #[wasm_bindgen(method, js_name = restartIce)]
    fn restart_ice(this: &IcePeerConnection);
}

/// The path a link's media takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Direct,
    RelayUdp,
    RelayTcp,
    RelayTls,
}

impl Route {
    /// The `data-route` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::RelayUdp => "relay-udp",
            Route::RelayTcp => "relay-tcp",
            Route::RelayTls => "relay-tls",
        }
    }

    /// What people read on the tile.
    pub fn label(self) -> &'static str {
        match self {
            Route::Direct => "Direct",
            Route::RelayUdp => "Relay (UDP)",
            Route::RelayTcp => "Relay (TCP)",
            Route::RelayTls => "Relay (TLS)",
        }
    }
}

/// `connectionState`, as recovery sees it; `None` once closed.
pub fn condition(pc: &RtcPeerConnection) -> Option<LinkCondition> {
    let state = Reflect::get(pc, &"connectionState".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    Some(match state.as_str() {
        "connected" => LinkCondition::Connected,
        "disconnected" => LinkCondition::Disconnected,
        "failed" => LinkCondition::Failed,
        "closed" => return None,
        _ => LinkCondition::Connecting,
    })
}

/// Sets the ICE servers (fresh TURN credentials) and, with `relay_only`, the policy
/// `relay`; the other settings stay as they are (changing them is an error).
pub fn configure(
    pc: &RtcPeerConnection,
    ice_servers: &[IceServer],
    relay_only: bool,
) -> Result<(), String> {
    let config = pc.get_configuration();
    let servers = serde_wasm_bindgen::to_value(ice_servers).map_err(|e| e.to_string())?;
    config.set_ice_servers(&servers);
    if relay_only {
        config.set_ice_transport_policy(web_sys::RtcIceTransportPolicy::Relay);
    }
    pc.set_configuration_with_configuration(&config)
        .map_err(|e| js_error_text(&e))
}

/// Restarts ICE: the next offer (sent by the link's usual negotiation) has new
/// credentials and gathers afresh.
pub fn restart(pc: &RtcPeerConnection) {
    pc.unchecked_ref::<IcePeerConnection>().restart_ice();
}

/// What one `getStats()` tells about a link's health.
pub struct Health {
    /// The route of the selected candidate pair; `None` while no pair is selected.
    pub route: Option<Route>,
    /// RTP packets received so far, audio and video together.
    pub packets_received: u64,
}

pub async fn health(pc: &RtcPeerConnection) -> Result<Health, String> {
    let report = JsFuture::from(pc.get_stats())
        .await
        .map_err(|e| js_error_text(&e))?;
    // A maplike: `Array.from` gives its [id, stat] entries.
    let stats: Vec<JsValue> = js_sys::Array::from(&report)
        .iter()
        .map(|entry| js_sys::Array::from(&entry).get(1))
        .collect();
    let packets_received = stats
        .iter()
        .filter(|s| {
            Reflect::get(s, &"type".into())
                .ok()
                .and_then(|v| v.as_string())
                .as_deref()
                == Some("inbound-rtp")
        })
        .filter_map(|s| Reflect::get(s, &"packetsReceived".into()).ok()?.as_f64())
        .map(|n| n.max(0.0) as u64)
        .sum();
    Ok(Health {
        route: route_of(&stats),
        packets_received,
    })
}

fn route_of(stats: &[JsValue]) -> Option<Route> {
    let get = |obj: &JsValue, key: &str| {
        Reflect::get(obj, &key.into())
            .ok()
            .filter(|v| !v.is_undefined())
    };
    let text = |obj: &JsValue, key: &str| get(obj, key).and_then(|v| v.as_string());
    let by_id = |id: &str| stats.iter().find(|s| text(s, "id").as_deref() == Some(id));
    // Chromium names the pair on the transport; Firefox marks it `selected`.
    let pair = stats
        .iter()
        .filter(|s| text(s, "type").as_deref() == Some("transport"))
        .find_map(|t| text(t, "selectedCandidatePairId"))
        .and_then(|id| by_id(&id))
        .or_else(|| {
            stats.iter().find(|s| {
                text(s, "type").as_deref() == Some("candidate-pair")
                    && get(s, "selected").and_then(|v| v.as_bool()) == Some(true)
            })
        });
    let Some(local) = pair
        .and_then(|p| text(p, "localCandidateId"))
        .and_then(|id| by_id(&id))
    else {
        return None;
    };
    if text(local, "candidateType").as_deref() == Some("relay") {
        // How we reach our relay: `relayProtocol` (udp, tcp, tls).
        return Some(match text(local, "relayProtocol").as_deref() {
            Some("tcp") => Route::RelayTcp,
            Some("tls") => Route::RelayTls,
            _ => Route::RelayUdp,
        });
    }
    // Our host candidate paired with the peer's relay: the link is relayed all the
    // same (through the peer's TURN allocation), reached over our candidate's protocol.
    let remote_is_relay = pair
        .and_then(|p| text(p, "remoteCandidateId"))
        .and_then(|id| by_id(&id))
        .is_some_and(|r| text(r, "candidateType").as_deref() == Some("relay"));
    if !remote_is_relay {
        return Some(Route::Direct);
    }
    Some(match text(local, "protocol").as_deref() {
        Some("tcp") => Route::RelayTcp,
        _ => Route::RelayUdp,
    })
}
