//! Runtime-control detectors: approvals missing, denied or expired; request-time policy
//! decisions missing or ignored; agent actions with no task to trace them to.

use std::collections::{BTreeMap, HashMap};

use crate::analysis::catalogue;
use crate::analysis::context::{Context, finding, went_through};
use crate::model::{Decision, EventKind, Finding, pattern_matches};
use crate::store::AnalysisEvent;

/// Whether an approval-list entry (a class name or an action pattern) covers the action.
fn listed(entries: &[String], e: &AnalysisEvent) -> bool {
    let class = e.action_class;
    entries.iter().any(|entry| {
        class.is_some_and(|c| crate::model::parse_action_class(entry) == Some(c))
            || e.action
                .as_deref()
                .is_some_and(|a| pattern_matches(entry, a))
    })
}

/// What approvals said about one action: the verdict that applies at its time.
enum Approval<'a> {
    Valid,
    Denied(&'a AnalysisEvent),
    Expired(&'a AnalysisEvent),
    Missing,
}

fn approval_for<'a>(
    action: &AnalysisEvent,
    decisions: &[&'a AnalysisEvent],
    requested: &HashMap<&str, &str>,
) -> Approval<'a> {
    let mut verdict = Approval::Missing;
    for d in decisions.iter().filter(|d| d.time <= action.time) {
        let about = d.call_id.as_deref().and_then(|c| requested.get(c)).copied();
        if about.is_some_and(|a| Some(a) != action.action.as_deref()) {
            continue;
        }
        verdict = match d.decision {
            Some(Decision::Allow) if d.expires_at.is_some_and(|x| x <= action.time) => {
                Approval::Expired(d)
            }
            Some(Decision::Allow) => Approval::Valid,
            _ => Approval::Denied(d),
        };
    }
    verdict
}

