//! Hand-written decoders for the frames a browser reads (shared code, so the native tests compare them with
//! the derived ones; the browser driver is their only caller): [`ServerToClient`] from the signaling socket,
//! [`PeerFrame`] from a data channel, the delivery state kept in sessionStorage (`snapshot.rs`:
//! [`LogSnapshot`](crate::delivery::LogSnapshot), [`OutboxSnapshot`](crate::delivery::OutboxSnapshot)), and the
//! join ticket (`ticket.rs`, the `Deserialize` of
//! [`JoinTicket`](crate::ticket::JoinTicket)).
//!
//! Why not `serde_json::from_str`: the three internally tagged enums (`type` / `kind` tags) go through serde's
//! buffered `Content` path, and every struct in them gets its own visitor per deserializer: about 120 KB of
//! the room page's wasm before optimization. Here the text is parsed once into a [`serde_json::Value`] (whose
//! decoder the payloads already need) and the fields are taken out by name.
//!
//! The JSON is the derived one, field for field; the tests in `tests.rs` hold both decoders to the same
//! answers on every variant and on malformed input. What only the derived decoders accept, because no encoder
//! writes it: a frame or a nested struct as a JSON array (`["Gap",4]`), a unit enum as a one-key object
//! (`{"host":null}`, also for a peer's optional `route`), and a signal's `kind` as a variant number (`0` for
//! `offer`). A key repeated in one object is an error for the derived decoders, here the last one counts (as
//! in `JSON.parse`).

use crate::delivery::{Bytes, Entry, EpochCert, EpochGrant, Pos};
use crate::media::{CandidateFields, MediaEnvelope};
use crate::protocol::SignalPayload;
use crate::protocol::{ErrorCode, LinkState, PeerFrame, PeerId, PeerStatus, Role, Route, ServerToClient, SessionId};
use serde_json::{Map, Value};

mod snapshot;
#[cfg(test)]
mod tests;
mod ticket;

