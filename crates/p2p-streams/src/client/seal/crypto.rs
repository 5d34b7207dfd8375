//! WebCrypto for sealed history (`hydrate` only): ECDSA P-256 / SHA-256 keys, seals and checks through
//! `crypto.subtle`, and [`Verified`], the answers it gave, which the pure delivery engine reads through
//! `SealCheck`. Public keys are imported once per key and kept ([`Keys`]). Plain `Vec`s rather than hash
//! sets, and no future combinators: every generic instantiation is room-page wasm, and these lists are short.

use crate::delivery::{Bytes, Entry, EpochCert, SealCheck};
use crate::protocol::PeerId;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, EcKeyImportParams, EcdsaParams, SubtleCrypto};

/// Whether this page has WebCrypto's `crypto.subtle`: only secure contexts (HTTPS, localhost) do.
pub(crate) fn available() -> bool {
    web_sys::window().is_some_and(|w| w.is_secure_context())
}

/// The check of a page without WebCrypto: it cannot check anything, so it takes everything (as before
/// sealing existed); `delivery::seal` and docs/reliability.md say so.
pub(crate) struct Unchecked;

impl SealCheck for Unchecked {
    fn cert_valid(&self, _: &EpochCert) -> bool {
        true
    }

    fn entry_valid(&self, _: &Entry, _: &EpochCert) -> bool {
        true
    }
}

fn subtle() -> Result<SubtleCrypto, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    Ok(window.crypto()?.subtle())
}

fn p256() -> EcKeyImportParams {
    let params = EcKeyImportParams::new("ECDSA");
    params.set_named_curve("P-256");
    params
}

fn ecdsa() -> EcdsaParams {
    EcdsaParams::new_with_str("ECDSA", "SHA-256")
}

async fn import(format: &str, data: &[u8], usage: &str) -> Result<CryptoKey, JsValue> {
    let data = js_sys::Uint8Array::from(data);
    let usages = js_sys::Array::of1(&JsValue::from_str(usage));
    let promise = subtle()?.import_key_with_object(format, &data, &p256(), false, &usages)?;
    JsFuture::from(promise).await?.dyn_into()
}

/// An epoch's private key (PKCS#8 DER, from the server's grant), for sealing.
pub(crate) async fn import_secret(pkcs8: &[u8]) -> Result<CryptoKey, JsValue> {
    import("pkcs8", pkcs8, "sign").await
}

/// The seal of `message` with `key`: ECDSA P-256 / SHA-256, r || s (the form `p256` reads too). The
/// signing starts at once (WebCrypto works in parallel); the future only waits for it.
pub(crate) fn sign(key: &CryptoKey, message: &[u8]) -> impl std::future::Future<Output = Result<Bytes, JsValue>> {
    let promise = subtle().and_then(|s| s.sign_with_object_and_u8_array(&ecdsa(), key, message));
    async move {
        let buffer = JsFuture::from(promise?).await?;
        Ok(Bytes(js_sys::Uint8Array::new(&buffer).to_vec()))
    }
}

/// A started check of `sig` over `message` under `key`: WebCrypto works on it at once, the answer is
/// awaited later, so that many run in parallel.
pub(crate) struct Pending(Option<JsFuture>);

impl Pending {
    /// Starts the check (a check that cannot start answers `false`).
    pub(crate) fn start(key: &CryptoKey, message: &[u8], sig: &[u8]) -> Pending {
        let verify = |s: SubtleCrypto| s.verify_with_object_and_u8_array_and_u8_array(&ecdsa(), key, sig, message);
        Pending(subtle().and_then(verify).ok().map(JsFuture::from))
    }

    /// A check that fails (no key to check with).
    pub(crate) fn failed() -> Pending {
        Pending(None)
    }

    /// Whether the seal verified.
    pub(crate) async fn verified(self) -> bool {
        let Some(future) = self.0 else { return false };
        future.await.is_ok_and(|ok| ok.as_bool() == Some(true))
    }
}

/// One imported public key with its raw bytes.
type Imported = (Vec<u8>, CryptoKey);

/// Imported public keys (raw SEC1 points): the authority's and each epoch's.
#[derive(Clone, Default)]
pub(crate) struct Keys(Rc<RefCell<Vec<Imported>>>);

impl Keys {
    /// The public key `raw`, imported on first use.
    pub(crate) async fn public(&self, raw: &[u8]) -> Option<CryptoKey> {
        let known = self.0.borrow().iter().find(|(bytes, _)| bytes == raw).map(|(_, key)| key.clone());
        if known.is_some() {
            return known;
        }
        let key = import("raw", raw, "verify").await.ok()?;
        self.0.borrow_mut().push((raw.to_vec(), key.clone()));
        Some(key)
    }
}

/// One entry checked under one certificate: its position, id, seal and the certificate's key.
type Checked = (u64, u64, PeerId, u64, Vec<u8>, Vec<u8>);

fn checked(entry: &Entry, cert: &EpochCert) -> Option<Checked> {
    let sig = entry.sig.as_ref()?.0.clone();
    Some((entry.epoch, entry.index, entry.from.clone(), entry.seq, sig, cert.key.0.clone()))
}

/// What WebCrypto found valid, asked before the engine runs (it asks the same questions, synchronously).
#[derive(Default)]
pub(crate) struct Verified {
    certs: Vec<EpochCert>,
    entries: Vec<Checked>,
}

impl Verified {
    /// Records that `cert` was issued by the session's authority.
    pub(crate) fn cert_ok(&mut self, cert: EpochCert) {
        self.certs.push(cert);
    }

    /// Records that `entry`'s seal verifies under `cert`.
    pub(crate) fn entry_ok(&mut self, entry: &Entry, cert: &EpochCert) {
        self.entries.extend(checked(entry, cert));
    }
}

impl SealCheck for Verified {
    fn cert_valid(&self, cert: &EpochCert) -> bool {
        self.certs.contains(cert)
    }

    fn entry_valid(&self, entry: &Entry, cert: &EpochCert) -> bool {
        checked(entry, cert).is_some_and(|key| self.entries.contains(&key))
    }
}
