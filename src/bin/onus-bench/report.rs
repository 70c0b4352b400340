//! Turning measurements into the tables of docs/benchmarks.md: one column per size, medians,
//! throughput, peak memory and the ratios the targets are stated in.

use std::fmt::Write as _;

use crate::measure::Samples;
use crate::run::SizeResult;

fn secs(s: f64) -> String {
    if s.is_nan() {
        "-".to_owned()
    } else if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

fn mib(m: Option<f64>) -> String {
    m.map_or_else(|| "? MiB".to_owned(), |m| format!("{m:.0} MiB"))
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || b <= 0.0 {
        "-".to_owned()
    } else {
        format!("{:.2}×", a / b)
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1.23 s · 812k ev/s · 410 MB/s · 300 MiB`
fn throughput(r: &SizeResult, s: &Samples) -> String {
    let t = s.median();
    format!(
        "{} · {:.0}k ev/s · {:.0} MB/s · {}",
        secs(t),
        r.synth.events as f64 / t / 1000.0,
        r.synth.bytes as f64 / t / 1e6,
        mib(s.max_rss_mib())
    )
}

fn peer(p: &Result<Samples, String>) -> String {
    match p {
        Ok(s) => format!("{} · {}", secs(s.median()), mib(s.max_rss_mib())),
        Err(e) => format!("not measured: {e}"),
    }
}

fn peer_ratio(p: &Result<Samples, String>, onus: f64) -> String {
    p.as_ref()
        .map_or_else(|_| "-".to_owned(), |s| ratio(s.median(), onus))
}

/// One row per measurement, one column per size.
fn rows(r: &SizeResult) -> Vec<(&'static str, String)> {
    let ingest = r.ingest.median();
    let query = r.query.median();
    let cold = ingest + query;
    vec![
        (
            "events · file size",
            format!(
                "{} · {:.1} MB",
                thousands(r.synth.events),
                r.synth.bytes as f64 / 1e6
            ),
        ),
        (
            "generate (`onus-bench gen`)",
            format!(
                "{} ({:.0}k ev/s)",
                secs(r.gen_secs),
                r.synth.events as f64 / r.gen_secs / 1000.0
            ),
        ),
        (
            "**ingest**: `onus ingest --no-analyze`",
            throughput(r, &r.ingest),
        ),
        (
            "DuckDB `read_json` → table (same engine)",
            throughput(r, &r.read_json),
        ),
        (
            "ingest ratio onus / read_json (target ≤ 1.5×)",
            ratio(ingest, r.read_json.median()),
        ),
        (
            "**analysis**: `onus analyze`",
            format!(
                "{} · {}",
                secs(r.analyze.median()),
                mib(r.analyze.max_rss_mib())
            ),
        ),
        (
            "analysis / ingest (target ≤ 1×)",
            ratio(r.analyze.median(), ingest),
        ),
        (
            "hidden drifting tasks found",
            format!("{} of {}", r.drift_found.0, r.drift_found.1),
        ),
        ("`onus timeline --limit 100`", secs(r.timeline.median())),
        ("`onus findings`", secs(r.findings.median())),
        ("`onus graph --format json`", secs(r.graph.median())),
        ("count by actor: `onus query` (store)", secs(query)),
        ("count by actor: `jq` (file)", peer(&r.jq)),
        ("count by actor: `lnav -n` (file)", peer(&r.lnav)),
        ("jq / onus query", peer_ratio(&r.jq, query)),
        ("lnav / onus query", peer_ratio(&r.lnav, query)),
        ("jq / (onus ingest + query)", peer_ratio(&r.jq, cold)),
        ("lnav / (onus ingest + query)", peer_ratio(&r.lnav, cold)),
        (
            "TUI open · per-key latency",
            "not measured yet (the TUI has not landed)".to_owned(),
        ),
    ]
}

/// Prints one size's results as soon as they are known.
pub fn print_size(r: &SizeResult) {
    println!("\n{} ({} events)", r.label, thousands(r.synth.events));
    for (name, value) in rows(r) {
        let name = name.replace("**", "").replace('`', "");
        println!("  {name:<50} {value}");
    }
}

/// The Markdown table for docs/benchmarks.md.
pub fn markdown(results: &[SizeResult], runs: usize, has_memory: bool) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Medians of {runs} run(s); ratios are of medians from the same run on the same file. \
         Memory is peak RSS{}.\n",
        if has_memory {
            " (GNU time)"
        } else {
            " (unknown: /usr/bin/time missing)"
        }
    );
    md.push_str("| measurement |");
    for r in results {
        let _ = write!(md, " {} |", r.label);
    }
    md.push_str("\n|---|");
    for _ in results {
        md.push_str("---|");
    }
    md.push('\n');
    let table: Vec<Vec<(&str, String)>> = results.iter().map(rows).collect();
    if let Some(first) = table.first() {
        for (i, (name, _)) in first.iter().enumerate() {
            let _ = write!(md, "| {name} |");
            for col in &table {
                let _ = write!(md, " {} |", col[i].1);
            }
            md.push('\n');
        }
    }
    md
}
