//! One function per subcommand: open the store, call the library, print the result.

use std::io::{self, BufWriter, Write};

use anyhow::Context as _;

use super::args::{
    Cli, Command, GraphArgs, GraphOutput, IngestArgs, InputFormat, QueryArgs, RowFormat,
    SourcesArgs, TableFormat, TimelineArgs, TuiArgs, VerifyArgs,
};
use super::output::{JsonArrayWriter, cell_text, write_csv_row, write_table};
use super::progress::StderrProgress;
use super::{CliError, exit};
use crate::ingest::{
    FileOutcome, Format, FormatChoice, IngestOptions, IngestSummary, Limits, ingest_paths,
};
use crate::model::format_time;
use crate::store::{Access, Store, TimelineFilter};
use crate::text::for_terminal;

/// Rows shown by `--format table` before it stops and says so.
const TABLE_ROW_LIMIT: usize = 10_000;

pub(super) fn run(cli: Cli) -> Result<u8, CliError> {
    let Cli { global, command } = cli;
    match command {
        Command::Ingest(args) => ingest(&global.db, global.quiet, args),
        Command::Sources(args) => sources(&global.db, &args),
        Command::Verify(args) => verify(&global.db, global.quiet, &args),
        Command::Query(args) => query(&global.db, &args),
        Command::Timeline(args) => timeline(&global.db, &args),
        Command::Graph(args) => graph(&global.db, &args),
        Command::Analyze => analyze(&global.db),
        Command::Reindex => reindex(&global.db),
        Command::Findings(args) => super::findings::findings(&global.db, &args),
        Command::Accountability(args) => super::findings::accountability(&global.db, &args),
        Command::Report(args) => super::reporting::report(&global.db, &args),
        Command::Replay(args) => super::reporting::replay(global.quiet, &args),
        Command::Tui(args) => tui(&global.db, global.quiet, args),
    }
}

fn open(db: &std::path::Path, access: Access) -> Result<Store, CliError> {
    Ok(Store::open(db, access)?)
}

