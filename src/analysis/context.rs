//! What every detector needs: the events in order, grouped by task, the resolved task scopes,
//! the organisation policy and the delegation graph.

use std::collections::{BTreeMap, HashMap};

use super::catalogue::Detector;
use super::scope::{self, TaskScope};
use crate::graph::DelegationGraph;
use crate::model::arguments::TOOL_ROLES_PREFIX;
use crate::model::{
    ActionClass, ArgumentRoles, CredentialRecord, Finding, Outcome, PrincipalKind, Timestamp,
    ToolRoles, parse_action_class, parse_duration,
};
use crate::store::AnalysisEvent;

/// The organisation policy from the manifest(s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub max_credential_ttl_secs: Option<u64>,
    pub sensitive_classes: Vec<ActionClass>,
    pub policy_decision_required: Vec<ActionClass>,
    pub max_delegation_depth: Option<u32>,
    /// Which arguments of each tool name destinations and resources.
    pub argument_roles: ArgumentRoles,
}

impl Policy {
    /// Reads the `policies` rows (later manifests override earlier ones).
    pub fn from_pairs(pairs: &[(String, serde_json::Value)]) -> Self {
        let mut p = Self::default();
        let classes = |v: &serde_json::Value| -> Vec<ActionClass> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().and_then(parse_action_class))
                        .collect()
                })
                .unwrap_or_default()
        };
        for (key, value) in pairs {
            if let Some(tool) = key.strip_prefix(TOOL_ROLES_PREFIX) {
                if let Ok(roles) = serde_json::from_value::<ToolRoles>(value.clone()) {
                    p.argument_roles.tools.insert(tool.to_owned(), roles);
                }
                continue;
            }
            match key.as_str() {
                "max_credential_ttl" => {
                    p.max_credential_ttl_secs = value.as_str().and_then(|s| parse_duration(s).ok());
                }
                "sensitive_classes" => p.sensitive_classes = classes(value),
                "policy_decision_required" => p.policy_decision_required = classes(value),
                "max_delegation_depth" => {
                    p.max_delegation_depth = value.as_u64().and_then(|v| u32::try_from(v).ok());
                }
                _ => {}
            }
        }
        p
    }
}

/// Shared read-only state of one analysis run.
pub struct Context<'a> {
    pub events: &'a [AnalysisEvent],
    pub graph: &'a DelegationGraph,
    pub policy: Policy,
    /// Task id → indices into `events`, in time order.
    pub by_task: BTreeMap<String, Vec<usize>>,
    pub scopes: BTreeMap<String, TaskScope>,
    kinds: HashMap<String, PrincipalKind>,
    /// The latest credential record per id.
    credentials: HashMap<&'a str, &'a CredentialRecord>,
}

impl<'a> Context<'a> {
    pub fn new(events: &'a [AnalysisEvent], graph: &'a DelegationGraph, policy: Policy) -> Self {
        let mut by_task: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            if let Some(t) = &e.task {
                by_task.entry(t.clone()).or_default().push(i);
            }
        }
        let mut kinds: HashMap<String, PrincipalKind> = graph
            .nodes()
            .into_iter()
            .map(|n| (n.id.clone(), n.kind))
            .collect();
        for e in events {
            if let Some(k) = e.actor_kind {
                kinds.entry(e.actor.clone()).or_insert(k);
            }
        }
        let scopes = scope::resolve(
            events,
            &by_task,
            &graph.inputs().tasks,
            &graph.inputs().delegations,
        );
        let credentials = graph
            .inputs()
            .credentials
            .iter()
            .map(|c| (c.credential_id.as_str(), c))
            .collect();
        Self {
            events,
            graph,
            policy,
            by_task,
            scopes,
            kinds,
            credentials,
        }
    }

    /// The kind of a principal, as far as the evidence says.
    pub fn kind(&self, id: &str) -> PrincipalKind {
        self.kinds
            .get(id)
            .copied()
            .unwrap_or(PrincipalKind::Unknown)
    }

    /// Whether the principal is an AI agent.
    pub fn is_agent(&self, id: &str) -> bool {
        self.kind(id) == PrincipalKind::Agent
    }

    /// The events of a task, in time order.
    pub fn task_events(&self, task: &str) -> impl Iterator<Item = &'a AnalysisEvent> + '_ {
        self.by_task
            .get(task)
            .into_iter()
            .flatten()
            .map(|&i| &self.events[i])
    }

    /// The latest credential record with this id.
    pub fn credential(&self, id: &str) -> Option<&'a CredentialRecord> {
        self.credentials.get(id).copied()
    }
}

/// Whether an action ran (it was not denied and did not fail).
pub fn went_through(e: &AnalysisEvent) -> bool {
    !matches!(e.outcome, Outcome::Denied | Outcome::Error)
}

/// Builds a finding of `detector` with a stable id.
pub fn finding(
    detector: &Detector,
    task: Option<&str>,
    principal: Option<&str>,
    time: Timestamp,
    explanation: String,
    evidence: Vec<String>,
) -> Finding {
    let subject = task.or(principal).unwrap_or("-");
    let first = evidence.first().map_or("-", String::as_str);
    Finding {
        id: format!("{}:{subject}:{first}", detector.id),
        detector: detector.id,
        title: detector.title,
        severity: detector.severity,
        failure_class: detector.class,
        task: task.map(str::to_owned),
        principal: principal.map(str::to_owned),
        time,
        explanation,
        evidence,
        mappings: detector.mappings(),
    }
}
