//! What an app message carries (shared by both sides): JSON ([`Payload::Json`], the `payload` field of every
//! frame, as always) or bytes ([`Payload::Bytes`], an optional `bytes` field holding base64, [`Bytes`]). A
//! binary message's `payload` is `null`, so a peer that predates binary messages reads it as a JSON `null`.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The bytes of a binary app message; base64 (standard alphabet, padded) in the JSON frames.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl Bytes {
    /// The base64 text of these bytes.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }

    /// Decodes base64 text.
    ///
    /// # Errors
    /// When `text` is not padded standard base64.
    pub fn from_base64(text: &str) -> Result<Bytes, base64::DecodeError> {
        base64::engine::general_purpose::STANDARD.decode(text).map(Bytes)
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Bytes::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

/// An app message's content, as the sender hands it over.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// A JSON value (`send`).
    Json(serde_json::Value),
    /// Bytes (`send_bytes`, and the typed binary send, which writes postcard).
    Bytes(Vec<u8>),
}

impl Payload {
    /// The frame fields: `payload` and `bytes` (`null` and the bytes for a binary message).
    pub fn into_parts(self) -> (serde_json::Value, Option<Bytes>) {
        match self {
            Payload::Json(value) => (value, None),
            Payload::Bytes(bytes) => (serde_json::Value::Null, Some(Bytes(bytes))),
        }
    }

    /// The content of a frame's `payload` and `bytes` fields (bytes win: `payload` is `null` then).
    pub fn from_parts(payload: serde_json::Value, bytes: Option<Bytes>) -> Payload {
        match bytes {
            Some(Bytes(bytes)) => Payload::Bytes(bytes),
            None => Payload::Json(payload),
        }
    }

    /// Its size as the cap (`P2pConfig::max_message_bytes`) counts it: the JSON text's length, or the
    /// number of bytes.
    pub fn size(&self) -> usize {
        match self {
            Payload::Json(value) => serde_json::to_string(value).map_or(0, |text| text.len()),
            Payload::Bytes(bytes) => bytes.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_travel_as_base64_and_parts_round_trip() {
        let bytes = Bytes(vec![0, 1, 2, 250]);
        assert_eq!(serde_json::to_string(&bytes).unwrap(), r#""AAEC+g==""#);
        assert_eq!(serde_json::from_str::<Bytes>(r#""AAEC+g==""#).unwrap(), bytes);
        assert!(serde_json::from_str::<Bytes>(r#""not base64!""#).is_err());
        let binary = Payload::Bytes(vec![7; 5]);
        let (payload, bytes) = binary.clone().into_parts();
        assert_eq!(payload, serde_json::Value::Null);
        assert_eq!(Payload::from_parts(payload, bytes), binary);
        assert_eq!(binary.size(), 5);
        assert_eq!(Payload::Json(serde_json::json!({"a": "é"})).size(), r#"{"a":"é"}"#.len());
    }
}
