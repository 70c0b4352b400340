//! `onus-bench`: the scale generator and the benchmark of docs/benchmarks.md.
//!
//! - `onus-bench gen --events 1m --out DIR` writes a generated incident (events.jsonl,
//!   manifest.toml, README.md) with a seed; no network, bounded memory. `--format otlp` or
//!   `--format cloudtrail` writes the same kind of incident as OTLP traces or CloudTrail files.
//! - `onus-bench run --sizes 100k,1m` generates each size, then times `onus` against DuckDB's own
//!   `read_json`, `jq` and `lnav` on the same file in the same run, and prints medians, ratios and
//!   peak memory as a table and as Markdown for docs/benchmarks.md; it also times the OTLP and
//!   CloudTrail adapters and the TUI (through `onus-bench tui-harness`, a child process).
//! - `onus-bench read-json FILE DB` is the DuckDB baseline, run as a child process so that it is
//!   timed and measured exactly like `onus ingest`.
//!
//! Unlike the library, this program prints: it is a measuring tool.

mod measure;
mod peer;
mod report;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use onus::synth::{SynthFormat, SynthOptions, generate_dir, parse_size};

/// Scale generator and benchmark for onus.
#[derive(Debug, Parser)]
#[command(name = "onus-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a generated incident of any size (native JSONL, OTLP or CloudTrail, plus manifest)
    Gen(GenArgs),
    /// Generate, then benchmark onus, DuckDB `read_json`, jq and lnav on the same files
    Run(run::RunArgs),
    /// DuckDB's own `read_json` into a fresh database (the ingest baseline)
    #[command(hide = true)]
    ReadJson { file: PathBuf, db: PathBuf },
    /// The headless TUI harness on a store: prints its timings and peak RSS as JSON
    #[command(hide = true)]
    TuiHarness {
        db: PathBuf,
        /// Timed presses of each repeated key
        #[arg(long, default_value_t = 20)]
        repeats: usize,
    },
}

#[derive(Debug, clap::Args)]
struct GenArgs {
    /// Events to write (`2k`, `100k`, `1m`, `10m` or a number)
    #[arg(long, default_value = "100k", value_parser = size)]
    events: u64,
    /// Seed: the same seed gives the same files
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Evidence formats, comma-separated (`native`, `otlp`, `cloudtrail`). With more than one,
    /// each goes to its own subfolder of DIR named after the format.
    #[arg(long, value_parser = synth_format, value_delimiter = ',', default_value = "native")]
    format: Vec<SynthFormat>,
    /// Drifting tasks to hide (default: one per 200k events, 3 to 50)
    #[arg(long)]
    drifting: Option<usize>,
    /// Teams of a copilot and a payments agent (default: one per 20k events, 2 to 500)
    #[arg(long)]
    teams: Option<usize>,
}

fn size(text: &str) -> Result<u64, String> {
    parse_size(text).ok_or_else(|| format!("`{text}` is not a size (use 2k, 100k, 1m or a number)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Gen(args) => gen_command(&args),
        Command::Run(args) => run::run(&args),
        Command::ReadJson { file, db } => onus::store::duckdb_read_json(&db, &file)
            .map(|rows| println!("{rows}"))
            .map_err(|e| e.to_string()),
        Command::TuiHarness { db, repeats } => tui_harness(&db, repeats),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn gen_command(args: &GenArgs) -> Result<(), String> {
    let mut formats = args.format.clone();
    formats.dedup();
    for &format in &formats {
        let options = SynthOptions {
            events: args.events,
            seed: args.seed,
            drifting: args.drifting,
            teams: args.teams,
            format,
            ..SynthOptions::default()
        };
        let out = if formats.len() > 1 {
            args.out.join(format.name())
        } else {
            args.out.clone()
        };
        let started = std::time::Instant::now();
        let summary = generate_dir(&out, &options).map_err(|e| e.to_string())?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{}: {} events in {} records, {:.1} MB, {} tasks, {} agents in {:.1}s ({:.0} events/s) -> {}",
            format.name(),
            summary.events,
            summary.records,
            summary.bytes as f64 / 1e6,
            summary.tasks,
            summary.agents,
            secs,
            summary.events as f64 / secs,
            format.evidence_path(&out).display()
        );
        for d in &summary.drifting {
            println!("  hidden drift: {} ({:?}, {})", d.task, d.kind, d.agent);
        }
    }
    Ok(())
}

/// Runs the TUI harness on `db` (opened read-only, as `onus tui` does) and prints its report
/// with this process's peak resident memory, as one JSON object.
fn tui_harness(db: &std::path::Path, repeats: usize) -> Result<(), String> {
    let store =
        onus::store::Store::open(db, onus::store::Access::ReadOnly).map_err(|e| e.to_string())?;
    let options = onus::tui::bench::HarnessOptions {
        repeats,
        ..onus::tui::bench::HarnessOptions::default()
    };
    let report = onus::tui::bench::measure(&store, &options).map_err(|e| e.to_string())?;
    let hwm_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        });
    let mut json = serde_json::to_value(&report).map_err(|e| e.to_string())?;
    json["vm_hwm_kib"] = serde_json::json!(hwm_kib);
    println!("{json}");
    Ok(())
}

/// Parses a `--format` name; the library knows the names, the command line only asks it.
fn synth_format(name: &str) -> Result<SynthFormat, String> {
    SynthFormat::parse(name).ok_or_else(|| {
        let names: Vec<&str> = SynthFormat::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format `{name}` (one of: {})", names.join(", "))
    })
}
