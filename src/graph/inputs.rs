//! What the graph is built from, read from the store in one go.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::model::{
    CredentialRecord, DelegationKind, DelegationRecord, GrantRecord, OwnerAssignment, OwnerRole,
    PrincipalRecord, TaskRecord, Timestamp, owner_in_effect,
};
use crate::store::{
    ActionRow, CredentialUse, HandOffSummary, Store, StoreError, TaskSlice, TaskStart,
};

use super::{Edge, EdgeKind};

/// An action taken by a principal, as the graph checks it.
pub type ActionUse = ActionRow;

/// Everything the delegation graph needs from the evidence.
#[derive(Debug, Clone, Default)]
pub struct GraphInputs {
    pub principals: Vec<PrincipalRecord>,
    pub delegations: Vec<DelegationRecord>,
    pub credentials: Vec<CredentialRecord>,
    pub credential_uses: Vec<CredentialUse>,
    pub grants: Vec<GrantRecord>,
    pub owners: Vec<OwnerAssignment>,
    pub tasks: Vec<TaskRecord>,
    pub task_starts: Vec<TaskStart>,
    pub actions: Vec<ActionUse>,
    /// The policy's `max_delegation_depth`, if any.
    pub max_depth: Option<u32>,
    /// Counted edges, one per (kind, from, to), that stand in for the delegations, credentials,
    /// task starts and credential uses of tasks when the graph is summarised
    /// ([`GraphInputs::load_summary`]); empty otherwise.
    pub summary_edges: Vec<Edge>,
    /// The same for the records of no task ([`GraphInputs::load_summary`] and
    /// [`GraphInputs::load_for_task`]).
    pub summary_untasked: Vec<Edge>,
    /// Grants and owner assignments by principal, built on first lookup. Analysis asks for them
    /// once or more per action; scanning every grant and owner each time made it
    /// O(actions × grants). Built lazily, so the fields above must not change after a lookup.
    pub(super) index: OnceLock<ByPrincipal>,
}

/// Positions in [`GraphInputs::grants`] and [`GraphInputs::owners`], per principal (owners: per
/// subject), in their original order.
#[derive(Debug, Clone, Default)]
pub(super) struct ByPrincipal {
    grants: HashMap<String, Vec<usize>>,
    owners: HashMap<String, Vec<usize>>,
}

