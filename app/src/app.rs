//! Routes: `/` starts or finds a meeting, `/<room>` is the meeting itself.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::pages::home::Home;
use crate::pages::meeting::Meeting;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| view! { <p role="alert">"Page not found."</p> <a href="/">"Start a meeting"</a> }>
                <Route path=path!("/") view=Home/>
                <Route path=path!("/:room") view=Meeting/>
            </Routes>
        </Router>
    }
}
