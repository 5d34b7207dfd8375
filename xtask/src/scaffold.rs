//! `new-room` (native, build tool only): plans every change in memory first (new files from the templates,
//! one line inserted at each `new-room:` marker), refuses before touching anything if a file exists, a name is
//! registered or a marker is missing, then writes (new files with `create_new`, edits through a temporary file
//! and a rename) and undoes what it wrote if a later step fails.

use crate::name::RoomName;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

/// A `new-room:` comment in a source file, where one registration line is inserted.
#[derive(Clone, Copy)]
struct Marker {
    /// The file, relative to the repository root.
    file: &'static str,
    /// Text of the comment (after `//` or `/*`).
    text: &'static str,
}

/// Why nothing (or, after an I/O error and its rollback, nothing lasting) was generated.
#[derive(Debug)]
pub enum ScaffoldError {
    /// `--root` (or the default) is not a p2p-streams checkout.
    NotARepo(PathBuf),
    /// A file the room would create is already there.
    Exists(PathBuf),
    /// The module, route or session kind is already registered.
    Registered { file: &'static str, what: String },
    /// A `new-room:` marker comment is missing.
    MarkerMissing { file: &'static str, marker: &'static str },
    /// A file changed between planning and writing (another tool or person editing it).
    Changed(PathBuf),
    /// Reading or writing failed.
    Io { path: PathBuf, source: io::Error },
}

impl fmt::Display for ScaffoldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScaffoldError::NotARepo(root) => write!(
                f,
                "{} is not a p2p-streams checkout (expected Cargo.toml, src/app.rs, src/identity.rs and \
                 src/rooms/mod.rs); pass --root <dir>",
                root.display()
            ),
            ScaffoldError::Exists(path) => {
                write!(f, "{} already exists; refusing to overwrite it (remove it to generate again)", path.display())
            }
            ScaffoldError::Registered { file, what } => {
                write!(f, "{file} already has {what}; refusing to add it twice")
            }
            ScaffoldError::MarkerMissing { file, marker } => write!(
                f,
                "{file} has no `// {marker}` comment; put it where `cargo xtask new-room` should register rooms"
            ),
            ScaffoldError::Changed(path) => {
                write!(f, "{} changed while the room was being generated; nothing was kept", path.display())
            }
            ScaffoldError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

/// One file the room adds.
struct NewFile {
    /// Where it goes (absolute).
    path: PathBuf,
    /// The filled template.
    text: String,
}

/// One registration inserted into an existing file.
struct Edit {
    /// The file (absolute).
    path: PathBuf,
    /// Its content when planned: writing stops if it changed since.
    before: String,
    /// Its content with the registration inserted.
    after: String,
    /// What was inserted, for the report.
    what: String,
}

/// Everything `new-room` will write, checked and ready.
pub struct Plan {
    /// The checkout, for relative paths in the report.
    root: PathBuf,
    /// Files to create (never overwritten).
    files: Vec<NewFile>,
    /// Registrations to insert.
    edits: Vec<Edit>,
}

/// Checks `root` and computes every change for room `name`, without writing anything.
pub fn plan(root: &Path, name: &RoomName) -> Result<Plan, ScaffoldError> {
    let required = ["Cargo.toml", MODULES.file, ROUTES.file, KINDS.file];
    if !required.iter().all(|file| root.join(file).is_file()) {
        return Err(ScaffoldError::NotARepo(root.to_path_buf()));
    }
    let snake = name.snake();
    let room_file = root.join(format!("src/rooms/{snake}.rs"));
    let spec_file = root.join(format!("end2end/tests/{snake}.spec.ts"));
    for taken in [&room_file, &root.join(format!("src/rooms/{snake}")), &spec_file] {
        if taken.exists() {
            return Err(ScaffoldError::Exists(taken.clone()));
        }
    }

    let module = format!("pub mod {snake};");
    let route = format!(
        "<Route path=(StaticSegment(\"{snake}\"), ParamSegment(\"room\")) view=crate::rooms::{snake}::{}Page />",
        name.pascal()
    );
    let kind = format!("\"{snake}\",");
    let is_module = |text: &str| text.lines().any(|l| l.trim() == module || l.trim() == format!("mod {snake};"));
    let is_route = |text: &str| text.contains(&format!("StaticSegment(\"{snake}\")"));
    let is_kind = |text: &str| listed_before_marker(text, KINDS.text, &format!("\"{snake}\""));
    let edits = vec![
        edit(root, MODULES, &module, is_module)?,
        edit(root, ROUTES, &route, is_route)?,
        edit(root, KINDS, &kind, is_kind)?,
    ];

    let files = vec![
        NewFile { path: room_file, text: render(ROOM_TEMPLATE, name) },
        NewFile { path: spec_file, text: render(SPEC_TEMPLATE, name) },
    ];
    Ok(Plan { root: root.to_path_buf(), files, edits })
}

/// Reads `marker.file`, refuses if `registered` says the entry is there, and inserts `entry` at the marker.
fn edit(root: &Path, marker: Marker, entry: &str, registered: impl Fn(&str) -> bool) -> Result<Edit, ScaffoldError> {
    let path = root.join(marker.file);
    let before = fs::read_to_string(&path).map_err(|source| ScaffoldError::Io { path: path.clone(), source })?;
    if registered(&before) {
        return Err(ScaffoldError::Registered { file: marker.file, what: format!("`{entry}`") });
    }
    let sorted = marker.file == MODULES.file;
    let after = insert_at_marker(&before, marker.text, entry, sorted)
        .ok_or(ScaffoldError::MarkerMissing { file: marker.file, marker: marker.text })?;
    Ok(Edit { path, before, after, what: format!("{}: {entry}", marker.file) })
}

/// Whether `needle` appears in the list that ends at `marker` (from the last `[` before the marker).
fn listed_before_marker(text: &str, marker: &str, needle: &str) -> bool {
    let Some(end) = text.find(marker) else { return false };
    let start = text[..end].rfind('[').unwrap_or(0);
    text[start..end].contains(needle)
}

/// Inserts `entry` at the comment holding `marker`: on its own line above it (same indentation; with `sorted`,
/// moved up past `mod` lines that sort after it) when the comment has a line to itself, else inline right before
/// the comment. `None` when there is no such marker.
pub fn insert_at_marker(text: &str, marker: &str, entry: &str, sorted: bool) -> Option<String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let at = lines.iter().position(|line| line.contains(marker))?;
    let line = lines[at].clone();
    let head = &line[..line.find(marker)?];
    let comment = [head.rfind("//"), head.rfind("/*")].into_iter().flatten().max()?;
    let code = &line[..comment];
    if code.trim().is_empty() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let eol = if line.ends_with("\r\n") { "\r\n" } else { "\n" };
        let mut pos = at;
        while sorted && pos > 0 && module_of(&lines[pos - 1]).is_some_and(|m| Some(m) > module_of(entry)) {
            pos -= 1;
        }
        lines.insert(pos, format!("{indent}{entry}{eol}"));
    } else {
        let gap = if code.ends_with(char::is_whitespace) { "" } else { " " };
        lines[at] = format!("{code}{gap}{entry} {}", &line[comment..]);
    }
    Some(lines.concat())
}

