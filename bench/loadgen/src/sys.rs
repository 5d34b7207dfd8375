//! What the server process costs, read from `/proc/PID`: resident memory and CPU time.

/// Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// Resident set size of `pid` in KiB (`VmRSS`), 0 when unknown.
pub fn rss_kib(pid: Option<u32>) -> u64 {
    let Some(pid) = pid else { return 0 };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds used by `pid` so far, 0 when unknown.
pub fn cpu_secs(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / TICKS_PER_SEC
}

/// CPU use of `pid` between two samples, in percent of one core.
pub struct CpuMeter {
    /// The process.
    pid: Option<u32>,
    /// CPU seconds at the start.
    cpu: f64,
    /// Wall clock at the start.
    wall: std::time::Instant,
}

impl CpuMeter {
    /// Starts measuring `pid`.
    pub fn start(pid: Option<u32>) -> Self {
        CpuMeter { pid, cpu: cpu_secs(pid), wall: std::time::Instant::now() }
    }

    /// Percent of one core used since the start.
    pub fn percent(&self) -> f64 {
        let wall = self.wall.elapsed().as_secs_f64().max(1e-9);
        100.0 * (cpu_secs(self.pid) - self.cpu) / wall
    }
}
