//! Early signaling, shared by both sides. During SSR `<P2pFrame>` renders, with its join ticket, a small inline
//! script (`early_join_script`, server side) that opens the signaling socket and sends `join` while the page's
//! wasm is still downloading; the browser driver (`client::signaling`, hydrate side) takes that socket over, with
//! every frame the server sent meanwhile, instead of opening its own. The host's offer is then usually waiting
//! when the driver starts. A socket the driver cannot use (another ticket or tab nonce) is closed; a frame
//! rendered after client-side navigation gets an empty script, so the driver opens its socket itself. A page
//! whose wasm never starts stays joined until it closes; its host gives up on the offer after `connect_timeout`.

/// sessionStorage key of this tab's nonce (the `tab` of the signaling URL), written by the script or the driver.
pub const TAB_STORAGE_KEY: &str = "p2p-streams:tab";

/// Characters of a fresh tab nonce (a subset of what `token::valid_tab` accepts).
pub const TAB_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a fresh tab nonce.
pub const TAB_LEN: usize = 12;

/// The page global the script stores its sockets in, by session id: `{ ws, tab, token, queue }`.
pub const EARLY_GLOBAL: &str = "__p2pEarly";

/// A ticket this close to its expiry (seconds) is not used early: the driver renews it first.
pub const RENEW_MARGIN_SECS: u64 = 5;

/// The inline script for `ticket` (server side). It does nothing on a page that is already loaded (a frame
/// created by client-side navigation), when the ticket is about to expire, or when sessionStorage or
/// WebSocket are unavailable: the driver then connects as usual.
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub fn early_join_script(ticket: &crate::ticket::JoinTicket) -> String {
    use crate::protocol::{ClientToServer, PROTOCOL_VERSION, SIGNALING_PATH};

    // JSON string literals are JS string literals; `<` is escaped so no value can close the script element.
    let lit = |value: &str| serde_json::to_string(value).unwrap_or_default().replace('<', "\\u003c");
    let join =
        serde_json::to_string(&ClientToServer::Join { version: PROTOCOL_VERSION, lost_host: None }).unwrap_or_default();
    format!(
        "(()=>{{try{{if(document.readyState!==\"loading\"||{expires}<=Date.now()/1e3+{margin})return;\
const s={session},t={token},st=sessionStorage,k={key},a={alphabet};let tab=st.getItem(k)||\"\";\
if(!/^[A-Za-z0-9_-]{{1,32}}$/.test(tab)){{tab=\"\";for(let i=0;i<{len};i++)tab+=a[Math.floor(Math.random()*a.length)];\
st.setItem(k,tab)}}const e=encodeURIComponent,ws=new WebSocket((location.protocol===\"https:\"?\"wss\":\"ws\")+\
\"://\"+location.host+{path}+\"?session=\"+e(s)+\"&token=\"+e(t)+\"&tab=\"+e(tab)),x={{ws,tab,token:t,queue:[]}};\
ws.onopen=()=>ws.send({join});ws.onmessage=m=>x.queue.push(m.data);\
(window[{global}]||(window[{global}]={{}}))[s]=x}}catch(_){{}}}})()",
        expires = ticket.expires_at,
        margin = RENEW_MARGIN_SECS,
        session = lit(&ticket.session_id),
        token = lit(&ticket.token),
        key = lit(TAB_STORAGE_KEY),
        alphabet = lit(TAB_ALPHABET),
        len = TAB_LEN,
        path = lit(SIGNALING_PATH),
        join = lit(&join),
        global = lit(EARLY_GLOBAL),
    )
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::ticket::JoinTicket;

    fn ticket(session_id: &str, token: &str) -> JoinTicket {
        JoinTicket {
            session_id: session_id.into(),
            peer_id: "alice".into(),
            token: token.into(),
            expires_at: 1_795_673_216,
            expires_in_secs: 3600,
            ice_servers: Vec::new(),
        }
    }

    #[test]
    fn script_carries_the_ticket_and_the_join_frame() {
        let script = early_join_script(&ticket("chat_room_r1", "abc.def"));
        assert!(script.contains(r#"const s="chat_room_r1",t="abc.def""#), "{script}");
        assert!(script.contains("1795673216<=Date.now()/1e3+5"), "{script}");
        assert!(script.contains(r#"ws.send("{\"type\":\"join\",\"version\":1}")"#), "{script}");
        assert!(script.contains(r#"+"/p2p/ws"+"#), "{script}");
        assert!(script.contains(r#"window["__p2pEarly"]"#), "{script}");
    }

    #[test]
    fn nothing_can_close_the_script_element() {
        let script = early_join_script(&ticket("</script><b>", "x"));
        assert!(!script.contains("</") && !script.contains("<!--"), "{script}");
        assert!(script.contains(r#"const s="\u003c/script>\u003cb>""#), "{script}");
    }

    #[test]
    fn a_fresh_nonce_is_a_valid_tab() {
        let fresh: String = TAB_ALPHABET.chars().cycle().take(TAB_LEN).collect();
        assert!(crate::token::valid_tab(&fresh));
        assert!(TAB_ALPHABET.chars().all(|c| crate::token::valid_tab(&c.to_string())));
    }
}
