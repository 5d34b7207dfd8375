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
    let pair = |w: &str, p: &Value| {
        let find = |s: &str| rows.iter().find(|r| r["workload"] == w && &r["param"] == p && r["server"] == s);
        find("ours").zip(find("peerjs"))
    };
    let mut params: Vec<(String, Value)> =
        rows.iter().map(|r| (r["workload"].as_str().unwrap_or("").to_owned(), r["param"].clone())).collect();
    params.dedup();
    for (w, p) in params {
        let Some((o, j)) = pair(&w, &p) else { continue };
        let mut line = |figure: &str, ov: f64, jv: f64, ratio: f64, how: &str| {
            let _ = writeln!(out, "| {w} {p} | {figure} | {ov:.2} | {jv:.2} | {ratio:.2}x {how} |");
        };
        let num = |v: &Value| v.as_f64().unwrap_or(0.0);
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        match w.as_str() {
            "w1" => {
                let (ov, jv) = (num(&o["rss_per_conn_kib"]), num(&j["rss_per_conn_kib"]));
                line("RSS per socket (KiB)", ov, jv, div(jv, ov), "leaner");
            }
            "w2" => {
                let (ov, jv) = (num(&o["msgs_per_s"]), num(&j["msgs_per_s"]));
                line("msgs/s", ov, jv, div(ov, jv), "throughput");
                let (ov, jv) = (num(&o["latency_us"]["p99"]) / 1e3, num(&j["latency_us"]["p99"]) / 1e3);
                line("p99 ms", ov, jv, div(jv, ov), "faster");
                let (p50, p999) = (num(&o["latency_us"]["p50"]), num(&o["latency_us"]["p999"]));
                let _ = writeln!(out, "| {w} {p} | ours p99.9 / p50 | {:.2} | | |", div(p999, p50));
            }
            "w3" => {
                let (ov, jv) = (num(&o["pairs_per_s"]), num(&j["pairs_per_s"]));
                line("negotiated pairs/s", ov, jv, div(ov, jv), "throughput");
            }
            _ => {}
        }
    }
    out
}
