//! `/<room>`: the pre-join screen, the call, and the screen after leaving.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::protocol::MediaState;

use crate::call::view::CallView;
use crate::call::Call;
use crate::components::controls::Controls;
use crate::components::prejoin::PreJoin;
use crate::components::stage::Stage;
use crate::platform::media::{self, LocalMedia};

const NAME_KEY: &str = "nonstop.name";

fn stored_name() -> String {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(NAME_KEY).ok().flatten())
        .unwrap_or_default()
}

fn store_name(name: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _private_mode_may_refuse = storage.set_item(NAME_KEY, name);
    }
}

#[component]
pub fn Meeting() -> impl IntoView {
    let params = use_params_map();
    let room = Memo::new(move |_| params.with(|p| p.get("room").unwrap_or_default()));
    move || match RoomName::parse(&room.get()) {
        Ok(room) => view! { <MeetingRoom room=room/> }.into_any(),
        Err(e) => view! {
            <main class="home">
                <p role="alert" class="error" data-testid="room-error">{e.message}</p>
                <a href="/">"Start a new meeting"</a>
            </main>
        }
        .into_any(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    PreJoin,
    InCall,
    Left,
}

#[component]
fn MeetingRoom(room: RoomName) -> impl IntoView {
    let screen = RwSignal::new(Screen::PreJoin);
    let local = RwSignal::new_local(None::<LocalMedia>);
    let media_problem = RwSignal::new(None::<String>);
    let mic_on = RwSignal::new(true);
    let cam_on = RwSignal::new(true);
    let name = RwSignal::new(stored_name());
    let joining = RwSignal::new(false);
    let join_error = RwSignal::new(None::<String>);
    let call_view = CallView::new();
    let call = StoredValue::new_local(None::<Call>);

    let has_mic =
        Signal::derive(move || local.with(|l| l.as_ref().is_some_and(|l| l.audio.is_some())));
    let has_cam =
        Signal::derive(move || local.with(|l| l.as_ref().is_some_and(|l| l.video.is_some())));
    let ready = Signal::derive(move || local.with(Option::is_some));
    // What we send: on only if the person wants it and the device exists.
    let media_state = move || MediaState {
        audio: mic_on.get_untracked() && has_mic.get_untracked(),
        video: cam_on.get_untracked() && has_cam.get_untracked(),
    };

    let acquire = move || {
        spawn_local(async move {
            let (media, problem) = media::acquire().await;
            if let Some(m) = local.try_set(Some(media.clone())).flatten() {
                // The page went away while we waited: release the camera again.
                m.stop();
                return;
            }
            media_problem.set(problem.map(|p| p.message()));
            mic_on.set(media.audio.is_some());
            cam_on.set(media.video.is_some());
        });
    };
    acquire();

    // Tracks are disabled rather than removed, so nothing is renegotiated; the new
    // state goes to the others through signaling.
    let apply_media = move || {
        let state = media_state();
        local.with_untracked(|l| {
            if let Some(l) = l {
                if let Some(t) = &l.audio {
                    t.set_enabled(state.audio);
                }
                if let Some(t) = &l.video {
                    t.set_enabled(state.video);
                }
            }
        });
        call.with_value(|c| {
            if let Some(c) = c {
                c.publish_media(state);
            }
        });
    };
    let toggle_mic = Callback::new(move |_| {
        mic_on.update(|on| *on = !*on);
        apply_media();
    });
    let toggle_cam = Callback::new(move |_| {
        cam_on.update(|on| *on = !*on);
        apply_media();
    });

    let join_room = room.clone();
    let join = Callback::new(move |_| {
        let display_name = match DisplayName::parse(&name.get_untracked()) {
            Ok(n) => n,
            Err(e) => {
                join_error.set(Some(e.message));
                return;
            }
        };
        let Some(media) = local.get_untracked() else {
            return;
        };
        store_name(display_name.as_str());
        join_error.set(None);
        joining.set(true);
        let room = join_room.clone();
        let state = media_state();
        spawn_local(async move {
            let result = Call::join(&room, &display_name, media, state, call_view).await;
            joining.try_set(false);
            match result {
                Ok(c) => {
                    if call.try_set_value(Some(c.clone())).is_some() {
                        // The page went away while we were joining.
                        c.leave();
                        return;
                    }
                    screen.set(Screen::InCall);
                }
                Err(e) => {
                    join_error.try_set(Some(e.message()));
                }
            }
        });
    });

    let leave = move || {
        call.update_value(|c| {
            if let Some(c) = c.take() {
                c.leave();
            }
        });
        local.update(|l| {
            if let Some(l) = l.take() {
                l.stop();
            }
        });
    };
    let on_leave = Callback::new(move |_| {
        leave();
        screen.set(Screen::Left);
    });
    let rejoin = move |_| {
        screen.set(Screen::PreJoin);
        acquire();
    };
    on_cleanup(leave);

    let preview =
        Signal::derive_local(move || local.with(|l| l.as_ref().map(|l| l.stream.clone())));
    let count = move || {
        let n = call_view.tiles.with(Vec::len);
        if n == 1 {
            "1 participant".to_string()
        } else {
            format!("{n} participants")
        }
    };
    let room_label = room.to_string();

    move || {
        match screen.get() {
        Screen::PreJoin => view! {
            <PreJoin
                room=room_label.clone()
                name=name
                preview=preview
                mic_on=mic_on
                cam_on=cam_on
                has_mic=has_mic
                has_cam=has_cam
                ready=ready
                joining=joining
                media_problem=media_problem
                join_error=join_error
                on_toggle_mic=toggle_mic
                on_toggle_cam=toggle_cam
                on_join=join
            />
        }
        .into_any(),
        Screen::InCall => view! {
            <div class="call">
                <header class="call-header">
                    <span class="room-name">{room_label.clone()}</span>
                    <span class="count" data-testid="participant-count">{count}</span>
                </header>
                {move || call_view.alert.get().map(|a| view! { <p role="alert" class="error banner">{a}</p> })}
                <Stage call=call_view/>
                <Controls
                    mic_on=mic_on
                    cam_on=cam_on
                    has_mic=has_mic
                    has_cam=has_cam
                    on_toggle_mic=toggle_mic
                    on_toggle_cam=toggle_cam
                    on_leave=on_leave
                />
            </div>
        }
        .into_any(),
        Screen::Left => view! {
            <main class="home">
                <h1>"You left the meeting"</h1>
                <button class="primary big" on:click=rejoin>"Rejoin"</button>
                <a href="/">"Back to the start page"</a>
            </main>
        }
        .into_any(),
    }
    }
}
