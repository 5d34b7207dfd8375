//! `cargo p2p-streams install` (native, build tool only), like `rails g p2p_streams_channel:install`: adds the
//! library to the app's `Cargo.toml` (dependency and features), creates `src/p2p/` (room kinds, name rules,
//! the `P2pServer` and its join policy), declares `pub mod p2p;` in `src/lib.rs`, puts the routes marker in the
//! app's `<Routes>` and wires `src/main.rs`. Each step already done is reported and skipped, so running it
//! again changes nothing.

use crate::manifest::{Manifest, Source};
use crate::marker::declares_module;
use crate::plan::{first_source_with, read, GenError, Plan};
use crate::wiring::{manual_steps, wire_main, Wiring};
use std::path::Path;

/// `src/p2p/mod.rs`.
const P2P_MOD: &str = include_str!("../templates/p2p_mod.rs.tmpl");
/// `src/p2p/server.rs`.
const P2P_SERVER: &str = include_str!("../templates/p2p_server.rs.tmpl");

/// Where `room` inserts `pub mod <name>;` (in `src/p2p/mod.rs`).
pub const MODULES_MARKER: &str = "p2p-streams: room modules above this line";
/// Where `room` inserts the room's session kind (in `src/p2p/mod.rs`).
pub const KINDS_MARKER: &str = "p2p-streams: room kinds above this line";
/// Where `room` inserts the room's `<Route>` (in the app's `<Routes>`).
pub const ROUTES_MARKER: &str = "p2p-streams: routes above this line";

/// The result of planning: the plan, and by-hand steps to print when `main.rs` was not recognized.
pub struct Install {
    /// What will be written.
    pub plan: Plan,
    /// Lines to add to `src/main.rs` by hand, with the reason, when its shape was not recognized.
    pub manual: Option<(String, String)>,
}

/// Plans the install into the app at `root`, taking the library from `source`.
pub fn plan(root: &Path, source: &Source) -> Result<Install, GenError> {
    let not_app = |why: &str| GenError::NotAnApp { root: root.to_path_buf(), why: why.to_owned() };
    let cargo_toml = root.join("Cargo.toml");
    let lib_rs = root.join("src/lib.rs");
    let main_rs = root.join("src/main.rs");
    if !cargo_toml.is_file() || !lib_rs.is_file() || !main_rs.is_file() {
        return Err(not_app("expected Cargo.toml, src/lib.rs and src/main.rs (a cargo-leptos app with axum)"));
    }
    let mut plan = Plan::new(root);

    let before = read(&cargo_toml)?;
    let mut manifest = Manifest::parse(root, &before)?;
    let (added, present) = manifest.add_dependencies(source);
    plan.skipped.extend(present.into_iter().map(|p| format!("Cargo.toml: {p}")));
    plan.edit(cargo_toml, before, manifest.to_text(), added.join(", "));

    let p2p_mod = root.join("src/p2p/mod.rs");
    if p2p_mod.is_file() && read(&p2p_mod)?.contains(MODULES_MARKER) {
        plan.skipped.push("src/p2p/ (room kinds, server, join policy)".into());
    } else {
        plan.create(p2p_mod, P2P_MOD.to_owned())?;
        plan.create(root.join("src/p2p/server.rs"), P2P_SERVER.to_owned())?;
    }

    let lib = read(&lib_rs)?;
    if declares_module(&lib, "p2p") {
        plan.skipped.push("src/lib.rs: `pub mod p2p;`".into());
    } else {
        plan.edit(lib_rs, lib.clone(), declare_module(&lib, "p2p"), "`pub mod p2p;`".into());
    }

    let Some(routes_file) = first_source_with(root, "</Routes>")? else {
        return Err(not_app("no `<Routes>` in src/ (the rooms are routes of leptos_router)"));
    };
    let routes = read(&routes_file)?;
    let shown = plan.relative(&routes_file);
    if routes.contains(ROUTES_MARKER) {
        plan.skipped.push(format!("{shown}: the routes marker"));
    } else {
        let Some(after) = insert_routes_marker(&routes) else {
            return Err(not_app(&format!("{shown} has no `</Routes>` line to put the routes marker above")));
        };
        plan.edit(routes_file, routes, after, format!("`// {ROUTES_MARKER}` in <Routes>"));
    }

    let main = read(&main_rs)?;
    let mut manual = None;
    match wire_main(&main, &manifest.crate_name) {
        Wiring::AlreadyWired => plan.skipped.push("src/main.rs: a P2pServer is wired".into()),
        Wiring::Edited(after, changes) => plan.edit(main_rs, main, after, changes.join(", ")),
        Wiring::Unrecognized(why) => manual = Some((why.to_owned(), manual_steps(&manifest.crate_name))),
    }
    Ok(Install { plan, manual })
}

