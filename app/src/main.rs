//! Nonstop's browser client. `pages` and `components` are the Leptos UI, `call` runs a
//! call, `platform` wraps the browser APIs. Policy lives in `nonstop_core`.

mod app;
mod call;
mod components;
mod pages;
mod platform;

// Talc instead of the standard library's dlmalloc: about 5 KB less code in the wasm.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
