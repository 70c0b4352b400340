//! The delegation graph: who acted on whose authority, hop by hop (BRIEF §5.1).
//!
//! Nodes are principals; edges are hand-offs, role assumptions, impersonations, task requests,
//! credential issuance and credential use (an actor presenting a credential held by someone
//! else acts as that holder). The graph is built once from the store with petgraph; its node
//! indices never leave this module: callers use principal ids.

mod authority;
mod chain;
mod export;
mod inputs;

use std::collections::HashMap;

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use serde::Serialize;

use crate::model::{PrincipalKind, Timestamp};

pub use authority::{Authority, normalise};
pub use chain::{Chain, GraphFinding, GraphFindingKind, Hop};
pub use export::{GraphFormat, render};
pub use inputs::{ActionUse, GraphInputs};

/// How authority moved along an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// A person or agent asked an agent to do a task (`task.start` on behalf of someone).
    TaskRequest,
    /// An agent handed work to another agent.
    Handoff,
    /// A role was assumed.
    AssumeRole,
    /// One principal acted as another.
    Impersonation,
    /// A credential was issued to the delegate.
    CredentialIssue,
    /// The delegate presented a credential held by the delegator.
    CredentialUse,
}

impl EdgeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TaskRequest => "task_request",
            Self::Handoff => "handoff",
            Self::AssumeRole => "assume_role",
            Self::Impersonation => "impersonation",
            Self::CredentialIssue => "credential_issue",
            Self::CredentialUse => "credential_use",
        }
    }

    /// Whether the delegate acts with the delegator's authority along this edge (as opposed to
    /// merely receiving a token from an issuer).
    pub const fn carries_authority(self) -> bool {
        !matches!(self, Self::CredentialIssue)
    }
}

/// A principal in the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub id: String,
    pub kind: PrincipalKind,
    pub name: Option<String>,
}

/// One delegation edge with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    #[serde(serialize_with = "ser_time")]
    pub at: Timestamp,
    #[serde(serialize_with = "ser_opt_time")]
    pub expires_at: Option<Timestamp>,
    pub task: Option<String>,
    /// What the hop passed on; `None` when unknown.
    pub scope: Option<Vec<String>>,
    /// Whether the hop carried constraints (only meaningful for hand-offs).
    pub constrained: bool,
    /// Extra facts worth showing on the edge (credential id, session, `sourceIdentity`).
    pub label: Option<String>,
    pub evidence: Vec<String>,
}

fn ser_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::model::format_time(t))
}

#[allow(clippy::ref_option)] // serde hands us `&Option<_>`
fn ser_opt_time<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

impl Edge {
    /// Whether the edge exists at `at` (created at or before it, not yet expired).
    pub fn valid_at(&self, at: Timestamp) -> bool {
        self.at <= at && self.expires_at.is_none_or(|e| at < e)
    }
}

/// The delegation graph of one evidence store.
#[derive(Debug)]
pub struct DelegationGraph {
    graph: StableDiGraph<Node, Edge>,
    index: HashMap<String, NodeIndex>,
    /// Per principal, the edges into it that can explain its authority, by task.
    authority_in: HashMap<NodeIndex, AuthorityIn>,
    inputs: GraphInputs,
}

/// The edges into one principal that can explain its authority (they carry authority and are
/// not credential uses), grouped by task. A busy agent has one task-request edge per task it
/// ever ran; looking up an action's chain must not scan them all.
#[derive(Debug, Default)]
struct AuthorityIn {
    by_task: HashMap<String, Vec<EdgeIndex>>,
    untasked: Vec<EdgeIndex>,
}

impl DelegationGraph {
    /// Builds the graph from what the store holds.
    pub fn build(inputs: GraphInputs) -> Self {
        let mut g = Self {
            graph: StableDiGraph::new(),
            index: HashMap::new(),
            authority_in: HashMap::new(),
            inputs: GraphInputs::default(),
        };
        for p in &inputs.principals {
            g.node(&p.id, p.kind, p.name.clone());
        }
        for edge in inputs.edges() {
            let from = g.node(&edge.from, PrincipalKind::Unknown, None);
            let to = g.node(&edge.to, PrincipalKind::Unknown, None);
            let explains = edge.kind.carries_authority() && edge.kind != EdgeKind::CredentialUse;
            let task = edge.task.clone();
            let ix = g.graph.add_edge(from, to, edge);
            if explains {
                let into = g.authority_in.entry(to).or_default();
                match task {
                    Some(t) => into.by_task.entry(t).or_default().push(ix),
                    None => into.untasked.push(ix),
                }
            }
        }
        g.inputs = inputs;
        g
    }

    fn node(&mut self, id: &str, kind: PrincipalKind, name: Option<String>) -> NodeIndex {
        if let Some(&ix) = self.index.get(id) {
            if let Some(node) = self.graph.node_weight_mut(ix) {
                if node.kind == PrincipalKind::Unknown {
                    node.kind = kind;
                }
                if node.name.is_none() {
                    node.name = name;
                }
            }
            return ix;
        }
        let ix = self.graph.add_node(Node {
            id: id.to_owned(),
            kind,
            name,
        });
        self.index.insert(id.to_owned(), ix);
        ix
    }

    /// The principal with this id.
    pub fn principal(&self, id: &str) -> Option<&Node> {
        self.index
            .get(id)
            .and_then(|ix| self.graph.node_weight(*ix))
    }

    /// Every principal, in id order.
    pub fn nodes(&self) -> Vec<&Node> {
        let mut nodes: Vec<&Node> = self.graph.node_weights().collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        nodes
    }

    /// Every edge valid at `at` (all edges when `at` is `None`), optionally only those of
    /// `task`, in time order.
    pub fn edges(&self, at: Option<Timestamp>, task: Option<&str>) -> Vec<&Edge> {
        let mut edges: Vec<&Edge> = self
            .graph
            .edge_weights()
            .filter(|e| at.is_none_or(|t| e.valid_at(t)))
            .filter(|e| task.is_none_or(|t| e.task.as_deref() == Some(t)))
            .collect();
        edges.sort_by(|a, b| (a.at, &a.from, &a.to).cmp(&(b.at, &b.from, &b.to)));
        edges
    }

    /// Groups of principals that delegate to each other in a circle (each group sorted).
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = petgraph::algo::tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| {
                scc.len() > 1
                    || scc
                        .first()
                        .is_some_and(|ix| self.graph.find_edge(*ix, *ix).is_some())
            })
            .map(|scc| {
                let mut ids: Vec<String> = scc
                    .iter()
                    .filter_map(|ix| self.graph.node_weight(*ix).map(|n| n.id.clone()))
                    .collect();
                ids.sort();
                ids
            })
            .collect();
        out.sort();
        out
    }

    /// The inputs the graph was built from.
    pub fn inputs(&self) -> &GraphInputs {
        &self.inputs
    }
}

#[cfg(test)]
mod tests;