/// `text` with the routes marker on its own line above the first `</Routes>`, indented one level deeper.
fn insert_routes_marker(text: &str) -> Option<String> {
    let at = text.find("</Routes>")?;
    let line_start = text[..at].rfind('\n').map_or(0, |nl| nl + 1);
    let indent = &text[line_start..at];
    if !indent.trim().is_empty() {
        // `<Routes ...>...</Routes>` on one line: put the marker before the closing tag.
        return Some(format!("{}\n{indent}// {ROUTES_MARKER}\n{}", &text[..at], &text[at..]));
    }
    Some(format!("{}{indent}    // {ROUTES_MARKER}\n{}", &text[..line_start], &text[line_start..]))
}

/// `text` (a `lib.rs`) declaring `pub mod <name>;` after its last top-level module declaration, or after the
/// leading `//!` docs and attributes when it has none.
fn declare_module(text: &str, name: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let last_mod = lines
        .iter()
        .rposition(|l| !l.starts_with([' ', '\t', '/']) && l.contains("mod ") && l.trim_end().ends_with(';'));
    let at = match last_mod {
        Some(i) => i + 1,
        None => lines
            .iter()
            .position(|l| !(l.starts_with("//!") || l.starts_with("#!") || l.trim().is_empty()))
            .unwrap_or(lines.len()),
    };
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    if at == lines.len() && !text.is_empty() && !text.ends_with('\n') {
        out.push(eol.to_owned());
    }
    out.insert(at, format!("pub mod {name};{eol}"));
    out.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_marker_goes_above_the_closing_tag() {
        let app = "        <Routes fallback=|| \"x\">\n            <Route path=path!(\"/\") view=Home />\n        </Routes>\n";
        let out = insert_routes_marker(app).expect("has Routes");
        assert!(
            out.contains("view=Home />\n            // p2p-streams: routes above this line\n        </Routes>"),
            "{out}"
        );
        let inline = "view! { <Routes fallback=|| ()><Route path=path!(\"/\") view=Home /></Routes> }";
        assert!(insert_routes_marker(inline).expect("has Routes").contains("// p2p-streams: routes above this line\n"));
        assert!(insert_routes_marker("no routes here").is_none());
    }

    #[test]
    fn module_goes_after_the_last_declaration() {
        let lib = "//! docs\n\npub mod app;\n#[cfg(feature = \"ssr\")]\npub mod policy;\n\npub fn hydrate() {}\n";
        assert_eq!(
            declare_module(lib, "p2p"),
            "//! docs\n\npub mod app;\n#[cfg(feature = \"ssr\")]\npub mod policy;\npub mod p2p;\n\npub fn hydrate() {}\n"
        );
        assert_eq!(
            declare_module("//! docs\n#![allow(x)]\n\nfn a() {}\n", "p2p"),
            "//! docs\n#![allow(x)]\n\npub mod p2p;\nfn a() {}\n"
        );
        assert_eq!(declare_module("", "p2p"), "pub mod p2p;\n");
    }
}
