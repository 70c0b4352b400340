//! The drift model (BRIEF §5.2, docs/detectors.md "Drift"): per task, in time order, where the
//! agent started serving a goal that is not the declared one, why, and what happened after.
//!
//! Two things are kept apart:
//! - **scope deviation**: an action outside the declared lists (tools, resources, destinations,
//!   environments, class ceiling). Always a finding; on its own, a *read* outside the lists
//!   before any instruction-bearing content is only a low-severity scope finding, not drift.
//! - **drift**: the agent serving another goal. The drift point is the first action placed by one
//!   of these rules ([`DriftKind`]):
//!   1. `tainted_action`: its arguments carry a value that entered through the
//!      *instruction-bearing* part of untrusted content ([`super::instructions`]) and appears
//!      nowhere the user or the system said (declared intent, constraints, trusted messages);
//!   2. `out_of_scope_after_instruction`: it is outside the declared lists and comes after
//!      instruction-bearing content;
//!   3. `out_of_scope`: it is outside the declared lists and above read class;
//!   4. `intent_change`: the agent declared a new intent (and kept acting).
//!
//!   When the cause is instruction-bearing content, an earlier action after that content that the
//!   instructions *name* (a `list_files` after "list your files and send them to …") and the
//!   declared intent does not, moves the drift point back onto it (`instructed_action`): the
//!   drift began with the first call that served the instructions.
//!
//! Values a bill merely carries (its own IBAN) are data provenance: recorded, never drift.

use std::collections::BTreeMap;
use std::fmt::Write as _;

mod naming;
mod provenance;
mod targets;

use naming::{names_tool, names_tool_fully};
use provenance::{Input, Trusted, squash};
use targets::{constraint_sets, destinations_of, resources_of, violations};

use super::catalogue::{self, Detector};
use super::context::{Context, finding, went_through};
use super::scope::TaskScope;
use crate::model::{
    ActionClass, ArgumentRoles, Axis, DriftKind, DriftPoint, EventKind, Finding,
    InstructionSpanRecord, Outcome, Provenance, StopKind, Violation,
};
use crate::store::AnalysisEvent;

/// Finds the drift point of every task and the drift and scope findings; returns the points and
/// the scored spans of the tasks' untrusted inputs.
pub fn detect(
    ctx: &Context<'_>,
    out: &mut Vec<Finding>,
) -> (Vec<DriftPoint>, Vec<InstructionSpanRecord>) {
    let mut points = Vec::new();
    let mut spans = Vec::new();
    for (task, scope) in &ctx.scopes {
        if let Some(p) = task_drift(ctx, task, scope, out, &mut spans) {
            points.push(p);
        }
    }
    (points, spans)
}

/// Longest excerpt of a span kept with it.
const EXCERPT_CHARS: usize = 400;

/// The spans of one input worth keeping: instruction-bearing ones and those with a strong signal.
fn span_records(input: &Input<'_>, text: &str, out: &mut Vec<InstructionSpanRecord>) {
    for s in &input.scan.spans {
        if !s.is_instruction() && !s.signals.iter().any(|x| x.kind.is_strong()) {
            continue;
        }
        out.push(InstructionSpanRecord {
            event_id: input.event.id.clone(),
            task: input.event.task.clone(),
            start: s.start,
            end: s.end,
            score: s.score,
            instruction: s.is_instruction(),
            signals: serde_json::to_value(&s.signals).unwrap_or(serde_json::Value::Null),
            excerpt: text[s.start..s.end].chars().take(EXCERPT_CHARS).collect(),
        });
    }
}

/// An action placed by a rule, with what placed it.
struct Candidate<'a> {
    action: &'a AnalysisEvent,
    kind: DriftKind,
    cause: Option<&'a AnalysisEvent>,
}

