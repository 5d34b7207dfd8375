//! `new-room` for the demo (native, build tool only): the demo's templates (rooms that use its sign-in and
//! shared room parts) and its three `new-room:` markers; planning and all-or-nothing writing are the
//! generators' (`p2p_streams_gen`, the library behind `cargo p2p-streams`), which apps outside this repository use.

use p2p_streams_gen::marker::{declares_module, insert_at_marker, listed_before_marker, render};
use p2p_streams_gen::name::RoomName;
use p2p_streams_gen::plan::{read, GenError, Plan};
use std::path::Path;

/// The generated room component.
const ROOM_TEMPLATE: &str = include_str!("../templates/room.rs.tmpl");
/// The generated Playwright spec.
const SPEC_TEMPLATE: &str = include_str!("../templates/room.spec.ts.tmpl");

/// The module list: `pub mod <name>;` goes above this marker, in alphabetical order.
const MODULES: Marker = Marker { file: "src/rooms/mod.rs", text: "new-room: modules above this line" };
/// The router: `<Route path=(StaticSegment("<name>"), ParamSegment("room")) .../>` goes above this marker.
const ROUTES: Marker = Marker { file: "src/app.rs", text: "new-room: routes above this line" };
/// The demo join policy's `ROOM_KINDS`: `"<name>",` goes right before this marker.
const KINDS: Marker = Marker { file: "src/identity.rs", text: "new-room: kinds above this line" };

/// Names the demo takes, with the reason given to the user.
pub const RESERVED: &[(&str, &str)] = &[
    ("chat", "the demo chat room is `chat`"),
    ("lobby", "the lobby page is `src/rooms/lobby.rs`"),
    ("rooms", "`/rooms/{room}` is the chat room's URL"),
    ("join", "`/join` is the sign-in form's endpoint"),
    ("admin", "`/admin` is the operator's page"),
];

/// A `new-room:` comment in a source file, where one registration line is inserted.
#[derive(Clone, Copy)]
struct Marker {
    /// The file, relative to the repository root.
    file: &'static str,
    /// Text of the comment (after `//` or `/*`).
    text: &'static str,
}

/// Checks `root` and computes every change for room `name`, without writing anything.
pub fn plan(root: &Path, name: &RoomName) -> Result<Plan, GenError> {
    let required = ["Cargo.toml", MODULES.file, ROUTES.file, KINDS.file];
    if !required.iter().all(|file| root.join(file).is_file()) {
        let why = "not a p2p-streams checkout (expected Cargo.toml, src/app.rs, src/identity.rs and src/rooms/mod.rs)";
        return Err(GenError::NotAnApp { root: root.to_path_buf(), why: why.into() });
    }
    let snake = name.snake();
    let mut plan = Plan::new(root);
    plan.create(root.join(format!("src/rooms/{snake}.rs")), render(ROOM_TEMPLATE, name))?;
    plan.create(root.join(format!("end2end/tests/{snake}.spec.ts")), render(SPEC_TEMPLATE, name))?;

    let module = format!("pub mod {snake};");
    let route = format!(
        "<Route path=(StaticSegment(\"{snake}\"), ParamSegment(\"room\")) view=crate::rooms::{snake}::{}Page />",
        name.pascal()
    );
    let kind = format!("\"{snake}\",");
    let is_module = |text: &str| declares_module(text, snake);
    let is_route = |text: &str| text.contains(&format!("StaticSegment(\"{snake}\")"));
    let is_kind = |text: &str| listed_before_marker(text, KINDS.text, &format!("\"{snake}\""));
    edit(&mut plan, root, MODULES, &module, is_module)?;
    edit(&mut plan, root, ROUTES, &route, is_route)?;
    edit(&mut plan, root, KINDS, &kind, is_kind)?;
    Ok(plan)
}

/// Reads `marker.file`, refuses if `registered` says the entry is there, and plans `entry` at the marker.
fn edit(
    plan: &mut Plan,
    root: &Path,
    marker: Marker,
    entry: &str,
    registered: impl Fn(&str) -> bool,
) -> Result<(), GenError> {
    let path = root.join(marker.file);
    let before = read(&path)?;
    if registered(&before) {
        return Err(GenError::Registered { file: marker.file.into(), what: format!("`{entry}`") });
    }
    let sorted = marker.file == MODULES.file;
    let after = insert_at_marker(&before, marker.text, entry, sorted).ok_or_else(|| GenError::MarkerMissing {
        file: marker.file.into(),
        marker: marker.text.into(),
        hint: "put it where `cargo xtask new-room` should register rooms".into(),
    })?;
    plan.edit(path, before, after, format!("{}: {entry}", marker.file));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_leave_no_placeholder() {
        let name = RoomName::parse("team_cursors", RESERVED).expect("valid");
        for template in [ROOM_TEMPLATE, SPEC_TEMPLATE] {
            let out = render(template, &name);
            assert!(!out.contains("{{"), "unfilled placeholder in:\n{out}");
            assert!(out.contains("team_cursors") || out.contains("team-cursors"));
        }
    }
}
