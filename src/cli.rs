//! The command line: parses arguments with clap, turns them into the library's plain option
//! types, runs the command and maps the outcome to a documented exit code. This module and the
//! TUI are the only places that print.

mod args;
mod command;
mod findings;
mod out_file;
mod output;
mod progress;
mod reporting;

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

pub use args::Cli;

/// Exit codes of `onus`, documented in `--help` and docs/cli.md.
pub mod exit {
    /// Everything worked.
    pub const OK: u8 = 0;
    /// Replay: an expectation no longer holds, or a finding at or above `--fail-on` exists.
    pub const CHECK_FAILED: u8 = 1;
    /// The command line was wrong (unknown option, bad value, invalid SQL).
    pub const USAGE: u8 = 2;
    /// Some input was bad: records were quarantined or files refused. Everything else loaded.
    pub const BAD_INPUT: u8 = 3;
    /// The command could not run: database missing or locked, I/O failure, internal error.
    pub const ERROR: u8 = 4;
}

/// An error at the command-line edge, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub error: anyhow::Error,
}

impl CliError {
    fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: exit::USAGE,
            error: error.into(),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(error: E) -> Self {
        let error = error.into();
        let code = if error
            .downcast_ref::<crate::store::StoreError>()
            .is_some_and(|e| matches!(e, crate::store::StoreError::Query(_)) && !e.is_damage())
        {
            exit::USAGE
        } else {
            exit::ERROR
        };
        Self { code, error }
    }
}

/// Parses the process arguments, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(run(cli))
}

/// Runs a parsed command line and returns the exit code; errors are printed to stderr.
pub fn run(cli: Cli) -> u8 {
    let db = cli.global.db.clone();
    match command::run(cli) {
        Ok(code) => code,
        Err(mut e) => {
            if is_broken_pipe(&e.error) {
                return exit::OK;
            }
            if damage_without_path(&e.error) {
                // The store said what broke but not where (an operation deep in a command):
                // name the file, and never call damage a usage error.
                let what = format!("{:#}", e.error);
                e = CliError {
                    code: exit::ERROR,
                    error: anyhow::anyhow!(
                        "the evidence database {} is damaged (the file itself is corrupt or cut short; restore it from a copy, or ingest the evidence again into a new file): {what}",
                        db.display()
                    ),
                };
            }
            let mut stderr = io::stderr().lock();
            let _ = writeln!(stderr, "error: {}", error_text(&e.error));
            e.code
        }
    }
}

/// Whether a store error in the chain reports damage to the database file without naming it.
fn damage_without_path(e: &anyhow::Error) -> bool {
    use crate::store::StoreError;
    let named = e.chain().any(|cause| {
        cause
            .downcast_ref::<StoreError>()
            .is_some_and(|s| matches!(s, StoreError::Damaged { .. }))
    });
    // A wrapper that is transparent over a store error hands on its DuckDB cause, so look at
    // both kinds.
    !named
        && e.chain().any(|cause| {
            cause
                .downcast_ref::<StoreError>()
                .is_some_and(StoreError::is_damage)
                || cause
                    .downcast_ref::<duckdb::Error>()
                    .is_some_and(|d| crate::store::says_damaged(&d.to_string()))
        })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes as terminal-safe text. Messages can quote evidence (DuckDB's
/// "Could not convert string '...'" repeats a cell), so each line is escaped like any evidence;
/// the line breaks of a multi-line message (a SQL error with its caret) are kept.
fn error_text(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .split('\n')
        .map(|line| crate::text::for_terminal(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_messages_quoting_evidence_are_escaped_line_by_line() {
        let e =
            anyhow::anyhow!("Could not convert string 'a\u{1b}[2J\u{202e}' to INT32\nLINE 1: x\r")
                .context("query failed");
        assert_eq!(
            super::error_text(&e),
            "query failed: Could not convert string 'a\\x1b[2J<U+202E>' to INT32\nLINE 1: x\\r"
        );
    }
}
