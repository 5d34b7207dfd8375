//! `cargo p2p-streams` (native, build tool only): the command line of the generators. Installed with
//! `cargo install --path crates/cargo-p2p-streams` it runs as a cargo subcommand; `cargo run -p
//! cargo-p2p-streams -- <command> --root <app>` works from this repository.

use p2p_streams_gen::manifest::Source;
use p2p_streams_gen::name::{Refusal, RoomName};
use p2p_streams_gen::{install, room};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo p2p-streams install [--path <dir> | --version <req>] [--root <dir>]
       cargo p2p-streams room <name> [--root <dir>]

commands:
  install        wire p2p-streams into this Leptos + axum app: the dependency and its ssr/hydrate features
                 (Cargo.toml), src/p2p/ (room kinds, the P2pServer and its join policy), `pub mod p2p;`
                 (src/lib.rs), a routes marker in <Routes>, and the server in src/main.rs. Safe to run again.
  room <name>    a room at /<name>/{room}: src/p2p/<name>.rs and end2end/tests/<name>.spec.ts, registered at
                 the markers install placed. Never overwrites. <name>: lowercase snake_case, 2-32 characters,
                 starting with a letter (e.g. whiteboard)

options:
  --root <dir>      the app's package directory (default: the current directory)
  --path <dir>      take the library from a local checkout (relative to the app, as Cargo.toml will say)
  --version <req>   the library's version requirement on crates.io (default: this generator's, 0.1)
  -h, --help        this text";

/// A parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Install { root: PathBuf, source: Source },
    Room { name: String, root: PathBuf },
}

fn parse(args: &[String]) -> Result<Command, String> {
    // As a cargo subcommand, cargo passes the subcommand's name first.
    let args = args.strip_prefix(&["p2p-streams".to_owned()]).unwrap_or(args);
    let mut args = args.iter();
    let (mut positional, mut root, mut source) = (Vec::new(), PathBuf::from("."), None);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value =
            |what: &str| inline.clone().or_else(|| args.next().cloned()).ok_or(format!("{flag} needs {what}"));
        match flag {
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "--root" => root = PathBuf::from(value("a directory")?),
            "--path" if source.is_none() => source = Some(Source::Path(value("a directory")?)),
            "--version" if source.is_none() => source = Some(Source::Version(value("a version requirement")?)),
            "--path" | "--version" => return Err("give --path or --version, once".into()),
            other if other.starts_with('-') => return Err(format!("unknown option `{other}`")),
            other => positional.push(other.to_owned()),
        }
    }
    match positional.as_slice() {
        [] => Ok(Command::Help),
        [cmd] if cmd == "install" => {
            Ok(Command::Install { root, source: source.unwrap_or_else(|| Source::Version("0.1".into())) })
        }
        [cmd, ..] if cmd == "install" => Err("install takes no arguments besides its options".into()),
        [cmd, ..] if cmd == "room" && source.is_some() => Err("--path and --version are install's".into()),
        [cmd, name] if cmd == "room" => Ok(Command::Room { name: name.clone(), root }),
        [cmd] if cmd == "room" => Err("room needs a name, e.g. `cargo p2p-streams room whiteboard`".into()),
        [cmd, _, extra, ..] if cmd == "room" => Err(format!("unexpected argument `{extra}` (one room at a time)")),
        [other, ..] => Err(format!("unknown command `{other}`")),
    }
}

fn run_install(root: &Path, source: &Source) -> Result<(), String> {
    if let Source::Path(dir) = source {
        let library = root.join(dir).join("Cargo.toml");
        let manifest =
            std::fs::read_to_string(&library).map_err(|e| format!("--path {dir}: {}: {e}", library.display()))?;
        if !manifest.contains("name = \"p2p-streams\"") {
            return Err(format!("--path {dir}: {} is not the p2p-streams library", library.display()));
        }
    }
    let install = install::plan(root, source).map_err(|e| e.to_string())?;
    install.plan.apply().map_err(|e| e.to_string())?.iter().for_each(|line| println!("{line}"));
    if let Some((why, lines)) = install.manual {
        eprintln!("\nsrc/main.rs was NOT changed ({why}). Add the p2p-streams server by hand:\n{lines}");
    }
    println!(
        "\np2p-streams is installed. Next:\n  cargo p2p-streams room <name>     # e.g. `room chat`: a room at /chat/{{room}}\n  \
         cargo leptos watch"
    );
    Ok(())
}

fn run_room(root: &Path, name: &str) -> Result<(), String> {
    let name = RoomName::parse(name, room::RESERVED).map_err(|error| Refusal { name, error }.to_string())?;
    let plan = room::plan(root, &name).map_err(|e| e.to_string())?;
    plan.apply().map_err(|e| e.to_string())?.iter().for_each(|line| println!("{line}"));
    let snake = name.snake();
    println!(
        "\nRoom `{snake}` is ready at /{snake}/{{room}} (sessions `{snake}_{{room}}`). Next:\n  \
         cargo leptos watch     # then open /{snake}/lobby?name=alice and /{snake}/lobby?name=bob in two tabs\n  \
         cd end2end && npx playwright test tests/{snake}.spec.ts\n\
         Edit `{}Message` and the room area in src/p2p/{snake}.rs to make it yours.",
        name.pascal()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match parse(&args) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Install { root, source }) => run_install(&root, &source),
        Ok(Command::Room { name, root }) => run_room(&root, &name),
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(list: &[&str]) -> Result<Command, String> {
        parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn command_lines() {
        let here = PathBuf::from(".");
        let default = Source::Version("0.1".into());
        assert_eq!(parse_all(&["install"]), Ok(Command::Install { root: here.clone(), source: default.clone() }));
        assert_eq!(
            parse_all(&["p2p-streams", "install", "--path=../lib", "--root", "app"]),
            Ok(Command::Install { root: "app".into(), source: Source::Path("../lib".into()) })
        );
        assert_eq!(parse_all(&["room", "wb"]), Ok(Command::Room { name: "wb".into(), root: here }));
        assert_eq!(parse_all(&[]), Ok(Command::Help));
        assert_eq!(parse_all(&["room", "wb", "--help"]), Ok(Command::Help));
        for bad in [
            &["room"][..],
            &["room", "a", "b"],
            &["room", "wb", "--root"],
            &["room", "wb", "--path", "x"],
            &["install", "x"],
            &["install", "--path", "a", "--version", "1"],
            &["install", "--force"],
            &["remove", "wb"],
        ] {
            assert!(parse_all(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
