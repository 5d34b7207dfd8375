//! `cargo p2p-streams install` and `room` end to end (native), in a copy of the example app
//! (examples/hello-room) turned back into an app without p2p-streams: its `main.rs` replaced by cargo-leptos's
//! start-axum one, its own join policy and the library's dependency and features removed. The test installs,
//! checks the wiring and that a second install changes nothing, generates a room, checks the files and that
//! refused runs change nothing, and builds the result for both sides with `cargo leptos build` (as a developer
//! would). With `P2P_GENERATED_APP=<dir>` the generated app is kept there (scripts/test-example.sh then serves
//! it and runs the generated Playwright spec).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

mod support;
use support::child_cargo;

/// The room the test generates.
const ROOM: &str = "team_notes";
/// Not copied from the example, at any depth: build output and installed packages.
const SKIPPED: &[&str] = &["target", "node_modules", "test-results"];

fn repo_root() -> PathBuf {
    let manifest =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or(PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.join("../..").canonicalize().expect("the repository")
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
        for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
            let entry = entry.expect("directory entry");
            if !SKIPPED.iter().any(|skip| entry.file_name() == *skip) {
                copy_tree(&entry.path(), &to.join(entry.file_name()));
            }
        }
    } else {
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// The app directory: `P2P_GENERATED_APP` (kept) or a temporary one (removed when dropped).
struct App {
    root: PathBuf,
    keep: bool,
}

impl Drop for App {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

fn text(root: &Path, file: &str) -> String {
    fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

fn write(root: &Path, file: &str, content: &str) {
    fs::write(root.join(file), content).unwrap_or_else(|e| panic!("write {file}: {e}"));
}

/// A copy of the example app without p2p-streams: the "before" of a developer's app. `keep_env` names the
/// variable that, when set, says where to keep it.
fn plain_app(name: &str, keep_env: Option<&str>) -> App {
    let (root, keep) = match keep_env.and_then(std::env::var_os) {
        Some(dir) => (PathBuf::from(dir), true),
        None => (std::env::temp_dir().join(format!("p2p-streams-{name}-{}", std::process::id())), false),
    };
    let _ = fs::remove_dir_all(&root);
    let app = App { root, keep };
    copy_tree(&repo_root().join("examples/hello-room"), &app.root);
    let root = app.root.as_path();
    write(root, "src/main.rs", include_str!("fixtures/start_axum_main.rs"));
    fs::remove_file(root.join("src/policy.rs")).expect("the example has a policy");
    let lib = text(root, "src/lib.rs").replace("#[cfg(feature = \"ssr\")]\npub mod policy;\n", "");
    write(root, "src/lib.rs", &lib);
    let manifest: String = text(root, "Cargo.toml")
        .lines()
        .filter(|line| !line.starts_with("p2p-streams ="))
        .map(|line| line.replace("\"p2p-streams/hydrate\", ", "").replace("\"p2p-streams/ssr\", ", "") + "\n")
        .collect();
    let uses_library = manifest.lines().any(|l| !l.starts_with('#') && l.contains("p2p-streams"));
    assert!(!uses_library, "the fixture still depends on the library:\n{manifest}");
    write(root, "Cargo.toml", &manifest);
    app
}

fn generator(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-p2p-streams"))
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .expect("the generator runs")
}

fn output(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every file under `src/`, `end2end/tests/` and `Cargo.toml`, with its content.
fn snapshot(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files = vec![(root.join("Cargo.toml"), text(root, "Cargo.toml"))];
    let mut pending = vec![root.join("src"), root.join("end2end/tests")];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("list directory") {
            let path = entry.expect("directory entry").path();
            match fs::read_to_string(&path) {
                _ if path.is_dir() => pending.push(path),
                Ok(content) => files.push((path, content)),
                Err(e) => panic!("read {}: {e}", path.display()),
            }
        }
    }
    files.sort();
    files
}

fn assert_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed:\n{}", output(out));
}

#[test]
fn installs_generates_a_room_and_builds_both_sides() {
    let app = plain_app("generate", Some("P2P_GENERATED_APP"));
    let root = app.root.as_path();
    let library = repo_root().join("crates/p2p-streams");
    let started = Instant::now();

    let not_yet = generator(root, &["room", ROOM]);
    assert_eq!(not_yet.status.code(), Some(1));
    assert!(output(&not_yet).contains("run `cargo p2p-streams install` first"), "{}", output(&not_yet));

    let install = generator(root, &["install", "--path", library.to_str().expect("UTF-8 path")]);
    assert_ok(&install, "install");
    let manifest = text(root, "Cargo.toml");
    assert!(manifest.contains("p2p-streams = { path = "), "{manifest}");
    assert!(manifest.contains("\"p2p-streams/ssr\"") && manifest.contains("\"p2p-streams/hydrate\""), "{manifest}");
    assert!(text(root, "src/lib.rs").contains("pub mod p2p;\n"));
    let main = text(root, "src/main.rs");
    for wired in [
        "let p2p = hello_room::p2p::server();",
        ".leptos_routes_with_context(&leptos_options, routes, p2p.leptos_context(), {",
        ".merge(p2p.router());",
        "into_make_service_with_connect_info::<std::net::SocketAddr>()",
    ] {
        assert!(main.contains(wired), "main.rs lacks `{wired}`:\n{main}");
    }
    assert!(text(root, "src/app.rs").contains("    // p2p-streams: routes above this line\n"));
    assert!(text(root, "src/p2p/server.rs").contains("impl JoinPolicy for RoomPolicy"));

    let installed = snapshot(root);
    let again = generator(root, &["install", "--path", library.to_str().expect("UTF-8 path")]);
    assert_ok(&again, "a second install");
    assert!(!output(&again).contains("updated") && !output(&again).contains("created"), "{}", output(&again));
    assert_eq!(snapshot(root), installed, "a second install changed files");

    let room = generator(root, &["room", ROOM]);
    assert_ok(&room, "room");
    let component = text(root, "src/p2p/team_notes.rs");
    for expected in ["pub enum TeamNotesMessage", "pub fn TeamNotesPage()", "#[component]\nfn TeamNotes(", "<P2pFrame"]
    {
        assert!(component.contains(expected), "the room lacks `{expected}`");
    }
    assert!(!component.contains("crate::") || !component.contains("identity"), "the room reaches into the demo");
    let modules = text(root, "src/p2p/mod.rs");
    assert!(modules.contains("pub mod team_notes;\n") && modules.contains("    \"team_notes\",\n"), "{modules}");
    let route = "<Route path=leptos_router::path!(\"/team_notes/:room\") view=crate::p2p::team_notes::TeamNotesPage />";
    assert!(text(root, "src/app.rs").contains(route), "route not registered");
    assert!(text(root, "end2end/tests/team_notes.spec.ts").contains("/team_notes/${room}?name=${name}"));

    let generated = snapshot(root);
    let twice = generator(root, &["room", ROOM]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(output(&twice).contains("refusing to overwrite"), "{}", output(&twice));
    for (bad, why) in [("Notes", "snake_case"), ("server", "reserved"), ("pkg", "reserved"), ("fn", "keyword")] {
        let out = generator(root, &["room", bad]);
        assert_eq!(out.status.code(), Some(1), "`{bad}` should be refused");
        assert!(output(&out).contains(why), "`{bad}`: expected `{why}` in {}", output(&out));
    }
    assert_eq!(snapshot(root), generated, "a refused run changed files");
    eprintln!("generator runs took {:.1?}", started.elapsed());

    // What the generator wrote is formatted as `cargo fmt` would with default settings (the app has no
    // rustfmt.toml; an empty one stops rustfmt from finding this repository's when the app is kept inside it).
    let defaults = root.join("target/rustfmt-defaults.toml");
    fs::create_dir_all(root.join("target")).expect("mkdir target");
    write(root, "target/rustfmt-defaults.toml", "");
    let rustfmt = Command::new("rustfmt")
        .args(["--check", "--edition", "2021", "--config-path"])
        .arg(&defaults)
        .args(["src/p2p/mod.rs", "src/p2p/server.rs", "src/p2p/team_notes.rs"])
        .current_dir(root)
        .output()
        .expect("rustfmt runs");
    assert_ok(&rustfmt, "rustfmt --check of the generated files");

    // Both sides, the way the developer builds: the server binary (ssr) and the browser's wasm (hydrate).
    cargo(root, &["leptos", "build"]);
    assert!(root.join("target/site/pkg/hello-room.wasm").is_file(), "no wasm in the site");
}

/// Runs `cargo <args>` in the app at `root`, in the shared target directory with the example's output name
/// (scripts/test-example.sh: the example's dependencies, already built), and fails on an error or on a warning
/// in the generated code.
fn cargo(root: &Path, args: &[&str]) {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME or CARGO_TARGET_DIR")).join(".cache/p2p-streams/target")
    });
    let started = Instant::now();
    let build = child_cargo()
        .args(args)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target)
        .env("LEPTOS_OUTPUT_NAME", "hello-room")
        .output()
        .expect("cargo runs (scripts/setup.sh installs cargo-leptos)");
    eprintln!("cargo {} took {:.1?}", args.join(" "), started.elapsed());
    let log = output(&build);
    assert!(build.status.success(), "cargo {} failed:\n{log}", args.join(" "));
    let ours: Vec<&str> = log.lines().filter(|l| l.contains("warning") && l.contains("src/p2p/")).collect();
    assert!(ours.is_empty(), "the generated code has warnings:\n{}", ours.join("\n"));
}

