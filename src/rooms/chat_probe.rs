//! The chat room's probe panel (both sides; shown with `?controls=1`): the toolkit's binary, large and direct
//! messages, driven and read through `data-testid`s by the Playwright suite and usable by hand.
//!
//! - `bulk-size` + `bulk-send`: sends a binary message of that many bytes (a pattern derived from its length,
//!   so every receiver can check the content); every peer lists each one as `bulk-message` with `data-from`,
//!   `data-size` and `data-valid`; a refused send shows its error in `bulk-error`.
//! - `dm-to` (a peer's name) + `dm-text` + `dm-send`: `send_to` that peer only; received ones are
//!   `direct-message` rows (`data-from`), refused ones and host-reported failures go to `dm-error`.

use super::chat::ChatMessage;
use leptos::prelude::*;
use p2p_streams::hooks::use_p2p_bytes;
use p2p_streams::use_p2p;

/// The probe's content of a `len` byte message: every receiver recomputes it to check what arrived.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i.wrapping_mul(31).wrapping_add(len)) % 251) as u8).collect()
}

/// The panel, fetched as a lazy wasm chunk: a test tool, so a chat room without `?controls=1` never downloads
/// it. The server renders nothing for it; the browser mounts it once the room hydrated (its views fill from the
/// messages the frame already has, so nothing that arrived before is missing).
#[component]
pub fn LazyChatProbe() -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    move || hydrated.get().then(|| view! { <Suspense fallback=|| ()>{Suspend::new(probe_panel())}</Suspense> })
}

#[lazy]
fn probe_panel() -> AnyView {
    view! { <ChatProbe /> }.into_any()
}

/// The panel, inside the chat room's `<P2pFrame>`.
#[component]
fn ChatProbe() -> impl IntoView {
    let p2p = use_p2p::<ChatMessage>();
    let bytes = use_p2p_bytes();
    let size = RwSignal::new(String::from("1048576"));
    let bulk_error = RwSignal::new(String::new());
    let (dm_to, dm_text, dm_error) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));

    let send_bulk = move |_| match size.get_untracked().trim().parse::<usize>() {
        Ok(len) => bulk_error.set(bytes.send(pattern(len)).err().map(|e| e.to_string()).unwrap_or_default()),
        Err(_) => bulk_error.set("the size is not a number of bytes".into()),
    };
    let send_direct = move |_| {
        let name = dm_to.get_untracked();
        let target =
            p2p.peers.with_untracked(|peers| peers.iter().find(|p| p.peer.user() == name).map(|p| p.peer.clone()));
        let result = match target {
            Some(to) => p2p.send_to(&to, ChatMessage { text: dm_text.get_untracked() }).map_err(|e| e.to_string()),
            None => Err(format!("{name} is not in the room")),
        };
        dm_error.set(result.err().unwrap_or_default());
    };
    let failures = move || {
        let failed = p2p.send_failures.get();
        failed.last().map(|f| format!("direct message {} to {} was not delivered", f.id, f.to.user()))
    };

    view! {
        <details class="card probe" open>
            <summary>"Probe: binary, large and direct messages"</summary>
            <div class="status-row">
                <input data-testid="bulk-size" type="number" min="0" aria-label="Bytes" bind:value=size />
                <button type="button" class="secondary" data-testid="bulk-send" on:click=send_bulk>"Send bytes"</button>
                <span class="probe-error" data-testid="bulk-error">{bulk_error}</span>
            </div>
            <ol data-testid="bulk-log">
                {move || bytes.messages.get().into_iter().map(|m| {
                    let valid = m.data == pattern(m.data.len());
                    view! {
                        <li data-testid="bulk-message" data-from=m.from.user().to_owned()
                            data-size=m.data.len().to_string() data-valid=valid.to_string()>
                            {format!("{} sent {} bytes ({})", m.from.user(), m.data.len(), if valid { "intact" } else { "CORRUPT" })}
                        </li>
                    }
                }).collect_view()}
            </ol>
            <div class="status-row">
                <input data-testid="dm-to" type="text" placeholder="to (name)" aria-label="To" bind:value=dm_to />
                <input data-testid="dm-text" type="text" placeholder="direct message" aria-label="Direct message"
                    bind:value=dm_text />
                <button type="button" class="secondary" data-testid="dm-send" on:click=send_direct>"Send to"</button>
                <span class="probe-error" data-testid="dm-error">{move || failures().unwrap_or_else(|| dm_error.get())}</span>
            </div>
            <ol data-testid="dm-log">
                {move || p2p.direct_messages.get().into_iter().map(|m| view! {
                    <li data-testid="direct-message" data-from=m.from.user().to_owned()>
                        {format!("{} (to you): {}", m.from.user(), m.data.text)}
                    </li>
                }).collect_view()}
            </ol>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn the_pattern_depends_on_the_length() {
        assert_eq!(pattern(0), Vec::<u8>::new());
        assert_eq!(pattern(3), vec![3, 34, 65]);
        assert_ne!(pattern(1000)[..10], pattern(1001)[..10]);
        assert!(pattern(100_000).iter().all(|b| *b < 251));
    }
}
