//! Drift points (BRIEF §5.2): per task, in time order, the first action outside the declared
//! constraints or the first explicit intent change; its likely cause (the latest untrusted input
//! before it) and argument provenance; and containment (what happened after it).
//!
//! Without constraints, drift is still found when untrusted content that addresses the agent
//! with instructions is followed by an action whose arguments come from that content.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::catalogue::{self, Detector};
use super::context::{Context, class_of, finding, went_through};
use super::scope::TaskScope;
use crate::model::{Constraints, DriftPoint, Finding, Provenance, Violation, pattern_matches};
use crate::store::AnalysisEvent;

/// Phrases that mark text as instructions addressed to an AI agent rather than content for it.
const INSTRUCTION_MARKERS: &[&str] = &[
    "ignore previous",
    "ignore all previous",
    "ignore the above",
    "disregard previous",
    "disregard your",
    "system note",
    "system prompt",
    "system message",
    "note to ai",
    "to the ai",
    "ai assistant",
    "assistant:",
    "you are now",
    "new instructions",
    "do not ask for approval",
    "do not tell",
    "do not mention",
    "without asking",
    "you must immediately",
];

/// Whether untrusted text looks like it carries instructions for the agent.
pub fn has_instructions(text: &str) -> bool {
    let lower = text.to_lowercase();
    INSTRUCTION_MARKERS.iter().any(|m| lower.contains(m))
}

/// Checks one action against one set of constraints.
fn violations(e: &AnalysisEvent, c: &Constraints) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut check = |axis: &'static str, value: Option<&String>, allowed: Option<&Vec<String>>| {
        if let (Some(value), Some(allowed)) = (value, allowed)
            && !allowed.iter().any(|p| pattern_matches(p, value))
        {
            out.push(Violation {
                axis,
                value: value.clone(),
                allowed: allowed.clone(),
            });
        }
    };
    check("tool", e.action.as_ref(), c.tools.as_ref());
    check("resource", e.resource.as_ref(), c.resources.as_ref());
    check(
        "destination",
        bare(e.destination.as_ref()).as_ref(),
        c.destinations
            .as_ref()
            .map(|d| d.iter().map(|x| strip_scheme(x)).collect::<Vec<_>>())
            .as_ref(),
    );
    check(
        "environment",
        e.environment.as_ref(),
        c.environments.as_ref(),
    );
    if let (Some(ceiling), Some(class)) = (c.max_action_class, class_of(e))
        && class > ceiling
    {
        out.push(Violation {
            axis: "action_class",
            value: class.as_str().to_owned(),
            allowed: vec![format!("at most {ceiling}")],
        });
    }
    out
}

/// Destinations compare without a scheme prefix, so `iban:X` and `X` are the same account.
fn strip_scheme(d: &str) -> String {
    match d.split_once(':') {
        Some((scheme, rest))
            if !rest.starts_with("//") && scheme.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            rest.to_owned()
        }
        _ => d.to_owned(),
    }
}

fn bare(d: Option<&String>) -> Option<String> {
    d.map(|d| strip_scheme(d))
}

/// The constraint sets an action must respect: its task's, and those of the hand-off that
/// gave the actor the work.
fn constraint_sets<'s>(scope: &'s TaskScope, actor: &str) -> Vec<&'s Constraints> {
    let mut sets: Vec<&Constraints> = scope.constraints.iter().collect();
    for (delegate, c, _) in &scope.handoffs {
        if delegate == actor
            && let Some(c) = c
            && !c.is_empty()
        {
            sets.push(c);
        }
    }
    sets
}

/// Scalar values of an action's arguments (and its destination and resource) worth tracing:
/// identifiers, addresses, accounts, URLs. Short or purely alphabetic words are skipped.
fn traceable_values(e: &AnalysisEvent) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(args) = &e.args {
        collect_values("", args, &mut out);
    }
    for (name, v) in [("destination", &e.destination), ("resource", &e.resource)] {
        if let Some(v) = v {
            out.push((name.to_owned(), strip_scheme(v)));
        }
    }
    out.retain(|(_, v)| is_traceable(v));
    out.sort();
    out.dedup();
    out
}

fn collect_values(path: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::String(s) => out.push((path.to_owned(), s.clone())),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_values(&format!("{path}[{i}]"), item, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect_values(&p, item, out);
            }
        }
        _ => {}
    }
}

fn is_traceable(v: &str) -> bool {
    let v = v.trim();
    v.chars().count() >= 6
        && (v.chars().any(|c| c.is_ascii_digit()) || v.contains('@') || v.contains("://"))
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_lowercase()
}

