//! The benchmark plan: for each size, generate once, then time every contender on the same
//! files, alternating them run by run so that background load spreads evenly.

use std::path::{Path, PathBuf};
use std::time::Instant;

use onus::synth::{SynthFormat, SynthOptions, SynthSummary, generate_dir, parse_size};

use crate::measure::{Runner, Samples, capture};
use crate::report;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Sizes to run, comma-separated (`2k`, `100k`, `1m`, `10m`)
    #[arg(long, default_value = "100k,1m", value_delimiter = ',')]
    sizes: Vec<String>,
    /// Runs of each measurement; medians are reported
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The onus binary to measure (copy it out of the shared target directory first)
    #[arg(long, value_name = "PATH")]
    onus: Option<PathBuf>,
    /// Working folder for generated files and databases (reused between runs of a size)
    #[arg(long, value_name = "DIR", default_value = "/tmp/onus-bench/work")]
    work: PathBuf,
    /// Seed of the generator
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Skip jq and lnav
    #[arg(long)]
    no_peers: bool,
    /// Also write the Markdown tables to this file
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// What to measure, comma-separated: `ingest` (native ingest and DuckDB `read_json`),
    /// `adapters` (OTLP and CloudTrail ingest), `analysis` (analyze and the drift check),
    /// `queries`, `peers` (jq, lnav), `tui` (the headless TUI harness). Without `analysis`, the
    /// other rows run on a store that was not analysed.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ingest,adapters,analysis,queries,peers,tui"
    )]
    parts: Vec<Part>,
    /// Timed presses of each key in the TUI harness, per run
    #[arg(long, default_value_t = 20)]
    tui_repeats: usize,
}

/// One group of rows of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    Ingest,
    Adapters,
    Analysis,
    Queries,
    Peers,
    Tui,
}

/// Ingest of one evidence format.
pub struct AdapterResult {
    pub format: SynthFormat,
    pub synth: SynthSummary,
    pub gen_secs: f64,
    pub ingest: Samples,
    /// Events and quarantined records in the store after the last run.
    pub loaded: (u64, u64),
}

/// The TUI harness's runs.
#[derive(Default)]
pub struct TuiResult {
    /// Events the TUI browsed.
    pub events: u64,
    pub open_rows: Vec<f64>,
    /// NaN when the overview had not arrived by the end of the key script.
    pub open_all: Vec<f64>,
    pub script: Vec<f64>,
    /// Latencies per key, pooled over the runs, in seconds, in the order first measured.
    pub keys: Vec<(String, Vec<f64>)>,
    pub peak_rss_kib: Option<u64>,
}

/// Everything measured for one size.
pub struct SizeResult {
    pub label: String,
    pub synth: SynthSummary,
    pub gen_secs: f64,
    pub ingest: Samples,
    pub read_json: Samples,
    pub analyze: Samples,
    pub timeline: Samples,
    pub findings: Samples,
    pub graph: Samples,
    pub query: Samples,
    pub jq: Result<Samples, String>,
    pub lnav: Result<Samples, String>,
    /// Hidden drifting tasks that the analysis found, out of those hidden.
    pub drift_found: (usize, usize),
    /// Native, OTLP and CloudTrail ingest (native first).
    pub adapters: Vec<AdapterResult>,
    pub tui: Option<Result<TuiResult, String>>,
}

/// The SQL every contender answers: events per actor.
pub const COUNT_BY_ACTOR: &str =
    "SELECT actor, count(*) AS n FROM events GROUP BY actor ORDER BY n DESC, actor";

pub fn run(args: &RunArgs) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let onus = match &args.onus {
        Some(p) => p.clone(),
        None => me.with_file_name("onus"),
    };
    if !onus.is_file() {
        return Err(format!(
            "no onus binary at {} (build it, or pass --onus)",
            onus.display()
        ));
    }
    std::fs::create_dir_all(&args.work).map_err(|e| e.to_string())?;
    let runner = Runner::new(&args.work);
    let runs = args.runs.max(1);
    let mut results = Vec::new();
    for label in &args.sizes {
        let events = parse_size(label).ok_or_else(|| format!("`{label}` is not a size"))?;
        eprintln!("== {label}: generating {events} events");
        let dir = args.work.join(label).join("native");
        let started = Instant::now();
        let synth = generate_dir(
            &dir,
            &SynthOptions {
                events,
                seed: args.seed,
                ..SynthOptions::default()
            },
        )
        .map_err(|e| format!("generating {label}: {e}"))?;
        let gen_secs = started.elapsed().as_secs_f64();
        let r = measure_size(
            &runner, &onus, &me, &dir, label, synth, gen_secs, runs, args,
        )?;
        report::print_size(&r);
        results.push(r);
    }
    let md = report::markdown(&results, runs, runner.has_memory());
    println!("\n{md}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &md).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|&x| x.to_owned()).collect()
}

