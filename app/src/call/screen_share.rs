//! Sharing our screen: the browser's picker, then the track goes to everyone through
//! the transport (see `mesh/screen_link.rs` for how the other side recognises it).
//! Sharing stops from the app or from the browser's own "Stop sharing" button.

use super::Call;
use crate::platform::screen;

/// Asks the browser for a screen or window and shares it. `Err` says why not (the
/// person cancelled the picker, or the browser cannot share).
pub async fn start(call: &Call) -> Result<(), String> {
    if call.sharing_screen() {
        return Ok(());
    }
    let shared = screen::capture().await?;
    if call.has_left() {
        shared.stop();
        return Ok(());
    }
    let ended_call = call.clone();
    let ended = shared.on_ended(move |_| stop(&ended_call));
    call.set_screen(Some((shared, ended)));
    Ok(())
}

/// Stops sharing (if we share).
pub fn stop(call: &Call) {
    if call.sharing_screen() {
        call.set_screen(None);
    }
}