/// Values of `action` first seen in untrusted content of the task (before the action) and not
/// in what the task declared.
fn provenance(
    action: &AnalysisEvent,
    untrusted: &[(&AnalysisEvent, String)],
    declared: &str,
) -> Vec<Provenance> {
    let declared = squash(declared);
    let mut out = Vec::new();
    for (argument, value) in traceable_values(action) {
        let needle = squash(&value);
        if needle.is_empty() || declared.contains(&needle) {
            continue;
        }
        if let Some((src, _)) = untrusted
            .iter()
            .find(|(src, text)| src.time <= action.time && text.contains(&needle))
        {
            out.push(Provenance {
                argument,
                value,
                event_id: src.id.clone(),
            });
        }
    }
    out
}

/// Finds the drift point of every task and the drift findings.
pub fn detect(ctx: &Context<'_>, out: &mut Vec<Finding>) -> Vec<DriftPoint> {
    let mut points = Vec::new();
    for (task, scope) in &ctx.scopes {
        if let Some(p) = task_drift(ctx, task, scope, out) {
            points.push(p);
        }
    }
    points
}

fn task_drift(
    ctx: &Context<'_>,
    task: &str,
    scope: &TaskScope,
    out: &mut Vec<Finding>,
) -> Option<DriftPoint> {
    let events: Vec<&AnalysisEvent> = ctx.task_events(task).collect();
    let actions: Vec<&AnalysisEvent> = events
        .iter()
        .copied()
        .filter(|e| e.kind == "tool.call")
        .collect();
    let untrusted: Vec<(&AnalysisEvent, String)> = events
        .iter()
        .filter_map(|e| e.untrusted_content.as_ref().map(|c| (*e, squash(c))))
        .collect();
    let declared = scope.declared_text();

    // Every out-of-scope action, with what it broke.
    let mut broken: Vec<(&AnalysisEvent, Vec<Violation>)> = Vec::new();
    for a in &actions {
        let v: Vec<Violation> = constraint_sets(scope, &a.actor)
            .into_iter()
            .flat_map(|c| violations(a, c))
            .collect();
        if !v.is_empty() {
            broken.push((a, dedup_violations(v)));
        }
    }
    let intent_change = events.iter().copied().find(|e| e.kind == "intent.change");

    // Without constraints: instructions in untrusted content, then an action built from it.
    let mut tainted: Option<(&AnalysisEvent, Vec<Provenance>)> = None;
    if scope.unconstrained() {
        let instructed: Vec<(&AnalysisEvent, String)> = untrusted
            .iter()
            .filter(|(e, _)| e.untrusted_content.as_deref().is_some_and(has_instructions))
            .map(|(e, t)| (*e, t.clone()))
            .collect();
        tainted = actions.iter().find_map(|a| {
            let p = provenance(a, &instructed, &declared);
            (!p.is_empty()).then_some((*a, p))
        });
    }

    let first_broken = broken.first().map(|(a, _)| *a);
    let (point, kind) = [
        first_broken.map(|e| (e, "out_of_scope")),
        intent_change.map(|e| (e, "intent_change")),
        tainted.as_ref().map(|(e, _)| (*e, "tainted_action")),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|(e, _)| e.time)?;

    let cause = untrusted
        .iter()
        .filter(|(e, _)| e.time <= point.time)
        .max_by_key(|(e, _)| {
            (
                e.untrusted_content.as_deref().is_some_and(has_instructions),
                e.time,
            )
        })
        .map(|(e, _)| e.id.clone());
    let mut prov = match (&tainted, kind) {
        (Some((_, p)), "tainted_action") => p.clone(),
        _ => Vec::new(),
    };
    for (a, _) in &broken {
        for p in provenance(a, &untrusted, &declared) {
            if !prov.iter().any(|q| q.value == p.value) {
                prov.push(p);
            }
        }
    }

    let after: Vec<&AnalysisEvent> = actions
        .iter()
        .copied()
        .filter(|a| a.time >= point.time && a.id != point.id)
        .collect();
    let last_time = after.last().map_or(point.time, |a| a.time);
    let (stopped_by, stop_kind) = containment(&events, point, &broken);

    drift_findings(
        ctx,
        task,
        scope,
        point,
        &broken,
        intent_change,
        &actions,
        &prov,
        out,
    );

    Some(DriftPoint {
        task: task.to_owned(),
        event_id: point.id.clone(),
        time: point.time,
        kind,
        reasons: broken
            .iter()
            .find(|(a, _)| a.id == point.id)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        cause_event_id: cause,
        provenance: prov,
        actions_after: after.len() as u64,
        after_event_ids: after.iter().map(|a| a.id.clone()).collect(),
        seconds_after: (last_time - point.time).num_microseconds().unwrap_or(0) as f64 / 1e6,
        stopped_by,
        stop_kind,
    })
}

fn dedup_violations(mut v: Vec<Violation>) -> Vec<Violation> {
    v.sort_by(|a, b| (a.axis, &a.value).cmp(&(b.axis, &b.value)));
    v.dedup_by(|a, b| a.axis == b.axis && a.value == b.value);
    v
}

