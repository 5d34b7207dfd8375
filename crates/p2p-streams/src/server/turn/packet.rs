//! Reading and writing the STUN messages the TURN gate looks at (server side, `ssr`): telling STUN from
//! ChannelData from garbage, the attributes the gate decides on, the error responses it sends itself, and a
//! request re-signed with a capped LIFETIME. Decoding uses the `stun` crate (the one the `turn` server uses);
//! every decode is guarded, so no datagram a stranger sends can take the listener down.

use ::turn::proto::chandata::ChannelData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use stun::attributes::{
    AttrType, ATTR_ERROR_CODE, ATTR_FINGERPRINT, ATTR_LIFETIME, ATTR_MESSAGE_INTEGRITY, ATTR_NONCE, ATTR_REALM,
    ATTR_XOR_PEER_ADDRESS,
};
use stun::error_code::{ErrorCode, ErrorCodeAttribute};
use stun::fingerprint::FINGERPRINT;
use stun::integrity::MessageIntegrity;
use stun::message::{Message, MessageType, Setter, CLASS_ERROR_RESPONSE, MAGIC_COOKIE};
use stun::textattrs::TextAttribute;

/// What one datagram on the TURN port is.
pub(crate) enum Packet {
    /// A well-formed STUN message.
    Stun(Box<Message>),
    /// A well-formed ChannelData message (relayed data on a bound channel).
    ChannelData,
    /// Neither: dropped without an answer.
    Garbage,
}

/// Classifies `bytes`, decoding them once.
pub(crate) fn classify(bytes: &[u8]) -> Packet {
    if ChannelData::is_channel_data(bytes) {
        let mut data = ChannelData { raw: bytes.to_vec(), ..Default::default() };
        return match catch_unwind(AssertUnwindSafe(|| data.decode())) {
            Ok(Ok(())) => Packet::ChannelData,
            _ => Packet::Garbage,
        };
    }
    if !stun::message::is_message(bytes) {
        return Packet::Garbage;
    }
    let mut message = Message { raw: bytes.to_vec(), ..Default::default() };
    match catch_unwind(AssertUnwindSafe(|| message.decode())) {
        Ok(Ok(())) => Packet::Stun(Box::new(message)),
        _ => Packet::Garbage,
    }
}

/// A text attribute (USERNAME, REALM, NONCE), if present and valid UTF-8.
pub(crate) fn text(message: &Message, attr: AttrType) -> Option<String> {
    TextAttribute::get_from_as(message, attr).ok().map(|t| t.text)
}

/// Every XOR-PEER-ADDRESS of `message` (CreatePermission may carry several); `None` if one is malformed.
pub(crate) fn peer_addresses(message: &Message) -> Option<Vec<SocketAddr>> {
    let txid = message.transaction_id.0;
    message
        .attributes
        .0
        .iter()
        .filter(|a| a.typ == ATTR_XOR_PEER_ADDRESS)
        .map(|a| xor_address(&a.value, &txid))
        .collect()
}

