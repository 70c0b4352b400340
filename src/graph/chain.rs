//! Chains back to the root, effective authority per hop, and the findings the graph alone can
//! show: scope amplification, hand-offs without bounds, depth over policy, cycles, and agents
//! acting with no owned root.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::authority::{Authority, normalise};
use petgraph::stable_graph::EdgeIndex;

use super::{DelegationGraph, Edge, EdgeKind};
use crate::model::{OwnerRole, PrincipalKind, Timestamp, format_time};

/// Longest chain walked back; deeper ones are cut (and a cycle is the usual reason).
const MAX_HOPS: usize = 64;

/// One hop of a chain: `from` passed authority to `to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    #[serde(serialize_with = "ser_time")]
    pub at: Timestamp,
    pub task: Option<String>,
    /// What the hop passed on; `None` when unknown.
    pub scope: Option<Vec<String>>,
    pub constrained: bool,
    /// What `to` could do after this hop.
    pub effective: Authority,
    pub evidence: Vec<String>,
}

fn ser_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
}

/// The chain of authority behind one principal acting at one time, root first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    pub actor: String,
    pub task: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub at: Timestamp,
    pub root: String,
    pub root_kind: PrincipalKind,
    /// What the root itself held.
    pub root_authority: Authority,
    pub hops: Vec<Hop>,
    /// The workflow owner of the originating workflow at `at` (the task's, else the first
    /// agent's); `None` when the evidence names none.
    pub workflow_owner: Option<String>,
    /// True when the walk stopped at a cycle or at the hop limit.
    pub cut: bool,
}

impl Chain {
    /// Number of hops from the root.
    pub fn depth(&self) -> usize {
        self.hops.len()
    }

    /// The principal that finally acted (the last hop's delegate, or the root).
    pub fn acting(&self) -> &str {
        self.hops.last().map_or(&self.root, |h| &h.to)
    }

    /// `root → a → b` as text.
    pub fn path(&self) -> String {
        let mut out = self.root.clone();
        for h in &self.hops {
            out.push_str(" → ");
            out.push_str(&h.to);
        }
        out
    }
}

/// What kind of problem the graph shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphFindingKind {
    /// A delegate acted beyond what its delegator held (confused deputy).
    ScopeAmplification,
    /// A hand-off carried no constraints.
    UnboundedHandoff,
    /// A chain is deeper than the policy allows.
    DepthOverPolicy,
    /// Principals delegate to each other in a circle.
    Cycle,
    /// An agent acted with no path to a root that has an owner.
    NoOwnedRoot,
}

impl GraphFindingKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ScopeAmplification => "scope_amplification",
            Self::UnboundedHandoff => "unbounded_handoff",
            Self::DepthOverPolicy => "depth_over_policy",
            Self::Cycle => "cycle",
            Self::NoOwnedRoot => "no_owned_root",
        }
    }
}

/// A problem the delegation graph shows, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphFinding {
    pub kind: GraphFindingKind,
    /// The principal the finding is about.
    pub principal: String,
    pub task: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub at: Timestamp,
    pub explanation: String,
    /// Event ids, the most telling first.
    pub evidence: Vec<String>,
}