/// Why a frame could not be decoded: all of it is bad input from the peer or server that sent it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON at all.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A frame or nested object is not a JSON object.
    #[error("`{0}` is not an object")]
    NotObject(&'static str),
    /// A required field is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A field holds a value of the wrong type, or a number out of its range.
    #[error("invalid value in field `{0}`")]
    Invalid(&'static str),
    /// The tag names no known frame type.
    #[error("unknown frame type `{0}`")]
    UnknownType(String),
}

type Result<T> = std::result::Result<T, DecodeError>;

impl ServerToClient {
    /// Decodes a signaling frame (the JSON of the derived `Serialize`).
    ///
    /// # Errors
    /// [`DecodeError`] when `text` is not such a frame.
    pub fn decode(text: &str) -> Result<Self> {
        let mut f = Fields::parse(text)?;
        let tag = f.string("type")?;
        Ok(match tag.as_str() {
            "welcome" => ServerToClient::Welcome {
                version: f.small("version", u32::MAX.into())? as u32,
                session_id: SessionId(f.string("session_id")?),
                peer_id: f.peer("peer_id")?,
                role: f.name("role", &[(Role::Host, "host"), (Role::Client, "client")])?,
                host: f.peer("host")?,
                authority: f.optional("authority")?.map(|v| base64(v, "authority")).transpose()?,
                grant: f.optional("grant")?.map(grant).transpose()?,
            },
            "role_changed" => ServerToClient::RoleChanged {
                role: f.name("role", &[(Role::Host, "host"), (Role::Client, "client")])?,
                host: f.peer("host")?,
                grant: f.optional("grant")?.map(grant).transpose()?,
            },
            "peer_joined" => ServerToClient::PeerJoined { peer: f.peer("peer")? },
            "peer_left" => ServerToClient::PeerLeft { peer: f.peer("peer")? },
            "signal" => ServerToClient::Signal { from: f.peer("from")?, signal: signal(f.object("signal")?)? },
            "error" => ServerToClient::Error { code: f.name("code", ERROR_CODES)?, message: f.string("message")? },
            _ => return Err(DecodeError::UnknownType(tag)),
        })
    }
}

/// Every [`ErrorCode`] with its JSON name.
const ERROR_CODES: &[(ErrorCode, &str)] = &[
    (ErrorCode::BadJson, "bad_json"),
    (ErrorCode::UnknownType, "unknown_type"),
    (ErrorCode::BinaryFrame, "binary_frame"),
    (ErrorCode::NotJoined, "not_joined"),
    (ErrorCode::AlreadyJoined, "already_joined"),
    (ErrorCode::UnknownPeer, "unknown_peer"),
    (ErrorCode::NotHost, "not_host"),
    (ErrorCode::RateLimited, "rate_limited"),
    (ErrorCode::Unavailable, "unavailable"),
];

/// Every [`LinkState`] with its JSON name.
const LINK_STATES: &[(LinkState, &str)] = &[
    (LinkState::Negotiating, "negotiating"),
    (LinkState::Connecting, "connecting"),
    (LinkState::Connected, "connected"),
    (LinkState::Disconnected, "disconnected"),
];

/// Every [`Route`] with its JSON name.
const ROUTES: &[(Route, &str)] =
    &[(Route::Host, "host"), (Route::Srflx, "srflx"), (Route::Prflx, "prflx"), (Route::Relay, "relay")];

fn signal(mut f: Fields) -> Result<SignalPayload> {
    let kind = f.string("kind")?;
    Ok(match kind.as_str() {
        "offer" => SignalPayload::Offer { link: f.u64("link")?, sdp: f.string("sdp")? },
        "answer" => SignalPayload::Answer { link: f.u64("link")?, sdp: f.string("sdp")? },
        "candidate" => {
            let link = f.u64("link")?;
            let CandidateFields { candidate, sdp_mid, sdp_m_line_index } = ice_candidate(f)?;
            SignalPayload::Candidate { link, candidate, sdp_mid, sdp_m_line_index }
        }
        _ => return Err(DecodeError::UnknownType(kind)),
    })
}

/// An ICE candidate's fields, in a signal or in a renegotiated link's media frame.
fn ice_candidate(mut f: Fields) -> Result<CandidateFields> {
    Ok(CandidateFields {
        candidate: f.string("candidate")?,
        sdp_mid: f.optional("sdp_mid")?.map(|v| string(v, "sdp_mid")).transpose()?,
        sdp_m_line_index: match f.optional("sdp_m_line_index")? {
            Some(v) => Some(small(v, "sdp_m_line_index", u16::MAX.into())? as u16),
            None => None,
        },
    })
}

/// The fields of a media frame's JSON when it is a `MediaFrame::Candidate` (`{"Candidate": {...}}`, the one
/// key of its object, as serde's externally tagged enums take it); `None` for anything else.
pub(crate) fn media_candidate(frame: &Value) -> Option<CandidateFields> {
    match frame.as_object() {
        Some(outer) if outer.len() == 1 => {
            ice_candidate(Fields::of(outer.get("Candidate")?.clone(), "Candidate").ok()?).ok()
        }
        _ => None,
    }
}

impl PeerFrame {
    /// Decodes a data-channel frame (the JSON of the derived `Serialize`).
    ///
    /// # Errors
    /// [`DecodeError`] when `text` is not such a frame.
    pub fn decode(text: &str) -> Result<Self> {
        let mut f = Fields::parse(text)?;
        let tag = f.string("type")?;
        Ok(match tag.as_str() {
            "Send" => PeerFrame::Send { seq: f.u64("seq")?, payload: f.take("payload")?, bytes: f.bytes()? },
            "SendTo" => PeerFrame::SendTo {
                to: f.peer("to")?,
                id: f.u64("id")?,
                payload: f.take("payload")?,
                bytes: f.bytes()?,
            },
            "Direct" => PeerFrame::Direct {
                from: f.peer("from")?,
                id: f.u64("id")?,
                payload: f.take("payload")?,
                bytes: f.bytes()?,
            },
            "DirectAck" => PeerFrame::DirectAck { id: f.u64("id")? },
            "DirectFailed" => PeerFrame::DirectFailed { id: f.u64("id")?, to: f.peer("to")? },
            "Data" => PeerFrame::Data(entry_fields(f)?),
            "Hello" => PeerFrame::Hello { epoch: f.u64("epoch")?, acked: f.u64("acked")? },
            "History" => PeerFrame::History { entries: f.list("entries", entry)?, certs: f.certs()? },
            "Certs" => PeerFrame::Certs { certs: f.list("certs", cert)? },
            "Resume" => PeerFrame::Resume { tips: f.list("tips", pair)? },
            "Gap" => PeerFrame::Gap { missed: f.u64("missed")? },
            "Data.Connection.State" => {
                PeerFrame::ConnectionState { host: f.peer("host")?, peers: f.list("peers", peer_status)? }
            }
            "Ping" => PeerFrame::Ping { nonce: f.u64("nonce")? },
            "Pong" => PeerFrame::Pong { nonce: f.u64("nonce")? },
            "Media" => PeerFrame::Media { media: MediaEnvelope::from_json(f.take("media")?) },
            _ => return Err(DecodeError::UnknownType(tag)),
        })
    }
}

/// An [`Entry`] (an object with `from`, `seq`, `epoch`, `index` and `payload`).
pub(crate) fn entry(value: Value) -> Result<Entry> {
    entry_fields(Fields::of(value, "entry")?)
}

fn entry_fields(mut f: Fields) -> Result<Entry> {
    Ok(Entry {
        from: f.peer("from")?,
        seq: f.u64("seq")?,
        epoch: f.u64("epoch")?,
        index: f.u64("index")?,
        payload: f.take("payload")?,
        bytes: f.bytes()?,
        sig: f.optional("sig")?.map(|v| base64(v, "sig")).transpose()?,
    })
}

/// An [`EpochCert`] (an object with `tag`, `key` and `sig`).
fn cert(value: Value) -> Result<EpochCert> {
    let mut f = Fields::of(value, "cert")?;
    Ok(EpochCert {
        tag: f.small("tag", u32::MAX.into())? as u32,
        key: base64(f.take("key")?, "key")?,
        sig: base64(f.take("sig")?, "sig")?,
    })
}

/// An [`EpochGrant`] (an object with `cert` and `secret`).
fn grant(value: Value) -> Result<EpochGrant> {
    let mut f = Fields::of(value, "grant")?;
    Ok(EpochGrant { cert: cert(f.take("cert")?)?, secret: base64(f.take("secret")?, "secret")? })
}

/// A [`Pos`] (an object with `epoch` and `index`).
pub(crate) fn pos(value: Value) -> Result<Pos> {
    let mut f = Fields::of(value, "pos")?;
    Ok(Pos { epoch: f.u64("epoch")?, index: f.u64("index")? })
}

fn peer_status(value: Value) -> Result<PeerStatus> {
    let mut f = Fields::of(value, "peers")?;
    let peer = f.peer("peer")?;
    let state = f.name("state", LINK_STATES)?;
    let host = f.take("host")?.as_bool().ok_or(DecodeError::Invalid("host"))?;
    let route = f.optional("route")?.map(|v| named(v, "route", ROUTES)).transpose()?;
    Ok(PeerStatus { peer, state, host, route })
}

/// A `[u64, u64]` pair (a tuple's JSON).
pub(crate) fn pair(value: Value) -> Result<(u64, u64)> {
    let [a, b] = two(value, "pair")?;
    Ok((u64_of(a, "pair")?, u64_of(b, "pair")?))
}

/// The two elements of a JSON array of exactly two (a 2-tuple's JSON).
pub(crate) fn two(value: Value, name: &'static str) -> Result<[Value; 2]> {
    match value {
        Value::Array(items) => <[Value; 2]>::try_from(items).map_err(|_| DecodeError::Invalid(name)),
        _ => Err(DecodeError::Invalid(name)),
    }
}

/// A non-negative integer.
pub(crate) fn u64_of(value: Value, name: &'static str) -> Result<u64> {
    value.as_u64().ok_or(DecodeError::Invalid(name))
}

/// A non-negative integer no larger than `max`.
fn small(value: Value, name: &'static str, max: u64) -> Result<u64> {
    u64_of(value, name).and_then(|n| if n <= max { Ok(n) } else { Err(DecodeError::Invalid(name)) })
}

/// A unit enum written as its name (one of `names`).
fn named<T: Copy>(value: Value, field: &'static str, names: &[(T, &str)]) -> Result<T> {
    let text = value.as_str().ok_or(DecodeError::Invalid(field))?;
    names.iter().find(|(_, n)| *n == text).map(|(t, _)| *t).ok_or(DecodeError::Invalid(field))
}

/// An array, each element decoded by `item`.
fn list<T>(value: Value, name: &'static str, item: fn(Value) -> Result<T>) -> Result<Vec<T>> {
    match value {
        Value::Array(items) => items.into_iter().map(item).collect(),
        _ => Err(DecodeError::Invalid(name)),
    }
}

/// Base64 bytes ([`Bytes`]).
fn base64(value: Value, name: &'static str) -> Result<Bytes> {
    Bytes::from_base64(&string(value, name)?).map_err(|_| DecodeError::Invalid(name))
}

/// A string.
pub(crate) fn string(value: Value, name: &'static str) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(DecodeError::Invalid(name)),
    }
}