fn remove_db(db: &Path) {
    let _ = std::fs::remove_file(db);
    let _ = std::fs::remove_file(db.with_extension("duckdb.wal"));
}

#[allow(
    clippy::too_many_arguments,
    clippy::too_many_lines,
    reason = "one call site; the plan reads top to bottom"
)]
fn measure_size(
    runner: &Runner,
    onus: &Path,
    me: &Path,
    dir: &Path,
    label: &str,
    synth: SynthSummary,
    gen_secs: f64,
    runs: usize,
    args: &RunArgs,
) -> Result<SizeResult, String> {
    let log = SynthFormat::Native.evidence_path(dir);
    let manifest = dir.join("manifest.toml");
    let db = dir.join("onus.duckdb");
    let baseline_db = dir.join("read_json.duckdb");
    let log_s = log.display().to_string();
    let db_s = db.display().to_string();
    let ingest_args = vec![
        "--db".to_owned(),
        db_s.clone(),
        "--quiet".to_owned(),
        "ingest".to_owned(),
        "--no-analyze".to_owned(),
        "--manifest".to_owned(),
        manifest.display().to_string(),
        log_s.clone(),
    ];
    let baseline_args = vec![
        "read-json".to_owned(),
        log_s.clone(),
        baseline_db.display().to_string(),
    ];
    let (mut ingest, mut read_json) = (Samples::default(), Samples::default());
    let on = |p: Part| args.parts.contains(&p);
    let ingest_runs = if on(Part::Ingest) { runs } else { 1 };
    for i in 0..ingest_runs {
        eprintln!("   ingest vs read_json, run {}/{runs}", i + 1);
        // Alternate who goes first so neither always gets the warmer page cache.
        for first in [i % 2 == 0, i % 2 != 0] {
            if first {
                remove_db(&db);
                ingest.0.push(runner.once(onus, &ingest_args, &[])?);
            } else if on(Part::Ingest) {
                remove_db(&baseline_db);
                read_json.0.push(runner.once(me, &baseline_args, &[])?);
            }
        }
    }
    remove_db(&baseline_db);
    let db_args = |rest: &[&str]| {
        let mut v = s(&["--db", &db_s, "--quiet"]);
        v.extend(rest.iter().map(|&x| x.to_owned()));
        v
    };
    let times = |argv: &[String]| -> Result<Samples, String> {
        let mut out = Samples::default();
        for _ in 0..runs {
            out.0.push(runner.once(onus, argv, &[])?);
        }
        Ok(out)
    };
    let native_loaded = loaded(onus, &db_s)?;
    let skip = |part: Part, argv: &[String]| {
        if on(part) {
            times(argv)
        } else {
            Ok(Samples::default())
        }
    };
    if on(Part::Analysis) {
        eprintln!("   analyze");
    }
    let analyze = skip(Part::Analysis, &db_args(&["analyze"]))?;
    let drift_found = if on(Part::Analysis) {
        drift_found(onus, &db_s, &synth)?
    } else {
        (0, 0)
    };
    if on(Part::Queries) {
        eprintln!("   queries");
    }
    let timeline = skip(Part::Queries, &db_args(&["timeline", "--limit", "100"]))?;
    let findings = skip(Part::Queries, &db_args(&["findings"]))?;
    let graph = skip(Part::Queries, &db_args(&["graph", "--format", "json"]))?;
    let query = skip(Part::Queries, &db_args(&["query", COUNT_BY_ACTOR]))?;
    let tui = on(Part::Tui).then(|| {
        eprintln!("   TUI harness");
        tui_runs(me, &db_s, runs, args.tui_repeats)
    });
    let mut adapters = vec![AdapterResult {
        format: SynthFormat::Native,
        synth: synth.clone(),
        gen_secs,
        ingest: ingest.clone(),
        loaded: native_loaded,
    }];
    if on(Part::Adapters) {
        for format in [SynthFormat::Otlp, SynthFormat::Cloudtrail] {
            adapters.push(adapter(
                runner,
                onus,
                dir,
                format,
                synth.events,
                runs,
                args,
            )?);
        }
    }
    let (jq, lnav) = if args.no_peers || !on(Part::Peers) {
        let skipped = || Err("skipped (--no-peers)".to_owned());
        (skipped(), skipped())
    } else {
        eprintln!("   peers: jq, lnav");
        (
            crate::peer::jq(runner, &log, runs, synth.events),
            crate::peer::lnav(runner, &args.work, &log, runs, synth.events),
        )
    };
    Ok(SizeResult {
        label: label.to_owned(),
        synth,
        gen_secs,
        ingest,
        read_json,
        analyze,
        timeline,
        findings,
        graph,
        query,
        jq,
        lnav,
        drift_found,
        adapters,
        tui,
    })
}

