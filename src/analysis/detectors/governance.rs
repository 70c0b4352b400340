//! Governance detectors about the declarations themselves: a task given to an agent with no
//! constraints at all, and a run-time declaration that disagrees with the manifest.

use crate::analysis::catalogue;
use crate::analysis::context::{Context, finding};
use crate::model::{EventKind, Finding};
use crate::store::AnalysisEvent;

/// Governance findings about the declarations themselves.
pub fn governance(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for (task, scope) in &ctx.scopes {
        let actions: Vec<&AnalysisEvent> = ctx
            .task_events(task)
            .filter(|e| e.kind == EventKind::ToolCall && ctx.is_agent(&e.actor))
            .collect();
        let Some(first) = actions.first() else {
            continue;
        };
        if scope.unconstrained() {
            let mut evidence: Vec<String> = scope.start_event.iter().cloned().collect();
            evidence.push(first.id.clone());
            out.push(finding(
                &catalogue::GOV_NO_CONSTRAINTS,
                Some(task),
                scope.agent.as_deref().or(Some(&first.actor)),
                scope.start_time.unwrap_or(first.time),
                format!(
                    "task {task} was given to {} with no constraints in the manifest or its task.start (intent: {}), so leaving its scope could not be recognised at run time; {} agent actions ran under it",
                    scope.agent.as_deref().unwrap_or(&first.actor),
                    scope.intent.as_deref().map_or_else(|| "none declared".to_owned(), |i| format!("\"{i}\"")),
                    actions.len()
                ),
                evidence,
            ));
        }
        if let (Some(m), Some(d)) = (&scope.manifest, &scope.declared)
            && !m.is_empty()
            && !d.is_empty()
            && m != d
        {
            out.push(finding(
                &catalogue::GOV_SCOPE_MISMATCH,
                Some(task),
                scope.agent.as_deref(),
                scope.start_time.unwrap_or(first.time),
                format!(
                    "the task.start of {task} declared constraints {} but the manifest says {}; drift is checked against the manifest",
                    serde_json::to_string(d).unwrap_or_default(),
                    serde_json::to_string(m).unwrap_or_default()
                ),
                scope.start_event.iter().cloned().collect(),
            ));
        }
    }
}
