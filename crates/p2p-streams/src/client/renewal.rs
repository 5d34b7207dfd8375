//! Renewing the join ticket (`hydrate` only): before (re)opening the signaling socket when the ticket expired
//! or was refused, and in the background before the TURN credentials that came with it expire (a host keeps
//! its socket for hours and a connected client has none, so neither renews otherwise). When the frame's config
//! named no ICE servers, a renewed ticket's servers replace the old ones for new links and are applied to the
//! open connections (`setConfiguration`).

use super::browser::{now_ms, warn};
use super::Inner;
use crate::early::RENEW_MARGIN_SECS;
use crate::ticket::{fetch_join_ticket, JoinTicket};
use leptos::prelude::ServerFnError;

/// A background renewal starts this long before the ticket expires, at most (seconds); a tenth of the ticket's
/// lifetime when that is shorter, and never less than [`RENEW_MARGIN_SECS`].
const ICE_RENEW_MARGIN_SECS: u64 = 300;

/// After a failed background renewal, the next waits this long (ms).
const ICE_RENEW_RETRY_MS: f64 = 30_000.0;

impl Inner {
    /// Asks the server for a fresh ticket. With `connect` (or when [`open_signaling`](Inner::open_signaling)
    /// asks meanwhile), opens the socket with it: then a refusal is fatal and an unreachable server is retried.
    /// Without, a failure is only a warning: the links keep working with the old credentials.
    pub(crate) fn renew_ticket(&mut self, connect: bool) {
        self.connect_after_renewal |= connect;
        if self.renewing {
            return;
        }
        self.renewing = true;
        let (weak, t) = (self.weak.clone(), self.ticket.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let result = fetch_join_ticket(&t.session_id, &t.peer_id, t.expires_in_secs).await;
            weak.with(move |i| i.ticket_renewed(result));
        });
    }

    fn ticket_renewed(&mut self, result: Result<JoinTicket, ServerFnError>) {
        self.renewing = false;
        let connect = std::mem::take(&mut self.connect_after_renewal);
        match result {
            Ok(ticket) => {
                self.adopt_ticket(ticket);
                self.failed_opens = 0;
                // Fresh from the server: use it even if it is short-lived (no renewal loop).
                if connect && self.signaling.is_none() {
                    self.connect_signaling();
                }
            }
            Err(err) if !connect => {
                warn(&format!("could not renew the join token (TURN credentials), retrying later: {err}"));
                self.renew_retry_at = now_ms() + ICE_RENEW_RETRY_MS;
            }
            // The server answered and refused (policy, invalid ids): nothing to retry.
            Err(err @ ServerFnError::ServerError(_)) => self.fail(format!("could not renew the join token: {err}")),
            // The server is unreachable or restarting: keep trying with backoff.
            Err(err) => {
                warn(&format!("could not renew the join token, retrying: {err}"));
                self.schedule_reconnect();
            }
        }
    }

    /// Takes a renewed ticket. When the ICE servers are the ticket's and changed (fresh TURN credentials), new
    /// links use the new ones and every open connection is reconfigured with them.
    fn adopt_ticket(&mut self, ticket: JoinTicket) {
        if self.ice_from_ticket && ticket.ice_servers != self.config.ice_servers {
            self.config.ice_servers = ticket.ice_servers.clone();
            for link in self.links.values() {
                if let Err(err) = link.reconfigure(&self.config) {
                    warn(&format!("could not apply the renewed ICE servers to the link to {}: {err:?}", link.peer));
                }
            }
        }
        self.ticket = ticket;
    }

    /// Every tick: renews the ticket in the background when its TURN credentials (ICE servers from the ticket
    /// with a credential) are about to expire.
    pub(crate) fn renew_ice_credentials(&mut self, now: f64) {
        let has_credentials = self.ice_from_ticket && self.ticket.ice_servers.iter().any(|s| s.credential.is_some());
        if !has_credentials || self.renewing || now < self.renew_retry_at {
            return;
        }
        let margin = (self.ticket.expires_in_secs / 10).clamp(RENEW_MARGIN_SECS, ICE_RENEW_MARGIN_SECS);
        if self.ticket.expires_at <= now as u64 / 1000 + margin {
            self.renew_ticket(false);
        }
    }
}
