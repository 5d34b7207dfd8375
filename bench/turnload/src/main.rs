//! `turnload`: the native generator of the TURN comparison (see `docs/performance.md`, "NAT traversal
//! (TURN)"): our embedded STUN/TURN server against coturn, driven the same way in the same run.
//!
//! One workload per invocation against one server, one JSON line of figures on stdout; `turnload table`
//! turns the JSON lines of a run into the markdown tables. Credentials are minted here from the shared secret
//! (the TURN REST API both servers accept). It runs on a single-threaded tokio runtime, so pinning it to one
//! core (`taskset`) gives it exactly that core.

mod client;
mod credentials;
mod idle;
mod relay;
mod sys;
mod table;

use clap::{Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

/// Load generator for TURN servers: relay throughput and CPU per MB, memory per idle allocation.
#[derive(Parser)]
#[command(name = "turnload")]
struct Cli {
    /// The TURN server's UDP address.
    #[arg(long, default_value = "127.0.0.1:3478", global = true)]
    server: SocketAddr,
    /// The TURN REST API shared secret (coturn's static-auth-secret, our P2P_TURN_SECRET).
    #[arg(long, env = "P2P_TURN_SECRET", hide_env_values = true, default_value = "", global = true)]
    secret: String,
    /// Local address of the client sockets.
    #[arg(long, default_value = "127.0.0.1", global = true)]
    bind: IpAddr,
    /// PID of the server process, for RSS and CPU from /proc.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Which server this is, for the tables: `embedded` or `coturn`.
    #[arg(long, default_value = "embedded", global = true)]
    name: String,
    /// Label written into the JSON line (e.g. the server's version).
    #[arg(long, default_value = "", global = true)]
    label: String,
    /// Run number written into the JSON line (the script alternates servers run by run).
    #[arg(long, default_value_t = 1, global = true)]
    run: u32,
    /// Exit with status 1 unless every exchange completed (the smoke test); never judges a timing.
    #[arg(long, global = true)]
    strict: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Relay throughput: A -> A's relay -> B's relay -> B, a fixed volume, with the server's CPU per MB.
    Relay {
        /// Megabytes (10^6 bytes) of payload to deliver.
        #[arg(long, default_value_t = 200.0)]
        megabytes: f64,
        /// Payload bytes per datagram.
        #[arg(long, default_value_t = 1000)]
        size: usize,
        /// Datagrams in flight at most (32 of 1 KB fit the 128 KiB receive buffer coturn gives its relay
        /// sockets; 64 overflowed it here).
        #[arg(long, default_value_t = 32)]
        window: u64,
        /// Client pairs transferring at once (the volume and any rate cap are shared out among them).
        #[arg(long, default_value_t = 1)]
        pairs: usize,
        /// Cap the rate at this many MB/s (default: as fast as the window allows).
        #[arg(long)]
        rate_mbs: Option<f64>,
    },
    /// Memory per idle allocation: open N allocations (one user each), hold, read the server's RSS.
    Idle {
        /// Allocations to open.
        #[arg(long, default_value_t = 500)]
        allocations: usize,
        /// Allocate handshakes in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds to hold them before reading the memory.
        #[arg(long, default_value_t = 2.0)]
        hold_secs: f64,
    },
    /// Prints the markdown tables of the JSON lines in FILE.
    Table {
        /// A file of JSON lines written by the workloads.
        file: std::path::PathBuf,
    },
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
                eprintln!("turnload: cannot read {}: {err}", file.display());
                ExitCode::FAILURE
            }
        };
    }
    if cli.secret.is_empty() {
        eprintln!("turnload: --secret (or P2P_TURN_SECRET) is needed to mint TURN credentials");
        return ExitCode::FAILURE;
    }
    let minter = credentials::Minter::new(cli.secret.as_bytes());
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("turnload: cannot start tokio: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut result = runtime.block_on(async {
        match cli.command {
            Command::Relay { megabytes, size, window, pairs, rate_mbs } => {
                let transfer = relay::Transfer {
                    server: cli.server,
                    bind: cli.bind,
                    bytes: (megabytes.max(0.0) * 1e6) as u64,
                    size: size.clamp(8, 65_000),
                    window: window.max(1),
                    pairs: pairs.max(1),
                    rate: rate_mbs.filter(|r| *r > 0.0).map(|r| r * 1e6),
                };
                relay::run(&minter, run_id, &transfer, cli.server_pid).await
            }
            Command::Idle { allocations, concurrency, hold_secs } => {
                let idle = idle::Idle {
                    server: cli.server,
                    bind: cli.bind,
                    allocations,
                    concurrency,
                    hold: Duration::from_secs_f64(hold_secs.max(0.0)),
                };
                idle::run(&minter, run_id, &idle, cli.server_pid).await
            }
            Command::Table { .. } => unreachable!("handled above"),
        }
    });
    result["server"] = cli.name.clone().into();
    result["label"] = cli.label.clone().into();
    result["run"] = cli.run.into();
    println!("{result}");
    let ok = result["ok"].as_bool().unwrap_or(false);
    if cli.strict && !ok {
        eprintln!("turnload: {} {}: not every exchange completed", cli.name, result["workload"]);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
