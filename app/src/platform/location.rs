//! The page's address for the app's two routes: a signal with the current path, moved by
//! the back and forward buttons and by in-app navigation, which changes the address
//! without loading the page again (links to `/` included). This replaces a general router
//! (leptos_router), whose matching, nested routes and URL parsing cost more wasm than the
//! whole UI of the start page.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, MouseEvent};

use super::listener::EventListener;

/// The current path (`/` or `/<room>`), shared through the Leptos context.
#[derive(Clone, Copy)]
pub struct Location {
    path: RwSignal<String>,
}

impl Location {
    /// Follows the page's address from now on and provides it to the components below.
    pub fn provide() -> Location {
        let location = Location {
            path: RwSignal::new(current_path()),
        };
        let window = web_sys::window().expect("window");
        let back_or_forward = EventListener::new(&window, "popstate", move |_| {
            location.path.set(current_path())
        });
        let document = window.document().expect("document");
        let link_click = EventListener::new(&document, "click", move |ev| {
            if let Some(href) = in_app_link(&ev) {
                ev.prevent_default();
                location.navigate(&href);
            }
        });
        // The app's root lives as long as the page.
        std::mem::forget((back_or_forward, link_click));
        provide_context(location);
        location
    }

    /// The one provided by [`Location::provide`].
    pub fn get() -> Location {
        expect_context()
    }

    pub fn path(&self) -> ReadSignal<String> {
        self.path.read_only()
    }

    /// Goes to `href` (a path on this site) as a new history entry, without a page load.
    pub fn navigate(&self, href: &str) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(history) = window.history() {
            if history
                .push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href))
                .is_ok()
            {
                window.scroll_to_with_x_and_y(0.0, 0.0);
                self.path.set(current_path());
            }
        }
    }
}

fn current_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".into())
}

/// The `href` of a link on this site that a plain left click followed (what a browser
/// would load as a new page), unless the link asks to open elsewhere or to download.
fn in_app_link(ev: &Event) -> Option<String> {
    let click = ev.dyn_ref::<MouseEvent>()?;
    if ev.default_prevented()
        || click.button() != 0
        || click.meta_key()
        || click.alt_key()
        || click.ctrl_key()
        || click.shift_key()
    {
        return None;
    }
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let link = target.closest("a[href]").ok()??;
    let opens_elsewhere = link
        .get_attribute("target")
        .is_some_and(|t| !t.is_empty() && t != "_self");
    if opens_elsewhere || link.has_attribute("download") {
        return None;
    }
    let href = link.get_attribute("href")?;
    // Site-relative paths only: the app's own links are all of this form.
    (href.starts_with('/') && !href.starts_with("//")).then_some(href)
}