#[allow(
    clippy::too_many_lines,
    reason = "one pass over each task checks every runtime control together"
)]
pub fn runtime(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let requested: HashMap<&str, &str> = ctx
        .events
        .iter()
        .filter(|e| e.kind == EventKind::ApprovalRequest)
        .filter_map(|e| Some((e.call_id.as_deref()?, e.action.as_deref()?)))
        .collect();
    for (task, scope) in &ctx.scopes {
        let events: Vec<&AnalysisEvent> = ctx.task_events(task).collect();
        let decisions: Vec<&AnalysisEvent> = events
            .iter()
            .copied()
            .filter(|e| e.kind == EventKind::ApprovalDecision)
            .collect();
        let policy: Vec<&AnalysisEvent> = events
            .iter()
            .copied()
            .filter(|e| e.kind == EventKind::PolicyDecision)
            .collect();
        let required = scope
            .constraints
            .as_ref()
            .and_then(|c| c.approval_required.clone());
        let mut missing = Vec::new();
        let mut after_no = Vec::new();
        let mut unruled = Vec::new();
        let mut no_policy = Vec::new();
        let mut ignored = Vec::new();
        for a in events
            .iter()
            .copied()
            .filter(|e| e.kind == EventKind::ToolCall && went_through(e))
        {
            let class = a.action_class;
            let needs_approval = required.as_deref().is_some_and(|r| listed(r, a));
            let sensitive = class.is_some_and(|c| ctx.policy.sensitive_classes.contains(&c));
            match approval_for(a, &decisions, &requested) {
                Approval::Valid => {}
                Approval::Denied(d) | Approval::Expired(d) if needs_approval || sensitive => {
                    after_no.push((a, d));
                }
                _ if needs_approval => missing.push(a),
                _ if sensitive && !scope.unconstrained() => unruled.push(a),
                _ => {}
            }
            if class.is_some_and(|c| ctx.policy.policy_decision_required.contains(&c)) {
                let before: Vec<&&AnalysisEvent> = policy
                    .iter()
                    .filter(|p| p.time <= a.time)
                    .filter(|p| {
                        p.action
                            .as_deref()
                            .is_none_or(|x| Some(x) == a.action.as_deref())
                    })
                    .collect();
                match before.last() {
                    None => no_policy.push(a),
                    Some(p) if p.decision == Some(Decision::Deny) => ignored.push((a, **p)),
                    Some(_) => {}
                }
            } else if let Some(p) = policy.iter().rev().find(|p| {
                p.time <= a.time && p.action.is_some() && p.action.as_deref() == a.action.as_deref()
            }) && p.decision == Some(Decision::Deny)
            {
                ignored.push((a, p));
            }
        }
        report(
            ctx,
            task,
            &catalogue::RT_NO_APPROVAL,
            &missing,
            out,
            |n, first| {
                format!(
                    "task {task} requires approval for {} but {n} action(s) ran with no approval recorded, the first `{}` by {}",
                    required.as_deref().unwrap_or_default().join(", "),
                    first.action.as_deref().unwrap_or("?"),
                    first.actor
                )
            },
        );
        report(
            ctx,
            task,
            &catalogue::GOV_SENSITIVE_NO_RULE,
            &unruled,
            out,
            |n, first| {
                format!(
                    "{n} action(s) of a class the policy calls sensitive ({}) ran in task {task}, whose constraints do not require approval for them",
                    first
                        .action_class
                        .map_or("?", crate::model::ActionClass::as_str)
                )
            },
        );
        report(
            ctx,
            task,
            &catalogue::RT_NO_POLICY,
            &no_policy,
            out,
            |n, first| {
                format!(
                    "the policy requires a request-time policy decision for {} actions; {n} ran in task {task} without one, the first `{}`",
                    first
                        .action_class
                        .map_or("?", crate::model::ActionClass::as_str),
                    first.action.as_deref().unwrap_or("?")
                )
            },
        );
        // The detector goes with its list, and the word for the decision with the detector.
        for (detector, kind, list) in [
            (&catalogue::RT_AFTER_DENIAL, "approval", &after_no),
            (&catalogue::RT_DENY_IGNORED, "policy", &ignored),
        ] {
            if let Some((first, decision)) = list.first() {
                let mut evidence: Vec<String> = list.iter().map(|(a, _)| a.id.clone()).collect();
                evidence.insert(1.min(evidence.len()), decision.id.clone());
                out.push(finding(
                    detector,
                    Some(task),
                    Some(&first.actor),
                    first.time,
                    format!(
                        "`{}` by {} went ahead after the {kind} decision {} said {}{}",
                        first.action.as_deref().unwrap_or("?"),
                        first.actor,
                        decision.id,
                        decision.decision.map_or("?", Decision::as_str),
                        if decision.expires_at.is_some_and(|x| x <= first.time) {
                            " (expired)"
                        } else {
                            ""
                        }
                    ),
                    evidence,
                ));
            }
        }
    }
    untraceable(ctx, out);
}

fn report(
    ctx: &Context<'_>,
    task: &str,
    detector: &catalogue::Detector,
    actions: &[&AnalysisEvent],
    out: &mut Vec<Finding>,
    explain: impl Fn(usize, &AnalysisEvent) -> String,
) {
    let _ = ctx;
    if let Some(first) = actions.first() {
        out.push(finding(
            detector,
            Some(task),
            Some(&first.actor),
            first.time,
            explain(actions.len(), first),
            actions.iter().map(|a| a.id.clone()).collect(),
        ));
    }
}

/// Agent actions with no task, or with a task nothing declares.
fn untraceable(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut no_task: BTreeMap<&str, Vec<&AnalysisEvent>> = BTreeMap::new();
    for e in ctx.events {
        if e.kind == EventKind::ToolCall && ctx.is_agent(&e.actor) {
            let declared = e
                .task
                .as_deref()
                .and_then(|t| ctx.scopes.get(t))
                .is_some_and(|s| {
                    s.start_event.is_some() || s.manifest.is_some() || s.intent.is_some()
                });
            if !declared {
                no_task.entry(e.actor.as_str()).or_default().push(e);
            }
        }
    }
    for (agent, events) in no_task {
        let first = events[0];
        out.push(finding(
            &catalogue::RT_UNTRACEABLE,
            None,
            Some(agent),
            first.time,
            format!(
                "{} action(s) by agent {agent} name no declared task, so no intent or constraints can be checked against them",
                events.len()
            ),
            events.iter().map(|e| e.id.clone()).collect(),
        ));
    }
}
