//! `cargo xtask new-room` end to end (native): copies this checkout (without `.git`, build output,
//! `node_modules` or `xtask`) to a temporary directory, generates a room there, checks the files and
//! registrations, that a second run and bad names are refused without touching anything, and that the result
//! compiles for the server (`ssr`) and the browser (`hydrate`, wasm32). The checks reuse the shared cargo target
//! directory (`CARGO_TARGET_DIR`, else `~/.cache/p2p-streams/target`), so only the copied crate itself compiles.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[path = "../../crates/cargo-p2p-streams/tests/support/mod.rs"]
mod support;
use support::child_cargo;

/// The room the test generates.
const PROBE: &str = "scaffold_probe";
/// Must exist in the copy: what the app's build and the generator need.
const REQUIRED: &[&str] = &["Cargo.toml", "Cargo.lock", "src", "style", "public", "end2end/tests"];
/// Not copied, at any depth: history, build output, installed packages, test reports, the xtask itself. All else is
/// (docs included: the crate may `include_str!` them).
const SKIPPED: &[&str] =
    &[".git", "target", "node_modules", "test-results", "playwright-report", "blob-report", "xtask"];

/// A temporary checkout, removed when dropped (kept when `XTASK_KEEP_TMP` is set, for debugging).
struct TempCheckout(PathBuf);

