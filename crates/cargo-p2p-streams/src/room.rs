//! `cargo p2p-streams room <name>` (native, build tool only), like `rails g p2p_streams_channel:controller`:
//! `src/p2p/<name>.rs` (a `<P2pFrame>` page at `/<name>/{room}`: typed messages, state, role, peers, a send
//! form, every frame callback stubbed; an island in island apps), `end2end/tests/<name>.spec.ts` (a Playwright
//! spec that passes as generated), and one line at each marker `install` placed: the module and session kind
//! (`src/p2p/mod.rs`) and the route (the app's `<Routes>`). Never overwrites.

use crate::install::{KINDS_MARKER, MODULES_MARKER, ROUTES_MARKER};
use crate::manifest::Manifest;
use crate::marker::{declares_module, insert_at_marker, listed_before_marker, render};
use crate::name::RoomName;
use crate::plan::{first_source_with, read, GenError, Plan};
use std::path::Path;

/// The generated room.
const ROOM_TEMPLATE: &str = include_str!("../templates/room.rs.tmpl");
/// The generated Playwright spec.
const SPEC_TEMPLATE: &str = include_str!("../templates/room.spec.ts.tmpl");

/// Names the layout `install` created takes.
pub const RESERVED: &[(&str, &str)] = &[("server", "`src/p2p/server.rs` is the p2p-streams server")];

/// Plans room `name` in the app at `root`.
pub fn plan(root: &Path, name: &RoomName) -> Result<Plan, GenError> {
    let p2p_mod = root.join("src/p2p/mod.rs");
    let run_install = |why: String| GenError::NotAnApp { root: root.to_path_buf(), why };
    if !p2p_mod.is_file() {
        return Err(run_install("src/p2p/mod.rs is missing: run `cargo p2p-streams install` first".into()));
    }
    let manifest = Manifest::parse(root, &read(&root.join("Cargo.toml"))?)?;
    let snake = name.snake();
    let mut plan = Plan::new(root);
    let component = if manifest.islands { "#[island]" } else { "#[component]" };
    plan.create(
        root.join(format!("src/p2p/{snake}.rs")),
        render(ROOM_TEMPLATE, name).replace("{{component}}", component),
    )?;
    plan.create(root.join(format!("end2end/tests/{snake}.spec.ts")), render(SPEC_TEMPLATE, name))?;

    let module = format!("pub mod {snake};");
    let modules = read(&p2p_mod)?;
    if declares_module(&modules, snake) {
        return Err(GenError::Registered { file: "src/p2p/mod.rs".into(), what: format!("`{module}`") });
    }
    let with_module = at_marker(&modules, MODULES_MARKER, &module, true, "src/p2p/mod.rs")?;
    let kind = format!("\"{snake}\",");
    if listed_before_marker(&with_module, KINDS_MARKER, &format!("\"{snake}\"")) {
        return Err(GenError::Registered { file: "src/p2p/mod.rs".into(), what: format!("the kind `{kind}`") });
    }
    let with_kind = at_marker(&with_module, KINDS_MARKER, &kind, false, "src/p2p/mod.rs")?;
    plan.edit(p2p_mod, modules, with_kind, format!("{module} and kind `\"{snake}\"`"));

    let routes_file = first_source_with(root, ROUTES_MARKER)?.ok_or_else(|| GenError::MarkerMissing {
        file: "src/app.rs".into(),
        marker: ROUTES_MARKER.to_owned(),
        hint: "`cargo p2p-streams install` puts it inside your <Routes> (or add it there by hand)".into(),
    })?;
    let shown = plan.relative(&routes_file);
    let routes = read(&routes_file)?;
    let route = format!(
        "<Route path=leptos_router::path!(\"/{snake}/:room\") view=crate::p2p::{snake}::{}Page />",
        name.pascal()
    );
    if routes.contains(&format!("path!(\"/{snake}/")) {
        return Err(GenError::Registered { file: shown, what: format!("a route at /{snake}/") });
    }
    let with_route = at_marker(&routes, ROUTES_MARKER, &route, false, &shown)?;
    plan.edit(routes_file, routes, with_route, route);
    Ok(plan)
}

/// `text` with `entry` at `marker`, or the error naming `file`.
fn at_marker(text: &str, marker: &str, entry: &str, sorted: bool, file: &str) -> Result<String, GenError> {
    insert_at_marker(text, marker, entry, sorted).ok_or_else(|| GenError::MarkerMissing {
        file: file.to_owned(),
        marker: marker.to_owned(),
        hint: "`cargo p2p-streams install` puts it there (or add it back by hand)".to_owned(),
    })
}
