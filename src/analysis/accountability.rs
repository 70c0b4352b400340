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

/// One row of the decision table: when it fires (its [`Condition`]), and the failure class it
/// makes primary or contributing.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub class: FailureClass,
    pub situation: &'static str,
    pub condition: Condition,
    /// Whether liability moved to execution time when this row is primary (a task without
    /// constraints never left design time: nothing at run time could tell drift from it).
    pub shifts: bool,
}

/// When a row fires, as data: the table is read top to bottom by [`evaluate`], which knows how
/// to test each kind of condition.
#[derive(Debug, Clone, Copy)]
pub enum Condition {
    /// Once for each finding of one of these detectors in the task.
    Finding {
        detectors: &'static [&'static str],
        /// Whose owner is accountable besides the task's: the finding's principal when it is
        /// an agent, or always, or never.
        subject: Subject,
    },
    /// The drift point broke the task's constraints and nothing stopped the task; `granted`
    /// says whether a standing grant of the actor (or of the credential it used) covered the
    /// action.
    UnstoppedDrift { granted: bool },
    /// No row above fired and the task has findings: the most severe (the earliest among
    /// equals) decides.
    Otherwise,
}

/// Whose owner a fired row points at, besides the task's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    None,
    /// The finding's principal, when it is an agent.
    AgentPrincipal,
    /// The finding's principal, whatever it is.
    Principal,
}

/// The decision table, in priority order.
pub const RULES: &[Rule] = &[
    Rule {
        id: "R1-no-constraints",
        class: FailureClass::WorkflowDesign,
        situation: "the task had no declared constraints, so drift could not be recognised at run time",
        condition: Condition::Finding {
            detectors: &[catalogue::GOV_NO_CONSTRAINTS.id],
            subject: Subject::None,
        },
        shifts: false,
    },
    Rule {
        id: "R2-drift-allowed-by-grant",
        class: FailureClass::BehaviouralControl,
        situation: "constraints existed, an action broke them, a standing grant allowed it and no runtime check stopped it",
        condition: Condition::UnstoppedDrift { granted: true },
        shifts: true,
    },
    Rule {
        id: "R3-drift-enforcement-failed",
        class: FailureClass::BehaviouralControl,
        situation: "an action broke the constraints and no grant covered it, yet it succeeded",
        condition: Condition::UnstoppedDrift { granted: false },
        shifts: true,
    },
    Rule {
        id: "R5-approval-missing",
        class: FailureClass::BehaviouralControl,
        situation: "the workflow required approval and none was recorded",
        condition: Condition::Finding {
            detectors: &[catalogue::RT_NO_APPROVAL.id, catalogue::RT_AFTER_DENIAL.id],
            subject: Subject::AgentPrincipal,
        },
        shifts: true,
    },
    Rule {
        id: "R4-sensitive-without-approval-rule",
        class: FailureClass::WorkflowDesign,
        situation: "the action was inside the constraints but sensitive, and the workflow did not require approval",
        condition: Condition::Finding {
            detectors: &[catalogue::GOV_SENSITIVE_NO_RULE.id],
            subject: Subject::AgentPrincipal,
        },
        shifts: true,
    },
    Rule {
        id: "R6-weak-credential",
        class: FailureClass::Entitlement,
        situation: "the agent used a static, long-lived or human credential",
        condition: Condition::Finding {
            detectors: &[catalogue::ID_STATIC.id, catalogue::ID_HUMAN.id],
            subject: Subject::AgentPrincipal,
        },
        shifts: true,
    },
    Rule {
        id: "R7a-unbounded-handoff",
        class: FailureClass::WorkflowDesign,
        situation: "a hand-off carried no constraints",
        condition: Condition::Finding {
            detectors: &[catalogue::DELEG_UNBOUNDED.id],
            subject: Subject::AgentPrincipal,
        },
        shifts: true,
    },
    Rule {
        id: "R7b-delegate-over-granted",
        class: FailureClass::Entitlement,
        situation: "the delegate had more authority than its delegator",
        condition: Condition::Finding {
            detectors: &[catalogue::DELEG_AMPLIFICATION.id],
            subject: Subject::Principal,
        },
        shifts: true,
    },
    Rule {
        id: "R8-other-findings",
        class: FailureClass::BehaviouralControl,
        situation: "no row above fired; the most severe remaining finding decides",
        condition: Condition::Otherwise,
        shifts: true,
    },
];

