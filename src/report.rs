//! Accountability reports: one [`Report`] model built from the store, and one writer per
//! format (Markdown, self-contained HTML, JSON, CSV timeline, DOT/Mermaid graph, OCSF Detection
//! Finding JSON lines).
//!
//! Reports are deterministic: the same evidence gives byte-identical output (no wall-clock time
//! unless asked for). Evidence text is escaped for each format by the writer that emits it.
//!
//! # Wire format
//! The JSON report is [`Report`] serialised as-is; `schema_version` says which shape it is.
//! docs/report-format.md documents every field.

mod csv;
mod html;
mod markdown;
mod model;
mod ocsf;

use crate::graph::{GraphFormat, render};

pub use model::{REPORT_SCHEMA_VERSION, Report, ReportOptions};

/// The formats `onus report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Html,
    Json,
    Csv,
    Dot,
    Mermaid,
    Ocsf,
}

/// Renders `report` in `format`.
pub fn write(report: &Report, format: ReportFormat) -> String {
    match format {
        ReportFormat::Markdown => markdown::render(report),
        ReportFormat::Html => html::render(report),
        ReportFormat::Json => {
            crate::text::json_string(report, true)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
                + "\n"
        }
        ReportFormat::Csv => csv::render(report),
        ReportFormat::Dot => render(&report.graph, None, None, GraphFormat::Dot),
        ReportFormat::Mermaid => render(&report.graph, None, None, GraphFormat::Mermaid),
        ReportFormat::Ocsf => ocsf::render(report),
    }
}