impl DelegationGraph {
    /// The chain behind `actor` acting at `at` for `task`. When the action used a credential
    /// held by someone else, the chain ends with the hop to that holder.
    pub fn chain(
        &self,
        actor: &str,
        task: Option<&str>,
        at: Timestamp,
        credential: Option<&str>,
    ) -> Chain {
        let mut reversed: Vec<&Edge> = Vec::new();
        let mut seen = HashSet::from([actor.to_owned()]);
        let mut current = actor.to_owned();
        let mut cut = false;
        while let Some(edge) = self.best_incoming(&current, task, at) {
            if reversed.len() >= MAX_HOPS || !seen.insert(edge.from.clone()) {
                cut = true;
                break;
            }
            current.clone_from(&edge.from);
            reversed.push(edge);
        }
        let root = current;
        let mut edges: Vec<&Edge> = reversed.into_iter().rev().collect();
        let holder_edge = credential.and_then(|c| self.credential_use(actor, c, task, at));
        if let Some(e) = holder_edge {
            edges.push(e);
        }
        let root_authority = self.held(&root, at);
        let mut effective = root_authority.clone();
        let hops = edges
            .into_iter()
            .map(|e| {
                let passed = e
                    .scope
                    .as_ref()
                    .map_or(Authority::Unknown, Authority::known);
                let own = self.held(&e.to, at);
                effective = if e.kind == EdgeKind::CredentialUse {
                    // Presenting someone's credential gives that credential's authority,
                    // whatever the presenter held: this is where amplification happens.
                    own.narrow(&passed)
                } else {
                    effective.narrow(&passed).narrow(&own)
                };
                Hop {
                    from: e.from.clone(),
                    to: e.to.clone(),
                    kind: e.kind,
                    at: e.at,
                    task: e.task.clone(),
                    scope: e.scope.clone(),
                    constrained: e.constrained,
                    effective: effective.clone(),
                    evidence: e.evidence.clone(),
                }
            })
            .collect::<Vec<_>>();
        let root_kind = self
            .principal(&root)
            .map_or(PrincipalKind::Unknown, |n| n.kind);
        let workflow_owner = self.workflow_owner(&root, &hops, task, at);
        Chain {
            actor: actor.to_owned(),
            task: task.map(str::to_owned),
            at,
            root,
            root_kind,
            root_authority,
            hops,
            workflow_owner,
            cut,
        }
    }

    /// The edge into `id` that best explains its authority at `at`: same task first, then
    /// task-less edges, latest first (the earliest recorded among equals). Issuance edges and
    /// credential uses do not explain authority.
    fn best_incoming(&self, id: &str, task: Option<&str>, at: Timestamp) -> Option<&Edge> {
        let into = self.authority_in.get(self.index.get(id)?)?;
        let candidates: Vec<EdgeIndex> = match task {
            Some(t) => into
                .by_task
                .get(t)
                .into_iter()
                .flatten()
                .chain(&into.untasked)
                .copied()
                .collect(),
            None => into
                .by_task
                .values()
                .flatten()
                .chain(&into.untasked)
                .copied()
                .collect(),
        };
        candidates
            .into_iter()
            .filter_map(|ix| self.graph.edge_weight(ix).map(|e| (ix, e)))
            .filter(|(_, e)| e.valid_at(at))
            .max_by_key(|(ix, e)| (e.task.is_some() && task.is_some(), e.at, Reverse(*ix)))
            .map(|(_, e)| e)
    }

    fn credential_use(
        &self,
        actor: &str,
        credential: &str,
        task: Option<&str>,
        at: Timestamp,
    ) -> Option<&Edge> {
        let label = format!("acts with {credential}");
        // Only the actor's own outgoing edges can be its credential uses; scanning every edge
        // of the graph for every action made analysis quadratic in the size of the evidence.
        // The lowest edge index wins, as the scan over all edges did.
        let ix = *self.index.get(actor)?;
        self.graph
            .edges_directed(ix, petgraph::Direction::Outgoing)
            .filter(|r| {
                let e = r.weight();
                e.kind == EdgeKind::CredentialUse
                    && e.from == actor
                    && e.at <= at
                    && e.label.as_deref() == Some(label.as_str())
                    && (task.is_none() || e.task.as_deref() == task)
            })
            .min_by_key(petgraph::visit::EdgeRef::id)
            .map(|r| r.weight())
    }

    /// What `principal` held through its grants at `at`.
    fn held(&self, principal: &str, at: Timestamp) -> Authority {
        let grants = self.inputs.grants_at(principal, at);
        if grants.is_empty() || grants.iter().any(|g| g.scope.is_none()) {
            let known: Vec<&String> = grants
                .iter()
                .filter_map(|g| g.scope.as_ref())
                .flatten()
                .collect();
            return if known.is_empty() {
                Authority::Unknown
            } else {
                Authority::AtMost {
                    patterns: known.into_iter().map(|s| normalise(s)).collect(),
                }
            };
        }
        Authority::known(grants.iter().filter_map(|g| g.scope.as_ref()).flatten())
    }

