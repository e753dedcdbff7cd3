//! Nonstop's browser client. `pages` and `components` are the Leptos UI, `call` runs a
//! call, `platform` wraps the browser APIs. Policy lives in `nonstop_core`.

mod app;
mod call;
mod components;
mod pages;
mod platform;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
