//! File sharing in the chat room (both sides; sending in the browser): choosing a file in `file-input` sends
//! it to the room through the toolkit's `use_p2p_files`; every peer, the sender included, lists each transfer
//! as a `file-transfer` row (`data-file-name`, `data-file-size` in bytes, `data-state`
//! sending|receiving|done|failed|cancelled, `data-progress` 0-100) with a `file-cancel` button while it is in
//! flight and, once done, a `file-download` link to the file's bytes (a `blob:` URL, `download` = its name).
//! The rows' code is a lazy wasm chunk, fetched with the first transfer.

use crate::decimal::byte_size;
use leptos::prelude::*;
use p2p_streams::hooks::{use_p2p_files, FileTransfer, P2pFiles};

/// The file picker and the list of transfers, inside the room's `<P2pFrame>`.
#[component]
pub fn ChatFiles() -> impl IntoView {
    let files = use_p2p_files();
    let error = RwSignal::new(String::new());
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
            let chosen = input.files();
            for i in 0..chosen.as_ref().map_or(0, |list| list.length()) {
                if let Some(file) = chosen.as_ref().and_then(|list| list.get(i)) {
                    error.set(files.send_file(&file, &file.name()).err().map(|e| e.to_string()).unwrap_or_default());
                }
            }
            // The same file can be chosen again.
            input.set_value("");
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    // True from the first transfer on: the rows' code comes in then (with the file code), not with the room,
    // and stays loaded.
    let any = Memo::new(move |_| files.transfers.with(|list| !list.is_empty()));
    view! {
        <div class="files">
            <label class="secondary file-pick">
                "Share a file "
                <input data-testid="file-input" type="file" multiple on:change=on_change />
            </label>
            {move || {
                let message = error.get();
                (!message.is_empty()).then(|| view! { <p class="banner banner-error" data-testid="file-error">{message}</p> })
            }}
            <ul class="file-list" data-testid="file-list">
                {move || any.get().then(|| view! { <Suspense fallback=|| ()>{Suspend::new(file_rows(files))}</Suspense> })}
            </ul>
        </div>
    }
}

/// The transfer rows, a lazy wasm chunk: a chat room fetches it with its first file transfer.
#[lazy]
fn file_rows(files: P2pFiles) -> AnyView {
    view! { <FileRows files /> }.into_any()
}

/// One row per transfer, oldest first.
#[component]
fn FileRows(files: P2pFiles) -> impl IntoView {
    let row = move |t: FileTransfer| {
        let (key, in_flight) = (t.key, t.state.in_flight());
        view! {
            <li class="file-row" data-testid="file-transfer" data-key=t.key.to_string()
                data-file-name=t.name.clone() data-file-size=t.size.to_string()
                data-state=t.state.as_str() data-progress=t.percent().to_string() title=t.error.clone()>
                <span class="file-name">{t.name.clone()}</span>
                <span class="file-meta muted">
                    {format!("{} · from {} · {} {}%", byte_size(t.size, 1024), t.from.user(), t.state.as_str(), t.percent())}
                </span>
                <span class="file-actions">
                    {in_flight.then(|| view! {
                        <button type="button" class="secondary" data-testid="file-cancel"
                            on:click=move |_| files.cancel(key)>
                            "Cancel"
                        </button>
                    })}
                    {t.url.clone().map(|url| view! {
                        <a data-testid="file-download" href=url download=t.name.clone()>"Download"</a>
                    })}
                </span>
                <progress max="100" value=t.percent().to_string()></progress>
                {t.error.clone().map(|e| view! { <span class="file-error">{e}</span> })}
            </li>
        }
    };
    move || files.transfers.get().into_iter().map(row).collect_view()
}
