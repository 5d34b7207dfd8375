//! `loadgen`: the native load generator of the signaling comparison (see `docs/performance.md`).
//!
//! One workload per invocation against one kind of server (ours or PeerJS server), one JSON line of figures
//! on stdout; `loadgen table` turns the JSON lines of a run into the markdown tables. It runs on a
//! single-threaded tokio runtime, so pinning it to one core (`taskset`) gives it exactly that core.

mod hist;
mod net;
mod proto;
mod sys;
mod table;
mod token;
mod w1;
mod w2;
mod w3;

use clap::{Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Load generator for signaling servers: p2p-streams vs PeerJS server.
#[derive(Parser)]
#[command(name = "loadgen")]
struct Cli {
    /// Which protocol the server speaks.
    #[arg(long, value_enum, default_value_t = Server::Ours, global = true)]
    server: Server,
    /// Server base URL; repeat to spread sessions round-robin over several nodes.
    #[arg(long = "url", default_value = "ws://127.0.0.1:3300", global = true)]
    urls: Vec<String>,
    /// Ours: the server's join-token secret (P2P_SECRET).
    #[arg(long, env = "P2P_SECRET", hide_env_values = true, default_value = "", global = true)]
    secret: String,
    /// PeerJS: the connection key.
    #[arg(long, default_value = "peerjs", global = true)]
    key: String,
    /// With several `--url`s: put the peers of one session on different servers (W2: the two ends of a pair;
    /// W3: each client on another server than its host), so every signal crosses nodes.
    #[arg(long, global = true)]
    cross_node: bool,
    /// Local source addresses for the sockets, comma-separated (spreads ephemeral ports).
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4", global = true)]
    sources: Vec<IpAddr>,
    /// PID of the server process, for RSS and CPU from /proc.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Label written into the JSON line (e.g. the server's name and version).
    #[arg(long, default_value = "", global = true)]
    label: String,
    /// Exit with status 1 unless every exchange completed (the smoke test).
    #[arg(long, global = true)]
    strict: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Server {
    /// p2p-streams (`/p2p/ws`).
    Ours,
    /// PeerJS server (`/peerjs`).
    Peerjs,
}

#[derive(Subcommand)]
enum Command {
    /// W1 idle capacity: open C registered sockets and hold them.
    W1 {
        /// Sockets to open.
        #[arg(long, default_value_t = 1000)]
        conns: usize,
        /// Seconds to hold them.
        #[arg(long, default_value_t = 10.0)]
        hold_secs: f64,
    },
    /// W2 relay: P pairs ping-pong SDP-sized signals.
    W2 {
        /// Pairs of sockets.
        #[arg(long, default_value_t = 100)]
        pairs: usize,
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        /// Unmeasured seconds before.
        #[arg(long, default_value_t = 1.0)]
        warmup_secs: f64,
        /// SDP bytes per signal.
        #[arg(long, default_value_t = 1500)]
        payload: usize,
    },
    /// W3 negotiation: concurrent sessions of 1 host + N clients, over and over.
    W3 {
        /// Concurrent sessions.
        #[arg(long, default_value_t = 50)]
        sessions: usize,
        /// Clients per session.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Candidates each way per pair.
        #[arg(long, default_value_t = 4)]
        candidates: usize,
        /// Seconds to keep starting rounds.
        #[arg(long, default_value_t = 15.0)]
        secs: f64,
    },
    /// Prints the markdown tables of the JSON lines in FILE.
    Table {
        /// A file of JSON lines written by the workloads.
        file: std::path::PathBuf,
    },
}

/// What every workload needs.
#[derive(Clone)]
pub struct Ctx {
    /// Protocol adapter.
    pub proto: proto::Proto,
    /// Servers and source addresses.
    pub target: Arc<net::Target>,
    /// Server PID for /proc readings.
    pub pid: Option<u32>,
    /// Distinguishes the ids of this run from any earlier one on the same server.
    pub run_id: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Table { file } = &cli.command {
        return match std::fs::read_to_string(file) {
            Ok(text) => {
                print!("{}", table::render(&text));
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("loadgen: cannot read {}: {err}", file.display());
                ExitCode::FAILURE
            }
        };
    }
    let proto = match cli.server {
        Server::Ours if cli.secret.len() < 16 => {
            eprintln!("loadgen: --secret (or P2P_SECRET) of 16+ bytes is needed to mint join tokens");
            return ExitCode::FAILURE;
        }
        Server::Ours => proto::Proto::Ours(token::Minter::new(cli.secret.as_bytes())),
        Server::Peerjs => proto::Proto::PeerJs(cli.key.clone()),
    };
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let target =
        Arc::new(net::Target { urls: cli.urls.clone(), sources: cli.sources.clone(), cross_node: cli.cross_node });
    let ctx = Ctx { proto, target, pid: cli.server_pid, run_id };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("loadgen: cannot start tokio: {err}");
            return ExitCode::FAILURE;
        }
    };
    let secs = |s: f64| Duration::from_secs_f64(s.max(0.0));
    let mut result = runtime.block_on(async {
        match cli.command {
            Command::W1 { conns, hold_secs } => w1::run(&ctx, conns, secs(hold_secs)).await,
            Command::W2 { pairs, secs: s, warmup_secs, payload } => {
                w2::run(&ctx, pairs, secs(warmup_secs), secs(s), payload).await
            }
            Command::W3 { sessions, clients, candidates, secs: s } => {
                w3::run(&ctx, sessions, w3::Round { clients, candidates }, secs(s)).await
            }
            Command::Table { .. } => unreachable!("handled above"),
        }
    });
    let server = if cli.server == Server::Ours { "ours" } else { "peerjs" };
    result["server"] = server.into();
    result["label"] = cli.label.clone().into();
    println!("{result}");
    let ok = result["ok"].as_bool().unwrap_or(false);
    if cli.strict && !ok {
        eprintln!("loadgen: {server} {}: not every exchange completed", result["workload"]);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
