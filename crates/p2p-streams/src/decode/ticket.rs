//! [`JoinTicket`]'s `Deserialize` (both sides; the browser decodes it from the page and from the
//! `issue_join_token` response): through a [`serde_json::Value`], like the frames, instead of a derived
//! visitor per deserializer (the resource and the server function each had one). Same JSON as the derived
//! impl had: `ice_servers` may be absent (empty), `username` and `credential` absent or `null`.

use super::{string, DecodeError, Fields, Result};
use crate::config::IceServer;
use crate::ticket::JoinTicket;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

impl<'de> Deserialize<'de> for JoinTicket {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        join_ticket(value).map_err(serde::de::Error::custom)
    }
}

fn join_ticket(value: Value) -> Result<JoinTicket> {
    let mut f = Fields::of(value, "ticket")?;
    Ok(JoinTicket {
        session_id: f.string("session_id")?,
        peer_id: f.string("peer_id")?,
        token: f.string("token")?,
        expires_at: f.u64("expires_at")?,
        expires_in_secs: f.u64("expires_in_secs")?,
        ice_servers: match f.0.remove("ice_servers") {
            Some(Value::Array(items)) => items.into_iter().map(ice_server).collect::<Result<_>>()?,
            Some(_) => return Err(DecodeError::Invalid("ice_servers")),
            None => Vec::new(),
        },
    })
}

fn ice_server(value: Value) -> Result<IceServer> {
    let mut f = Fields::of(value, "ice_servers")?;
    let optional = |v: Option<Value>, name| v.filter(|v| !v.is_null()).map(|v| string(v, name)).transpose();
    Ok(IceServer {
        urls: f.list("urls", |v| string(v, "urls"))?,
        username: optional(f.0.remove("username"), "username")?,
        credential: optional(f.0.remove("credential"), "credential")?,
    })
}
