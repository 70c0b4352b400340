//! `onus findings` and `onus accountability`: the stored analysis results.

use std::io::{self, BufWriter, Write};

use super::args::{AccountabilityArgs, FindingsArgs, SeverityArg, TableFormat};
use super::output::write_table;
use super::{CliError, exit};
use crate::model::Severity;
use crate::store::{Access, Store};
use crate::text::for_terminal;

fn severity(arg: SeverityArg) -> Severity {
    match arg {
        SeverityArg::Info => Severity::Info,
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    }
}

pub(super) fn findings(db: &std::path::Path, args: &FindingsArgs) -> Result<u8, CliError> {
    let store = Store::open(db, Access::ReadOnly)?;
    let floor = args.severity.map(severity);
    let rows: Vec<_> = store
        .findings()?
        .into_iter()
        .filter(|f| {
            args.task
                .as_ref()
                .is_none_or(|t| f.task.as_ref() == Some(t))
        })
        .filter(|f| floor.is_none_or(|min| Severity::parse(&f.severity).is_some_and(|s| s >= min)))
        .collect();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        TableFormat::Json => {
            crate::text::write_json(&mut out, &rows, true).map_err(io::Error::other)?;
            writeln!(out)?;
        }
        TableFormat::Table => {
            let headers: Vec<String> = [
                "severity",
                "detector",
                "task",
                "principal",
                "time",
                "evidence",
            ]
            .map(str::to_owned)
            .to_vec();
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|f| {
                    let evidence = f.cited.len();
                    vec![
                        f.severity.clone(),
                        f.detector.clone(),
                        f.task.clone().unwrap_or_default(),
                        f.principal.clone().unwrap_or_default(),
                        f.time.clone(),
                        format!(
                            "{}{}",
                            f.cited.first().map_or("", String::as_str),
                            if evidence > 1 {
                                format!(" +{}", evidence - 1)
                            } else {
                                String::new()
                            }
                        ),
                    ]
                })
                .collect();
            write_table(&mut out, &headers, &table)?;
            writeln!(out, "\n{} findings", rows.len())?;
            for f in &rows {
                writeln!(
                    out,
                    "\n[{}] {} — {}\n  {}",
                    f.severity,
                    f.detector,
                    f.title,
                    for_terminal(&f.explanation)
                )?;
            }
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

fn text(v: &serde_json::Value, key: &str) -> String {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub(super) fn accountability(
    db: &std::path::Path,
    args: &AccountabilityArgs,
) -> Result<u8, CliError> {
    let store = Store::open(db, Access::ReadOnly)?;
    let records = store.accountability_json()?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        TableFormat::Json => {
            crate::text::write_json(&mut out, &records, true).map_err(io::Error::other)?;
            writeln!(out)?;
        }
        TableFormat::Table => {
            if records.is_empty() {
                writeln!(out, "no task has findings: nothing to attribute")?;
            }
            for r in &records {
                let owner = |role: &str, key: &str| {
                    let o = text(r, key);
                    if o.is_empty() {
                        format!("{role}: NOT ON RECORD (gap)")
                    } else {
                        format!("{role}: {o}")
                    }
                };
                writeln!(out, "task {}", for_terminal(&text(r, "task")))?;
                writeln!(
                    out,
                    "  primary     {} → {}",
                    text(r, "primary_class"),
                    for_terminal(&owner(&text(r, "primary_role"), "primary_owner"))
                )?;
                if !text(r, "secondary_role").is_empty() {
                    writeln!(
                        out,
                        "  secondary   {}",
                        for_terminal(&owner(&text(r, "secondary_role"), "secondary_owner"))
                    )?;
                }
                writeln!(out, "  rule        {}", text(r, "rule"))?;
                writeln!(out, "  why         {}", for_terminal(&text(r, "rationale")))?;
                writeln!(
                    out,
                    "  shift point {} at {}",
                    text(r, "shift_event_id"),
                    text(r, "shift_time")
                )?;
                if !text(r, "drift_event_id").is_empty() {
                    writeln!(
                        out,
                        "  drift       {} ({}), cause {}, {} actions over {} after it, stopped by {}",
                        text(r, "drift_event_id"),
                        text(r, "drift_kind"),
                        text(r, "cause_event_id"),
                        text(r, "actions_after"),
                        r.get("seconds_after")
                            .and_then(serde_json::Value::as_f64)
                            .map_or_else(|| text(r, "seconds_after"), crate::model::human_duration),
                        if text(r, "stopped_by").is_empty() {
                            "nothing".to_owned()
                        } else {
                            text(r, "stopped_by")
                        }
                    )?;
                }
                for c in r
                    .get("contributing")
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                {
                    let o = text(c, "owner");
                    writeln!(
                        out,
                        "  contributes {} → {}: {}\n              {}",
                        text(c, "class"),
                        text(c, "role"),
                        if o.is_empty() {
                            "NOT ON RECORD (gap)".to_owned()
                        } else {
                            for_terminal(&o).into_owned()
                        },
                        for_terminal(&text(c, "why"))
                    )?;
                }
                for g in r
                    .get("gaps")
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                {
                    writeln!(
                        out,
                        "  gap         {}",
                        for_terminal(g.as_str().unwrap_or(""))
                    )?;
                }
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(exit::OK)
}
