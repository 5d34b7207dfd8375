//! Room names (native, build tool only): what a valid name is, why a name is refused, and the spellings the
//! templates need (`snake_case` module, `PascalCase` types, `kebab-case` test ids, a title). Shared by
//! `cargo p2p-streams room` and the demo's `cargo xtask new-room`, each with its own reserved names.

use std::fmt;

/// Shortest and longest accepted name, in characters.
pub const LEN: std::ops::RangeInclusive<usize> = 2..=32;

/// Every Rust keyword (strict, reserved and 2018+/2024 ones) plus the weak `union`: none of them can name a
/// module without raw-identifier syntax.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names no app can give a room, with the reason given to the user: crates the generated code uses, and the
/// URL prefixes of Leptos and p2p-streams. Each generator adds its app's own ([`RoomName::parse`]).
pub const ALWAYS_RESERVED: &[(&str, &str)] = &[
    ("api", "`/api/*` serves the server functions"),
    ("pkg", "`/pkg/*` serves the compiled WASM, JS and CSS"),
    ("p2p", "`/p2p/ws` is the signaling WebSocket"),
    ("std", "it would shadow a crate the generated code uses"),
    ("core", "it would shadow a crate the generated code uses"),
    ("alloc", "it would shadow a crate the generated code uses"),
    ("leptos", "it would shadow a crate the generated code uses"),
    ("leptos_router", "it would shadow a crate the generated code uses"),
    ("p2p_streams", "it would shadow a crate the generated code uses"),
    ("serde", "it would shadow a crate the generated code uses"),
    ("serde_json", "it would shadow a crate the generated code uses"),
];

/// Why a name was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum NameError {
    /// Outside [`LEN`].
    Length(usize),
    /// Not lowercase `snake_case` ASCII starting with a letter.
    Shape,
    /// A Rust keyword.
    Keyword,
    /// Taken by the app (with the reason).
    Reserved(&'static str),
}

/// A validated room name, e.g. `team_cursors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomName(String);

/// The error for `name`, as shown to the user.
pub struct Refusal<'a> {
    /// The name given.
    pub name: &'a str,
    /// Why it was refused.
    pub error: NameError,
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name;
        match &self.error {
            NameError::Length(n) => {
                write!(f, "room name `{name}` has {n} characters; it must have {} to {}", LEN.start(), LEN.end())
            }
            NameError::Shape => write!(
                f,
                "room name `{name}` is not lowercase snake_case: use ASCII a-z, 0-9 and single underscores \
                 between words, starting with a letter (e.g. `whiteboard`, `team_cursors`)"
            ),
            NameError::Keyword => write!(f, "room name `{name}` is a Rust keyword and cannot name a module"),
            NameError::Reserved(why) => write!(f, "room name `{name}` is reserved: {why}"),
        }
    }
}

impl RoomName {
    /// Validates `name` (used as given: no trimming or case folding, so what is generated is what was typed),
    /// refusing [`ALWAYS_RESERVED`] and the app's own `reserved` names.
    pub fn parse(name: &str, reserved: &[(&str, &'static str)]) -> Result<RoomName, NameError> {
        let len = name.chars().count();
        if !LEN.contains(&len) {
            return Err(NameError::Length(len));
        }
        let shape_ok = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && name.split('_').all(|word| !word.is_empty());
        if !shape_ok {
            return Err(NameError::Shape);
        }
        if KEYWORDS.contains(&name) {
            return Err(NameError::Keyword);
        }
        if let Some((_, why)) = ALWAYS_RESERVED.iter().chain(reserved).find(|(taken, _)| *taken == name) {
            return Err(NameError::Reserved(why));
        }
        Ok(RoomName(name.to_owned()))
    }

    /// `team_cursors`: module, file, URL segment and session kind.
    pub fn snake(&self) -> &str {
        &self.0
    }

    /// `TeamCursors`: prefix of the generated types and components.
    pub fn pascal(&self) -> String {
        self.0.split('_').map(capitalized).collect()
    }

    /// `team-cursors`: prefix of the room's own `data-testid`s.
    pub fn kebab(&self) -> String {
        self.0.replace('_', "-")
    }

    /// `Team cursors`: the heading shown on the page.
    pub fn title(&self) -> String {
        capitalized(&self.0.replace('_', " "))
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_and_their_spellings() {
        let name = RoomName::parse("team_cursors2", &[]).expect("valid");
        assert_eq!(name.snake(), "team_cursors2");
        assert_eq!(name.pascal(), "TeamCursors2");
        assert_eq!(name.kebab(), "team-cursors2");
        assert_eq!(name.title(), "Team cursors2");
        assert!(RoomName::parse("wb", &[]).is_ok());
        assert!(RoomName::parse(&"a".repeat(32), &[]).is_ok());
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        assert_eq!(RoomName::parse("a", &[]), Err(NameError::Length(1)));
        assert_eq!(RoomName::parse(&"a".repeat(33), &[]), Err(NameError::Length(33)));
        for shape in ["Whiteboard", "white-board", "2d", "_wb", "wb_", "white__board", "wb!", "tableau_é"] {
            assert_eq!(RoomName::parse(shape, &[]), Err(NameError::Shape), "{shape}");
        }
        assert_eq!(RoomName::parse("type", &[]), Err(NameError::Keyword));
        assert_eq!(RoomName::parse("async", &[]), Err(NameError::Keyword));
        assert!(matches!(RoomName::parse("pkg", &[]), Err(NameError::Reserved(_))));
        let app = [("lobby", "the lobby is `/lobby`")];
        assert_eq!(RoomName::parse("lobby", &app), Err(NameError::Reserved("the lobby is `/lobby`")));
        assert!(RoomName::parse("lobby", &[]).is_ok());
        let refusal = Refusal { name: "Chat", error: NameError::Shape };
        assert!(refusal.to_string().contains("snake_case"));
    }
}
