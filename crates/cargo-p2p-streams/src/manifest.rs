//! The app's `Cargo.toml` (native, build tool only): what `install` needs to know about the app (its library
//! crate name, whether it uses Leptos islands) and the dependency and feature entries it adds, edited with
//! `toml_edit` so the developer's formatting and comments survive.

use crate::plan::GenError;
use std::path::Path;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Value};

/// Where `install` takes the library from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// crates.io, this version requirement.
    Version(String),
    /// A local checkout of the library (`crates/p2p-streams`), as written in `Cargo.toml`.
    Path(String),
}

/// The parsed manifest of a Leptos app.
pub struct Manifest {
    /// The document, edited in place.
    doc: DocumentMut,
    /// The app's library crate name (`use <crate>::...` in `main.rs`).
    pub crate_name: String,
    /// Whether `leptos` has the `islands` feature (rooms are then islands).
    pub islands: bool,
}

impl Manifest {
    /// Parses `text`, refusing what is not a cargo-leptos style app: a `[package]`, a `leptos` and an `axum`
    /// dependency, and `ssr` and `hydrate` features.
    pub fn parse(root: &Path, text: &str) -> Result<Manifest, GenError> {
        let not_app = |why: &str| GenError::NotAnApp { root: root.to_path_buf(), why: why.to_owned() };
        let doc: DocumentMut = text.parse().map_err(|err| not_app(&format!("Cargo.toml does not parse: {err}")))?;
        let package = doc.get("package").and_then(|p| p.get("name")).and_then(Item::as_str);
        let package =
            package.ok_or_else(|| not_app("Cargo.toml has no [package] name (run it in the app's package)"))?;
        let lib_name = doc.get("lib").and_then(|lib| lib.get("name")).and_then(Item::as_str);
        let crate_name = lib_name.unwrap_or(package).replace('-', "_");
        let deps = doc.get("dependencies").ok_or_else(|| not_app("Cargo.toml has no [dependencies]"))?;
        let leptos = deps.get("leptos").ok_or_else(|| not_app("this is not a Leptos app (no `leptos` dependency)"))?;
        if deps.get("axum").is_none() {
            return Err(not_app("the p2p-streams server mounts on axum, and this app has no `axum` dependency"));
        }
        for feature in ["ssr", "hydrate"] {
            if !doc.get("features").and_then(|f| f.get(feature)).is_some_and(Item::is_array) {
                return Err(not_app(&format!(
                    "Cargo.toml has no `{feature}` feature (cargo-leptos apps build the server with `ssr` and the \
                     browser with `hydrate`)"
                )));
            }
        }
        let features = leptos.get("features").and_then(Item::as_array);
        let islands = features.is_some_and(|list| list.iter().any(|f| f.as_str() == Some("islands")));
        Ok(Manifest { doc, crate_name, islands })
    }

    /// Adds what the generated code needs, returning what was added and what was already there: the library
    /// (from `source`, without default features), its `ssr` / `hydrate` features in the app's, `leptos_router`
    /// and `serde` (derive).
    pub fn add_dependencies(&mut self, source: &Source) -> (Vec<String>, Vec<String>) {
        let (mut added, mut present) = (Vec::new(), Vec::new());
        let mut library = InlineTable::new();
        match source {
            Source::Version(version) => library.insert("version", version.as_str().into()),
            Source::Path(path) => library.insert("path", path.as_str().into()),
        };
        library.insert("default-features", false.into());
        let leptos_version = self.doc["dependencies"]["leptos"]
            .as_str()
            .or_else(|| self.doc["dependencies"]["leptos"].get("version").and_then(Item::as_str))
            .unwrap_or("0.8")
            .to_owned();
        let mut serde = InlineTable::new();
        serde.insert("version", "1".into());
        serde.insert("features", Value::Array(Array::from_iter(["derive"])));
        let wanted: [(&str, Value); 3] = [
            ("p2p-streams", Value::InlineTable(library)),
            ("leptos_router", leptos_version.into()),
            ("serde", Value::InlineTable(serde)),
        ];
        for (name, spec) in wanted {
            if self.doc["dependencies"].get(name).is_some() {
                present.push(format!("dependency `{name}`"));
            } else {
                self.doc["dependencies"][name] = Item::Value(spec);
                added.push(format!("dependency `{name}`"));
            }
        }
        for feature in ["ssr", "hydrate"] {
            let entry = format!("p2p-streams/{feature}");
            let Some(list) = self.doc["features"][feature].as_array_mut() else { continue };
            if list.iter().any(|f| f.as_str() == Some(entry.as_str())) {
                present.push(format!("feature `{feature}` has \"{entry}\""));
            } else {
                list.push(entry.as_str());
                added.push(format!("\"{entry}\" in feature `{feature}`"));
            }
        }
        (added, present)
    }

    /// The manifest as text.
    pub fn to_text(&self) -> String {
        self.doc.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = r#"[package]
name = "my-app"
version = "0.1.0"

[dependencies]
leptos = { version = "0.8", features = ["islands"] }
axum = { version = "0.8", optional = true }

[features]
# the browser
hydrate = ["leptos/hydrate"]
ssr = [
  "dep:axum",
  "leptos/ssr",
]
"#;

    #[test]
    fn adds_the_library_and_its_features_once_keeping_comments() {
        let root = Path::new("/app");
        let mut manifest = Manifest::parse(root, APP).expect("an app");
        assert_eq!(manifest.crate_name, "my_app");
        assert!(manifest.islands);
        let (added, present) = manifest.add_dependencies(&Source::Path("../p2p-streams".into()));
        assert_eq!(added.len(), 5, "{added:?}");
        assert!(present.is_empty());
        let text = manifest.to_text();
        assert!(text.contains(r#"p2p-streams = { path = "../p2p-streams", default-features = false }"#), "{text}");
        assert!(text.contains(r#"leptos_router = "0.8""#), "{text}");
        assert!(text.contains("# the browser\nhydrate = [\"leptos/hydrate\", \"p2p-streams/hydrate\"]"), "{text}");
        assert!(text.contains("\"p2p-streams/ssr\""), "{text}");

        let mut again = Manifest::parse(root, &text).expect("still an app");
        let (added, present) = again.add_dependencies(&Source::Version("0.1".into()));
        assert!(added.is_empty(), "{added:?}");
        assert_eq!(present.len(), 5);
        assert_eq!(again.to_text(), text);
    }

    #[test]
    fn refuses_what_is_not_a_leptos_app() {
        let root = Path::new("/app");
        let why = |text: &str| Manifest::parse(root, text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(why("[workspace]\nmembers = []\n").contains("no [package] name"));
        assert!(why("[package]\nname = \"x\"\n[dependencies]\nserde = \"1\"\n").contains("not a Leptos app"));
        assert!(why(&APP.replace("axum = {", "tower = {")).contains("no `axum`"));
        assert!(why(&APP.replace("hydrate = [", "csr = [")).contains("no `hydrate` feature"));
        assert!(why("[package\n").contains("does not parse"));
    }
}
