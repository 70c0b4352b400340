//! The benchmark plan: for each size, generate once, then time every contender on the same
//! files, alternating them run by run so that background load spreads evenly.

use std::path::{Path, PathBuf};
use std::time::Instant;

use onus::synth::{SynthOptions, SynthSummary, generate_dir, parse_size};

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
        let dir = args.work.join(label);
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
    let log = dir.join("events.jsonl");
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
    for i in 0..runs {
        eprintln!("   ingest vs read_json, run {}/{runs}", i + 1);
        // Alternate who goes first so neither always gets the warmer page cache.
        for first in [i % 2 == 0, i % 2 != 0] {
            if first {
                remove_db(&db);
                ingest.0.push(runner.once(onus, &ingest_args, &[])?);
            } else {
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
    eprintln!("   analyze");
    let analyze = times(&db_args(&["analyze"]))?;
    let drift_found = drift_found(onus, &db_s, &synth)?;
    eprintln!("   queries");
    let timeline = times(&db_args(&["timeline", "--limit", "100"]))?;
    let findings = times(&db_args(&["findings"]))?;
    let graph = times(&db_args(&["graph", "--format", "json"]))?;
    let query = times(&db_args(&["query", COUNT_BY_ACTOR]))?;
    let (jq, lnav) = if args.no_peers {
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
    })
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
