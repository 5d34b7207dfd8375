//! How a link is connected (`hydrate` only): `getStats()` on its RTCPeerConnection, the few fields of the
//! transport, candidate-pair and candidate rows read with `Reflect` (the report is a JS `Map` of id to
//! stats), and the route chosen from them by `crate::stats`. Nothing here panics: a browser that answers
//! something unexpected gives an error, which the caller reports as a warning.

use crate::protocol::Route;
use crate::stats::{selected_route, StatsRow};
use js_sys::Reflect;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

/// The rows `selected_route` reads; every other row is skipped without reading its fields.
const KINDS: [&str; 4] = ["transport", "candidate-pair", "local-candidate", "remote-candidate"];

/// The route of `pc`'s selected candidate pair, `Ok(None)` while none is selected.
///
/// # Errors
/// `getStats()` failed (the connection is closed) or its report is not an iterable map.
pub(crate) async fn measure(pc: &RtcPeerConnection) -> Result<Option<Route>, JsValue> {
    let report = JsFuture::from(pc.get_stats()).await?;
    let entries = js_sys::try_iter(&report)?.ok_or_else(|| JsValue::from_str("the stats report is not iterable"))?;
    let mut rows = Vec::new();
    for entry in entries {
        // Each entry of a Map is `[id, stats]`.
        let stats = Reflect::get_u32(&entry?, 1)?;
        let kind = text(&stats, "type")?.unwrap_or_default();
        if KINDS.contains(&kind.as_str()) {
            rows.push(StatsRow {
                id: text(&stats, "id")?.unwrap_or_default(),
                kind,
                selected_pair: text(&stats, "selectedCandidatePairId")?,
                local: text(&stats, "localCandidateId")?,
                remote: text(&stats, "remoteCandidateId")?,
                nominated: flag(&stats, "nominated")?,
                selected: flag(&stats, "selected")?,
                state: text(&stats, "state")?,
                candidate_type: text(&stats, "candidateType")?,
            });
        }
    }
    Ok(selected_route(&rows))
}

/// A string field, `None` when absent or of another type.
fn text(stats: &JsValue, name: &str) -> Result<Option<String>, JsValue> {
    Ok(Reflect::get(stats, &JsValue::from_str(name))?.as_string())
}

/// A boolean field, false when absent or of another type.
fn flag(stats: &JsValue, name: &str) -> Result<bool, JsValue> {
    Ok(Reflect::get(stats, &JsValue::from_str(name))?.as_bool() == Some(true))
}
