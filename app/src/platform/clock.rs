//! The page's one clock and its timers: every loop of the call reads [`now`] and waits
//! with [`sleep`] / [`sleep_until`], so the core's state machines see one time line.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use nonstop_core::time::{Millis, Time};
use wasm_bindgen::JsCast;

/// Milliseconds since the page started (`performance.now()`), monotonic.
pub fn now() -> Time {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now());
    Time::from_millis_f64(ms)
}

/// Waits `span` on the page's timers.
///
/// If the browser refuses the timer (there is no window: never on a page), the future
/// never completes rather than completing at once: a loop around it stops instead of
/// spinning.
pub fn sleep(span: Millis) -> Sleep {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let ms = span.as_millis().min(i32::MAX as u64) as i32;
    let fire = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _receiver_gone_is_fine = tx.send(());
    });
    let armed = web_sys::window().is_some_and(|w| {
        w.set_timeout_with_callback_and_timeout_and_arguments_0(fire.unchecked_ref(), ms)
            .is_ok()
    });
    if !armed {
        leptos::logging::warn!("clock: the browser refused a timer; this wait never ends");
    }
    Sleep { rx }
}

/// Waits until `deadline` (at once if it has passed).
pub fn sleep_until(deadline: Time) -> Sleep {
    sleep(deadline.since(now()))
}

/// A pending [`sleep`].
pub struct Sleep {
    rx: futures::channel::oneshot::Receiver<()>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            // The timer was never armed, so its sender is gone: wait forever (see `sleep`).
            Poll::Ready(Err(_)) => Poll::Pending,
            Poll::Pending => Poll::Pending,
        }
    }
}
