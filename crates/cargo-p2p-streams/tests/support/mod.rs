//! Support shared by the tests that run cargo on a generated app (this crate's `generate.rs`, and the demo's
//! room generator test, `xtask/tests/new_room.rs`, which includes this file by path). Native, test-only.

use std::process::Command;

/// `cargo` for a child build, without the variables cargo set for this test process (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...). A child cargo that inherits them records their values for every build script that watches
/// one (ring's watches `CARGO_MANIFEST_DIR`), and the repository's next build then compiles that crate and all
/// that depend on it again.
pub fn child_cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let ours = matches!(
            &*key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
        );
        if ours || key.starts_with("CARGO_PKG_") || key.starts_with("CARGO_BIN_EXE_") {
            command.env_remove(&*key);
        }
    }
    command
}