fn ingest(db: &std::path::Path, quiet: bool, args: IngestArgs) -> Result<u8, CliError> {
    let options = IngestOptions {
        format: match args.format {
            InputFormat::Auto => FormatChoice::Auto,
            InputFormat::Onus => FormatChoice::Force(Format::Onus),
            InputFormat::Otlp => FormatChoice::Force(Format::Otlp),
            InputFormat::Mcp => FormatChoice::Force(Format::Mcp),
            InputFormat::Chat => FormatChoice::Force(Format::Chat),
            InputFormat::CloudTrail => FormatChoice::Force(Format::CloudTrail),
            InputFormat::K8sAudit => FormatChoice::Force(Format::K8sAudit),
        },
        manifests: args.manifest,
        limits: Limits {
            max_record_bytes: args.max_record_bytes,
            max_decompressed_bytes: args.max_decompressed_bytes,
            max_manifest_bytes: args.max_manifest_bytes,
            ..Limits::default()
        },
    };
    let mut store = open(db, Access::ReadWrite)?;
    let progress = StderrProgress::new(quiet);
    let summary = ingest_paths(&mut store, &args.paths, &options, &progress)
        .with_context(|| format!("ingest into {} stopped", db.display()))?;
    let analysis = if args.no_analyze {
        None
    } else {
        Some(crate::analysis::run(&mut store).context("analysis after ingest failed")?)
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.json {
        crate::text::write_json(&mut out, &summary, true).map_err(io::Error::other)?;
        writeln!(out)?;
    } else {
        print_summary(&mut out, &summary, db, quiet)?;
        if let Some(a) = &analysis {
            writeln!(
                out,
                "analysis: {} findings, {} drift points, {} accountability records (see `onus findings`, `onus accountability`)",
                a.findings.len(),
                a.drift_points.len(),
                a.records.len()
            )?;
        }
    }
    out.flush()?;
    Ok(if summary.had_bad_input() {
        exit::BAD_INPUT
    } else {
        exit::OK
    })
}

/// Writes the ingest summary: a line per file (with `quiet`, only the files that were refused or
/// had records quarantined), then the totals.
fn print_summary(
    out: &mut impl Write,
    summary: &IngestSummary,
    db: &std::path::Path,
    quiet: bool,
) -> io::Result<()> {
    for file in &summary.files {
        let troubled = match &file.outcome {
            FileOutcome::Loaded { counts, .. } => counts.records_quarantined > 0,
            FileOutcome::Refused { .. } => true,
            FileOutcome::Duplicate { .. } | FileOutcome::Skipped { .. } => false,
        };
        if quiet && !troubled {
            continue;
        }
        let path = for_terminal(&crate::text::path_text(&file.path)).into_owned();
        match &file.outcome {
            FileOutcome::Loaded {
                source_id,
                format,
                counts,
                quarantine_sample,
                inflation,
                ..
            } => {
                writeln!(
                    out,
                    "loaded     {path}  [{format}, source {source_id}]  {} records: {} events, {} quarantined",
                    counts.records_read, counts.events_ingested, counts.records_quarantined
                )?;
                if let Some(inflation) = inflation {
                    writeln!(
                        out,
                        "           gzip: {} on disk inflated to {} ({:.0}x; --max-decompressed-bytes is {})",
                        super::output::human_bytes(inflation.compressed),
                        super::output::human_bytes(inflation.decompressed),
                        inflation.ratio(),
                        super::output::human_bytes(inflation.limit)
                    )?;
                }
                for (locator, reason) in quarantine_sample {
                    writeln!(
                        out,
                        "           quarantined {locator}: {}",
                        for_terminal(reason)
                    )?;
                }
                if counts.records_quarantined > quarantine_sample.len() as u64 {
                    writeln!(
                        out,
                        "           ... {} more in the quarantine table",
                        counts.records_quarantined - quarantine_sample.len() as u64
                    )?;
                }
            }
            FileOutcome::Duplicate {
                existing_source_id,
                existing_path,
                ..
            } => writeln!(
                out,
                "unchanged  {path}  already ingested as source {existing_source_id} ({}); nothing added",
                for_terminal(existing_path)
            )?,
            FileOutcome::Skipped { reason } => {
                writeln!(out, "skipped    {path}  ({})", for_terminal(reason))?;
            }
            FileOutcome::Refused { reason } => {
                writeln!(out, "REFUSED    {path}  {}", for_terminal(reason))?;
            }
        }
    }
    let t = summary.totals();
    writeln!(
        out,
        "total: {} records read, {} normalised into {} events, {} quarantined -> {}",
        t.records_read,
        t.records_ok,
        t.events_ingested,
        t.records_quarantined,
        for_terminal(&db.to_string_lossy())
    )
}

fn sources(db: &std::path::Path, args: &SourcesArgs) -> Result<u8, CliError> {
    let store = open(db, Access::ReadOnly)?;
    let rows = store.sources()?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        TableFormat::Json => {
            crate::text::write_json(&mut out, &rows, true).map_err(io::Error::other)?;
            writeln!(out)?;
        }
        TableFormat::Table => {
            let headers: Vec<String> = [
                "id",
                "path",
                "format",
                "sha256",
                "bytes",
                "read",
                "ok",
                "quarantined",
                "events",
                "ingested_at",
            ]
            .map(str::to_owned)
            .to_vec();
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.path.clone(),
                        s.format.clone(),
                        s.sha256.clone(),
                        s.size_bytes.to_string(),
                        s.records_read.to_string(),
                        s.records_ok.to_string(),
                        s.records_quarantined.to_string(),
                        s.events_ingested.to_string(),
                        format_time(&s.ingested_at),
                    ]
                })
                .collect();
            write_table(&mut out, &headers, &table)?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

fn verify(db: &std::path::Path, quiet: bool, args: &VerifyArgs) -> Result<u8, CliError> {
    let store = open(db, Access::ReadOnly)?;
    let checks = crate::ingest::verify_sources(&store, args.base.as_deref())?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        TableFormat::Json => {
            crate::text::write_json(&mut out, &checks, true).map_err(io::Error::other)?;
            writeln!(out)?;
        }
        TableFormat::Table => {
            let headers: Vec<String> = ["id", "status", "path", "recorded sha256", "now"]
                .map(str::to_owned)
                .to_vec();
            let table: Vec<Vec<String>> = checks
                .iter()
                .map(|c| {
                    let now = match (&c.current_sha256, &c.error) {
                        (Some(sha), _) if !c.holds() => {
                            format!("{sha} ({} bytes)", c.current_bytes.unwrap_or_default())
                        }
                        (Some(_), _) => "same".to_owned(),
                        (None, Some(e)) => e.clone(),
                        (None, None) => String::new(),
                    };
                    vec![
                        c.source_id.to_string(),
                        c.status.as_str().to_owned(),
                        c.checked_path.display().to_string(),
                        c.recorded_sha256.clone(),
                        now,
                    ]
                })
                .collect();
            write_table(&mut out, &headers, &table)?;
        }
    }
    out.flush()?;
    let failed = checks.iter().filter(|c| !c.holds()).count();
    if !quiet {
        if failed == 0 {
            eprintln!("verify: all {} evidence files are unchanged", checks.len());
        } else {
            eprintln!(
                "verify: {failed} of {} evidence files changed, disappeared or cannot be read",
                checks.len()
            );
        }
    }
    Ok(if failed == 0 {
        exit::OK
    } else {
        exit::CHECK_FAILED
    })
}

