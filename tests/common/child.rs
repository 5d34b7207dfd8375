//! The server BINARY as a child process (tests that need its command line, its scheduler or its memory from
//! `/proc/PID/status`): started on `127.0.0.1:0` with JSON logs, its address read from the "listening" line,
//! every log line kept, killed when dropped (also when the test fails).

use super::SECRET;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The server binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_p2p-streams");

/// A running server process.
pub struct ServerProcess {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its log lines so far (JSON, one object per line).
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts the binary with the test secret and `args` (besides `--addr` and `--log-format`), logging at
    /// info, and waits until it listens.
    pub fn spawn(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn_with_env(args, &[])
    }

    /// [`ServerProcess::spawn`] with extra environment variables (e.g. `LEPTOS_SITE_ROOT`).
    pub fn spawn_with_env(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut child = Command::new(BIN)
            .args(["--addr", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .envs(env.iter().copied())
            .env("P2P_SECRET", std::str::from_utf8(SECRET).expect("utf-8 secret"))
            .env("RUST_LOG", "info")
            .env_remove("LEPTOS_SITE_ADDR")
            .env_remove("P2P_WORKER_THREADS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if value["message"] == "p2p-streams listening" {
                    let _ = tx.send(value["addr"].as_str().unwrap_or_default().to_owned());
                }
                sink.lock().expect("log sink").push(line);
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the server logs its address");
        ServerProcess { child, addr: addr.parse().expect("socket address"), logs }
    }

    /// The first log line whose `message` is `message`, parsed.
    pub fn log_line(&self, message: &str) -> Option<serde_json::Value> {
        let logs = self.logs.lock().expect("logs");
        logs.iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|value| value["message"] == message)
    }
}
