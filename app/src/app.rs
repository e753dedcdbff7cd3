//! Routes: `/` starts or finds a meeting, `/<room>` is the meeting itself.

use leptos::either::EitherOf3;
use leptos::prelude::*;

use crate::pages::home::Home;
use crate::pages::meeting::Meeting;
use crate::platform::location::Location;

#[derive(Clone, PartialEq)]
enum Route {
    Home,
    /// The path's one segment, percent-decoded (checked by the meeting page).
    Meeting(String),
    NotFound,
}

fn route(path: &str) -> Route {
    match path.strip_prefix('/') {
        Some("") => Route::Home,
        Some(segment) if !segment.contains('/') => {
            let decoded = js_sys::decode_uri_component(segment)
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_else(|| segment.to_string());
            Route::Meeting(decoded)
        }
        _ => Route::NotFound,
    }
}

#[component]
pub fn App() -> impl IntoView {
    let path = Location::provide().path();
    // A memo: a new address on the same route (none today) does not rebuild the page.
    let current = Memo::new(move |_| route(&path.get()));
    move || match current.get() {
        Route::Home => EitherOf3::A(view! { <Home/> }),
        Route::Meeting(room) => EitherOf3::B(view! { <Meeting room=room/> }),
        Route::NotFound => EitherOf3::C(
            view! { <p role="alert">"Page not found."</p> <a href="/">"Start a meeting"</a> },
        ),
    }
}
