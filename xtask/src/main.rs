//! `cargo xtask`: developer tasks for p2p-streams (native, build tool only; standard library only).
//!
//! ```text
//! cargo xtask new-room <name> [--root <dir>]
//! ```
//!
//! `new-room` scaffolds a room the way `rails g p2p_streams_channel:controller` does for the Rails gem:
//! `src/rooms/<name>.rs` (a `<P2pFrame>` page at `/<name>/{room}` with every callback stubbed, its typed message
//! enum and a view with `data-testid`s), `end2end/tests/<name>.spec.ts` (a Playwright spec that passes as
//! generated), and one line at each `new-room:` marker: the module (`src/rooms/mod.rs`), the route
//! (`src/app.rs`) and the session kind the demo's join policy accepts (`src/identity.rs`). It never overwrites.

mod scaffold;

use p2p_streams_gen::name::{Refusal, RoomName};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask new-room <name> [--root <dir>]

commands:
  new-room <name>   scaffold a room at /<name>/{room}: src/rooms/<name>.rs, end2end/tests/<name>.spec.ts,
                    and its module, route and session kind at the `new-room:` markers. Never overwrites.
                    <name>: lowercase snake_case, 2-32 characters, starting with a letter (e.g. whiteboard)

options:
  --root <dir>      the checkout to change (default: the one this xtask belongs to)
  -h, --help        this text";

/// A parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    /// Print the usage.
    Help,
    /// Scaffold room `name` in the checkout `root` (default: this xtask's).
    NewRoom { name: String, root: Option<PathBuf> },
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter();
    let mut positional = Vec::new();
    let mut root = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "--root" => root = Some(args.next().ok_or("--root needs a directory")?.into()),
            other => match other.strip_prefix("--root=") {
                Some(dir) => root = Some(dir.into()),
                None if other.starts_with('-') => return Err(format!("unknown option `{other}`")),
                None => positional.push(other),
            },
        }
    }
    match positional.as_slice() {
        [] => Ok(Command::Help),
        ["new-room", name] => Ok(Command::NewRoom { name: (*name).to_owned(), root }),
        ["new-room"] => Err("new-room needs a room name, e.g. `cargo xtask new-room whiteboard`".into()),
        ["new-room", _, extra, ..] => Err(format!("unexpected argument `{extra}` (one room at a time)")),
        [other, ..] => Err(format!("unknown command `{other}`")),
    }
}

/// The checkout this xtask runs in (`xtask/..`): cargo's run-time `CARGO_MANIFEST_DIR` (the binary may come
/// from a target directory shared with another checkout), else the one it was built in.
fn default_root() -> PathBuf {
    let manifest =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or(PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn new_room(name: &str, root: Option<PathBuf>) -> ExitCode {
    let name = match RoomName::parse(name, scaffold::RESERVED) {
        Ok(valid) => valid,
        Err(error) => {
            eprintln!("error: {}", Refusal { name, error });
            return ExitCode::FAILURE;
        }
    };
    let root = root.unwrap_or_else(default_root);
    let written = scaffold::plan(&root, &name).and_then(|plan| plan.apply());
    match written {
        Ok(report) => {
            report.iter().for_each(|line| println!("{line}"));
            let snake = name.snake();
            println!(
                "\nRoom `{snake}` is ready at /{snake}/{{room}} (sessions `{snake}_{{room}}`). Next:\n  \
                 scripts/run.sh   (cargo leptos watch --split)         # then sign in at / and open /{snake}/<room>\n  \
                 cd end2end && npx playwright test tests/{snake}.spec.ts\n\
                 Edit `{pascal}Message` and the room area in src/rooms/{snake}.rs to make it yours.",
                pascal = name.pascal()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::NewRoom { name, root }) => new_room(&name, root),
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn command_lines() {
        let wb = |root: Option<&str>| Command::NewRoom { name: "wb".into(), root: root.map(PathBuf::from) };
        assert_eq!(parse(&args(&["new-room", "wb"])), Ok(wb(None)));
        assert_eq!(parse(&args(&["new-room", "--root", "/tmp/x", "wb"])), Ok(wb(Some("/tmp/x"))));
        assert_eq!(parse(&args(&["new-room", "wb", "--root=/tmp/x"])), Ok(wb(Some("/tmp/x"))));
        assert_eq!(parse(&args(&[])), Ok(Command::Help));
        assert_eq!(parse(&args(&["new-room", "wb", "--help"])), Ok(Command::Help));
        assert!(parse(&args(&["new-room"])).is_err());
        assert!(parse(&args(&["new-room", "a", "b"])).is_err());
        assert!(parse(&args(&["new-room", "wb", "--root"])).is_err());
        assert!(parse(&args(&["new-room", "wb", "--force"])).is_err());
        assert!(parse(&args(&["remove-room", "wb"])).is_err());
    }
}