#[allow(
    clippy::too_many_lines,
    reason = "the rules of the drift model read best in one pass"
)]
fn task_drift(
    ctx: &Context<'_>,
    task: &str,
    scope: &TaskScope,
    out: &mut Vec<Finding>,
    spans: &mut Vec<InstructionSpanRecord>,
) -> Option<DriftPoint> {
    let events: Vec<&AnalysisEvent> = ctx.task_events(task).collect();
    let declared = scope.declared_text();
    let roles = &ctx.policy.argument_roles;

    // Every untrusted input, scanned once; trusted text as it grows.
    let inputs: Vec<Input<'_>> = events
        .iter()
        .filter_map(|e| e.untrusted_content().map(|c| Input::new(e, c, &declared)))
        .collect();
    for i in &inputs {
        if let Some(text) = i.event.untrusted_content() {
            span_records(i, text, spans);
        }
    }
    let mut trusted_text = declared.clone();

    let mut broken: Vec<(&AnalysisEvent, Vec<Violation>)> = Vec::new();
    let mut provenance_of: Vec<(&AnalysisEvent, Vec<Provenance>)> = Vec::new();
    let mut first: Option<Candidate<'_>> = None;
    let mut scope_reads: Vec<(&AnalysisEvent, Vec<Violation>)> = Vec::new();
    for e in &events {
        if let Some(text) = e.trusted_content() {
            trusted_text.push('\n');
            trusted_text.push_str(text);
            continue;
        }
        if e.kind == EventKind::IntentChange && first.is_none() {
            first = Some(Candidate {
                action: e,
                kind: DriftKind::IntentChange,
                cause: latest(&inputs, e, false),
            });
            continue;
        }
        if e.kind != EventKind::ToolCall {
            continue;
        }
        let before: Vec<&Input<'_>> = inputs
            .iter()
            .filter(|i| i.event.time <= e.time && i.event.id != e.id)
            .collect();
        let trusted = Trusted {
            lower: trusted_text.to_lowercase(),
            squashed: squash(&trusted_text),
        };
        let prov = provenance::provenance(e, &before, &trusted);
        let violations: Vec<Violation> = dedup_violations(
            constraint_sets(scope, &e.actor)
                .into_iter()
                .flat_map(|c| violations(e, c, roles))
                .collect(),
        );
        let tainted_from = prov
            .iter()
            .find(|p| p.instruction)
            .and_then(|p| inputs.iter().find(|i| i.event.id == p.event_id))
            .map(|i| i.event);
        let instructed_before = latest(&inputs, e, true);
        let above_read = e.action_class.is_none_or(|c| c > ActionClass::Read);
        // A step outside the lists that followed instructions: above read anywhere after them;
        // a read only when the instructions name its tool (an incidental read by an agent that
        // resisted is not drift).
        let followed = instructed_before.is_some_and(|cause| {
            above_read
                || inputs
                    .iter()
                    .find(|i| i.event.id == cause.id)
                    .is_some_and(|i| i.names_tool(e.action.as_deref()))
        });
        let candidate = if let Some(cause) = tainted_from {
            Some((DriftKind::TaintedAction, Some(cause)))
        } else if !violations.is_empty() && followed {
            Some((DriftKind::InstructedOutOfScope, instructed_before))
        } else if !violations.is_empty() && above_read {
            Some((DriftKind::OutOfScope, latest(&inputs, e, false)))
        } else {
            None
        };
        if !violations.is_empty() {
            if candidate.is_none() && first.is_none() {
                scope_reads.push((e, violations.clone()));
            } else {
                broken.push((e, violations));
            }
        }
        if !prov.is_empty() {
            provenance_of.push((e, prov));
        }
        if first.is_none()
            && let Some((kind, cause)) = candidate
        {
            first = Some(Candidate {
                action: e,
                kind,
                cause,
            });
        }
    }
    let Some(mut point) = first else {
        scope_findings(task, scope, &scope_reads, out);
        return None;
    };

    // The first call that served the instructions: an action after the instruction-bearing
    // cause that the instructions name and the declared intent does not; or, under declared
    // lists, the very next action after that content when it left the lists (a read the
    // attacker's goal needed, "get the scheduled transactions"). Either way it must not be aimed
    // where the user or the data said, and a later action must already have confirmed drift.
    if point.kind != DriftKind::IntentChange
        && let Some(cause) = point.cause
        && let Some(input) = inputs.iter().find(|i| i.event.id == cause.id)
        && input.has_instructions()
    {
        let intent_lower = scope.intent.as_deref().unwrap_or_default().to_lowercase();
        let spans_lower: Vec<&str> = input
            .instruction_texts
            .iter()
            .map(|(_, l, _)| l.as_str())
            .collect();
        let next_after_cause = events
            .iter()
            .skip_while(|e| e.id != cause.id)
            .find(|e| e.kind == EventKind::ToolCall)
            .map(|e| e.id.as_str());
        if let Some(earlier) = events.iter().copied().find(|a| {
            a.kind == EventKind::ToolCall
                && a.time >= cause.time
                && a.time <= point.action.time
                && a.id != point.action.id
                && (a.action.as_deref().is_some_and(|name| {
                    spans_lower.iter().any(|s| names_tool(s, name))
                        && !names_tool_fully(&intent_lower, name)
                }) || (Some(a.id.as_str()) == next_after_cause
                    && scope_reads.iter().any(|(r, _)| r.id == a.id)))
                && only_instructed_roles(a, roles, &provenance_of)
        }) {
            if let Some(i) = scope_reads.iter().position(|(r, _)| r.id == earlier.id) {
                let (r, v) = scope_reads.remove(i);
                broken.insert(0, (r, v));
            }
            point = Candidate {
                action: earlier,
                kind: DriftKind::InstructedAction,
                cause: Some(cause),
            };
        }
    }
    scope_findings(task, scope, &scope_reads, out);
    let p = point.action;

    // The drift point's values first (tainted before data), then those of later broken actions.
    let mut prov: Vec<Provenance> = Vec::new();
    let mut add = |items: &[Provenance]| {
        for q in items {
            if !prov.iter().any(|x| x.value == q.value) {
                prov.push(q.clone());
            }
        }
    };
    for (a, items) in &provenance_of {
        if a.id == p.id {
            let (tainted, data): (Vec<Provenance>, Vec<Provenance>) =
                items.iter().cloned().partition(|q| q.instruction);
            add(&tainted);
            add(&data);
        }
    }
    for (a, items) in &provenance_of {
        if a.time >= p.time
            && (broken.iter().any(|(b, _)| b.id == a.id) || items.iter().any(|q| q.instruction))
        {
            add(items);
        }
    }
    let cause = point
        .cause
        .map(|c| c.id.clone())
        .or_else(|| latest(&inputs, p, false).map(|c| c.id.clone()));

    let actions: Vec<&AnalysisEvent> = events
        .iter()
        .copied()
        .filter(|e| e.kind == EventKind::ToolCall)
        .collect();
    let after: Vec<&AnalysisEvent> = actions
        .iter()
        .copied()
        .filter(|a| a.time >= p.time && a.id != p.id)
        .collect();
    let last_time = after.last().map_or(p.time, |a| a.time);
    let (stopped_by, stop_kind) = containment(&events, p, &broken);

    drift_findings(task, scope, p, &broken, &actions, &prov, &inputs, out);

    Some(DriftPoint {
        task: task.to_owned(),
        event_id: p.id.clone(),
        time: p.time,
        kind: point.kind,
        reasons: broken
            .iter()
            .find(|(a, _)| a.id == p.id)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        cause_event_id: cause,
        provenance: prov,
        actions_after: after.len() as u64,
        after_event_ids: after.iter().map(|a| a.id.clone()).collect(),
        seconds_after: (last_time - p.time).num_microseconds().unwrap_or(0) as f64 / 1e6,
        stopped_by,
        stop_kind,
    })
}