fn query(db: &std::path::Path, args: &QueryArgs) -> Result<u8, CliError> {
    let store = open(db, Access::ReadOnly)?;
    store.restrict_to_evidence()?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut columns: Vec<String> = Vec::new();
    let mut write_error: Option<io::Error> = None;
    match args.format {
        RowFormat::Table => {
            let mut rows: Vec<Vec<String>> = Vec::new();
            let outcome = store.run_sql(
                &args.sql,
                |c| columns.clone_from(&c.0),
                |_, row| {
                    rows.push(row.iter().map(cell_text).collect());
                    rows.len() < TABLE_ROW_LIMIT
                },
            )?;
            write_table(&mut out, &columns, &rows)?;
            if outcome.stopped_early {
                writeln!(
                    out,
                    "(stopped after {TABLE_ROW_LIMIT} rows; use --format csv or json for all of them, or add LIMIT)"
                )?;
            }
        }
        RowFormat::Csv => {
            let mut header_done = false;
            store.run_sql(
                &args.sql,
                |c| columns.clone_from(&c.0),
                |cols, row| {
                    let result = (|| {
                        if !header_done {
                            write_csv_row(&mut out, &cols.0)?;
                            header_done = true;
                        }
                        let cells: Vec<String> = row.iter().map(cell_text).collect();
                        write_csv_row(&mut out, &cells)
                    })();
                    keep_going(result, &mut write_error)
                },
            )?;
            if !header_done && write_error.is_none() {
                write_csv_row(&mut out, &columns)?;
            }
        }
        RowFormat::Json => {
            let mut json = Some(JsonArrayWriter::new(&mut out)?);
            store.run_sql(
                &args.sql,
                |c| columns.clone_from(&c.0),
                |cols, row| {
                    let mut obj = serde_json::Map::new();
                    for (name, value) in cols.0.iter().zip(row) {
                        obj.insert(name.clone(), value);
                    }
                    let result = json
                        .as_mut()
                        .map_or(Ok(()), |w| w.push(&serde_json::Value::Object(obj)));
                    keep_going(result, &mut write_error)
                },
            )?;
            if let Some(w) = json.take()
                && write_error.is_none()
            {
                w.finish()?;
            }
        }
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    Ok(exit::OK)
}

/// Stops a row stream at the first write error, keeping the error for the caller.
fn keep_going(result: io::Result<()>, slot: &mut Option<io::Error>) -> bool {
    match result {
        Ok(()) => true,
        Err(e) => {
            *slot = Some(e);
            false
        }
    }
}

fn timeline(db: &std::path::Path, args: &TimelineArgs) -> Result<u8, CliError> {
    let store = open(db, Access::ReadOnly)?;
    let filter = TimelineFilter {
        task: args.task.clone(),
        actor: args.actor.clone(),
        since: args.since,
        until: args.until,
        limit: args.limit,
    };
    if let (Some(s), Some(u)) = (args.since, args.until)
        && u <= s
    {
        return Err(CliError::usage(anyhow::anyhow!(
            "--until must be after --since"
        )));
    }
    let limit = args.limit.unwrap_or(u64::MAX);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut write_error = None;
    let mut shown = 0u64;
    let headers = [
        "time", "id", "kind", "actor", "task", "action", "class", "target", "outcome",
    ];
    match args.format {
        RowFormat::Table => {
            let mut rows = Vec::new();
            store.timeline(&filter, |r| {
                shown += 1;
                rows.push(vec![
                    format_time(&r.time),
                    r.id,
                    r.kind,
                    r.actor,
                    r.task.unwrap_or_default(),
                    r.action.unwrap_or_default(),
                    r.action_class.unwrap_or_default(),
                    r.destination.or(r.resource).unwrap_or_default(),
                    r.outcome,
                ]);
                shown < limit && rows.len() < TABLE_ROW_LIMIT
            })?;
            let headers: Vec<String> = headers.map(str::to_owned).to_vec();
            write_table(&mut out, &headers, &rows)?;
        }
        RowFormat::Csv => {
            write_csv_row(
                &mut out,
                &[
                    "time",
                    "id",
                    "kind",
                    "actor",
                    "task",
                    "action",
                    "action_class",
                    "class_source",
                    "resource",
                    "destination",
                    "outcome",
                    "source",
                    "locator",
                ],
            )?;
            store.timeline(&filter, |r| {
                shown += 1;
                let cells = [
                    format_time(&r.time),
                    r.id,
                    r.kind,
                    r.actor,
                    r.task.unwrap_or_default(),
                    r.action.unwrap_or_default(),
                    r.action_class.unwrap_or_default(),
                    r.class_source,
                    r.resource.unwrap_or_default(),
                    r.destination.unwrap_or_default(),
                    r.outcome,
                    r.source,
                    r.locator,
                ];
                keep_going(write_csv_row(&mut out, &cells), &mut write_error) && shown < limit
            })?;
        }
        RowFormat::Json => {
            let mut json = JsonArrayWriter::new(&mut out)?;
            store.timeline(&filter, |r| {
                shown += 1;
                keep_going(json.push(&r), &mut write_error) && shown < limit
            })?;
            if write_error.is_none() {
                json.finish()?;
            }
        }
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    Ok(exit::OK)
}

fn graph(db: &std::path::Path, args: &GraphArgs) -> Result<u8, CliError> {
    use crate::graph::{DelegationGraph, GraphFormat, GraphInputs, render};
    let store = open(db, Access::ReadOnly)?;
    let graph = DelegationGraph::build(GraphInputs::load(&store)?);
    let format = match args.format {
        GraphOutput::Text => GraphFormat::Text,
        GraphOutput::Dot => GraphFormat::Dot,
        GraphOutput::Mermaid => GraphFormat::Mermaid,
        GraphOutput::Json => GraphFormat::Json,
    };
    let text = render(&graph, args.at, args.task.as_deref(), format);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    out.write_all(text.as_bytes())?;
    if format == GraphFormat::Text {
        let findings: Vec<_> = graph
            .findings()
            .into_iter()
            .filter(|f| {
                args.task
                    .as_ref()
                    .is_none_or(|t| f.task.as_ref() == Some(t))
            })
            .filter(|f| args.at.is_none_or(|t| f.at <= t))
            .collect();
        if !findings.is_empty() {
            writeln!(out, "\nfindings:")?;
            for f in findings {
                writeln!(
                    out,
                    "  {:<20} {}  {}\n  {:<20} evidence: {}",
                    f.kind.as_str(),
                    format_time(&f.at),
                    for_terminal(&f.explanation),
                    "",
                    for_terminal(&f.evidence.join(", "))
                )?;
            }
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

fn reindex(db: &std::path::Path) -> Result<u8, CliError> {
    let mut store = open(db, Access::ReadWrite)?;
    store.rebuild_timeline_index()?;
    let events = store.timeline_index_events()?;
    writeln!(
        io::stdout().lock(),
        "timeline index rebuilt: {events} events"
    )?;
    Ok(exit::OK)
}

fn analyze(db: &std::path::Path) -> Result<u8, CliError> {
    let mut store = open(db, Access::ReadWrite)?;
    let a = crate::analysis::run(&mut store)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "{} findings, {} drift points, {} accountability records",
        a.findings.len(),
        a.drift_points.len(),
        a.records.len()
    )?;
    Ok(exit::OK)
}

fn tui(db: &std::path::Path, quiet: bool, args: TuiArgs) -> Result<u8, CliError> {
    use std::io::IsTerminal as _;

    use crate::tui::{TuiOptions, bookmark_file, run};
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(CliError::usage(anyhow::anyhow!(
            "onus tui needs a terminal (for scripts use `onus timeline` or `onus query`)"
        )));
    }
    if args.paths.is_empty() && args.manifest.is_empty() {
        let store = open(db, Access::ReadOnly)?;
        let options = TuiOptions {
            label: db.display().to_string(),
            bookmarks: Some(bookmark_file(db)),
        };
        run(&store, options).context("the TUI stopped")?;
        return Ok(exit::OK);
    }
    let options = IngestOptions {
        manifests: args.manifest,
        ..IngestOptions::default()
    };
    let mut store = Store::open_in_memory()?;
    if !quiet {
        eprintln!("ingesting into an in-memory database (nothing is written to disk)...");
    }
    let progress = StderrProgress::new(quiet);
    let summary = ingest_paths(&mut store, &args.paths, &options, &progress)
        .context("ingest for the TUI stopped")?;
    crate::analysis::run(&mut store).context("analysis for the TUI failed")?;
    if !quiet {
        let mut err = io::stderr().lock();
        print_summary(&mut err, &summary, std::path::Path::new("memory"), false)?;
    }
    let label = args
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let options = TuiOptions {
        label: format!("in memory: {label}"),
        bookmarks: None,
    };
    run(&store, options).context("the TUI stopped")?;
    Ok(if summary.had_bad_input() {
        exit::BAD_INPUT
    } else {
        exit::OK
    })
}
