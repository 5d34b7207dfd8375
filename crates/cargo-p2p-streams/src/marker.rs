//! Registration lines inserted at marker comments (native, build tool only), e.g. a route above
//! `// p2p-streams: routes above this line`, and template filling. Text edits on purpose: the markers are the
//! contract with the app's code, which stays the developer's to format and move around.

use crate::name::RoomName;

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
pub fn module_of(line: &str) -> Option<&str> {
    let line = line.trim();
    let rest = line.strip_prefix("pub mod ").or_else(|| line.strip_prefix("mod "))?;
    rest.strip_suffix(';')
}

/// Whether `text` declares module `name` (`mod name;` or `pub mod name;`, any visibility prefix).
pub fn declares_module(text: &str, name: &str) -> bool {
    text.lines().filter_map(|l| l.trim().split_once("mod ")).any(|(vis, rest)| {
        (vis.is_empty() || vis.starts_with("pub")) && rest.trim_end().strip_suffix(';') == Some(name)
    })
}

/// Whether `needle` appears in the list that ends at `marker` (from the last `[` before the marker).
pub fn listed_before_marker(text: &str, marker: &str, needle: &str) -> bool {
    let Some(end) = text.find(marker) else { return false };
    let start = text[..end].rfind('[').unwrap_or(0);
    text[start..end].contains(needle)
}

/// Fills a template's `{{name}}`, `{{Name}}`, `{{name-kebab}}` and `{{Title}}`.
pub fn render(template: &str, name: &RoomName) -> String {
    template
        .replace("{{name}}", name.snake())
        .replace("{{Name}}", &name.pascal())
        .replace("{{name-kebab}}", &name.kebab())
        .replace("{{Title}}", &name.title())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULES: &str = "new-room: modules above this line";

    #[test]
    fn modules_are_inserted_in_order_above_the_marker() {
        let text = "//! doc\n\npub mod chat;\npub mod lobby;\n// new-room: modules above this line\n";
        let a = insert_at_marker(text, MODULES, "pub mod alpha;", true).expect("marker");
        assert_eq!(
            a,
            "//! doc\n\npub mod alpha;\npub mod chat;\npub mod lobby;\n// new-room: modules above this line\n"
        );
        let z = insert_at_marker(text, MODULES, "pub mod zeta;", true).expect("marker");
        assert!(z.contains("pub mod lobby;\npub mod zeta;\n// new-room"));
        assert!(insert_at_marker("pub mod chat;\n", MODULES, "pub mod x;", true).is_none());
    }

    #[test]
    fn entries_keep_the_marker_indentation() {
        let text = "        <Route a />\r\n        // routes above this line (added)\r\n";
        let out = insert_at_marker(text, "routes above this line", "<Route b />", false).expect("marker");
        assert_eq!(out, "        <Route a />\r\n        <Route b />\r\n        // routes above this line (added)\r\n");
    }

    #[test]
    fn list_entries_are_inserted_inline_or_on_their_own_line() {
        let marker = "kinds above this line";
        let inline = "const K: &[&str] = &[\"chat_room\", /* kinds above this line */];\n";
        let out = insert_at_marker(inline, marker, "\"whiteboard\",", false).expect("marker");
        assert_eq!(out, "const K: &[&str] = &[\"chat_room\", \"whiteboard\", /* kinds above this line */];\n");
        assert!(listed_before_marker(&out, marker, "\"whiteboard\""));
        assert!(!listed_before_marker(&out, marker, "\"cursors\""));
        let lines = "const K: &[&str] = &[\n    \"chat_room\",\n    // kinds above this line\n];\n";
        let out = insert_at_marker(lines, marker, "\"wb\",", false).expect("marker");
        assert!(out.contains("    \"chat_room\",\n    \"wb\",\n    // kinds"));
    }

    #[test]
    fn module_declarations() {
        let text = "pub mod app;\n#[cfg(feature = \"ssr\")]\npub(crate) mod policy;\nmod p2p;\n// mod old;\n";
        assert!(declares_module(text, "app"));
        assert!(declares_module(text, "policy"));
        assert!(declares_module(text, "p2p"));
        assert!(!declares_module(text, "old"));
        assert!(!declares_module(text, "ap"));
    }
}
