//! Accountability attribution (BRIEF §5.4): for each task with findings, which failure classes
//! contributed, which one is primary, who held each (the owner **in effect at the time of the
//! evidence**), and where liability moved from design time to execution time.
//!
//! The rules are one decision table, [`RULES`], evaluated in order: the first row that fires
//! gives the primary class; every other row that fires contributes. docs/accountability.md
//! explains each row.

use std::collections::BTreeSet;

use crate::analysis::catalogue;
use crate::analysis::{Context, TaskScope};
use crate::graph::normalise;
use crate::model::{
    AccountabilityRecord, Contribution, DriftPoint, FailureClass, Finding, OwnerRole, Timestamp,
    pattern_matches,
};

/// One row of the decision table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub class: FailureClass,
    pub situation: &'static str,
}

/// The decision table, in priority order.
pub const RULES: &[Rule] = &[
    Rule {
        id: "R1-no-constraints",
        class: FailureClass::WorkflowDesign,
        situation: "the task had no declared constraints, so drift could not be recognised at run time",
    },
    Rule {
        id: "R2-drift-allowed-by-grant",
        class: FailureClass::BehaviouralControl,
        situation: "constraints existed, an action broke them, a standing grant allowed it and no runtime check stopped it",
    },
    Rule {
        id: "R3-drift-enforcement-failed",
        class: FailureClass::BehaviouralControl,
        situation: "an action broke the constraints and no grant covered it, yet it succeeded",
    },
    Rule {
        id: "R5-approval-missing",
        class: FailureClass::BehaviouralControl,
        situation: "the workflow required approval and none was recorded",
    },
    Rule {
        id: "R4-sensitive-without-approval-rule",
        class: FailureClass::WorkflowDesign,
        situation: "the action was inside the constraints but sensitive, and the workflow did not require approval",
    },
    Rule {
        id: "R6-weak-credential",
        class: FailureClass::Entitlement,
        situation: "the agent used a static, long-lived or human credential",
    },
    Rule {
        id: "R7a-unbounded-handoff",
        class: FailureClass::WorkflowDesign,
        situation: "a hand-off carried no constraints",
    },
    Rule {
        id: "R7b-delegate-over-granted",
        class: FailureClass::Entitlement,
        situation: "the delegate had more authority than its delegator",
    },
    Rule {
        id: "R8-other-findings",
        class: FailureClass::BehaviouralControl,
        situation: "no row above fired; the most severe remaining finding decides",
    },
];

fn rule(id: &str) -> Rule {
    RULES
        .iter()
        .copied()
        .find(|r| r.id == id)
        .unwrap_or(RULES[RULES.len() - 1])
}

/// A row that fired for a task, with its evidence and the owner subject to resolve.
struct Fired {
    rule: Rule,
    class: FailureClass,
    why: String,
    /// An owner named by the evidence itself (the approver of the grant that allowed it).
    named_owner: Option<String>,
    /// Whose role owner is accountable (an agent id or `task:<id>`), when not the task's.
    subject: Option<String>,
    at: Timestamp,
    evidence: Vec<String>,
}

/// Builds the accountability record of every task with findings, and a governance finding for
/// every owner the evidence does not name.
pub fn attribute(
    ctx: &Context<'_>,
    findings: &[Finding],
    drifts: &[DriftPoint],
) -> (Vec<AccountabilityRecord>, Vec<Finding>) {
    // A read outside the lists with no drift is a scope note, not a failure anyone held.
    let findings: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.detector != catalogue::SCOPE_READ_OUTSIDE.id)
        .collect();
    let tasks: BTreeSet<&str> = findings.iter().filter_map(|f| f.task.as_deref()).collect();
    let mut records = Vec::new();
    let mut gaps = Vec::new();
    for task in tasks {
        let task_findings: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| f.task.as_deref() == Some(task))
            .collect();
        let drift = drifts.iter().find(|d| d.task == task);
        let Some(scope) = ctx.scopes.get(task) else {
            continue;
        };
        let fired = evaluate(ctx, scope, &task_findings, drift);
        let Some(primary) = fired.first() else {
            continue;
        };
        let (record, gap) = build_record(ctx, scope, &fired, primary, drift);
        gaps.extend(gap);
        records.push(record);
    }
    (records, gaps)
}

fn has(findings: &[&Finding], detector: &str) -> Option<Finding> {
    findings
        .iter()
        .find(|f| f.detector == detector)
        .map(|f| (*f).clone())
}

