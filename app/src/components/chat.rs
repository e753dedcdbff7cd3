//! The chat panel: messages since we joined (sender and time), and a box to send one
//! to everyone over each link's data channel. Message text is only ever put in text
//! nodes; web links become `<a target=_blank rel=noopener>` (see `nonstop_core::chat`).

use leptos::either::Either;
use leptos::html::Input;
use leptos::prelude::*;
use nonstop_core::chat::{segments, Segment};
use nonstop_core::peer_msg::chat_text;

use crate::call::view::{ChatLine, ChatView};
use crate::call::Call;

/// `hh:mm` of a Unix time in milliseconds, in the browser's time zone.
fn clock(unix_ms: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

fn message_body(text: &str) -> impl IntoView {
    segments(text)
        .into_iter()
        .map(|s| match s {
            Segment::Text(t) => Either::Left(view! { <span>{t.to_string()}</span> }),
            Segment::Link(url) => Either::Right(view! {
                <a href=url.to_string() target="_blank" rel="noopener noreferrer">{url.to_string()}</a>
            }),
        })
        .collect_view()
}

#[component]
pub fn ChatPanel(
    chat: ChatView,
    #[prop(into)] call: Signal<Option<Call>, LocalStorage>,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let input = NodeRef::<Input>::new();
    Effect::new(move |_| {
        if chat.open.get() {
            if let Some(i) = input.get() {
                let _ = i.focus();
            }
        }
    });
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let raw = draft.get_untracked();
        let text = match chat_text(&raw) {
            Ok(t) => t.to_string(),
            Err(_) if raw.trim().is_empty() => return,
            Err(_) => {
                problem.set(Some("That message is too long.".into()));
                return;
            }
        };
        let Some(call) = call.get_untracked() else {
            return;
        };
        let sent_at = js_sys::Date::now() as u64;
        call.send_chat(text.clone(), sent_at);
        let me = call.me();
        let name = call.view().name_of(me).unwrap_or_default();
        chat.push(me, name, true, text, sent_at);
        problem.set(None);
        draft.set(String::new());
    };
    let close = move |_| chat.set_open(false);
    view! {
        <aside class="chat" data-testid="chat-panel" aria-label="Chat" hidden=move || !chat.open.get()>
            <header class="chat-head">
                <h2>"Chat"</h2>
                <button type="button" class="chip" aria-label="Hide chat panel" title="Hide chat" on:click=close>"✕"</button>
            </header>
            <p class="chat-note">
                "Messages go to the people in the call now and are not stored. "
                "People who join later see messages from then on."
            </p>
            <ol class="chat-log" data-testid="chat-log" aria-live="polite">
                <For each=move || chat.lines.get() key=|l: &ChatLine| l.seq let:line>
                    <li class="chat-msg" class:mine=line.local data-testid="chat-message">
                        <div class="chat-meta">
                            <span class="chat-from" data-testid="chat-from">
                                {if line.local { "You".to_string() } else { line.name.clone() }}
                            </span>
                            <time>{clock(line.sent_at)}</time>
                        </div>
                        <div class="chat-text" data-testid="chat-text">{message_body(&line.text)}</div>
                    </li>
                </For>
            </ol>
            {move || problem.get().map(|p| view! { <p role="alert" class="error">{p}</p> })}
            <form class="chat-form" on:submit=send>
                <input
                    type="text"
                    node_ref=input
                    aria-label="Message"
                    placeholder="Message everyone"
                    maxlength="2000"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                />
                <button type="submit" class="primary">"Send"</button>
            </form>
        </aside>
    }
}
