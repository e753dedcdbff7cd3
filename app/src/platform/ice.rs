//! Which route a link's media takes (direct, or through a TURN relay over UDP, TCP or
//! TLS), read from the selected candidate pair of a `getStats()` report; or, in
//! relayed mode, through the SFU.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// The path a link's media takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Direct,
    RelayUdp,
    RelayTcp,
    RelayTls,
    /// Relayed mode: everyone's media comes through the SFU.
    Sfu,
}

impl Route {
    /// The `data-route` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::RelayUdp => "relay-udp",
            Route::RelayTcp => "relay-tcp",
            Route::RelayTls => "relay-tls",
            Route::Sfu => "sfu",
        }
    }

    /// What people read on the tile.
    pub fn label(self) -> &'static str {
        match self {
            Route::Direct => "Direct",
            Route::RelayUdp => "Relay (UDP)",
            Route::RelayTcp => "Relay (TCP)",
            Route::RelayTls => "Relay (TLS)",
            Route::Sfu => "Via SFU",
        }
    }
}

/// The route of the selected candidate pair in a `getStats()` report's entries;
/// `None` while no pair is selected.
pub(super) fn route_of(stats: &[JsValue]) -> Option<Route> {
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
    let local = pair
        .and_then(|p| text(p, "localCandidateId"))
        .and_then(|id| by_id(&id))?;
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
    let remote = pair
        .and_then(|p| text(p, "remoteCandidateId"))
        .and_then(|id| by_id(&id));
    let remote_is_relay = remote.is_some_and(|r| match text(r, "candidateType").as_deref() {
        Some("relay") => true,
        // The peer's checks from its relay often arrive before its relay candidate
        // does, and the pair then names a peer-reflexive candidate (Firefox keeps it
        // even once the relay candidate is signalled). Its address is a TURN server's
        // relay address if any relay candidate, the peer's or ours, has that address.
        Some("prflx") => text(r, "address").is_some_and(|address| {
            stats.iter().any(|c| {
                matches!(
                    text(c, "type").as_deref(),
                    Some("local-candidate" | "remote-candidate")
                ) && text(c, "candidateType").as_deref() == Some("relay")
                    && text(c, "address").as_deref() == Some(address.as_str())
            })
        }),
        _ => false,
    });
    if !remote_is_relay {
        return Some(Route::Direct);
    }
    Some(match text(local, "protocol").as_deref() {
        Some("tcp") => Route::RelayTcp,
        _ => Route::RelayUdp,
    })
}