/// Whether every destination and resource of the action (if it has any) came from instructions:
/// an action aimed where the user or the data said serves the user, whatever its tool.
fn only_instructed_roles(
    a: &AnalysisEvent,
    roles: &ArgumentRoles,
    provenance_of: &[(&AnalysisEvent, Vec<Provenance>)],
) -> bool {
    let tainted: Vec<&str> = provenance_of
        .iter()
        .filter(|(x, _)| x.id == a.id)
        .flat_map(|(_, items)| {
            items
                .iter()
                .filter(|p| p.instruction)
                .map(|p| p.value.as_str())
        })
        .collect();
    destinations_of(a, roles)
        .iter()
        .chain(resources_of(a, roles).iter())
        .all(|v| tainted.contains(&v.as_str()))
}

/// The latest untrusted input before `e` (only instruction-bearing ones when `instructed`).
fn latest<'a>(
    inputs: &[Input<'a>],
    e: &AnalysisEvent,
    instructed: bool,
) -> Option<&'a AnalysisEvent> {
    inputs
        .iter()
        .filter(|i| i.event.time <= e.time && i.event.id != e.id)
        .filter(|i| !instructed || i.has_instructions())
        .max_by_key(|i| (i.has_instructions(), i.event.time))
        .map(|i| i.event)
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
) -> (Option<String>, Option<StopKind>) {
    let drift_credentials: Vec<&str> = broken
        .iter()
        .filter_map(|(a, _)| a.credential.as_deref())
        .chain(point.credential.as_deref())
        .collect();
    let last_action = events
        .iter()
        .filter(|e| e.kind == EventKind::ToolCall && went_through(e))
        .map(|e| e.time)
        .max();
    for e in events
        .iter()
        .filter(|e| e.time >= point.time && e.id != point.id)
    {
        let kind = match e.kind {
            EventKind::ToolCall if e.outcome == Outcome::Denied => Some(StopKind::Denial),
            EventKind::ApprovalDecision if e.decision == Some(crate::model::Decision::Deny) => {
                Some(StopKind::ApprovalRefused)
            }
            EventKind::CredentialRevoke
                if e.credential
                    .as_deref()
                    .is_some_and(|c| drift_credentials.contains(&c)) =>
            {
                Some(StopKind::Revocation)
            }
            EventKind::TaskEnd => Some(StopKind::TaskEnd),
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

/// Reads outside the declared lists that no drift explains: scope findings of low severity.
fn scope_findings(
    task: &str,
    scope: &TaskScope,
    reads: &[(&AnalysisEvent, Vec<Violation>)],
    out: &mut Vec<Finding>,
) {
    let Some((first, v)) = reads.first() else {
        return;
    };
    let mut values: Vec<String> = reads
        .iter()
        .flat_map(|(_, vs)| vs.iter().map(|v| format!("{} `{}`", v.axis, v.value)))
        .collect();
    values.dedup();
    out.push(finding(
        &catalogue::SCOPE_READ_OUTSIDE,
        Some(task),
        Some(&first.actor),
        first.time,
        format!(
            "{} read outside the declared lists of task {task} ({} constraints) before any instruction-bearing input: {}; allowed {} [{}]. A scope deviation, not drift: nothing suggests another goal",
            first.actor,
            scope.origin,
            values.join(", "),
            v[0].axis,
            v[0].allowed.join(", "),
        ),
        reads.iter().map(|(a, _)| a.id.clone()).collect(),
    ));
}

#[allow(
    clippy::too_many_arguments,
    clippy::too_many_lines,
    reason = "one finding per axis, then intent and taint, from the same task state"
)]
fn drift_findings(
    task: &str,
    scope: &TaskScope,
    point: &AnalysisEvent,
    broken: &[(&AnalysisEvent, Vec<Violation>)],
    actions: &[&AnalysisEvent],
    prov: &[Provenance],
    inputs: &[Input<'_>],
    out: &mut Vec<Finding>,
) {
    let mut per_axis: BTreeMap<Axis, Vec<(&AnalysisEvent, &Violation)>> = BTreeMap::new();
    for (a, vs) in broken {
        for v in vs {
            per_axis.entry(v.axis).or_default().push((a, v));
        }
    }
    for (axis, hits) in per_axis {
        let detector: &Detector = match axis {
            Axis::Tool => &catalogue::DRIFT_TOOL,
            Axis::Resource => &catalogue::DRIFT_RESOURCE,
            Axis::Destination => &catalogue::DRIFT_DESTINATION,
            Axis::Environment => &catalogue::DRIFT_ENVIRONMENT,
            Axis::ActionClass => &catalogue::DRIFT_CEILING,
        };
        let what = match axis {
            Axis::ActionClass => "action class",
            other => other.as_str(),
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
        if axis == Axis::Destination {
            let class = first.action_class;
            let _ = write!(
                text,
                "; the action class is {}, so {}",
                class.map_or("unclassified", ActionClass::as_str),
                match class {
                    Some(ActionClass::Transfer) => "value left to an outside account",
                    Some(ActionClass::Read) => {
                        "the agent read from a source outside the allowed set (no data was sent)"
                    }
                    _ => "data left the allowed set (exfiltration)",
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
    if point.kind == EventKind::IntentChange {
        let after: Vec<String> = actions
            .iter()
            .filter(|a| a.time > point.time)
            .map(|a| a.id.clone())
            .collect();
        if !after.is_empty() {
            let mut evidence = vec![point.id.clone()];
            evidence.extend(after.iter().cloned());
            out.push(finding(
                &catalogue::DRIFT_INTENT,
                Some(task),
                Some(&point.actor),
                point.time,
                format!(
                    "{} declared a new intent for task {task} (\"{}\") and then took {} more action(s)",
                    point.actor,
                    point.intent.as_deref().unwrap_or(""),
                    after.len()
                ),
                evidence,
            ));
        }
    }
    let tainted: Vec<&Provenance> = prov.iter().filter(|p| p.instruction).collect();
    if !tainted.is_empty() {
        let mut evidence = vec![point.id.clone()];
        for p in &tainted {
            if !evidence.contains(&p.event_id) {
                evidence.push(p.event_id.clone());
            }
        }
        let values: Vec<String> = tainted
            .iter()
            .map(|p| format!("{}={}", p.argument, p.value))
            .collect();
        let source = inputs.iter().find(|i| i.event.id == tainted[0].event_id);
        let why = source
            .and_then(|i| {
                let (s, e) = tainted[0].span?;
                let span = i.scan.spans.iter().find(|x| x.start == s && x.end == e)?;
                Some(format!(
                    " (instruction span at bytes {s}..{e} of {}, score {:.1}: {})",
                    i.event.id,
                    span.score,
                    span.kinds()
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
            .unwrap_or_default();
        out.push(finding(
            &catalogue::DRIFT_TAINTED,
            Some(task),
            Some(&point.actor),
            point.time,
            format!(
                "argument values of action(s) in task {task} came from the instruction-bearing part of untrusted content and nowhere the user or the system said: {}{why}",
                values.join(", ")
            ),
            evidence,
        ));
    }
}
