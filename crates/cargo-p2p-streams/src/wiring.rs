//! `install`'s edit of the app's `src/main.rs` (native, build tool only), for the shape cargo-leptos's axum
//! templates generate: `let p2p = <crate>::p2p::server();` before the router, `leptos_routes` becomes
//! `leptos_routes_with_context` with `p2p.leptos_context()`, `.merge(p2p.router())` ends the router, and the
//! service gets the client's address (the per-address connection limit). Anything else is not guessed at: the
//! caller prints the lines to add by hand.

/// The outcome for one `main.rs`.
#[derive(Debug, PartialEq, Eq)]
pub enum Wiring {
    /// It already builds a `P2pServer` or mounts its context: left alone.
    AlreadyWired,
    /// The edited text, and what changed.
    Edited(String, Vec<&'static str>),
    /// The shape was not recognized: why, for the by-hand instructions.
    Unrecognized(&'static str),
}

/// What to add by hand when [`Wiring::Unrecognized`].
pub fn manual_steps(crate_name: &str) -> String {
    format!(
        "  let p2p = {crate_name}::p2p::server();\n  \
         // then mount its context when rendering and its routes:\n  \
         Router::new()\n      \
         .leptos_routes_with_context(&leptos_options, routes, p2p.leptos_context(), /* your shell */)\n      \
         // ...\n      \
         .merge(p2p.router())\n  \
         // and serve with the client's address (per-address limit):\n  \
         app.into_make_service_with_connect_info::<std::net::SocketAddr>()"
    )
}

/// Wires the p2p-streams server into `text` (a `main.rs`), see the module doc.
pub fn wire_main(text: &str, crate_name: &str) -> Wiring {
    if text.contains("P2pServer") || text.contains("leptos_context()") || text.contains("::p2p::server()") {
        return Wiring::AlreadyWired;
    }
    let Some(call) = text.find(".leptos_routes(") else {
        return Wiring::Unrecognized("no `.leptos_routes(` call");
    };
    let open = call + ".leptos_routes".len();
    let Some(commas) = top_level_commas(text, open) else {
        return Wiring::Unrecognized("the `.leptos_routes(` call does not close");
    };
    let Some(&second) = commas.get(1) else {
        return Wiring::Unrecognized("`.leptos_routes(` has fewer than three arguments");
    };
    let Some(router) = text[..call].rfind("Router::new()") else {
        return Wiring::Unrecognized("no `Router::new()` before `.leptos_routes(`");
    };
    let statement = text[..router].rfind('\n').map_or(0, |nl| nl + 1);
    let line = &text[statement..];
    if !line.trim_start().starts_with("let ") {
        return Wiring::Unrecognized("`Router::new()` does not start a `let` statement");
    }
    let indent = &line[..line.len() - line.trim_start().len()];
    let Some(end) = statement_end(text, router) else {
        return Wiring::Unrecognized("the router's `let` statement does not end");
    };

    let mut out = String::with_capacity(text.len() + 300);
    out.push_str(&text[..statement]);
    out.push_str(&format!("{indent}// p2p-streams: the signaling route and the context its <P2pFrame>s render with\n"));
    out.push_str(&format!("{indent}let p2p = {crate_name}::p2p::server();\n"));
    out.push_str(&text[statement..call]);
    out.push_str(".leptos_routes_with_context");
    out.push_str(&text[open..=second]);
    out.push_str(" p2p.leptos_context(),");
    out.push_str(&text[second + 1..end]);
    out.push_str(&format!("\n{indent}    .merge(p2p.router())"));
    let rest = &text[end..];
    let mut changes = vec!["`let p2p = ...::p2p::server();`", "leptos_routes_with_context", ".merge(p2p.router())"];
    const PLAIN: &str = ".into_make_service()";
    match rest.find(PLAIN) {
        Some(at) => {
            out.push_str(&rest[..at]);
            out.push_str(".into_make_service_with_connect_info::<std::net::SocketAddr>()");
            out.push_str(&rest[at + PLAIN.len()..]);
            changes.push("into_make_service_with_connect_info");
        }
        None => out.push_str(rest),
    }
    Wiring::Edited(out, changes)
}

/// Positions of the commas at depth 1 of the parenthesized list opening at `open` (a `(`), or `None` when it
/// never closes. Skips string literals and `//` comments.
fn top_level_commas(text: &str, open: usize) -> Option<Vec<usize>> {
    let mut commas = Vec::new();
    let mut depth = 0usize;
    let mut found = None;
    scan(text, open, |at, byte| {
        match byte {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    found = Some(at);
                    return true;
                }
            }
            b',' if depth == 1 => commas.push(at),
            _ => {}
        }
        false
    });
    found.map(|_| commas)
}

/// Position of the `;` ending the statement that contains `from`, at bracket depth 0.
fn statement_end(text: &str, from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut found = None;
    scan(text, from, |at, byte| {
        match byte {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => {
                found = Some(at);
                return true;
            }
            _ => {}
        }
        false
    });
    found
}

/// Calls `visit` with each code byte of `text` from `from` (string literal contents and `//` comments
/// skipped) until it returns true.
fn scan(text: &str, from: usize, mut visit: impl FnMut(usize, u8) -> bool) {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            byte => {
                if visit(at, byte) {
                    return;
                }
            }
        }
        at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `src/main.rs` as cargo-leptos's start-axum template (Leptos 0.8) writes it.
    const TEMPLATE_MAIN: &str = include_str!("../tests/fixtures/start_axum_main.rs");

    #[test]
    fn wires_the_template_main() {
        let Wiring::Edited(out, changes) = wire_main(TEMPLATE_MAIN, "hello_room") else { panic!("not recognized") };
        assert_eq!(changes.len(), 4);
        assert!(out.contains("    let p2p = hello_room::p2p::server();\n    let app = Router::new()"), "{out}");
        assert!(out.contains(".leptos_routes_with_context(&leptos_options, routes, p2p.leptos_context(), {"), "{out}");
        assert!(out.contains(".with_state(leptos_options)\n        .merge(p2p.router());"), "{out}");
        assert!(out.contains("app.into_make_service_with_connect_info::<std::net::SocketAddr>()"), "{out}");
        assert_eq!(wire_main(&out, "hello_room"), Wiring::AlreadyWired);
    }

    #[test]
    fn does_not_guess_at_other_shapes() {
        let no_routes = "fn main() { let app = Router::new().route(\"/\", get(x)); }";
        assert!(matches!(wire_main(no_routes, "a"), Wiring::Unrecognized(_)));
        let unclosed = "let app = Router::new().leptos_routes(&o, r, App";
        assert!(matches!(wire_main(unclosed, "a"), Wiring::Unrecognized(_)));
        let tricky = "    let app = Router::new()\n        .leptos_routes(&o, routes, || view! { <p>\"a, (b\"</p> }) // x ( ,\n        ;\n";
        let Wiring::Edited(out, _) = wire_main(tricky, "a") else { panic!("not recognized") };
        assert!(out.contains(".leptos_routes_with_context(&o, routes, p2p.leptos_context(), || view!"), "{out}");
        assert!(out.contains("        .merge(p2p.router());"), "{out}");
    }
}