/// Generates `format` next to the native files (the same size in that format's events) and times
/// its ingest into a fresh database.
fn adapter(
    runner: &Runner,
    onus: &Path,
    native_dir: &Path,
    format: SynthFormat,
    events: u64,
    runs: usize,
    args: &RunArgs,
) -> Result<AdapterResult, String> {
    let dir = native_dir.with_file_name(format.name());
    eprintln!("   {}: generating, then ingest", format.name());
    let started = Instant::now();
    let synth = generate_dir(
        &dir,
        &SynthOptions {
            events,
            seed: args.seed,
            format,
            ..SynthOptions::default()
        },
    )
    .map_err(|e| format!("generating {}: {e}", format.name()))?;
    let gen_secs = started.elapsed().as_secs_f64();
    let db = dir.join("onus.duckdb");
    let db_s = db.display().to_string();
    let ingest_argv = s(&[
        "--db",
        &db_s,
        "--quiet",
        "ingest",
        "--no-analyze",
        "--format",
        format.name(),
        &format.evidence_path(&dir).display().to_string(),
    ]);
    let mut ingest = Samples::default();
    for _ in 0..runs {
        remove_db(&db);
        // Exit code 3 (some records quarantined) is measured and reported, not hidden.
        ingest.0.push(runner.once(onus, &ingest_argv, &[3])?);
    }
    let loaded = loaded(onus, &db_s)?;
    remove_db(&db);
    Ok(AdapterResult {
        format,
        synth,
        gen_secs,
        ingest,
        loaded,
    })
}

/// Events and quarantined records in a store.
fn loaded(onus: &Path, db: &str) -> Result<(u64, u64), String> {
    let out = capture(
        onus,
        &s(&[
            "--db",
            db,
            "query",
            "--format",
            "csv",
            "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM quarantine) AS q",
        ]),
    )?;
    let last = out.lines().last().unwrap_or_default();
    let mut it = last
        .split(',')
        .map(|x| x.trim().parse::<u64>().unwrap_or(0));
    Ok((it.next().unwrap_or(0), it.next().unwrap_or(0)))
}

/// Runs the headless TUI harness `runs` times (each a fresh process, so its peak RSS is the
/// TUI's alone) and pools the samples.
fn tui_runs(me: &Path, db: &str, runs: usize, repeats: usize) -> Result<TuiResult, String> {
    let mut out = TuiResult::default();
    for _ in 0..runs {
        let text = capture(
            me,
            &s(&["tui-harness", db, "--repeats", &repeats.to_string()]),
        )?;
        let v: serde_json::Value = serde_json::from_str(text.trim())
            .map_err(|e| format!("the TUI harness printed no report: {e}"))?;
        out.events = v["events"].as_u64().unwrap_or(0);
        out.open_rows
            .push(v["open_rows_secs"].as_f64().unwrap_or(f64::NAN));
        out.open_all
            .push(v["open_all_secs"].as_f64().unwrap_or(f64::NAN));
        out.script
            .push(v["script_secs"].as_f64().unwrap_or(f64::NAN));
        if let Some(k) = v["vm_hwm_kib"].as_u64() {
            out.peak_rss_kib = Some(out.peak_rss_kib.unwrap_or(0).max(k));
        }
        for key in v["keys"].as_array().into_iter().flatten() {
            let name = key["key"].as_str().unwrap_or("?").to_owned();
            let samples: Vec<f64> = key["samples"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_f64)
                .collect();
            match out.keys.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.extend(samples),
                None => out.keys.push((name, samples)),
            }
        }
    }
    Ok(out)
}

/// How many hidden drifting tasks the analysis found (a benchmark of wrong answers is useless).
fn drift_found(onus: &Path, db: &str, synth: &SynthSummary) -> Result<(usize, usize), String> {
    let out = capture(
        onus,
        &s(&[
            "--db",
            db,
            "query",
            "--format",
            "csv",
            "SELECT DISTINCT task FROM drift_points",
        ]),
    )?;
    let found: Vec<&str> = out.lines().map(str::trim).collect();
    let hit = synth
        .drifting
        .iter()
        .filter(|d| found.contains(&d.task.as_str()))
        .count();
    Ok((hit, synth.drifting.len()))
}