#[allow(
    clippy::too_many_lines,
    reason = "the decision table reads best top to bottom in one place"
)]
fn evaluate(
    ctx: &Context<'_>,
    _scope: &TaskScope,
    findings: &[&Finding],
    drift: Option<&DriftPoint>,
) -> Vec<Fired> {
    let mut fired = Vec::new();
    let push = |fired: &mut Vec<Fired>,
                id: &str,
                f: &Finding,
                why: String,
                named: Option<String>,
                subject: Option<String>| {
        let r = rule(id);
        fired.push(Fired {
            rule: r,
            class: r.class,
            why,
            named_owner: named,
            subject,
            at: f.time,
            evidence: f.evidence.clone(),
        });
    };
    if let Some(f) = has(findings, catalogue::GOV_NO_CONSTRAINTS.id) {
        push(
            &mut fired,
            rule("R1-no-constraints").id,
            &f,
            f.explanation.clone(),
            None,
            None,
        );
    }
    if let Some(d) = drift.filter(|d| d.broke_constraints() && d.stopped_by.is_none()) {
        let action = ctx.events.iter().find(|e| e.id == d.event_id);
        let grant = action.and_then(|a| allowing_grant(ctx, a));
        let anchor = Finding {
            time: d.time,
            evidence: std::iter::once(d.event_id.clone())
                .chain(d.cause_event_id.clone())
                .collect(),
            ..findings[0].clone()
        };
        match grant {
            Some((grant_id, approver, holder)) => {
                push(
                    &mut fired,
                    "R2-drift-allowed-by-grant",
                    &anchor,
                    format!(
                        "the drift point broke the task's constraints, grant {grant_id} of {holder} allowed it, and no runtime check stopped the task"
                    ),
                    None,
                    action.map(|a| a.actor.clone()),
                );
                let r = rule("R2-drift-allowed-by-grant");
                fired.push(Fired {
                    rule: r,
                    class: FailureClass::Entitlement,
                    why: format!("grant {grant_id} of {holder} was broader than the task needed"),
                    named_owner: approver,
                    subject: Some(holder),
                    at: d.time,
                    evidence: vec![d.event_id.clone()],
                });
            }
            None => push(
                &mut fired,
                "R3-drift-enforcement-failed",
                &anchor,
                "the drift point broke the task's constraints, no grant on record covered it, yet it went through".to_owned(),
                None,
                action.map(|a| a.actor.clone()),
            ),
        }
    }
    let rows: [(&str, &str); 6] = [
        ("R5-approval-missing", catalogue::RT_NO_APPROVAL.id),
        ("R5-approval-missing", catalogue::RT_AFTER_DENIAL.id),
        (
            "R4-sensitive-without-approval-rule",
            catalogue::GOV_SENSITIVE_NO_RULE.id,
        ),
        ("R6-weak-credential", catalogue::ID_STATIC.id),
        ("R6-weak-credential", catalogue::ID_HUMAN.id),
        ("R7a-unbounded-handoff", catalogue::DELEG_UNBOUNDED.id),
    ];
    for (id, detector) in rows {
        if let Some(f) = has(findings, detector) {
            let subject = f.principal.clone().filter(|p| ctx.is_agent(p));
            push(&mut fired, id, &f, f.explanation.clone(), None, subject);
        }
    }
    if let Some(f) = has(findings, catalogue::DELEG_AMPLIFICATION.id) {
        push(
            &mut fired,
            "R7b-delegate-over-granted",
            &f,
            f.explanation.clone(),
            None,
            f.principal.clone(),
        );
    }
    if fired.is_empty()
        && let Some(f) = findings
            .iter()
            .max_by_key(|f| (f.severity, std::cmp::Reverse(f.time)))
    {
        let r = rule("R8-other-findings");
        fired.push(Fired {
            rule: r,
            class: f.failure_class,
            why: format!("{}: {}", f.detector, f.explanation),
            named_owner: None,
            subject: f.principal.clone().filter(|p| ctx.is_agent(p)),
            at: f.time,
            evidence: f.evidence.clone(),
        });
    }
    fired
}

/// The grant that let the drift action through: the actor's own, or the grants behind a
/// credential it presented. Returns (grant id, approver, grant holder).
fn allowing_grant(
    ctx: &Context<'_>,
    action: &crate::store::AnalysisEvent,
) -> Option<(String, Option<String>, String)> {
    let permission = normalise(action.action.as_deref()?);
    let mut holders = vec![action.actor.clone()];
    if let Some(h) = action
        .credential
        .as_deref()
        .and_then(|c| ctx.credential(c))
        .and_then(|c| c.holder.clone())
    {
        holders.insert(0, h);
    }
    for holder in holders {
        for g in ctx.graph.inputs().grants_at(&holder, action.time) {
            if g.scope.as_ref().is_some_and(|s| {
                s.iter()
                    .any(|p| pattern_matches(&normalise(p), &permission))
            }) {
                return Some((g.grant_id.clone(), g.approved_by.clone(), holder));
            }
        }
    }
    None
}