    fn workflow_owner(
        &self,
        root: &str,
        hops: &[Hop],
        task: Option<&str>,
        at: Timestamp,
    ) -> Option<String> {
        let inputs = &self.inputs;
        let task_owner = task.and_then(|t| {
            inputs.owner_in_effect(&format!("task:{t}"), OwnerRole::WorkflowOwner, at)
        });
        if let Some(o) = task_owner {
            return Some(o.owner.clone());
        }
        let first_agent = std::iter::once(root)
            .chain(hops.iter().map(|h| h.to.as_str()))
            .find(|id| {
                self.principal(id)
                    .is_some_and(|n| n.kind != PrincipalKind::Human)
            })?;
        inputs
            .owner_in_effect(first_agent, OwnerRole::WorkflowOwner, at)
            .map(|o| o.owner.clone())
    }

    /// Whether anyone owns the workflow behind this chain (any role, at the chain's time).
    fn has_owned_root(&self, chain: &Chain) -> bool {
        let inputs = &self.inputs;
        let subjects: Vec<String> = chain
            .task
            .iter()
            .map(|t| format!("task:{t}"))
            .chain(std::iter::once(chain.root.clone()))
            .chain(chain.hops.iter().map(|h| h.to.clone()))
            .collect();
        subjects.iter().any(|s| {
            [
                OwnerRole::BusinessOwner,
                OwnerRole::WorkflowOwner,
                OwnerRole::AccessApprover,
                OwnerRole::RuntimeOwner,
            ]
            .into_iter()
            .any(|r| inputs.owner_in_effect(s, r, chain.at).is_some())
        })
    }

    /// Every finding the graph shows, in a stable order.
    pub fn findings(&self) -> Vec<GraphFinding> {
        let mut out = Vec::new();
        self.unbounded_handoffs(&mut out);
        self.action_findings(&mut out);
        for cycle in self.cycles() {
            let evidence = self
                .graph
                .edge_weights()
                .filter(|e| cycle.contains(&e.from) && cycle.contains(&e.to))
                .flat_map(|e| e.evidence.iter().cloned())
                .collect();
            let at = self
                .graph
                .edge_weights()
                .filter(|e| cycle.contains(&e.from) && cycle.contains(&e.to))
                .map(|e| e.at)
                .min()
                .unwrap_or_default();
            out.push(GraphFinding {
                kind: GraphFindingKind::Cycle,
                principal: cycle.first().cloned().unwrap_or_default(),
                task: None,
                at,
                explanation: format!(
                    "{} delegate to each other in a circle, so no chain through them has a root",
                    cycle.join(", ")
                ),
                evidence,
            });
        }
        out.sort_by(|a, b| (a.at, a.kind, &a.principal).cmp(&(b.at, b.kind, &b.principal)));
        out
    }

    fn unbounded_handoffs(&self, out: &mut Vec<GraphFinding>) {
        for e in self.edges(None, None) {
            if e.kind == EdgeKind::Handoff && !e.constrained {
                out.push(GraphFinding {
                    kind: GraphFindingKind::UnboundedHandoff,
                    principal: e.to.clone(),
                    task: e.task.clone(),
                    at: e.at,
                    explanation: format!(
                        "{} handed work to {}{} without any constraints{}",
                        e.from,
                        e.to,
                        e.task
                            .as_ref()
                            .map(|t| format!(" for task {t}"))
                            .unwrap_or_default(),
                        if e.scope.is_none() { " or scope" } else { "" }
                    ),
                    evidence: e.evidence.clone(),
                });
            }
        }
    }

