//! Turning measurements into the tables of docs/benchmarks.md: one column per size, medians,
//! throughput, peak memory and the ratios the targets are stated in.

use std::fmt::Write as _;

use crate::measure::Samples;
use crate::run::{AdapterResult, SizeResult, TuiResult};

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

/// Median and nearest-rank 99th percentile of `v` (in seconds), as `12 ms / 40 ms`.
fn p50_p99(v: &[f64]) -> String {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return "-".to_owned();
    }
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    format!("{} / {}", secs(median(&v)), secs(rank(0.99)))
}

fn median(v: &[f64]) -> f64 {
    Samples(
        v.iter()
            .map(|&secs| crate::measure::Sample {
                secs,
                max_rss_kib: None,
            })
            .collect(),
    )
    .median()
}

/// `1.23 s · 81k ev/s · 41 MB/s · 300 MiB · 0 quarantined`
fn adapter(a: Option<&AdapterResult>) -> String {
    let Some(a) = a else {
        return "not measured".to_owned();
    };
    let t = a.ingest.median();
    if t.is_nan() {
        return "not measured".to_owned();
    }
    let (events, quarantined) = a.loaded;
    let mut text = format!(
        "{} · {:.1}k ev/s · {:.1} MB/s · {} · {} quarantined",
        secs(t),
        events as f64 / t / 1000.0,
        a.synth.bytes as f64 / t / 1e6,
        mib(a.ingest.max_rss_mib()),
        thousands(quarantined)
    );
    if events != a.synth.events {
        let _ = write!(
            text,
            " · **{} events, {} expected**",
            thousands(events),
            thousands(a.synth.events)
        );
    }
    text
}

fn adapter_input(a: Option<&AdapterResult>) -> String {
    a.map_or_else(
        || "-".to_owned(),
        |a| {
            let unit = match a.format {
                onus::synth::SynthFormat::Native => "lines",
                onus::synth::SynthFormat::Otlp => "requests",
                onus::synth::SynthFormat::Cloudtrail => "records",
            };
            format!(
                "{} events · {} {unit} · {:.1} MB · generated in {}",
                thousands(a.synth.events),
                thousands(a.synth.records),
                a.synth.bytes as f64 / 1e6,
                secs(a.gen_secs)
            )
        },
    )
}

/// The TUI rows: open times, per-key p50 / p99, peak RSS.
fn tui_rows(t: Option<&Result<TuiResult, String>>) -> Vec<(String, String)> {
    const KEYS: [&str; 13] = [
        "j (down one row)",
        "page down (from the top)",
        "Enter (event detail)",
        "Enter (detail with its chain)",
        "G (jump to end)",
        "g (jump to start)",
        "page up (near the end)",
        "d (next drift point)",
        "u (next bookmark)",
        "search (`/` term, Enter)",
        "n (next search hit)",
        "apply a filter (Enter)",
        "F (clear the filter)",
    ];
    let mut rows = Vec::new();
    let value = |f: &dyn Fn(&TuiResult) -> String| match t {
        None => "not measured".to_owned(),
        Some(Err(e)) => format!("failed: {e}"),
        Some(Ok(t)) => f(t),
    };
    rows.push((
        "**TUI open**: first rows drawn · graph overview drawn".to_owned(),
        value(&|t| {
            let all = if t.open_all.iter().any(|x| x.is_nan()) {
                format!(
                    "not drawn by the end of the keys ({})",
                    secs(median(&t.script))
                )
            } else {
                secs(median(&t.open_all))
            };
            format!("{} · {all}", secs(median(&t.open_rows)))
        }),
    ));
    for key in KEYS {
        rows.push((
            format!("TUI key p50 / p99: {key}"),
            value(&|t| {
                t.keys
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or_else(|| "-".to_owned(), |(_, v)| p50_p99(v))
            }),
        ));
    }
    rows.push((
        "TUI peak RSS (VmHWM)".to_owned(),
        value(&|t| mib(t.peak_rss_kib.map(|k| k as f64 / 1024.0))),
    ));
    rows
}

/// One row per measurement, one column per size.
fn rows(r: &SizeResult) -> Vec<(String, String)> {
    use onus::synth::SynthFormat::{Cloudtrail, Native, Otlp};
    let owned = base_rows(r).into_iter().map(|(k, v)| (k.to_owned(), v));
    let by = |f| r.adapters.iter().find(|a| a.format == f);
    let mut out: Vec<(String, String)> = owned.collect();
    out.extend([
        ("input: native JSONL".to_owned(), adapter_input(by(Native))),
        ("input: OTLP/JSON lines".to_owned(), adapter_input(by(Otlp))),
        (
            "input: CloudTrail files".to_owned(),
            adapter_input(by(Cloudtrail)),
        ),
        (
            "**ingest by adapter**: native".to_owned(),
            adapter(by(Native)),
        ),
        ("ingest by adapter: OTLP".to_owned(), adapter(by(Otlp))),
        (
            "ingest by adapter: CloudTrail".to_owned(),
            adapter(by(Cloudtrail)),
        ),
    ]);
    out.extend(tui_rows(r.tui.as_ref()));
    out
}

fn base_rows(r: &SizeResult) -> Vec<(&'static str, String)> {
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
    let table: Vec<Vec<(String, String)>> = results.iter().map(rows).collect();
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
