//! Task scope resolution: each task's declared intent and constraints, from the manifest
//! (design time) and from `task.start` events (run time). The findings about the declarations
//! themselves are in `detectors/governance.rs`; this file knows nothing of findings.

use std::collections::BTreeMap;

use crate::model::{Constraints, DelegationRecord, EventKind, Origin, TaskRecord, Timestamp};
use crate::store::AnalysisEvent;

/// Where the constraints drift is checked against came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeOrigin {
    Manifest,
    Event,
    None,
}

impl ScopeOrigin {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Manifest => "manifest",
            Self::Event => "event",
            Self::None => "none",
        }
    }
}

impl std::fmt::Display for ScopeOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a task was declared to be.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskScope {
    pub task: String,
    /// The agent the task was given to.
    pub agent: Option<String>,
    pub intent: Option<String>,
    /// The constraints drift is checked against: the manifest's when it has them, else the
    /// run-time declaration's.
    pub constraints: Option<Constraints>,
    /// Where `constraints` came from: `manifest`, `event` or `none`.
    pub origin: ScopeOrigin,
    pub manifest: Option<Constraints>,
    pub declared: Option<Constraints>,
    /// The `task.start` event, if any.
    pub start_event: Option<String>,
    pub start_time: Option<Timestamp>,
    /// The first `task.end` event and its time.
    pub end: Option<(String, Timestamp)>,
    /// Constraints carried by hand-offs within the task, per delegate.
    pub handoffs: Vec<HandoffScope>,
}

/// The constraints a hand-off within a task gave its delegate.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffScope {
    pub delegate: String,
    pub constraints: Option<Constraints>,
    /// The `delegate` event.
    pub event_id: String,
}

impl TaskScope {
    /// True when nothing constrains the task.
    pub fn unconstrained(&self) -> bool {
        self.constraints.as_ref().is_none_or(Constraints::is_empty)
    }

    /// All the text the task declared (intent and constraints), for argument provenance.
    pub fn declared_text(&self) -> String {
        let mut text = self.intent.clone().unwrap_or_default();
        for c in [&self.manifest, &self.declared].into_iter().flatten() {
            text.push(' ');
            text.push_str(&serde_json::to_string(c).unwrap_or_default());
        }
        text
    }
}

/// Builds the scope of every task named by a declaration or an event.
pub fn resolve(
    events: &[AnalysisEvent],
    by_task: &BTreeMap<String, Vec<usize>>,
    tasks: &[TaskRecord],
    delegations: &[DelegationRecord],
) -> BTreeMap<String, TaskScope> {
    let mut scopes: BTreeMap<String, TaskScope> = BTreeMap::new();
    let empty = |task: &str| TaskScope {
        task: task.to_owned(),
        agent: None,
        intent: None,
        constraints: None,
        origin: ScopeOrigin::None,
        manifest: None,
        declared: None,
        start_event: None,
        start_time: None,
        end: None,
        handoffs: Vec::new(),
    };
    for t in tasks {
        let s = scopes
            .entry(t.task_id.clone())
            .or_insert_with(|| empty(&t.task_id));
        match t.origin {
            Origin::Manifest => {
                s.manifest.clone_from(&t.constraints);
                s.agent = s.agent.take().or_else(|| t.agent.clone());
                s.intent = t.intent.clone().or_else(|| s.intent.take());
            }
            Origin::Event => {
                if s.start_event.is_none() {
                    s.declared.clone_from(&t.constraints);
                    s.start_event.clone_from(&t.event_id);
                    s.start_time = t.declared_at;
                    s.agent = s.agent.take().or_else(|| t.agent.clone());
                    s.intent = s.intent.take().or_else(|| t.intent.clone());
                }
            }
        }
    }
    for (task, idx) in by_task {
        let s = scopes.entry(task.clone()).or_insert_with(|| empty(task));
        if s.end.is_none() {
            s.end = idx
                .iter()
                .map(|&i| &events[i])
                .find(|e| e.kind == EventKind::TaskEnd)
                .map(|e| (e.id.clone(), e.time));
        }
    }
    for d in delegations {
        if let Some(task) = &d.task
            && let Some(s) = scopes.get_mut(task)
        {
            let constraints = d
                .constraints
                .clone()
                .and_then(|c| serde_json::from_value::<Constraints>(c).ok());
            s.handoffs.push(HandoffScope {
                delegate: d.delegate.clone(),
                constraints,
                event_id: d.event_id.clone(),
            });
        }
    }
    for s in scopes.values_mut() {
        let (constraints, origin) = match (&s.manifest, &s.declared) {
            (Some(m), _) if !m.is_empty() => (Some(m.clone()), ScopeOrigin::Manifest),
            (_, Some(d)) if !d.is_empty() => (Some(d.clone()), ScopeOrigin::Event),
            _ => (None, ScopeOrigin::None),
        };
        s.constraints = constraints;
        s.origin = origin;
    }
    scopes
}
