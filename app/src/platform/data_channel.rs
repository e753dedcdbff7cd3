//! The link's data channel, carrying [`PeerMsg`]s straight to the other browser.

use nonstop_core::peer_msg::{PeerMsg, CHANNEL_ID, CHANNEL_LABEL};
use wasm_bindgen::JsCast;
use web_sys::{
    MessageEvent, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState, RtcPeerConnection,
};

use super::listener::EventListener;

pub struct DataChannel {
    channel: RtcDataChannel,
    _listener: Option<EventListener>,
    _on_open: Option<EventListener>,
}

impl DataChannel {
    /// Opens the pre-negotiated channel (same label and id on both sides, so neither has
    /// to wait for a `datachannel` event). `on_text` gets each text message.
    pub fn open(pc: &RtcPeerConnection, on_text: impl FnMut(String) + 'static) -> DataChannel {
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(CHANNEL_ID);
        let channel = pc.create_data_channel_with_data_channel_dict(CHANNEL_LABEL, &init);
        let mut on_text = on_text;
        let listener = EventListener::new(&channel, "message", move |event| {
            let event: MessageEvent = event.unchecked_into();
            if let Some(text) = event.data().as_string() {
                on_text(text);
            }
        });
        DataChannel {
            channel,
            _listener: Some(listener),
            _on_open: None,
        }
    }

    /// Each time the channel opens, sends what `greeting` returns (if anything).
    pub fn on_open(&mut self, greeting: impl Fn() -> Option<PeerMsg> + 'static) {
        let channel = self.channel.clone();
        self._on_open = Some(EventListener::new(&self.channel, "open", move |_| {
            if let Some(msg) = greeting() {
                let _closed_again = channel.send_with_str(&msg.to_json());
            }
        }));
    }

    pub fn is_open(&self) -> bool {
        self.channel.ready_state() == RtcDataChannelState::Open
    }

    /// Sends `msg` if the channel is open; returns whether it went out.
    pub fn send(&self, msg: &PeerMsg) -> bool {
        self.is_open() && self.channel.send_with_str(&msg.to_json()).is_ok()
    }
}

impl Drop for DataChannel {
    fn drop(&mut self) {
        self._listener = None;
        self._on_open = None;
        self.channel.close();
    }
}