/// The first control after the drift point that no task action outlived.
fn containment(
    events: &[&AnalysisEvent],
    point: &AnalysisEvent,
    broken: &[(&AnalysisEvent, Vec<Violation>)],
) -> (Option<String>, Option<&'static str>) {
    let drift_credentials: Vec<&str> = broken
        .iter()
        .filter_map(|(a, _)| a.credential.as_deref())
        .chain(point.credential.as_deref())
        .collect();
    let last_action = events
        .iter()
        .filter(|e| e.kind == "tool.call" && went_through(e))
        .map(|e| e.time)
        .max();
    for e in events
        .iter()
        .filter(|e| e.time >= point.time && e.id != point.id)
    {
        let kind = match e.kind.as_str() {
            "tool.call" if e.outcome == "denied" => Some("denial"),
            "approval.decision" if e.decision.as_deref() == Some("deny") => {
                Some("approval_refused")
            }
            "credential.revoke"
                if e.credential
                    .as_deref()
                    .is_some_and(|c| drift_credentials.contains(&c)) =>
            {
                Some("revocation")
            }
            "task.end" => Some("task_end"),
            _ => None,
        };
        if let Some(kind) = kind
            && last_action.is_none_or(|t| t <= e.time)
        {
            return (Some(e.id.clone()), Some(kind));
        }
    }
    (None, None)
}

#[allow(clippy::too_many_arguments)]
fn drift_findings(
    ctx: &Context<'_>,
    task: &str,
    scope: &TaskScope,
    point: &AnalysisEvent,
    broken: &[(&AnalysisEvent, Vec<Violation>)],
    intent_change: Option<&AnalysisEvent>,
    actions: &[&AnalysisEvent],
    prov: &[Provenance],
    out: &mut Vec<Finding>,
) {
    let _ = ctx;
    let mut per_axis: BTreeMap<&'static str, Vec<(&AnalysisEvent, &Violation)>> = BTreeMap::new();
    for (a, vs) in broken {
        for v in vs {
            per_axis.entry(v.axis).or_default().push((a, v));
        }
    }
    for (axis, hits) in per_axis {
        let (detector, what): (&Detector, &str) = match axis {
            "tool" => (&catalogue::DRIFT_TOOL, "tool"),
            "resource" => (&catalogue::DRIFT_RESOURCE, "resource"),
            "destination" => (&catalogue::DRIFT_DESTINATION, "destination"),
            "environment" => (&catalogue::DRIFT_ENVIRONMENT, "environment"),
            _ => (&catalogue::DRIFT_CEILING, "action class"),
        };
        let (first, v) = hits[0];
        let mut values: Vec<&str> = hits.iter().map(|(_, v)| v.value.as_str()).collect();
        values.dedup();
        let mut text = format!(
            "{} used {what} `{}` in task {task}, which allows only [{}] ({} constraints); {} action(s) broke this rule{}",
            first.actor,
            v.value,
            v.allowed.join(", "),
            scope.origin,
            hits.len(),
            if values.len() > 1 {
                format!(" with values {}", values.join(", "))
            } else {
                String::new()
            }
        );
        if axis == "destination" {
            let class = class_of(first).map_or("unclassified", |c| c.as_str());
            let _ = write!(
                text,
                "; the action class is {class}, so {}",
                if class == "transfer" {
                    "value left to an outside account"
                } else {
                    "data left the allowed set (exfiltration)"
                }
            );
        }
        out.push(finding(
            detector,
            Some(task),
            Some(&first.actor),
            first.time,
            text,
            hits.iter().map(|(a, _)| a.id.clone()).collect(),
        ));
    }
    if let Some(change) = intent_change {
        let after: Vec<String> = actions
            .iter()
            .filter(|a| a.time > change.time)
            .map(|a| a.id.clone())
            .collect();
        if !after.is_empty() {
            let mut evidence = vec![change.id.clone()];
            evidence.extend(after.iter().cloned());
            out.push(finding(
                &catalogue::DRIFT_INTENT,
                Some(task),
                Some(&change.actor),
                change.time,
                format!(
                    "{} declared a new intent for task {task} (\"{}\") and then took {} more action(s)",
                    change.actor,
                    change.intent.as_deref().unwrap_or(""),
                    after.len()
                ),
                evidence,
            ));
        }
    }
    if !prov.is_empty() {
        let mut evidence = vec![point.id.clone()];
        for p in prov {
            if !evidence.contains(&p.event_id) {
                evidence.push(p.event_id.clone());
            }
        }
        let values: Vec<String> = prov
            .iter()
            .map(|p| format!("{}={}", p.argument, p.value))
            .collect();
        out.push(finding(
            &catalogue::DRIFT_TAINTED,
            Some(task),
            Some(&point.actor),
            point.time,
            format!(
                "argument values of the drifted action(s) in task {task} first appeared in untrusted content and nowhere in the declared task: {}",
                values.join(", ")
            ),
            evidence,
        ));
    }
}