    fn action_findings(&self, out: &mut Vec<GraphFinding>) {
        // Keyed so that one finding collects every action of the same shape.
        let mut amplified: BTreeMap<(String, String, Option<String>, String), GraphFinding> =
            BTreeMap::new();
        let mut deep: BTreeMap<(String, Option<String>), GraphFinding> = BTreeMap::new();
        let mut unowned: BTreeMap<(String, Option<String>), GraphFinding> = BTreeMap::new();
        for a in &self.inputs.actions {
            if a.outcome == "denied" || a.outcome == "error" {
                continue;
            }
            let chain = self.chain(&a.actor, a.task.as_deref(), a.at, a.credential.as_deref());
            if let Some(finding) = self.amplification(&chain, a) {
                let key = (
                    finding.principal.clone(),
                    chain.root.clone(),
                    a.task.clone(),
                    normalise(&a.action),
                );
                amplified
                    .entry(key)
                    .and_modify(|f| f.evidence.push(a.event_id.clone()))
                    .or_insert(finding);
            }
            if let Some(max) = self.inputs.max_depth
                && chain.depth() > max as usize
            {
                deep.entry((a.actor.clone(), a.task.clone()))
                    .or_insert_with(|| GraphFinding {
                        kind: GraphFindingKind::DepthOverPolicy,
                        principal: a.actor.clone(),
                        task: a.task.clone(),
                        at: a.at,
                        explanation: format!(
                            "{} acted {} hops from its root ({}), over the policy maximum of {max}",
                            a.actor,
                            chain.depth(),
                            chain.path()
                        ),
                        evidence: std::iter::once(a.event_id.clone())
                            .chain(
                                chain
                                    .hops
                                    .iter()
                                    .filter_map(|h| h.evidence.first().cloned()),
                            )
                            .collect(),
                    });
            }
            let actor_is_agent = self
                .principal(&a.actor)
                .is_some_and(|n| n.kind == PrincipalKind::Agent);
            if actor_is_agent && !self.has_owned_root(&chain) {
                unowned.entry((a.actor.clone(), a.task.clone())).or_insert_with(|| GraphFinding {
                    kind: GraphFindingKind::NoOwnedRoot,
                    principal: a.actor.clone(),
                    task: a.task.clone(),
                    at: a.at,
                    explanation: format!(
                        "agent {} acted with no owner on record for its task or anywhere on its chain ({})",
                        a.actor,
                        chain.path()
                    ),
                    evidence: vec![a.event_id.clone()],
                });
            }
        }
        out.extend(amplified.into_values());
        out.extend(deep.into_values());
        out.extend(unowned.into_values());
    }

    /// The hop into the actor whose delegator did not hold what the actor then did.
    fn amplification(&self, chain: &Chain, a: &super::ActionUse) -> Option<GraphFinding> {
        let into_actor = chain
            .hops
            .iter()
            .rposition(|h| h.to == a.actor && h.kind != EdgeKind::TaskRequest)?;
        let hop = &chain.hops[into_actor];
        let delegator_authority = if into_actor == 0 {
            chain.root_authority.clone()
        } else {
            chain.hops[into_actor - 1].effective.clone()
        };
        if delegator_authority.excludes(&a.action) != Some(true) {
            return None;
        }
        let via = chain
            .hops
            .last()
            .filter(|h| h.kind == EdgeKind::CredentialUse);
        let allowed_by = match via {
            Some(h) => format!(
                "it acted with the credential of {} ({})",
                h.to,
                self.grant_names(&h.to, a.at)
            ),
            None => format!("its own grants: {}", self.grant_names(&a.actor, a.at)),
        };
        let mut evidence = vec![a.event_id.clone()];
        evidence.extend(hop.evidence.first().cloned());
        if let Some(h) = via {
            evidence.extend(h.evidence.first().cloned());
        }
        evidence.dedup();
        Some(GraphFinding {
            kind: GraphFindingKind::ScopeAmplification,
            principal: a.actor.clone(),
            task: a.task.clone(),
            at: a.at,
            explanation: format!(
                "{} did `{}` on the authority of {}, which held {}; what allowed it: {allowed_by}",
                a.actor, a.action, hop.from, delegator_authority
            ),
            evidence,
        })
    }

    fn grant_names(&self, principal: &str, at: Timestamp) -> String {
        let grants = self.inputs.grants_at(principal, at);
        if grants.is_empty() {
            return "no grant on record".to_owned();
        }
        grants
            .iter()
            .map(|g| {
                format!(
                    "grant {} = {}",
                    g.grant_id,
                    g.scope
                        .as_ref()
                        .map_or_else(|| "unknown scope".to_owned(), |s| s.join(", "))
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}
