//! The delivery state in sessionStorage (`hydrate` only): the outbox and the log survive a reload of the
//! tab (and only of this tab: sessionStorage is per tab), so a message typed just before a reload is still
//! delivered exactly once and the reloaded page resumes from its log position instead of starting over.

use super::browser::warn;
use crate::decode::{DecodeError, Fields};
use crate::delivery::{Delivery, HistoryLimits, LogSnapshot, Outbox, OutboxSnapshot, SessionLog};
use crate::protocol::PeerId;
use serde::Serialize;

const PREFIX: &str = "p2p-streams:delivery:";

/// What is kept per session (decoded by hand, as the frames are: `crate::decode`).
#[derive(Serialize)]
struct Saved {
    /// Whose outbox it is (the tab's peer id).
    peer: PeerId,
    /// The log.
    log: LogSnapshot,
    /// The unacknowledged messages.
    outbox: OutboxSnapshot,
}

impl Saved {
    fn decode(text: &str) -> Result<Saved, DecodeError> {
        let mut f = Fields::parse(text)?;
        Ok(Saved {
            peer: f.peer("peer")?,
            log: LogSnapshot::decode(f.take("log")?)?,
            outbox: OutboxSnapshot::decode(f.take("outbox")?)?,
        })
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The delivery state of `peer` in `session`: restored from this tab's sessionStorage, or fresh. An outbox
/// saved under another peer id (a duplicated tab that got a new id) is not ours and is left out.
pub(crate) fn load(session: &str, peer: PeerId, limits: HistoryLimits, now_ms: f64) -> Delivery {
    let saved = storage()
        .and_then(|s| s.get_item(&format!("{PREFIX}{session}")).ok().flatten())
        .and_then(|text| Saved::decode(&text).ok());
    match saved {
        Some(saved) => {
            let log = SessionLog::restore(saved.log, limits, now_ms);
            let outbox = if saved.peer == peer { Outbox::restore(saved.outbox) } else { Outbox::default() };
            Delivery::new(peer, log, outbox)
        }
        None => Delivery::fresh(peer, limits),
    }
}

/// Saves `delivery` for `session`; a full storage is reported, never fatal.
pub(crate) fn save(session: &str, peer: &PeerId, delivery: &Delivery) {
    let Some(storage) = storage() else { return };
    let saved = Saved { peer: peer.clone(), log: delivery.log().snapshot(), outbox: delivery.outbox().snapshot() };
    let Ok(text) = serde_json::to_string(&saved) else { return };
    if storage.set_item(&format!("{PREFIX}{session}"), &text).is_err() {
        warn("could not save the message log in sessionStorage (full?): a reload may resend or miss messages");
    }
}
