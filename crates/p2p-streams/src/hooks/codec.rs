//! How one typed view reads messages (compiled on both sides, tested natively): JSON messages as `T`
//! (`use_p2p::<T>()`), binary messages as postcard-encoded `T` (`use_p2p_binary::<T>()`), or binary messages
//! as their raw bytes (`use_p2p_bytes()`). A view only sees the messages of its kind: a binary message is
//! not a decode failure of a JSON view, nor the reverse.

use super::log::{DecodeFailure, Received};
use crate::delivery::{DirectMessage, Entry, Payload};
use crate::protocol::PeerId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::Any;

/// A view's message kind and encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Codec {
    /// JSON messages, decoded with serde_json.
    Json,
    /// Binary messages, decoded with postcard.
    Postcard,
    /// Binary messages as they are (`T` is `Vec<u8>`).
    Raw,
}

/// `bytes` as `T`, when `T` is `Vec<u8>` (the raw view's type).
fn raw<T: 'static>(bytes: &[u8]) -> Option<T> {
    let boxed: Box<dyn Any> = Box::new(bytes.to_vec());
    boxed.downcast::<T>().ok().map(|b| *b)
}

/// Decodes `payload` as `T` with `codec`: `None` when the message is not of the codec's kind.
pub(crate) fn decode_payload<T: DeserializeOwned + 'static>(
    codec: Codec,
    payload: &Payload,
) -> Option<Result<T, String>> {
    match (codec, payload) {
        (Codec::Json, Payload::Json(value)) => Some(T::deserialize(value).map_err(|e| e.to_string())),
        (Codec::Postcard, Payload::Bytes(bytes)) => Some(postcard::from_bytes(bytes).map_err(|e| e.to_string())),
        (Codec::Raw, Payload::Bytes(bytes)) => Some(raw(bytes).ok_or_else(|| "the raw view's type is Vec<u8>".into())),
        _ => None,
    }
}

/// Decodes one delivered message with `codec`: `None` when it is not of the codec's kind.
pub(crate) fn decode_entry<T: DeserializeOwned + 'static>(
    codec: Codec,
    raw: &Entry,
) -> Option<Result<Received<T>, DecodeFailure>> {
    let (from, seq) = (raw.from.clone(), raw.seq);
    let decoded = match (codec, &raw.bytes) {
        (Codec::Json, None) => T::deserialize(&raw.payload).map_err(|e| e.to_string()),
        (Codec::Json, Some(_)) | (Codec::Postcard | Codec::Raw, None) => return None,
        (_, Some(bytes)) => decode_payload(codec, &Payload::Bytes(bytes.0.clone()))?,
    };
    Some(match decoded {
        Ok(data) => Ok(Received { from, seq, epoch: raw.epoch, index: raw.index, data }),
        Err(reason) => Err(DecodeFailure { from, seq, reason }),
    })
}

/// A message sent to this peer only (`send_to`), decoded as the view's `T`.
#[derive(Clone, Debug, PartialEq)]
pub struct Direct<T> {
    /// Sender, stamped by the host (never taken from the payload).
    pub from: PeerId,
    /// The sender's id of the message (1 for its first `send_to`, 2 for the next ...).
    pub id: u64,
    /// The message.
    pub data: T,
}

/// The direct messages in `list` of `codec`'s kind that decode as `T`, oldest first.
pub(crate) fn directs<T: DeserializeOwned + 'static>(codec: Codec, list: &[DirectMessage]) -> Vec<Direct<T>> {
    list.iter()
        .filter_map(|m| match decode_payload::<T>(codec, &m.payload)? {
            Ok(data) => Some(Direct { from: m.from.clone(), id: m.id, data }),
            Err(_) => None,
        })
        .collect()
}

/// `msg` as postcard bytes.
///
/// # Errors
/// postcard's reason when `T` cannot be written (e.g. a map with an unknown length).
pub(crate) fn encode_postcard<T: Serialize>(msg: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(msg).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Bytes;
    use serde::Deserialize;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Point {
        x: i32,
        label: String,
    }

    fn entry(payload: serde_json::Value, bytes: Option<Vec<u8>>) -> Entry {
        Entry { from: PeerId("a#t".into()), seq: 1, epoch: 1, index: 1, payload, bytes: bytes.map(Bytes), sig: None }
    }

    #[test]
    fn each_view_reads_only_its_kind_of_message() {
        let point = Point { x: -3, label: "p".into() };
        let binary = entry(serde_json::Value::Null, Some(encode_postcard(&point).unwrap()));
        let json = entry(serde_json::to_value(&point).unwrap(), None);
        assert_eq!(decode_entry::<Point>(Codec::Postcard, &binary).unwrap().unwrap().data, point);
        assert_eq!(decode_entry::<Point>(Codec::Json, &json).unwrap().unwrap().data, point);
        assert!(decode_entry::<Point>(Codec::Json, &binary).is_none(), "not a JSON view's failure");
        assert!(decode_entry::<Point>(Codec::Postcard, &json).is_none());
        let bytes = decode_entry::<Vec<u8>>(Codec::Raw, &binary).unwrap().unwrap().data;
        assert_eq!(bytes, encode_postcard(&point).unwrap());
        assert!(decode_entry::<Point>(Codec::Postcard, &entry(serde_json::Value::Null, Some(vec![0xff])))
            .unwrap()
            .is_err());
    }

    #[test]
    fn direct_messages_are_decoded_per_view() {
        let list = vec![
            DirectMessage {
                from: PeerId("a#t".into()),
                id: 1,
                payload: Payload::Json(serde_json::json!({"x": 1, "label": "j"})),
            },
            DirectMessage { from: PeerId("b#t".into()), id: 4, payload: Payload::Bytes(vec![1, 2]) },
        ];
        let json: Vec<Direct<Point>> = directs(Codec::Json, &list);
        assert_eq!(json.len(), 1);
        assert_eq!(json[0].data.label, "j");
        let raw: Vec<Direct<Vec<u8>>> = directs(Codec::Raw, &list);
        assert_eq!((raw.len(), raw[0].id, raw[0].data.clone()), (1, 4, vec![1, 2]));
    }
}