/// The owner of `role` for the originating workflow at `at`: the task's own owners first, then
/// the agent the task was given to.
fn workflow_owner(
    ctx: &Context<'_>,
    scope: &TaskScope,
    subject: Option<&str>,
    role: OwnerRole,
    at: Timestamp,
) -> (Option<String>, String) {
    let inputs = ctx.graph.inputs();
    let task_subject = format!("task:{}", scope.task);
    let mut candidates = vec![task_subject];
    candidates.extend(subject.map(str::to_owned));
    candidates.extend(scope.agent.clone());
    for c in &candidates {
        if let Some(o) = inputs.owner_in_effect(c, role, at) {
            return (Some(o.owner.clone()), c.clone());
        }
    }
    (None, candidates.last().cloned().unwrap_or_default())
}

#[allow(
    clippy::too_many_lines,
    reason = "one record, assembled field by field"
)]
fn build_record(
    ctx: &Context<'_>,
    scope: &TaskScope,
    fired: &[Fired],
    primary: &Fired,
    drift: Option<&DriftPoint>,
) -> (AccountabilityRecord, Vec<Finding>) {
    let at = primary.at;
    let mut gaps: Vec<String> = Vec::new();
    let mut gap_findings: Vec<Finding> = Vec::new();
    let resolve = |gaps: &mut Vec<String>,
                   gap_findings: &mut Vec<Finding>,
                   class: FailureClass,
                   subject: Option<&str>,
                   named: Option<&String>| {
        let role = class.accountable_role();
        if let Some(n) = named {
            return (role, Some(n.clone()));
        }
        let subject = subject.filter(|_| class == FailureClass::Entitlement);
        let (owner, on) = workflow_owner(ctx, scope, subject, role, at);
        if owner.is_none() {
            let text = format!(
                "no {} on record for {on} at {}",
                role.as_str(),
                crate::model::format_time(&at)
            );
            if !gaps.contains(&text) {
                gaps.push(text.clone());
                gap_findings.push(crate::analysis::catalogue_finding_gap(
                    &scope.task,
                    &on,
                    at,
                    &text,
                    primary.evidence.clone(),
                ));
            }
        }
        (role, owner)
    };
    // The primary owner belongs to the originating workflow (the task and its agent).
    let (primary_role, primary_owner) = resolve(
        &mut gaps,
        &mut gap_findings,
        primary.class,
        None,
        primary.named_owner.as_ref(),
    );
    // The runtime owner of the control plane where the drift ran, when that is another agent.
    let drift_actor = drift
        .and_then(|d| ctx.events.iter().find(|e| e.id == d.event_id))
        .map(|e| e.actor.clone());
    let (secondary_role, secondary_owner) = match drift_actor {
        Some(actor) if Some(&actor) != scope.agent.as_ref() => {
            let owner = ctx.graph.inputs().owner_in_effect(
                &actor,
                OwnerRole::RuntimeOwner,
                drift.map_or(at, |d| d.time),
            );
            if owner.is_none() {
                let text = format!("no runtime_owner on record for {actor}");
                gaps.push(text.clone());
                gap_findings.push(crate::analysis::catalogue_finding_gap(
                    &scope.task,
                    &actor,
                    at,
                    &text,
                    primary.evidence.clone(),
                ));
            }
            (
                Some(OwnerRole::RuntimeOwner),
                owner.map(|o| o.owner.clone()),
            )
        }
        _ => (None, None),
    };
    let mut contributing = Vec::new();
    for f in fired.iter().skip(1) {
        let (role, owner) = resolve(
            &mut gaps,
            &mut gap_findings,
            f.class,
            f.subject.as_deref(),
            f.named_owner.as_ref(),
        );
        let c = Contribution {
            class: f.class,
            role,
            owner,
            why: format!("{}: {}", f.rule.id, f.why),
        };
        if !contributing
            .iter()
            .any(|x: &Contribution| x.class == c.class && x.owner == c.owner && x.why == c.why)
        {
            contributing.push(c);
        }
    }
    let shift = match primary.rule.id {
        "R1-no-constraints" => None,
        _ => drift
            .map(|d| (d.event_id.clone(), d.time))
            .or_else(|| primary.evidence.first().map(|e| (e.clone(), primary.at))),
    };
    let mut evidence: Vec<String> = Vec::new();
    for f in fired {
        for e in &f.evidence {
            if !evidence.contains(e) {
                evidence.push(e.clone());
            }
        }
    }
    let record = AccountabilityRecord {
        task: scope.task.clone(),
        primary_class: primary.class,
        primary_role,
        primary_owner,
        secondary_role,
        secondary_owner,
        contributing,
        rule: primary.rule.id,
        rationale: format!("{} — {}", primary.rule.situation, primary.why),
        shift_event_id: shift.as_ref().map(|s| s.0.clone()),
        shift_time: shift.map(|s| s.1),
        gaps,
        evidence,
    };
    (record, gap_findings)
}

#[cfg(test)]
mod tests {
    use super::RULES;

    #[test]
    fn the_decision_table_is_documented_row_by_row() {
        let doc = include_str!("../../docs/accountability.md");
        for r in RULES {
            assert!(
                doc.contains(r.id),
                "{} missing from docs/accountability.md",
                r.id
            );
        }
    }
}

#[cfg(test)]
mod decision_table;
