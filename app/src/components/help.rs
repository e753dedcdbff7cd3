//! Keyboard shortcuts, and the dialog that lists them.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::platform::listener::EventListener;

/// What a key does in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    Mic,
    Camera,
    Share,
    Chat,
    Help,
}

pub const SHORTCUTS: [(&str, &str); 5] = [
    ("M", "Mute or unmute the microphone"),
    ("V", "Turn the camera off or on"),
    ("S", "Share the screen or stop sharing"),
    ("C", "Open or close the chat"),
    ("?", "Show this list"),
];

/// Calls `on_key` for shortcut keys pressed anywhere except in text fields, and
/// without Ctrl/Alt/Meta (those belong to the browser).
pub fn use_shortcuts(on_key: impl Fn(Shortcut) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let listener = EventListener::new(&window, "keydown", move |ev| {
        let Ok(ev) = ev.dyn_into::<web_sys::KeyboardEvent>() else {
            return;
        };
        if ev.ctrl_key() || ev.alt_key() || ev.meta_key() || ev.repeat() {
            return;
        }
        let typing = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|el| {
                matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                    || el.has_attribute("contenteditable")
            });
        if typing {
            return;
        }
        let action = match ev.key().as_str() {
            "m" | "M" => Shortcut::Mic,
            "v" | "V" => Shortcut::Camera,
            "s" | "S" => Shortcut::Share,
            "c" | "C" => Shortcut::Chat,
            "?" => Shortcut::Help,
            _ => return,
        };
        ev.prevent_default();
        on_key(action);
    });
    let listener = StoredValue::new_local(Some(listener));
    on_cleanup(move || drop(listener.try_update_value(Option::take)));
}

#[component]
pub fn HelpDialog(open: RwSignal<bool>) -> impl IntoView {
    let close_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if open.get() {
            if let Some(b) = close_button.get() {
                let _ = b.focus();
            }
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            open.set(false);
        }
    };
    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop" on:click=move |_| open.set(false)></div>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="help-title" data-testid="help-dialog" on:keydown=on_key>
                <h2 id="help-title">"Keyboard shortcuts"</h2>
                <dl class="shortcuts">
                    {SHORTCUTS.iter().map(|(k, what)| view! { <dt><kbd>{*k}</kbd></dt><dd>{*what}</dd> }).collect_view()}
                </dl>
                <p class="chat-note">"Shortcuts work when the focus is not in a text field. Tab moves through every control."</p>
                <button type="button" class="primary" node_ref=close_button on:click=move |_| open.set(false)>"Close"</button>
            </div>
        </Show>
    }
}