impl GraphInputs {
    /// Reads the inputs from the store.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let mut inputs = Self::load_without_actions(store)?;
        inputs.actions = store.actions()?;
        Ok(inputs)
    }

    /// Reads everything but the actions: enough for chains, authority and the graph's own
    /// findings about edges, without holding every action of the evidence in memory (the
    /// action checks, amplification and depth, then find nothing).
    pub fn load_without_actions(store: &Store) -> Result<Self, StoreError> {
        let max_depth = max_depth(store)?;
        Ok(Self {
            principals: store.principals()?,
            delegations: store.delegations()?,
            credentials: store.credentials()?,
            credential_uses: store.credential_uses()?,
            grants: store.grants()?,
            owners: store.owner_assignments()?,
            tasks: store.tasks()?,
            task_starts: store.task_starts()?,
            actions: Vec::new(),
            max_depth,
            summary_edges: Vec::new(),
            summary_untasked: Vec::new(),
            index: OnceLock::new(),
        })
    }

    /// Principals, grants, owners and policy as [`GraphInputs::load`], but the hand-offs counted
    /// per (kind, from, to) instead of one edge per task, credential or delegation, so that the
    /// memory is bounded by the number of principal pairs however many tasks the evidence holds.
    /// Every edge is untasked and carries no scope: chains over it follow principals, and
    /// effective authority comes from grants alone.
    pub fn load_summary(store: &Store) -> Result<Self, StoreError> {
        let (untasked, tasked): (Vec<_>, Vec<_>) = store
            .hand_off_summary()?
            .into_iter()
            .partition(|h| h.untasked);
        Ok(Self {
            principals: store.principals()?,
            grants: store.grants()?,
            owners: store.owner_assignments()?,
            max_depth: max_depth(store)?,
            summary_edges: tasked.into_iter().map(summary_edge).collect(),
            summary_untasked: untasked.into_iter().map(summary_edge).collect(),
            ..Self::default()
        })
    }

    /// What a chain inside task `task` needs, as of `until`: that task's own task starts,
    /// delegations, credentials and credential uses edge by edge, read from the store, plus
    /// what does not depend on the task, taken from `summary` (a [`GraphInputs::load_summary`]):
    /// every principal, grant, owner and the policy, and the hand-offs of no task counted per
    /// principal pair. Bounded by one task's records plus the principal pairs, so a chain can be
    /// rebuilt exactly in evidence too large to hold as a whole graph.
    pub fn load_for_task(
        store: &Store,
        task: &str,
        until: Timestamp,
        summary: &Self,
    ) -> Result<Self, StoreError> {
        let mut slice = TaskSlice {
            task,
            until,
            since: None,
        };
        let tasks = store.tasks_in(Some(&slice))?;
        // The task's events are looked for from its declaration on (see `TaskSlice`).
        slice.since = tasks.iter().filter_map(|t| t.declared_at).min();
        Ok(Self {
            principals: summary.principals.clone(),
            delegations: store.delegations_in(Some(&slice))?,
            credentials: store.credentials_in(Some(&slice))?,
            credential_uses: store.credential_uses_in(Some(&slice))?,
            grants: summary.grants.clone(),
            owners: summary.owners.clone(),
            tasks,
            task_starts: store.task_starts_in(Some(&slice))?,
            max_depth: summary.max_depth,
            summary_untasked: summary.summary_untasked.clone(),
            ..Self::default()
        })
    }

    /// The credential record with this id that was valid at `at` (or the latest declared).
    pub fn credential(&self, id: &str) -> Option<&CredentialRecord> {
        self.credentials
            .iter()
            .rev()
            .find(|c| c.credential_id == id)
    }

    fn by_principal(&self) -> &ByPrincipal {
        self.index.get_or_init(|| {
            let mut index = ByPrincipal::default();
            for (i, g) in self.grants.iter().enumerate() {
                index.grants.entry(g.principal.clone()).or_default().push(i);
            }
            for (i, o) in self.owners.iter().enumerate() {
                index.owners.entry(o.subject.clone()).or_default().push(i);
            }
            index
        })
    }

    /// The owner of `role` for `subject` at `at` ([`owner_in_effect`] over this subject's
    /// assignments only).
    pub fn owner_in_effect(
        &self,
        subject: &str,
        role: OwnerRole,
        at: Timestamp,
    ) -> Option<&OwnerAssignment> {
        let rows = self.by_principal().owners.get(subject)?;
        owner_in_effect(rows.iter().map(|&i| &self.owners[i]), subject, role, at)
    }

    /// The grants of `principal` valid at `at`.
    pub fn grants_at(&self, principal: &str, at: Timestamp) -> Vec<&GrantRecord> {
        let Some(rows) = self.by_principal().grants.get(principal) else {
            return Vec::new();
        };
        rows.iter()
            .map(|&i| &self.grants[i])
            .filter(|g| {
                g.valid_from.is_none_or(|f| f <= at) && g.valid_until.is_none_or(|u| at < u)
            })
            .collect()
    }

    /// The edges these inputs state.
    pub(super) fn edges(&self) -> Vec<Edge> {
        let mut edges = self.summary_edges.clone();
        edges.extend(self.summary_untasked.iter().cloned());
        for s in &self.task_starts {
            if let Some(requester) = &s.on_behalf_of
                && requester != &s.agent
            {
                edges.push(Edge {
                    from: requester.clone(),
                    to: s.agent.clone(),
                    kind: EdgeKind::TaskRequest,
                    at: s.at,
                    expires_at: None,
                    task: Some(s.task.clone()),
                    scope: None,
                    constrained: true,
                    label: None,
                    evidence: vec![s.event_id.clone()],
                });
            }
        }
        for d in &self.delegations {
            let kind = match d.kind {
                DelegationKind::Handoff => EdgeKind::Handoff,
                DelegationKind::AssumeRole => EdgeKind::AssumeRole,
                DelegationKind::Impersonation => EdgeKind::Impersonation,
                DelegationKind::CredentialIssue => EdgeKind::CredentialIssue,
            };
            let label = d.details.as_ref().and_then(details_label);
            edges.push(Edge {
                from: d.delegator.clone(),
                to: d.delegate.clone(),
                kind,
                at: d.at,
                expires_at: d.expires_at,
                task: d.task.clone(),
                scope: d.scope.clone(),
                constrained: d.constraints.as_ref().is_some_and(|c| !is_empty_json(c)),
                label,
                evidence: vec![d.event_id.clone()],
            });
        }
        for c in &self.credentials {
            if let (Some(issuer), Some(holder), Some(at)) = (&c.issuer, &c.holder, c.issued_at) {
                edges.push(Edge {
                    from: issuer.clone(),
                    to: holder.clone(),
                    kind: EdgeKind::CredentialIssue,
                    at,
                    expires_at: c.expires_at,
                    task: c.task.clone(),
                    scope: c.scope.clone(),
                    constrained: true,
                    label: Some(format!("credential {}", c.credential_id)),
                    evidence: c.event_id.iter().cloned().collect(),
                });
            }
        }
        // The latest record per credential id, looked up once per use (a scan per use made this
        // quadratic in the number of credentials).
        let latest: HashMap<&str, &CredentialRecord> = self
            .credentials
            .iter()
            .map(|c| (c.credential_id.as_str(), c))
            .collect();
        for u in &self.credential_uses {
            let scope = latest
                .get(u.credential_id.as_str())
                .and_then(|c| c.scope.clone());
            edges.push(Edge {
                from: u.actor.clone(),
                to: u.holder.clone(),
                kind: EdgeKind::CredentialUse,
                at: u.first_use,
                expires_at: None,
                task: u.task.clone(),
                scope,
                constrained: true,
                label: Some(format!("acts with {}", u.credential_id)),
                evidence: u.event_ids.clone(),
            });
        }
        edges
    }
}