/// Decodes an XOR-MAPPED-ADDRESS-style value (RFC 5389 15.2).
fn xor_address(value: &[u8], txid: &[u8; 12]) -> Option<SocketAddr> {
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]) ^ (MAGIC_COOKIE >> 16) as u16;
    let ip = match (value.get(1)?, value.len()) {
        (0x01, 8) => {
            let mut octets = [0u8; 4];
            for (i, o) in octets.iter_mut().enumerate() {
                *o = value[4 + i] ^ cookie[i];
            }
            IpAddr::V4(Ipv4Addr::from(octets))
        }
        (0x02, 20) => {
            let mut octets = [0u8; 16];
            let mask: Vec<u8> = cookie.iter().chain(txid.iter()).copied().collect();
            for (i, o) in octets.iter_mut().enumerate() {
                *o = value[4 + i] ^ mask[i];
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The LIFETIME attribute in seconds, if present.
pub(crate) fn lifetime(message: &Message) -> Option<u32> {
    let value = message.get(ATTR_LIFETIME).ok()?;
    Some(u32::from_be_bytes(value.get(..4)?.try_into().ok()?))
}

/// An error response to `request` with `code`, and REALM and NONCE when given (a 401 must carry both so the
/// client can retry with other credentials). Never signed: the gate answers only where it has no valid key.
pub(crate) fn error_response(
    request: &Message,
    code: ErrorCode,
    realm: Option<&str>,
    nonce: Option<&str>,
) -> Option<Vec<u8>> {
    let mut response = Message::new();
    let typ = MessageType::new(request.typ.method, CLASS_ERROR_RESPONSE);
    let mut setters: Vec<Box<dyn Setter>> =
        vec![Box::new(request.clone()), Box::new(typ), Box::new(ErrorCodeAttribute { code, reason: Vec::new() })];
    if let Some(realm) = realm {
        setters.push(Box::new(TextAttribute::new(ATTR_REALM, realm.to_owned())));
    }
    if let Some(nonce) = nonce {
        setters.push(Box::new(TextAttribute::new(ATTR_NONCE, nonce.to_owned())));
    }
    setters.push(Box::new(FINGERPRINT));
    response.build(&setters).ok()?;
    Some(response.raw)
}

/// `request` with its LIFETIME set to `seconds`, re-signed with `key` (the same long-term key the TURN server
/// will check it with) and re-fingerprinted if it was.
pub(crate) fn with_lifetime(request: &Message, seconds: u32, key: &[u8]) -> Option<Vec<u8>> {
    let mut out = Message::new();
    out.typ = request.typ;
    out.transaction_id = request.transaction_id;
    out.write_header();
    let mut had_fingerprint = false;
    let mut wrote_lifetime = false;
    for attr in &request.attributes.0 {
        match attr.typ {
            ATTR_MESSAGE_INTEGRITY => {}
            ATTR_FINGERPRINT => had_fingerprint = true,
            ATTR_LIFETIME => {
                out.add(ATTR_LIFETIME, &seconds.to_be_bytes());
                wrote_lifetime = true;
            }
            ATTR_ERROR_CODE => return None,
            typ => out.add(typ, &attr.value),
        }
    }
    if !wrote_lifetime {
        out.add(ATTR_LIFETIME, &seconds.to_be_bytes());
    }
    MessageIntegrity(key.to_vec()).add_to(&mut out).ok()?;
    if had_fingerprint {
        FINGERPRINT.add_to(&mut out).ok()?;
    }
    Some(out.raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::turn::proto::peeraddr::PeerAddress;
    use stun::agent::TransactionId;
    use stun::attributes::ATTR_USERNAME;
    use stun::message::{CLASS_REQUEST, METHOD_ALLOCATE, METHOD_CREATE_PERMISSION};

    fn decoded(bytes: &[u8]) -> Message {
        match classify(bytes) {
            Packet::Stun(m) => *m,
            _ => panic!("not STUN"),
        }
    }

    #[test]
    fn peer_addresses_match_the_turn_crate_encoding() {
        let mut m = Message::new();
        let peers: [SocketAddr; 2] = [
            "198.51.100.7:4242".parse().unwrap_or_else(|e| panic!("{e}")),
            "[2001:db8::9]:80".parse().unwrap_or_else(|e| panic!("{e}")),
        ];
        let setters: Vec<Box<dyn Setter>> = vec![
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(METHOD_CREATE_PERMISSION, CLASS_REQUEST)),
            Box::new(PeerAddress { ip: peers[0].ip(), port: peers[0].port() }),
            Box::new(PeerAddress { ip: peers[1].ip(), port: peers[1].port() }),
        ];
        m.build(&setters).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(peer_addresses(&decoded(&m.raw)), Some(peers.to_vec()));
    }

    #[test]
    fn a_resigned_request_passes_the_integrity_check_with_the_new_lifetime() {
        let key = b"0123456789abcdef".to_vec();
        let mut m = Message::new();
        let setters: Vec<Box<dyn Setter>> = vec![
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
            Box::new(TextAttribute::new(ATTR_USERNAME, "9:alice".into())),
            Box::new(MessageIntegrity(key.clone())),
            Box::new(FINGERPRINT),
        ];
        m.build(&setters).unwrap_or_else(|e| panic!("{e}"));
        let original = decoded(&m.raw);
        assert_eq!(lifetime(&original), None);
        let bytes = with_lifetime(&original, 120, &key).unwrap_or_else(|| panic!("re-signed"));
        let mut again = decoded(&bytes);
        assert_eq!(lifetime(&again), Some(120));
        assert_eq!(text(&again, ATTR_USERNAME).as_deref(), Some("9:alice"));
        MessageIntegrity(key.clone()).check(&mut again).unwrap_or_else(|e| panic!("{e}"));
        assert!(MessageIntegrity(b"another key".to_vec()).check(&mut again).is_err());
        assert!(FINGERPRINT.check(&again).is_ok());
    }

    #[test]
    fn garbage_is_classified_without_panicking() {
        for bytes in [&[][..], &[0u8; 3], &[0x40, 0, 0xff, 0xff, 1], &[0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42]]
        {
            assert!(matches!(classify(bytes), Packet::Garbage), "{bytes:?}");
        }
        assert!(matches!(classify(&[0x40, 0x00, 0x00, 0x02, 7, 7, 0, 0]), Packet::ChannelData));
    }
}