/// `x` in a `pub mod x;` or `mod x;` line.
fn module_of(line: &str) -> Option<&str> {
    let line = line.trim();
    let rest = line.strip_prefix("pub mod ").or_else(|| line.strip_prefix("mod "))?;
    rest.strip_suffix(';')
}

/// Fills a template's `{{name}}`, `{{Name}}`, `{{name-kebab}}` and `{{Title}}`.
pub fn render(template: &str, name: &RoomName) -> String {
    template
        .replace("{{name}}", name.snake())
        .replace("{{Name}}", &name.pascal())
        .replace("{{name-kebab}}", &name.kebab())
        .replace("{{Title}}", &name.title())
}

/// What was undone or is to be undone if a later step fails.
enum Undo {
    /// Delete a file this run created.
    Remove(PathBuf),
    /// Put back a file's content from before this run.
    Restore(PathBuf, String),
}

impl Plan {
    /// Writes the plan. On failure, removes the files it created and restores the files it edited.
    pub fn apply(&self) -> Result<Vec<String>, ScaffoldError> {
        let mut done = Vec::new();
        let result = self.write_all(&mut done);
        if result.is_err() {
            for undo in done.into_iter().rev() {
                // Best effort: the error being reported is the first one.
                let _ = match undo {
                    Undo::Remove(path) => fs::remove_file(path),
                    Undo::Restore(path, text) => fs::write(path, text),
                };
            }
        }
        result
    }

