//! `onus report` and `onus replay`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::args::{ReplayArgs, ReportArgs, ReportFormatArg, SeverityArg};
use super::out_file::{self, Protected};
use super::progress::StderrProgress;
use super::{CliError, exit};
use crate::ingest::{IngestOptions, ingest_paths};
use crate::model::Severity;
use crate::report::{Report, ReportFormat, ReportOptions, write};
use crate::store::{Access, Store};
use crate::text::for_terminal;

fn format(arg: ReportFormatArg) -> ReportFormat {
    match arg {
        ReportFormatArg::Md => ReportFormat::Markdown,
        ReportFormatArg::Html => ReportFormat::Html,
        ReportFormatArg::Json => ReportFormat::Json,
        ReportFormatArg::Csv => ReportFormat::Csv,
        ReportFormatArg::Dot => ReportFormat::Dot,
        ReportFormatArg::Mermaid => ReportFormat::Mermaid,
        ReportFormatArg::Ocsf => ReportFormat::Ocsf,
    }
}

/// Writes `text` to `out` atomically (a temporary file in the same folder, then renamed), or to
/// stdout.
fn emit(text: &str, out: Option<&Path>) -> Result<(), CliError> {
    if let Some(path) = out {
        {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            tmp.write_all(text.as_bytes())?;
            tmp.as_file().sync_all()?;
            tmp.persist(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    } else {
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        lock.write_all(text.as_bytes())?;
        lock.flush()?;
    }
    Ok(())
}

fn options(title: Option<String>, timestamp: bool) -> ReportOptions {
    ReportOptions {
        title,
        generated_at: timestamp.then(|| crate::model::format_time(&chrono::Utc::now())),
    }
}

/// Refuses an `--out` that would replace the database, a file of the evidence, or something
/// that is not a regular file (see [`out_file`]), before anything is written.
fn guard_out(
    out: Option<&Path>,
    store: &Store,
    mut protected: Vec<Protected>,
) -> Result<(), CliError> {
    let Some(out) = out else {
        return Ok(());
    };
    for s in store.sources()? {
        protected.push(Protected::new(
            &s.path,
            format!("evidence file source {} (as ingested)", s.id),
        ));
    }
    match out_file::check(out, &protected) {
        None => Ok(()),
        Some(why) => Err(CliError::usage(anyhow::anyhow!(
            "refusing to write to --out {}: {why}; nothing was written (choose another file)",
            for_terminal(&crate::text::path_text(out))
        ))),
    }
}

pub(super) fn report(db: &Path, args: &ReportArgs) -> Result<u8, CliError> {
    let store = Store::open(db, Access::ReadOnly)?;
    guard_out(args.out.as_deref(), &store, out_file::database(db))?;
    let report = Report::build(&store, &options(args.title.clone(), args.timestamp))?;
    emit(&write(&report, format(args.format)), args.out.as_deref())?;
    Ok(exit::OK)
}

fn severity(arg: SeverityArg) -> Severity {
    match arg {
        SeverityArg::Info => Severity::Info,
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    }
}

/// The manifests of a replay: those named with `--manifest`, else the top-level
/// `manifest.toml` of each fixture folder given (the fixture layout of docs/replay.md). This is
/// the only place a manifest is read without being named: a directory walk never reads one.
fn replay_manifests(args: &ReplayArgs) -> Vec<PathBuf> {
    if !args.manifest.is_empty() {
        return args.manifest.clone();
    }
    args.paths
        .iter()
        .filter(|p| p.is_dir())
        .map(|d| d.join("manifest.toml"))
        .filter(|m| m.is_file())
        .collect()
}

pub(super) fn replay(quiet: bool, args: &ReplayArgs) -> Result<u8, CliError> {
    let mut store = Store::open_in_memory()?;
    let options = IngestOptions {
        manifests: replay_manifests(args),
        ..IngestOptions::default()
    };
    let summary = ingest_paths(
        &mut store,
        &args.paths,
        &options,
        &StderrProgress::new(quiet),
    )
    .context("replay ingest failed")?;
    let expect_path: Option<PathBuf> = args.expect.clone().or_else(|| {
        args.paths
            .iter()
            .find(|p| p.is_dir())
            .map(|d| d.join("expected.toml"))
            .filter(|p| p.exists())
    });
    let protected = expect_path
        .iter()
        .map(|p| Protected::new(p, "the expectation file"))
        .collect();
    guard_out(args.out.as_deref(), &store, protected)?;
    crate::analysis::run(&mut store)?;
    let report = Report::build(&store, &ReportOptions::default())?;
    emit(&write(&report, format(args.format)), args.out.as_deref())?;

    let mut stderr = io::stderr().lock();
    let mut failed = false;
    if let Some(path) = expect_path {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let exp = crate::replay::parse_expectations(&text).map_err(CliError::usage)?;
        let diff = crate::replay::check(&store, &exp).map_err(anyhow::Error::from)?;
        if diff.is_empty() {
            if !quiet {
                writeln!(
                    stderr,
                    "replay: every expectation in {} holds",
                    for_terminal(&path.to_string_lossy())
                )?;
            }
        } else {
            failed = true;
            writeln!(
                stderr,
                "replay: {} expectation(s) in {} no longer hold:",
                diff.len(),
                for_terminal(&path.to_string_lossy())
            )?;
            for line in &diff {
                writeln!(stderr, "  - {}", for_terminal(line))?;
            }
        }
    }
    if let Some(floor) = args.fail_on.map(severity) {
        let over: Vec<_> = store
            .findings()?
            .into_iter()
            .filter(|f| Severity::parse(&f.severity).is_some_and(|s| s >= floor))
            .collect();
        if !over.is_empty() {
            failed = true;
            writeln!(
                stderr,
                "replay: {} finding(s) at or above {floor} (--fail-on)",
                over.len()
            )?;
        }
    }
    if failed {
        return Ok(exit::CHECK_FAILED);
    }
    Ok(if summary.had_bad_input() {
        exit::BAD_INPUT
    } else {
        exit::OK
    })
}