/// A row that fired for a task, with its evidence and the owner subject to resolve.
struct Fired {
    rule: &'static Rule,
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
        let fired = evaluate(ctx, &task_findings, drift);
        let Some(primary) = fired.first() else {
            continue;
        };
        let (record, gap) = build_record(ctx, scope, &fired, primary, drift);
        gaps.extend(gap);
        records.push(record);
    }
    (records, gaps)
}

/// Reads the decision table top to bottom; every row that fires is kept, in table order, so
/// the first is the primary class and the rest contribute.
fn evaluate(ctx: &Context<'_>, findings: &[&Finding], drift: Option<&DriftPoint>) -> Vec<Fired> {
    let mut fired = Vec::new();
    for rule in RULES {
        match rule.condition {
            Condition::Finding { detectors, subject } => {
                for detector in detectors {
                    if let Some(f) = findings.iter().find(|f| f.detector == *detector) {
                        let subject = match subject {
                            Subject::None => None,
                            Subject::AgentPrincipal => {
                                f.principal.clone().filter(|p| ctx.is_agent(p))
                            }
                            Subject::Principal => f.principal.clone(),
                        };
                        fired.push(Fired {
                            rule,
                            class: rule.class,
                            why: f.explanation.clone(),
                            named_owner: None,
                            subject,
                            at: f.time,
                            evidence: f.evidence.clone(),
                        });
                    }
                }
            }
            Condition::UnstoppedDrift { granted } => {
                if let Some(d) = drift.filter(|d| d.broke_constraints() && d.stopped_by.is_none()) {
                    fired.extend(unstopped_drift(ctx, rule, granted, d));
                }
            }
            Condition::Otherwise => {
                if fired.is_empty()
                    && let Some(f) = findings
                        .iter()
                        .max_by_key(|f| (f.severity, std::cmp::Reverse(f.time)))
                {
                    fired.push(Fired {
                        rule,
                        class: f.failure_class,
                        why: format!("{}: {}", f.detector, f.explanation),
                        named_owner: None,
                        subject: f.principal.clone().filter(|p| ctx.is_agent(p)),
                        at: f.time,
                        evidence: f.evidence.clone(),
                    });
                }
            }
        }
    }
    fired
}

/// The rows of a drift nothing stopped: with a covering grant, the behavioural failure and
/// the grant's own (an entitlement of its holder, whose approver the grant names); without one,
/// the enforcement failure alone. Empty when `granted` does not match what the evidence shows.
fn unstopped_drift(
    ctx: &Context<'_>,
    rule: &'static Rule,
    granted: bool,
    d: &DriftPoint,
) -> Vec<Fired> {
    let action = ctx.events.iter().find(|e| e.id == d.event_id);
    let grant = action.and_then(|a| allowing_grant(ctx, a));
    let evidence: Vec<String> = std::iter::once(d.event_id.clone())
        .chain(d.cause_event_id.clone())
        .collect();
    let actor = action.map(|a| a.actor.clone());
    match (grant, granted) {
        (Some(g), true) => vec![
            Fired {
                rule,
                class: rule.class,
                why: format!(
                    "the drift point broke the task's constraints, grant {} of {} allowed it, and no runtime check stopped the task",
                    g.id, g.holder
                ),
                named_owner: None,
                subject: actor,
                at: d.time,
                evidence,
            },
            Fired {
                rule,
                class: FailureClass::Entitlement,
                why: format!(
                    "grant {} of {} was broader than the task needed",
                    g.id, g.holder
                ),
                named_owner: g.approver,
                subject: Some(g.holder),
                at: d.time,
                evidence: vec![d.event_id.clone()],
            },
        ],
        (None, false) => vec![Fired {
            rule,
            class: rule.class,
            why: "the drift point broke the task's constraints, no grant on record covered it, yet it went through".to_owned(),
            named_owner: None,
            subject: actor,
            at: d.time,
            evidence,
        }],
        _ => Vec::new(),
    }
}

/// A standing grant that covered an action.
struct AllowingGrant {
    id: String,
    approver: Option<String>,
    holder: String,
}

/// The grant that let the drift action through: the actor's own, or the grants behind a
/// credential it presented.
fn allowing_grant(
    ctx: &Context<'_>,
    action: &crate::store::AnalysisEvent,
) -> Option<AllowingGrant> {
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
                return Some(AllowingGrant {
                    id: g.grant_id.clone(),
                    approver: g.approved_by.clone(),
                    holder,
                });
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
    let shift = if primary.rule.shifts {
        drift
            .map(|d| (d.event_id.clone(), d.time))
            .or_else(|| primary.evidence.first().map(|e| (e.clone(), primary.at)))
    } else {
        None
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
