//! Intent drift and findings (BRIEF §5.2–5.3): what went wrong, task by task, with evidence.
//!
//! [`analyse`] reads the evidence (events, tasks, grants, credentials, owners, the delegation
//! graph), resolves each task's declared scope, finds drift points with their cause and
//! containment, runs the detectors of [`catalogue`], and asks [`accountability`] (the last pass) who held
//! each failure. Everything is a pure function of the store's contents, so results are
//! deterministic; [`run`] writes them back to the store in one transaction.

pub mod accountability;
pub mod catalogue;
mod context;
mod detectors;
mod drift;
pub mod instructions;
mod scope;

use crate::graph::{DelegationGraph, GraphInputs};
use crate::model::{AccountabilityRecord, DriftPoint, Finding, InstructionSpanRecord};
use crate::store::{Store, StoreError};

pub use context::{Context, Policy};
pub use scope::{HandoffScope, ScopeOrigin, TaskScope};

/// Everything one analysis run concludes.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub drift_points: Vec<DriftPoint>,
    pub records: Vec<AccountabilityRecord>,
    /// The scored spans of untrusted content (instruction-bearing ones and near misses).
    pub instruction_spans: Vec<InstructionSpanRecord>,
}

/// Analyses the evidence in `store` without writing anything.
pub fn analyse(store: &Store) -> Result<Analysis, StoreError> {
    let events = store.analysis_events()?;
    let graph = DelegationGraph::build(GraphInputs::load(store)?);
    let policy = Policy::from_pairs(&store.policy()?);
    let ctx = Context::new(&events, &graph, policy);
    let mut findings = Vec::new();
    detectors::governance(&ctx, &mut findings);
    let (drift_points, instruction_spans) = drift::detect(&ctx, &mut findings);
    detectors::identity(&ctx, &mut findings);
    detectors::runtime(&ctx, &mut findings);
    detectors::delegation(&ctx, &mut findings);
    let (records, gap_findings) = accountability::attribute(&ctx, &findings, &drift_points);
    findings.extend(gap_findings);
    findings.sort_by(|a, b| {
        (b.severity, a.time, a.detector, &a.id).cmp(&(a.severity, b.time, b.detector, &b.id))
    });
    findings.dedup_by(|a, b| a.id == b.id);
    Ok(Analysis {
        findings,
        drift_points,
        records,
        instruction_spans,
    })
}

/// Analyses the evidence and replaces the stored results with the new ones.
pub fn run(store: &mut Store) -> Result<Analysis, StoreError> {
    let analysis = analyse(store)?;
    store.replace_analysis(
        &analysis.findings,
        &analysis.drift_points,
        &analysis.records,
        &analysis.instruction_spans,
    )?;
    Ok(analysis)
}

#[cfg(test)]
mod tests;

/// A governance finding for an owner the evidence does not name.
pub(crate) fn catalogue_finding_gap(
    task: &str,
    subject: &str,
    at: crate::model::Timestamp,
    text: &str,
    evidence: Vec<String>,
) -> Finding {
    let mut f = context::finding(
        &catalogue::GOV_OWNER_GAP,
        Some(task),
        Some(subject),
        at,
        format!(
            "{text}: accountability for task {task} cannot be resolved for this role (reported, not guessed)"
        ),
        evidence,
    );
    f.id = format!("{}:{task}:{}", catalogue::GOV_OWNER_GAP.id, f.explanation);
    f
}
