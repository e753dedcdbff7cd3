//! `/`: start a new meeting, or join one by its name.

use leptos::prelude::*;
use nonstop_core::names::{random_room_name, RoomName};

use crate::platform::location::Location;

/// 53 random bits from the browser (`Math.random` is enough: room names are not secrets).
fn entropy() -> u64 {
    (js_sys::Math::random() * (1u64 << 53) as f64) as u64
}

#[component]
pub fn Home() -> impl IntoView {
    let location = Location::get();
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    let go = move |room: RoomName| location.navigate(&format!("/{room}"));
    let new_meeting = move |_| go(random_room_name(entropy()));
    let join = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // Accept a pasted meeting link as well as a bare name.
        let raw = typed.get_untracked();
        let raw = raw.trim().trim_end_matches('/');
        let name = raw.rsplit('/').next().unwrap_or(raw);
        match RoomName::parse(name) {
            Ok(room) => go(room),
            Err(e) => error.set(Some(e.message)),
        }
    };

    view! {
        <main class="home">
            <h1 class="brand">"Nonstop"</h1>
            <p class="tagline">"Video calls that go straight from you to the people you talk to."</p>
            <button class="primary big" on:click=new_meeting>"New meeting"</button>
            <form class="join-form" on:submit=join>
                <input
                    type="text"
                    aria-label="Meeting name"
                    placeholder="Meeting name or link"
                    prop:value=move || typed.get()
                    on:input=move |ev| {
                        typed.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <button type="submit">"Join"</button>
            </form>
            {move || error.get().map(|e| view! { <p role="alert" class="error">{e}</p> })}
        </main>
    }
}