impl Drop for TempCheckout {
    fn drop(&mut self) {
        if std::env::var_os("XTASK_KEEP_TMP").is_some() {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// The checkout under test: cargo's run-time `CARGO_MANIFEST_DIR` (a test binary reused from a shared target
/// directory may have been compiled in another checkout), else the compile-time one.
fn repo_root() -> PathBuf {
    let xtask = std::env::var_os("CARGO_MANIFEST_DIR").map_or(PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    xtask.parent().expect("xtask/ lives in the repository").to_path_buf()
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
        for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
            let entry = entry.expect("directory entry");
            if SKIPPED.iter().any(|skip| entry.file_name() == *skip) {
                continue;
            }
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

fn temp_checkout() -> TempCheckout {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("p2p-streams-new-room-{}-{nanos}", std::process::id()));
    let checkout = TempCheckout(dir);
    copy_tree(&repo_root(), &checkout.0);
    for item in REQUIRED {
        assert!(checkout.0.join(item).exists(), "{item} is missing from the checkout");
    }
    checkout
}

fn xtask(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).arg("--root").arg(root).output().expect("xtask runs")
}

fn text(root: &Path, file: &str) -> String {
    fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file in the directories the generator writes to, with its content.
fn snapshot(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in ["src", "src/rooms", "end2end/tests"] {
        for entry in fs::read_dir(root.join(dir)).expect("list directory") {
            let path = entry.expect("directory entry").path();
            if let Ok(content) = fs::read_to_string(&path) {
                files.push((path, content));
            }
        }
    }
    files.sort();
    files
}

fn cargo_check(root: &Path, args: &[&str]) {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").expect("HOME or CARGO_TARGET_DIR is set");
        PathBuf::from(home).join(".cache/p2p-streams/target")
    });
    let started = Instant::now();
    let out = child_cargo()
        .arg("check")
        .args(args)
        .args(["--locked", "--message-format=short"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .expect("cargo runs");
    eprintln!("cargo check {} took {:.1?}", args.join(" "), started.elapsed());
    let log = stderr(&out);
    assert!(out.status.success(), "cargo check {} failed:\n{log}", args.join(" "));
    let ours = format!("src/rooms/{PROBE}.rs");
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(&ours)).collect();
    assert!(warnings.is_empty(), "the generated room has warnings:\n{}", warnings.join("\n"));
}

#[test]
fn generates_a_room_that_builds_and_refuses_to_overwrite() {
    let checkout = temp_checkout();
    let root = checkout.0.as_path();
    let started = Instant::now();

    let out = xtask(root, &["new-room", PROBE]);
    assert!(out.status.success(), "new-room failed: {}", stderr(&out));
    let room = text(root, "src/rooms/scaffold_probe.rs");
    for expected in [
        "pub enum ScaffoldProbeMessage",
        "pub fn ScaffoldProbePage()",
        "<P2pFrame",
        "use_p2p::<ScaffoldProbeMessage>()",
        // Status pills, banners and peer list (data-testids p2p-status, role, peer-list) come from the shared parts.
        "<RoomStatus />",
        "<ConnectionBanners />",
        "<PeerList />",
        "data-testid=\"scaffold-probe-area\"",
    ] {
        assert!(room.contains(expected), "generated room lacks `{expected}`");
    }
    for callback in ["negotiating", "connecting", "connected", "disconnected", "closed", "error", "message"] {
        assert!(room.contains(&format!("on_{callback}=")), "callback on_{callback} is not stubbed");
    }
    let spec = text(root, "end2end/tests/scaffold_probe.spec.ts");
    assert!(spec.contains("/scaffold_probe/") && spec.contains("from './fixtures'"), "spec:\n{spec}");
    let modules: Vec<String> =
        text(root, "src/rooms/mod.rs").lines().filter(|l| l.starts_with("pub mod ")).map(str::to_owned).collect();
    assert!(modules.iter().any(|m| m == "pub mod scaffold_probe;"), "module not registered: {modules:?}");
    assert!(modules.windows(2).all(|w| w[0] < w[1]), "modules out of order: {modules:?}");
    let route = "<Route path=(StaticSegment(\"scaffold_probe\"), ParamSegment(\"room\")) \
                 view=crate::rooms::scaffold_probe::ScaffoldProbePage />";
    assert!(text(root, "src/app.rs").contains(route), "route not registered");
    assert!(text(root, "src/identity.rs").contains("\"scaffold_probe\",\n"), "kind not registered");

    // A second run, and refused names, leave every file as it is.
    let before = snapshot(root);
    let again = xtask(root, &["new-room", PROBE]);
    assert_eq!(again.status.code(), Some(1), "second run should fail");
    assert!(stderr(&again).contains("refusing to overwrite"), "{}", stderr(&again));
    assert_eq!(snapshot(root), before, "a refused run changed files");
    for (bad, why) in [
        ("Whiteboard", "snake_case"),
        ("white-board", "snake_case"),
        ("9lives", "snake_case"),
        ("x", "characters"),
        ("type", "keyword"),
        ("chat", "reserved"),
        ("lobby", "reserved"),
        ("mod", "keyword"),
        ("p2p_streams", "shadow"),
        ("chat_room", "already has"),
    ] {
        let out = xtask(root, &["new-room", bad]);
        assert_eq!(out.status.code(), Some(1), "`{bad}` should be refused");
        assert!(stderr(&out).contains(why), "`{bad}`: expected `{why}` in: {}", stderr(&out));
    }
    assert_eq!(snapshot(root), before, "a refused name changed files");
    let usage = xtask(root, &["new-room"]);
    assert_eq!(usage.status.code(), Some(2), "a missing name is a usage error");
    eprintln!("generator checks took {:.1?}", started.elapsed());

    // Formatted as `cargo fmt` would (so a developer's first `cargo fmt` changes nothing).
    let rustfmt = Command::new("rustfmt")
        .args(["--check", "--edition", "2021"])
        .args(["src/rooms/scaffold_probe.rs", "src/rooms/mod.rs"])
        .current_dir(root)
        .output()
        .expect("rustfmt runs");
    assert!(
        rustfmt.status.success(),
        "generated code is not rustfmt-clean:\n{}",
        String::from_utf8_lossy(&rustfmt.stdout)
    );

    cargo_check(root, &["--features", "ssr", "--lib"]);
    cargo_check(root, &["--features", "hydrate", "--lib", "--target", "wasm32-unknown-unknown"]);
    eprintln!("whole test took {:.1?}", started.elapsed());
}
