//! Batch replay expectations: what a saved fixture must still produce (findings, drift points,
//! accountability outcomes), checked against a fresh analysis. docs/replay.md documents the file.

use serde::Deserialize;

use crate::model::Severity;
use crate::store::{Store, StoreError};

/// An expectation file (`expected.toml`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    #[serde(default)]
    pub finding: Vec<ExpectedFinding>,
    #[serde(default)]
    pub drift: Vec<ExpectedDrift>,
    #[serde(default)]
    pub accountability: Vec<ExpectedRecord>,
    #[serde(default)]
    pub absent: Option<Absent>,
    /// Two-sided: every finding (detector and task), drift point and accountability record the
    /// analysis produces must be expected too, so an extra finding is a regression.
    #[serde(default)]
    pub strict: bool,
}

/// A finding that must be there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    pub detector: String,
    pub task: Option<String>,
    /// An event the finding must cite, as `file:locator` (`payments-agent.jsonl:L39`).
    pub evidence: Option<String>,
}

/// A drift point that must be there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedDrift {
    pub task: String,
    /// The drift point, as `file:locator`.
    pub event: String,
    pub cause: Option<String>,
}

/// An accountability outcome that must hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRecord {
    pub task: String,
    pub primary_class: Option<String>,
    pub primary_owner: Option<String>,
    pub secondary_owner: Option<String>,
    pub rule: Option<String>,
}

/// What must not be there (a clean control fixture).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Absent {
    /// No finding at or above this severity.
    pub severity_at_or_above: Option<String>,
    /// No drift point at all.
    #[serde(default)]
    pub drift: bool,
}

/// Errors reading an expectation file.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationError {
    #[error("invalid expectation file: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Parses an expectation file.
pub fn parse_expectations(text: &str) -> Result<Expectations, ExpectationError> {
    toml::from_str(text).map_err(|e| ExpectationError::Invalid(e.to_string().trim().to_owned()))
}

fn resolve(store: &Store, reference: &str) -> Result<Option<String>, StoreError> {
    match reference.rsplit_once(':') {
        Some((file, locator)) if locator.starts_with('L') || locator.starts_with('@') => {
            store.event_id_at(file, locator)
        }
        _ => Ok(Some(reference.to_owned())),
    }
}

fn text(v: &serde_json::Value, key: &str) -> String {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => "(none)".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// With `strict = true`: what the analysis produced that no expectation names.
fn strict_extras(
    exp: &Expectations,
    findings: &[crate::store::FindingRow],
    records: &[serde_json::Value],
    diff: &mut Vec<String>,
) {
    let mut seen: Vec<(String, Option<String>)> = Vec::new();
    for f in findings {
        let key = (f.detector.clone(), f.task.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let expected = exp.finding.iter().any(|e| {
            e.detector == f.detector && e.task.as_ref().is_none_or(|t| f.task.as_ref() == Some(t))
        });
        if !expected {
            diff.push(format!(
                "finding {} (task {}): found, not expected (strict)",
                f.detector,
                f.task.as_deref().unwrap_or("-")
            ));
        }
    }
    for r in records {
        let task = text(r, "task");
        if r["drift_event_id"].is_string() && !exp.drift.iter().any(|d| d.task == task) {
            diff.push(format!(
                "drift point in task {task}: found, not expected (strict)"
            ));
        }
        if !exp.accountability.iter().any(|a| a.task == task) {
            diff.push(format!(
                "accountability record of task {task}: found, not expected (strict)"
            ));
        }
    }
}

/// Checks the expectations against the analysis stored in `store`; returns one line per
/// expectation that does not hold (empty when all hold).
#[allow(
    clippy::too_many_lines,
    reason = "one pass per expectation kind, read top to bottom"
)]
pub fn check(store: &Store, exp: &Expectations) -> Result<Vec<String>, ExpectationError> {
    let mut diff = Vec::new();
    let findings = store.findings()?;
    let records = store.accountability_json()?;
    for f in &exp.finding {
        let want_event = if let Some(r) = &f.evidence {
            let Some(id) = resolve(store, r)? else {
                diff.push(format!(
                    "finding {}: evidence {r} names no event in the evidence",
                    f.detector
                ));
                continue;
            };
            Some(id)
        } else {
            None
        };
        let hit = findings.iter().any(|x| {
            x.detector == f.detector
                && f.task.as_ref().is_none_or(|t| x.task.as_ref() == Some(t))
                && want_event.as_ref().is_none_or(|id| {
                    x.evidence
                        .as_array()
                        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(id)))
                })
        });
        if !hit {
            diff.push(format!(
                "finding {} (task {}, evidence {}): expected, not found",
                f.detector,
                f.task.as_deref().unwrap_or("any"),
                f.evidence.as_deref().unwrap_or("any")
            ));
        }
    }
    for d in &exp.drift {
        let want = resolve(store, &d.event)?;
        let got = records.iter().find(|r| r["task"] == d.task.as_str());
        let got_event = got.map(|r| text(r, "drift_event_id"));
        if want.is_none() || got_event != want {
            diff.push(format!(
                "drift point of task {}: expected {} ({}), found {}",
                d.task,
                d.event,
                want.as_deref().unwrap_or("no such event"),
                got_event.unwrap_or_else(|| "no drift point".to_owned())
            ));
        }
        if let Some(cause) = &d.cause {
            let want = resolve(store, cause)?;
            let found = got.map(|r| text(r, "cause_event_id"));
            if want.is_none() || found != want {
                diff.push(format!(
                    "cause of the drift in task {}: expected {cause}, found {}",
                    d.task,
                    found.unwrap_or_else(|| "none".to_owned())
                ));
            }
        }
    }
    for e in &exp.accountability {
        let Some(r) = records.iter().find(|r| r["task"] == e.task.as_str()) else {
            diff.push(format!(
                "accountability of task {}: expected a record, found none",
                e.task
            ));
            continue;
        };
        for (field, want) in [
            ("primary_class", &e.primary_class),
            ("primary_owner", &e.primary_owner),
            ("secondary_owner", &e.secondary_owner),
            ("rule", &e.rule),
        ] {
            if let Some(want) = want {
                let got = text(r, field);
                if &got != want {
                    diff.push(format!(
                        "accountability of task {} {field}: expected {want}, found {got}",
                        e.task
                    ));
                }
            }
        }
    }
    if exp.strict {
        strict_extras(exp, &findings, &records, &mut diff);
    }
    if let Some(absent) = &exp.absent {
        if let Some(floor) = absent.severity_at_or_above.as_deref() {
            let floor = Severity::parse(floor)
                .ok_or_else(|| ExpectationError::Invalid(format!("unknown severity `{floor}`")))?;
            for f in &findings {
                if Severity::parse(&f.severity).is_some_and(|s| s >= floor) {
                    diff.push(format!(
                        "finding {} ({}, task {}): expected no finding at or above {floor}",
                        f.detector,
                        f.severity,
                        f.task.as_deref().unwrap_or("-")
                    ));
                }
            }
        }
        if absent.drift {
            for r in &records {
                if r["drift_event_id"].is_string() {
                    diff.push(format!(
                        "drift point in task {}: expected none",
                        text(r, "task")
                    ));
                }
            }
        }
    }
    Ok(diff)
}