    fn write_all(&self, done: &mut Vec<Undo>) -> Result<Vec<String>, ScaffoldError> {
        let mut report = Vec::new();
        for file in &self.files {
            let io_err = |source| ScaffoldError::Io { path: file.path.clone(), source };
            if let Some(dir) = file.path.parent() {
                fs::create_dir_all(dir).map_err(io_err)?;
            }
            let mut out = match OpenOptions::new().write(true).create_new(true).open(&file.path) {
                Ok(out) => out,
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(ScaffoldError::Exists(file.path.clone()))
                }
                Err(err) => return Err(io_err(err)),
            };
            done.push(Undo::Remove(file.path.clone()));
            out.write_all(file.text.as_bytes()).map_err(io_err)?;
            report.push(format!("created {}", self.relative(&file.path)));
        }
        for edit in &self.edits {
            let io_err = |source| ScaffoldError::Io { path: edit.path.clone(), source };
            if fs::read_to_string(&edit.path).map_err(io_err)? != edit.before {
                return Err(ScaffoldError::Changed(edit.path.clone()));
            }
            let tmp = edit.path.with_extension("new-room.tmp");
            fs::write(&tmp, &edit.after).map_err(io_err)?;
            if let Err(err) = fs::rename(&tmp, &edit.path) {
                let _ = fs::remove_file(&tmp);
                return Err(io_err(err));
            }
            done.push(Undo::Restore(edit.path.clone(), edit.before.clone()));
            report.push(format!("updated {}", edit.what));
        }
        Ok(report)
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_inserted_in_order_above_the_marker() {
        let text = "//! doc\n\npub mod chat;\npub mod lobby;\n// new-room: modules above this line\n";
        let a = insert_at_marker(text, MODULES.text, "pub mod alpha;", true).expect("marker");
        assert_eq!(
            a,
            "//! doc\n\npub mod alpha;\npub mod chat;\npub mod lobby;\n// new-room: modules above this line\n"
        );
        let z = insert_at_marker(text, MODULES.text, "pub mod zeta;", true).expect("marker");
        assert!(z.contains("pub mod lobby;\npub mod zeta;\n// new-room"));
        assert!(insert_at_marker("pub mod chat;\n", MODULES.text, "pub mod x;", true).is_none());
    }

    #[test]
    fn routes_keep_the_marker_indentation() {
        let text = "        <Route a />\r\n        // new-room: routes above this line (added)\r\n";
        let out = insert_at_marker(text, ROUTES.text, "<Route b />", false).expect("marker");
        assert_eq!(
            out,
            "        <Route a />\r\n        <Route b />\r\n        // new-room: routes above this line (added)\r\n"
        );
    }

    #[test]
    fn kinds_are_inserted_inline_or_on_their_own_line() {
        let inline = "const K: &[&str] = &[\"chat_room\", /* new-room: kinds above this line */];\n";
        let out = insert_at_marker(inline, KINDS.text, "\"whiteboard\",", false).expect("marker");
        assert_eq!(
            out,
            "const K: &[&str] = &[\"chat_room\", \"whiteboard\", /* new-room: kinds above this line */];\n"
        );
        assert!(listed_before_marker(&out, KINDS.text, "\"whiteboard\""));
        assert!(!listed_before_marker(&out, KINDS.text, "\"cursors\""));
        let lines = "const K: &[&str] = &[\n    \"chat_room\",\n    // new-room: kinds above this line\n];\n";
        let out = insert_at_marker(lines, KINDS.text, "\"wb\",", false).expect("marker");
        assert!(out.contains("    \"chat_room\",\n    \"wb\",\n    // new-room"));
    }

    #[test]
    fn templates_leave_no_placeholder() {
        let name = RoomName::parse("team_cursors").expect("valid");
        for template in [ROOM_TEMPLATE, SPEC_TEMPLATE] {
            let out = render(template, &name);
            assert!(!out.contains("{{"), "unfilled placeholder in:\n{out}");
            assert!(out.contains("team_cursors") || out.contains("team-cursors"));
        }
    }
}
