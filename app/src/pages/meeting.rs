//! `/<room>`: the pre-join screen, the call, and the screen after leaving.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::task::spawn_local;
use nonstop_core::layout::TileId;
use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::protocol::MediaState;

use crate::call::device_switch::DeviceControl;
use crate::call::screen_share;
use crate::call::view::AdaptationView;
use crate::call::view::CallView;
use crate::call::Call;
use crate::components::chat::ChatPanel;
use crate::components::controls::Controls;
use crate::components::devices::DeviceSettings;
use crate::components::help::{use_shortcuts, HelpDialog, Shortcut};
use crate::components::prejoin::PreJoin;
use crate::components::stage::{LayoutSwitcher, Stage};
use crate::components::tile::RemoveParticipant;
use crate::platform::media::{self, LocalMedia};
use crate::platform::page;

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
pub fn Meeting(room: String) -> impl IntoView {
    match RoomName::parse(&room) {
        Ok(room) => Either::Left(view! { <MeetingRoom room=room/> }),
        Err(e) => Either::Right(view! {
            <main class="home">
                <p role="alert" class="error" data-testid="room-error">{e.message}</p>
                <a href="/">"Start a new meeting"</a>
            </main>
        }),
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
    // The meeting's passcode (optional): set by the first joiner, asked of the others.
    let passcode = RwSignal::new(String::new());
    // The server asked for the passcode (or refused the one given).
    let passcode_needed = RwSignal::new(false);
    let call_view = CallView::new();
    // Per-link quality, read by the tiles' indicators and the stats panel.
    let adaptation_view = AdaptationView::new(!page::adaptation_disabled());
    provide_context(adaptation_view);
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
    // Choosing and switching devices, and devices that go away (issue 5).
    let devices = DeviceControl::new(
        local,
        call,
        Callback::new(move |msg: String| {
            if call.with_value(Option::is_some) {
                call_view.alert.set(Some(msg));
            } else {
                media_problem.set(Some(msg));
            }
        }),
        Callback::new(move |_| apply_media()),
    );
    let toggle_mic = Callback::new(move |_| {
        mic_on.update(|on| *on = !*on);
        apply_media();
    });
    let toggle_cam = Callback::new(move |_| {
        cam_on.update(|on| *on = !*on);
        apply_media();
    });

    let join_room = room.clone();
    // `join` itself, for joining afresh when the server lost our session (set below).
    let join_again = StoredValue::new(None::<Callback<()>>);
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
        let code = Some(passcode.get_untracked().trim().to_owned()).filter(|p| !p.is_empty());
        spawn_local(async move {
            let result = Call::join(
                &room,
                &display_name,
                media,
                state,
                code,
                call_view,
                adaptation_view,
            )
            .await;
            joining.try_set(false);
            match result {
                Ok(c) => {
                    if call.try_set_value(Some(c.clone())).is_some() {
                        // The page went away while we were joining.
                        c.leave();
                        return;
                    }
                    // Signaling came back but the server no longer knows us (resume_failed):
                    // leave that session and join again, same room, name and media; the
                    // fresh welcome brings everyone present (issue 4).
                    c.on_session_lost(move || {
                        call.update_value(|c| {
                            if let Some(c) = c.take() {
                                screen_share::stop(&c);
                                c.leave();
                            }
                        });
                        if let Some(join) = join_again.get_value() {
                            join.run(());
                        }
                    });
                    call_view.alert.try_set(None);
                    screen.set(Screen::InCall);
                }
                Err(e) if screen.get_untracked() == Screen::InCall => {
                    // A fresh join after a lost session did not work either.
                    call_view.alert.try_set(Some(e.message()));
                }
                Err(e @ crate::call::JoinError::Passcode(_)) => {
                    // Stay here: the person types the passcode and joins again.
                    passcode_needed.try_set(true);
                    join_error.try_set(Some(e.message()));
                }
                Err(e) => {
                    join_error.try_set(Some(e.message()));
                }
            }
        });
    });
    join_again.set_value(Some(join));

    let leave = move || {
        call.update_value(|c| {
            if let Some(c) = c.take() {
                screen_share::stop(&c);
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
    // A room owner's rights (a meeting token with `is_owner`), each confirmed first:
    // neither can be taken back.
    provide_context(RemoveParticipant(Callback::new(move |id| {
        let who = call_view.name_of(id).unwrap_or_default();
        if page::confirm(&format!("Remove {who} from the call?")) {
            call.with_value(|c| c.as_ref().map(|c| c.remove(id)));
        }
    })));
    let end_for_everyone = move |_| {
        if page::confirm("End the call for everyone?") {
            call.with_value(|c| c.as_ref().map(Call::end_for_everyone));
        }
    };
    let rejoin = move |_| {
        screen.set(Screen::PreJoin);
        acquire();
    };
    on_cleanup(leave);

    let preview =
        // `Clone::clone` (the handle), not web-sys's `MediaStream.clone()` (new tracks).
        Signal::derive_local(move || local.with(|l| l.as_ref().map(|l| Clone::clone(&l.stream))));
    let count = move || {
        let n = call_view
            .tiles
            .with(|ts| ts.iter().filter(|t| !t.key.is_screen()).count());
        if n == 1 {
            "1 participant".to_string()
        } else {
            format!("{n} participants")
        }
    };
    let room_label = room.to_string();

    // Screen sharing, chat, help (issue 5).
    let sharing = Signal::derive(move || {
        let me = call.try_with_value(|c| c.as_ref().map(Call::me)).flatten();
        me.is_some_and(|me| {
            call_view
                .streams
                .with(|s| s.contains_key(&TileId::screen(me)))
        })
    });
    let toggle_share = move || {
        let Some(c) = call.get_value() else { return };
        if sharing.get_untracked() {
            screen_share::stop(&c);
            return;
        }
        spawn_local(async move {
            if let Err(e) = screen_share::start(&c).await {
                call_view.alert.try_set(Some(e));
            }
        });
    };
    let chat = call_view.chat;
    let help_open = RwSignal::new(false);
    use_shortcuts(move |key| {
        if screen.get_untracked() != Screen::InCall || help_open.get_untracked() {
            return;
        }
        match key {
            Shortcut::Mic => toggle_mic.run(()),
            Shortcut::Camera => toggle_cam.run(()),
            Shortcut::Share => toggle_share(),
            Shortcut::Chat => chat.set_open(!chat.open.get_untracked()),
            Shortcut::Help => help_open.set(true),
        }
    });
    let call_signal = Signal::derive_local(move || call.get_value());
    let share_label = move || {
        if sharing.get() {
            "Stop sharing"
        } else {
            "Share screen"
        }
    };
    let chat_label = move || {
        let open = if chat.open.get() {
            "Close chat"
        } else {
            "Open chat"
        };
        match chat.unread.get() {
            0 => open.to_string(),
            n => format!("{open} ({n} unread)"),
        }
    };

    move || match screen.get() {
        Screen::PreJoin => EitherOf3::A(view! {
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
                passcode=passcode
                passcode_needed=passcode_needed
                on_toggle_mic=toggle_mic
                on_toggle_cam=toggle_cam
                on_join=join
                devices=devices
            />
        }),
        Screen::InCall => EitherOf3::B(view! {
            // `owner`: the owner's buttons show (style/main.css, `.owner-only`).
            <div class="call" class:owner=move || call_view.owner.get()>
                <header class="call-header">
                    <span class="room-name">{room_label.clone()}</span>
                    <LayoutSwitcher call=call_view/>
                    <span class="count" data-testid="participant-count">{count}</span>
                </header>
                {move || call_view.alert.get().map(|a| view! { <p role="alert" class="error banner">{a}</p> })}
                <div class="call-body">
                    <Stage call=call_view/>
                    <ChatPanel chat=chat call=call_signal/>
                </div>
                <HelpDialog open=help_open/>
                <Controls
                    mic_on=mic_on
                    cam_on=cam_on
                    has_mic=has_mic
                    has_cam=has_cam
                    on_toggle_mic=toggle_mic
                    on_toggle_cam=toggle_cam
                    on_leave=on_leave
                >
                    <button type="button" class="toggle wide" class:on=sharing aria-label=share_label title=share_label
                        on:click=move |_| toggle_share()>{share_label}</button>
                    <button type="button" class="toggle wide" aria-label=chat_label title=chat_label
                        aria-expanded=move || chat.open.get().to_string()
                        on:click=move |_| chat.set_open(!chat.open.get_untracked())>
                        "Chat"
                        {move || (chat.unread.get() > 0).then(|| view! {
                            <span class="badge" data-testid="chat-unread">{chat.unread.get()}</span>
                        })}
                    </button>
                    <DeviceSettings devices=devices/>
                    <button type="button" class="toggle" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)"
                        on:click=move |_| help_open.set(true)>"?"</button>
                    <crate::components::link_quality::StatsPanel call=call_view/>
                    <button type="button" class="leave owner-only" data-testid="end-for-everyone"
                        title="End the call for everyone" on:click=end_for_everyone>"End for all"</button>
                </Controls>
            </div>
        }),
        Screen::Left => EitherOf3::C(view! {
            <main class="home">
                <h1>"You left the meeting"</h1>
                <button class="primary big" on:click=rejoin>"Rejoin"</button>
                <a href="/">"Back to the start page"</a>
            </main>
        }),
    }
}
