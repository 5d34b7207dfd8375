//! Markdown tables of one run: the JSON lines the workloads printed, the embedded server and coturn side by
//! side, plus the ratio the goal is stated in (embedded CPU per relayed MB within 1.5x of coturn's).

use serde_json::Value;
use std::fmt::Write;

/// The goal of issue 16: the embedded server's CPU per relayed MB at most this many times coturn's.
const GOAL: f64 = 1.5;

fn f(v: &Value, digits: usize) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.digits$}"),
        None => "-".into(),
    }
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    Some(if xs.len() % 2 == 1 { xs[mid] } else { (xs[mid - 1] + xs[mid]) / 2.0 })
}

fn name(r: &Value) -> String {
    let server = r["server"].as_str().unwrap_or("?");
    match r["label"].as_str() {
        Some(label) if !label.is_empty() => format!("{server} ({label})"),
        _ => server.to_owned(),
    }
}

/// What makes relay runs comparable: datagram size, window and pacing.
fn shape(r: &Value) -> String {
    format!("{}/{}/{}/{}", r["pairs"], r["size"], r["window"], r["rate_mb_s"])
}

/// The table of one transfer shape: every run, the medians per server and the embedded / coturn ratios.
fn relay_section(out: &mut String, relay: &[Value]) {
    let Some(first) = relay.first() else { return };
    let _ = writeln!(
        out,
        "\n### Relay to relay: {:.0} MB in {}-byte datagrams, {}, {} in flight per pair, {}\n",
        first["sent"].as_f64().unwrap_or(0.0) * first["size"].as_f64().unwrap_or(0.0) / 1e6,
        first["size"],
        match first["pairs"].as_u64().unwrap_or(1) {
            1 => "one pair of clients".to_owned(),
            n => format!("{n} pairs of clients at once"),
        },
        first["window"],
        first["rate_mb_s"].as_f64().map_or("unpaced".into(), |r| format!("paced at {r:.0} MB/s"))
    );
    let _ = writeln!(out, "| run | server | delivered MB | wall s | MB/s | loss % | server CPU s | server CPU ms per MB | server CPU % of a core | generator CPU % |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for r in relay {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r["run"],
            name(r),
            f(&r["delivered_mb"], 1),
            f(&r["wall_s"], 2),
            f(&r["mb_per_s"], 1),
            f(&r["loss_pct"], 2),
            f(&r["server_cpu_s"], 2),
            f(&r["server_cpu_ms_per_mb"], 2),
            f(&r["server_cpu_pct"], 0),
            f(&r["generator_cpu_pct"], 0)
        );
    }
    let pick = |server: &str, key: &str| -> Vec<f64> {
        relay.iter().filter(|r| r["server"] == server).filter_map(|r| r[key].as_f64()).collect()
    };
    let _ = writeln!(out, "\n| server | runs | MB/s (median) | server CPU ms per MB (median) | loss % (max) |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for server in ["embedded", "coturn"] {
        let runs = pick(server, "mb_per_s").len();
        if runs == 0 {
            continue;
        }
        let max_loss = pick(server, "loss_pct").into_iter().fold(0.0_f64, f64::max);
        let _ = writeln!(
            out,
            "| {server} | {runs} | {} | {} | {max_loss:.2} |",
            median(pick(server, "mb_per_s")).map_or("-".into(), |x| format!("{x:.1}")),
            median(pick(server, "server_cpu_ms_per_mb")).map_or("-".into(), |x| format!("{x:.2}")),
        );
    }
    let cpu = (median(pick("embedded", "server_cpu_ms_per_mb")), median(pick("coturn", "server_cpu_ms_per_mb")));
    let speed = (median(pick("embedded", "mb_per_s")), median(pick("coturn", "mb_per_s")));
    if let ((Some(e), Some(c)), (Some(es), Some(cs))) = (cpu, speed) {
        // The k-th embedded run against the k-th coturn run (they ran back to back), then the median.
        let pairs: Vec<f64> = pick("embedded", "server_cpu_ms_per_mb")
            .iter()
            .zip(pick("coturn", "server_cpu_ms_per_mb"))
            .map(|(e, c)| e / c)
            .collect();
        let verdict = if e / c <= GOAL { "met" } else { "missed" };
        let max_loss = |server| pick(server, "loss_pct").into_iter().fold(0.0_f64, f64::max);
        let (el, cl) = (max_loss("embedded"), max_loss("coturn"));
        let loss = if el.max(cl) >= 1.0 {
            format!(" Datagrams lost: up to {el:.1}% (embedded), {cl:.1}% (coturn); MB/s and CPU per MB count delivered ones.")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\nEmbedded / coturn: CPU per relayed MB {:.2}x (medians; run by run {}), throughput {:.2}x. \
             Goal CPU per MB <= {GOAL}x coturn's: {verdict}.{loss}",
            e / c,
            pairs.iter().map(|x| format!("{x:.2}x")).collect::<Vec<_>>().join(", "),
            es / cs
        );
    }
}

/// Renders the tables for the JSON lines in `text` (lines that are not JSON objects are skipped).
pub fn render(text: &str) -> String {
    let rows: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect();
    let of = |w: &str| rows.iter().filter(|r| r["workload"] == w).cloned().collect::<Vec<_>>();
    let mut out = String::new();
    // One section per transfer shape (unpaced and paced runs are compared separately).
    let mut shapes: Vec<String> = Vec::new();
    for r in of("relay") {
        let shape = shape(&r);
        if !shapes.contains(&shape) {
            shapes.push(shape);
        }
    }
    for s in shapes {
        let relay: Vec<Value> = of("relay").into_iter().filter(|r| shape(r) == s).collect();
        relay_section(&mut out, &relay);
    }
    let idle = of("idle");
    if !idle.is_empty() {
        let _ =
            writeln!(out, "\n### Memory per idle allocation (one user and one socket per allocation, no traffic)\n");
        let _ = writeln!(out, "| server | allocations | failures | time to open (ms) | RSS before (MiB) | RSS held (MiB) | KiB per allocation | RSS after release (MiB) |");
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        let mib = |v: &Value| format!("{:.1}", v.as_f64().unwrap_or(0.0) / 1024.0);
        for r in &idle {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                name(r),
                r["opened"],
                r["failures"],
                f(&r["open_ms"], 0),
                mib(&r["rss_before_kib"]),
                mib(&r["rss_held_kib"]),
                f(&r["rss_per_allocation_kib"], 1),
                mib(&r["rss_released_kib"])
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_the_verdict() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
        let lines = [
            r#"{"workload":"relay","server":"embedded","run":1,"mb_per_s":50.0,"server_cpu_ms_per_mb":30.0,"loss_pct":0.0}"#,
            r#"{"workload":"relay","server":"coturn","run":1,"mb_per_s":100.0,"server_cpu_ms_per_mb":10.0,"loss_pct":0.1}"#,
            r#"{"workload":"idle","server":"coturn","opened":10,"failures":0,"rss_per_allocation_kib":3.5}"#,
        ]
        .join("\n");
        let text = render(&lines);
        assert!(text.contains("CPU per relayed MB 3.00x"), "{text}");
        assert!(text.contains("missed"), "{text}");
        assert!(text.contains("| 3.5 |"), "{text}");
    }
}
