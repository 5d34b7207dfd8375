//! The server binary's configuration surface, run for real: `--help` documents every setting with its default,
//! and `--log-format json` starts the server with one JSON object per log line whose start-up summary names
//! the effective configuration without ever printing a secret.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_p2p-streams");
const FIXTURE_SECRET: &str = "cli-test-fixture-secret-not-for-production";
const FIXTURE_TURN_CREDENTIAL: &str = "turn-fixture-credential";

#[test]
fn help_documents_each_setting_with_its_default() {
    let out = Command::new(BIN).arg("--help").output().unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "P2P_SECRET",
        "P2P_ICE_SERVERS",
        "P2P_ADMIN_TOKEN",
        "P2P_ADMIN_SESSION_SECS",
        "[default: 28800]",
        "P2P_ADMIN_MAX_FAILURES",
        "P2P_ADMIN_FAILURE_WINDOW_SECS",
        "P2P_CLIENT_PROTO_HEADER",
        "--log-format",
        "else `memory`]",
        "P2P_REDIS_URL",
        "[default: 10]",
        "[default: 30]",
        "[default: 5000]",
        "[default: 65536]",
        "P2P_RATE_LIMIT_PER_SEC",
        "[default: 100]",
        "[default: 400]",
        "P2P_MAX_PEERS_PER_SESSION",
        "P2P_MAX_SESSIONS",
        "[default: 10000]",
        "P2P_MAX_CONNECTIONS_PER_IP",
        "[default: 64]",
        "P2P_CLIENT_IP_HEADER",
        "P2P_ALLOWED_ORIGINS",
        "P2P_HEADER_TIMEOUT_SECS",
        "P2P_WORKER_THREADS",
        "P2P_TURN_SECRET",
        "P2P_TURN_URLS",
        "P2P_TURN_LISTEN",
        "P2P_TURN_EXTERNAL_IP",
        "P2P_TURN_ALLOW_PEERS",
        "[default: 49152-65535]",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn json_logs_summarize_the_configuration_without_secrets() {
    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "--addr", "127.0.0.1:0"])
        .env("P2P_SECRET", FIXTURE_SECRET)
        .env(
            "P2P_ICE_SERVERS",
            format!("stun:stun.example.org:3478,turn:turn.example.org:3478|ada|{FIXTURE_TURN_CREDENTIAL}"),
        )
        .env("P2P_ADMIN_TOKEN", "admin-fixture-token")
        .env("RUST_LOG", "info")
        .env_remove("LEPTOS_SITE_ADDR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    let mut summary = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap_or_default();
        lines.push(line.clone());
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        let listening = value["message"] == "p2p-streams listening";
        if value["message"] == "configuration" {
            summary = Some(value);
        }
        if listening || Instant::now() > deadline {
            break;
        }
    }
    // SIGTERM: the accept loop shuts down gracefully and the process exits on its own.
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(term.is_ok_and(|s| s.success()), "cannot send SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let exited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            _ if Instant::now() > deadline => break None,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(exited.is_some_and(|s| s.success()), "no clean exit after SIGTERM: {exited:?}");
    let listening = lines.iter().find(|l| l.contains("p2p-streams listening")).cloned().unwrap_or_default();
    assert!(!listening.contains("127.0.0.1:0\""), "the bound port is logged: {listening}");
    let summary = summary.unwrap_or_else(|| panic!("no configuration summary in {lines:#?}"));
    assert_eq!(summary["secret"], "P2P_SECRET");
    assert_eq!(summary["admin"], "enabled");
    assert_eq!(summary["store"], "Memory");
    let ice = summary["ice_servers"].as_str().unwrap_or_default();
    assert!(ice.contains("turn:turn.example.org:3478 user=ada credential=<redacted>"), "{ice}");
    let all = lines.join("\n");
    for secret in [FIXTURE_SECRET, FIXTURE_TURN_CREDENTIAL, "admin-fixture-token"] {
        assert!(!all.contains(secret), "a secret was logged:\n{all}");
    }
}
