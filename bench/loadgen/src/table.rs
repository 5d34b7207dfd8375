//! Markdown tables of one run: the JSON lines the workloads printed, ours and PeerJS server side by side,
//! plus the ratios the targets are stated in.

use serde_json::Value;
use std::fmt::Write;

/// Milliseconds from a microsecond field.
fn ms(v: &Value) -> String {
    format!("{:.2}", v.as_f64().unwrap_or(0.0) / 1000.0)
}

fn f(v: &Value, digits: usize) -> String {
    format!("{:.*}", digits, v.as_f64().unwrap_or(0.0))
}

fn name(r: &Value) -> String {
    let label = r["label"].as_str().unwrap_or_default();
    if label.is_empty() {
        r["server"].as_str().unwrap_or("?").to_owned()
    } else {
        label.to_owned()
    }
}

/// Renders the tables for the JSON lines in `text` (lines that are not JSON objects are skipped).
pub fn render(text: &str) -> String {
    let mut rows: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    rows.retain(|r| r.is_object());
    rows.sort_by_key(|r| (r["workload"].as_str().unwrap_or("").to_owned(), r["param"].as_u64().unwrap_or(0)));
    let of = |w: &'static str| rows.iter().filter(move |r| r["workload"] == w);
    let mut out = String::new();
    let _ = writeln!(out, "### W1 idle capacity (registered sockets held 10 s)\n");
    let _ = writeln!(out, "| sockets | server | opened | failures | time to open (ms) | server RSS (MiB) | RSS per socket (KiB) | CPU while idle |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for r in of("w1") {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.1} | {} | {}% |",
            r["conns"],
            name(r),
            r["opened"],
            r["failures"],
            f(&r["open_ms"], 0),
            r["rss_kib"].as_f64().unwrap_or(0.0) / 1024.0,
            f(&r["rss_per_conn_kib"], 2),
            f(&r["cpu_hold_pct"], 1)
        );
    }
    let _ = writeln!(out, "\n### W2 relay (pairs ping-pong 1,500-byte SDP signals; one-way latency)\n");
    let _ = writeln!(out, "| pairs | server | msgs/s | p50 ms | p99 ms | p99.9 ms | max ms | failures | server CPU |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for r in of("w2") {
        let l = &r["latency_us"];
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {}% |",
            r["pairs"],
            name(r),
            f(&r["msgs_per_s"], 0),
            ms(&l["p50"]),
            ms(&l["p99"]),
            ms(&l["p999"]),
            ms(&l["max"]),
            r["failures"],
            f(&r["cpu_pct"], 0)
        );
    }
    let _ = writeln!(
        out,
        "\n### W3 negotiation (sessions of 1 host + 4 clients: join, offer, answer, 4 candidates each way, leave)\n"
    );
    let _ = writeln!(out, "| sessions | server | pairs/s | p50 ms | p99 ms | p99.9 ms | failed rounds | server CPU |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for r in of("w3") {
        let l = &r["connect_to_last_candidate_us"];
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {}% |",
            r["sessions"],
            name(r),
            f(&r["pairs_per_s"], 0),
            ms(&l["p50"]),
            ms(&l["p99"]),
            ms(&l["p999"]),
            r["failures"],
            f(&r["cpu_pct"], 0)
        );
    }
    let _ = writeln!(out, "\n### Ours vs PeerJS server (same run)\n");
    let _ = writeln!(out, "| workload | figure | ours | PeerJS | ratio |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    let mut params: Vec<(String, Value)> =
        rows.iter().map(|r| (r["workload"].as_str().unwrap_or("").to_owned(), r["param"].clone())).collect();
    params.dedup();
    for (w, p) in params {
        // Repeated runs of one workload (bench.sh alternates ours and PeerJS): the k-th of ours is compared with
        // the k-th of PeerJS, then the median of those ratios is given.
        let (wr, pr) = (&w, &p);
        let runs = |s: &'static str| {
            rows.iter().filter(move |r| r["workload"] == wr.as_str() && r["param"] == *pr && r["server"] == s)
        };
        let pairs: Vec<(&Value, &Value)> = runs("ours").zip(runs("peerjs")).collect();
        let mut medians: Vec<(&str, &str, Vec<f64>)> = Vec::new();
        for (k, (o, j)) in pairs.iter().enumerate() {
            let run = if pairs.len() > 1 { format!(" (run {})", k + 1) } else { String::new() };
            for (figure, ov, jv, ratio, how) in comparisons(&w, o, j) {
                let _ = writeln!(out, "| {w} {p} | {figure}{run} | {ov:.2} | {jv:.2} | {ratio:.2}x {how} |");
                match medians.iter_mut().find(|(f, _, _)| *f == figure) {
                    Some((_, _, ratios)) => ratios.push(ratio),
                    None => medians.push((figure, how, vec![ratio])),
                }
            }
            let (p50, p999) = (num(&o["latency_us"]["p50"]), num(&o["latency_us"]["p999"]));
            if w == "w2" {
                let _ = writeln!(out, "| {w} {p} | ours p99.9 / p50{run} | {:.2} | | |", div(p999, p50));
            }
        }
        if pairs.len() > 1 {
            for (figure, how, ratios) in medians {
                let _ = writeln!(
                    out,
                    "| {w} {p} | {figure}: median of {} runs | | | {:.2}x {how} |",
                    ratios.len(),
                    median(ratios)
                );
            }
        }
    }
    out
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn div(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The figures a workload's target is stated in: (figure, ours, PeerJS, ratio, what the ratio means).
fn comparisons(workload: &str, o: &Value, j: &Value) -> Vec<(&'static str, f64, f64, f64, &'static str)> {
    match workload {
        "w1" => {
            let (ov, jv) = (num(&o["rss_per_conn_kib"]), num(&j["rss_per_conn_kib"]));
            vec![("RSS per socket (KiB)", ov, jv, div(jv, ov), "leaner")]
        }
        "w2" => {
            let (ov, jv) = (num(&o["msgs_per_s"]), num(&j["msgs_per_s"]));
            let (op, jp) = (num(&o["latency_us"]["p99"]) / 1e3, num(&j["latency_us"]["p99"]) / 1e3);
            vec![("msgs/s", ov, jv, div(ov, jv), "throughput"), ("p99 ms", op, jp, div(jp, op), "faster")]
        }
        "w3" => {
            let (ov, jv) = (num(&o["pairs_per_s"]), num(&j["pairs_per_s"]));
            vec![("negotiated pairs/s", ov, jv, div(ov, jv), "throughput")]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w2(server: &str, msgs_per_s: f64, p99_us: f64) -> String {
        serde_json::json!({
            "workload": "w2", "param": 1000, "pairs": 1000, "server": server, "label": "",
            "msgs_per_s": msgs_per_s, "failures": 0, "cpu_pct": 99.0,
            "latency_us": {"p50": 1000.0, "p99": p99_us, "p999": 2000.0, "max": 3000.0}
        })
        .to_string()
    }

    #[test]
    fn one_run_each_gives_one_comparison() {
        let text = [w2("ours", 30_000.0, 50_000.0), w2("peerjs", 10_000.0, 150_000.0)].join("\n");
        let table = render(&text);
        assert!(table.contains("| w2 1000 | msgs/s | 30000.00 | 10000.00 | 3.00x throughput |"), "{table}");
        assert!(table.contains("| w2 1000 | p99 ms | 50.00 | 150.00 | 3.00x faster |"), "{table}");
        assert!(!table.contains("median"), "{table}");
    }

    #[test]
    fn repeated_runs_are_paired_in_order_and_summarized_by_their_median() {
        let runs = [
            w2("ours", 30_000.0, 50_000.0),
            w2("peerjs", 10_000.0, 100_000.0),
            w2("ours", 20_000.0, 50_000.0),
            w2("peerjs", 10_000.0, 150_000.0),
            w2("ours", 24_000.0, 50_000.0),
            w2("peerjs", 8_000.0, 200_000.0),
        ];
        let table = render(&runs.join("\n"));
        assert!(table.contains("| w2 1000 | msgs/s (run 2) | 20000.00 | 10000.00 | 2.00x throughput |"), "{table}");
        assert!(table.contains("| w2 1000 | msgs/s: median of 3 runs | | | 3.00x throughput |"), "{table}");
        assert!(table.contains("| w2 1000 | p99 ms: median of 3 runs | | | 3.00x faster |"), "{table}");
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
