//! Command-line arguments (clap derive). Nothing below `cli` sees these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The largest `--limit` (SQL's `LIMIT` takes a signed 64-bit count; larger is a usage error).
const MAX_LIMIT: u64 = i64::MAX.unsigned_abs();

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  replay: an expectation no longer holds, or a finding at or above --fail-on exists;
     verify: an evidence file changed, disappeared or cannot be read
  2  usage error: bad option or value, invalid SQL
  3  bad input: some records were quarantined or files refused (the rest was loaded)
  4  the command could not run: database missing or locked, I/O or internal error";

/// Investigate incidents caused by authorised AI agents.
///
/// onus loads agent and workload audit logs into a DuckDB evidence database, keeps every record
/// it cannot read in quarantine, and lets you walk the evidence by time, task and actor.
#[derive(Debug, Parser)]
#[command(name = "onus", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Evidence database file
    #[arg(
        long,
        global = true,
        env = "ONUS_DB",
        default_value = "onus.duckdb",
        value_name = "FILE"
    )]
    pub db: PathBuf,
    /// No progress bar and no chatter on stderr; the ingest summary lists only the files that
    /// were refused or had records quarantined
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load evidence files (and manifests) into the database
    #[command(after_help = EXIT_CODES)]
    Ingest(IngestArgs),
    /// List ingested sources with their hashes and record counts
    Sources(SourcesArgs),
    /// Re-hash the evidence files still on disk and report any that changed or disappeared
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Run read-only SQL against the evidence
    #[command(after_help = EXIT_CODES)]
    Query(QueryArgs),
    /// Show events in time order
    Timeline(TimelineArgs),
    /// Show the delegation graph: who acted on whose authority
    Graph(GraphArgs),
    /// Recompute drift, findings and accountability (ingest does this by itself)
    Analyze,
    /// Rebuild the timeline index the TUI browses (ingest does this by itself)
    Reindex,
    /// List findings, most severe first
    Findings(FindingsArgs),
    /// Show who is accountable for each task with findings
    Accountability(AccountabilityArgs),
    /// Write an accountability report
    Report(ReportArgs),
    /// Ingest saved evidence into memory, analyse it, report, and check expectations
    #[command(after_help = EXIT_CODES)]
    Replay(ReplayArgs),
    /// Investigate interactively: timeline, event detail, delegation graph, findings,
    /// accountability and a SQL console
    ///
    /// Without PATH, opens the --db database read-only. With PATHs, ingests them into an
    /// in-memory database first (nothing is written to disk) and opens that.
    Tui(TuiArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    Md,
    Html,
    Json,
    Csv,
    Dot,
    Mermaid,
    Ocsf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Md)]
    pub format: ReportFormatArg,
    /// Write to this file (atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Title at the top of the report
    #[arg(long)]
    pub title: Option<String>,
    /// Stamp the report with the current time (off by default so reports are byte-identical)
    #[arg(long)]
    pub timestamp: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Evidence files or fixture folders (a folder's top-level manifest.toml and expected.toml
    /// are used)
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Accountability manifest (TOML), instead of the folders' manifest.toml; may be repeated
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Md)]
    pub format: ReportFormatArg,
    /// Write the report to this file (atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Expectation file; default: expected.toml in the first fixture folder, if there is one
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity exists
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
}

#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// Only findings of this task
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// Only findings at or above this severity
    #[arg(long, value_enum)]
    pub severity: Option<SeverityArg>,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Args)]
pub struct AccountabilityArgs {
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Evidence files or directories to ingest into an in-memory database first
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Accountability manifest (TOML) for the in-memory ingest; may be repeated
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Only delegations of this task
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// The graph as of this time: later or expired edges are left out
    #[arg(long, value_name = "TIME", value_parser = parse_cli_time)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    #[arg(long, value_enum, default_value_t = GraphOutput::Text)]
    pub format: GraphOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphOutput {
    Text,
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Evidence files or directories (walked recursively; a `*.toml` in them is not read: name
    /// manifests with --manifest)
    #[arg(value_name = "PATH", required_unless_present = "manifest")]
    pub paths: Vec<PathBuf>,
    /// Accountability manifest (TOML); may be repeated
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
    /// Format of the evidence files; `auto` detects each file from its content
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub format: InputFormat,
    /// Longest record accepted, in bytes; longer records are quarantined
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_record_bytes: usize,
    /// Most bytes a compressed file may inflate to before it is refused
    #[arg(long, value_name = "BYTES", default_value_t = crate::ingest::DEFAULT_MAX_DECOMPRESSED_BYTES)]
    pub max_decompressed_bytes: u64,
    /// Largest accountability manifest accepted, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = crate::ingest::DEFAULT_MAX_MANIFEST_BYTES)]
    pub max_manifest_bytes: u64,
    /// Print the ingest summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Do not recompute drift, findings and accountability after loading
    #[arg(long)]
    pub no_analyze: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Auto,
    Onus,
    /// OTLP/JSON traces with OpenTelemetry GenAI attributes
    Otlp,
    /// MCP JSON-RPC message logs
    Mcp,
    /// agent chat transcripts (messages with tool calls)
    Chat,
    /// AWS CloudTrail (`{"Records":[...]}` files or one record per line)
    #[value(name = "cloudtrail")]
    CloudTrail,
    /// Kubernetes audit events (`audit.k8s.io` `Event`, one per line)
    #[value(name = "k8s-audit")]
    K8sAudit,
}

#[derive(Debug, Args)]
pub struct SourcesArgs {
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Resolve relative source paths against this directory (where the ingest ran) instead of
    /// the current one
    #[arg(long, value_name = "DIR")]
    pub base: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// One SQL statement; the database is opened read-only
    #[arg(value_name = "SQL")]
    pub sql: String,
    #[arg(long, value_enum, default_value_t = RowFormat::Table)]
    pub format: RowFormat,
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// Only events of this task
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// Only events by this actor
    #[arg(long, value_name = "ID")]
    pub actor: Option<String>,
    /// Only events at or after this time (RFC 3339; a time without offset is UTC)
    #[arg(long, value_name = "TIME", value_parser = parse_cli_time)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events before this time
    #[arg(long, value_name = "TIME", value_parser = parse_cli_time)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Show at most this many events
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(..=MAX_LIMIT))]
    pub limit: Option<u64>,
    #[arg(long, value_enum, default_value_t = RowFormat::Table)]
    pub format: RowFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowFormat {
    Table,
    Json,
    Csv,
}

/// Times typed by a person: RFC 3339, or a date and time without offset taken as UTC.
fn parse_cli_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::{NaiveDate, NaiveDateTime};
    if let Ok(t) = crate::model::parse_time(text) {
        return Ok(t);
    }
    let text = text.trim();
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    Err(format!(
        "`{text}` is not a time (use 2026-03-04T10:15:00Z, 2026-03-04 10:15 or 2026-03-04)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn person_typed_times_are_utc() {
        let t = parse_cli_time("2026-03-04 10:15").expect("time");
        assert_eq!(crate::model::format_time(&t), "2026-03-04T10:15:00.000000Z");
        assert!(parse_cli_time("2026-03-04").is_ok());
        assert!(parse_cli_time("soon").is_err());
    }
}