/// In an island app (Leptos's `islands` feature on) the room is an `#[island]`, and it compiles for both sides.
#[test]
fn in_an_island_app_the_room_is_an_island() {
    let app = plain_app("islands", None);
    let root = app.root.as_path();
    let manifest = text(root, "Cargo.toml")
        .replace("leptos = { version = \"0.8\" }", "leptos = { version = \"0.8\", features = [\"islands\"] }");
    assert!(manifest.contains("\"islands\""), "the fixture's leptos line changed:\n{manifest}");
    write(root, "Cargo.toml", &manifest);
    let lib =
        text(root, "src/lib.rs").replace("leptos::mount::hydrate_body(app::App)", "leptos::mount::hydrate_islands()");
    write(root, "src/lib.rs", &lib);
    let library = repo_root().join("crates/p2p-streams");
    assert_ok(&generator(root, &["install", "--path", library.to_str().expect("UTF-8 path")]), "install");
    assert_ok(&generator(root, &["room", ROOM]), "room");
    assert!(text(root, "src/p2p/team_notes.rs").contains("#[island]\nfn TeamNotes("));
    cargo(root, &["check", "--lib", "--features", "ssr"]);
    cargo(root, &["check", "--lib", "--features", "hydrate", "--target", "wasm32-unknown-unknown"]);
}