/// The members of one JSON object, taken out by name (so strings and payloads move, never copied).
pub(crate) struct Fields(pub(crate) Map<String, Value>);

impl Fields {
    /// Parses `text` as one JSON object.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        Self::of(serde_json::from_str(text)?, "frame")
    }

    /// `value` as an object; `name` says which one in the error.
    pub(crate) fn of(value: Value, name: &'static str) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Fields(map)),
            _ => Err(DecodeError::NotObject(name)),
        }
    }

    /// A required field, whatever it holds.
    pub(crate) fn take(&mut self, name: &'static str) -> Result<Value> {
        self.0.remove(name).ok_or(DecodeError::Missing(name))
    }

    /// An optional field: absent and `null` are both `None` (serde's `Option` with `default`).
    fn optional(&mut self, name: &'static str) -> Result<Option<Value>> {
        Ok(self.0.remove(name).filter(|v| !v.is_null()))
    }

    /// The optional `certs` list (`default`: absent is empty, `null` is an error, as for the derived decoder).
    fn certs(&mut self) -> Result<Vec<EpochCert>> {
        self.0.remove("certs").map_or(Ok(Vec::new()), |v| list(v, "certs", cert))
    }

    /// The optional `bytes` field of a message (base64).
    fn bytes(&mut self) -> Result<Option<Bytes>> {
        self.optional("bytes")?.map(|v| base64(v, "bytes")).transpose()
    }

    /// A required non-negative integer.
    pub(crate) fn u64(&mut self, name: &'static str) -> Result<u64> {
        u64_of(self.take(name)?, name)
    }

    fn small(&mut self, name: &'static str, max: u64) -> Result<u64> {
        small(self.take(name)?, name, max)
    }

    /// A required string.
    pub(crate) fn string(&mut self, name: &'static str) -> Result<String> {
        string(self.take(name)?, name)
    }

    /// A required peer id.
    pub(crate) fn peer(&mut self, name: &'static str) -> Result<PeerId> {
        self.string(name).map(PeerId)
    }

    fn object(&mut self, name: &'static str) -> Result<Fields> {
        Fields::of(self.take(name)?, name)
    }

    /// A required unit enum, written as its name (one of `names`).
    fn name<T: Copy>(&mut self, field: &'static str, names: &[(T, &str)]) -> Result<T> {
        named(self.take(field)?, field, names)
    }

    /// A required array, each element decoded by `item`.
    pub(crate) fn list<T>(&mut self, name: &'static str, item: fn(Value) -> Result<T>) -> Result<Vec<T>> {
        list(self.take(name)?, name, item)
    }
}