/// A counted hand-off as an untasked edge without scope, labelled with its count.
fn summary_edge(h: HandOffSummary) -> Edge {
    let kind = match h.kind.as_str() {
        "task_request" => EdgeKind::TaskRequest,
        "credential_use" => EdgeKind::CredentialUse,
        other => match DelegationKind::parse(other) {
            Some(DelegationKind::AssumeRole) => EdgeKind::AssumeRole,
            Some(DelegationKind::Impersonation) => EdgeKind::Impersonation,
            Some(DelegationKind::CredentialIssue) => EdgeKind::CredentialIssue,
            Some(DelegationKind::Handoff) | None => EdgeKind::Handoff,
        },
    };
    Edge {
        from: h.from,
        to: h.to,
        kind,
        at: h.first_at,
        expires_at: None,
        task: None,
        scope: None,
        constrained: h.constrained,
        label: Some(if h.count == 1 {
            "1 in all".to_owned()
        } else {
            format!("{} in all", h.count)
        }),
        evidence: h.event_id.into_iter().collect(),
    }
}

/// The policy's `max_delegation_depth`, if any.
fn max_depth(store: &Store) -> Result<Option<u32>, StoreError> {
    Ok(store
        .policy()?
        .into_iter()
        .rev()
        .find(|(k, _)| k == "max_delegation_depth")
        .and_then(|(_, v)| v.as_u64())
        .and_then(|v| u32::try_from(v).ok()))
}

/// `key=value` for each fact in a delegation's details, in the order the source gave them;
/// lists are joined with commas. `None` when there is nothing to show.
fn details_label(details: &serde_json::Value) -> Option<String> {
    let serde_json::Value::Object(facts) = details else {
        return None;
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Some(v.to_string()),
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
        ),
        serde_json::Value::Null | serde_json::Value::Object(_) => None,
    };
    let parts: Vec<String> = facts
        .iter()
        .filter_map(|(k, v)| text(v).map(|t| format!("{k}={t}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn is_empty_json(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Object(m) => m.is_empty(),
        _ => false,
    }
}
