//! The delegation graph as rows of a navigable tree: each row is a principal reached through
//! one edge, with the owners in effect then, the effective authority after the hop and whether
//! the principal amplified its scope.

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::{DelegationGraph, Edge};
use crate::model::{OwnerRole, Timestamp};

/// The edge a tree row was reached through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub kind: &'static str,
    pub at: Timestamp,
    pub task: Option<String>,
    /// What the hop passed on; `None` when unknown.
    pub scope: Option<Vec<String>>,
    pub constrained: bool,
    pub carries_authority: bool,
    pub label: Option<String>,
}

/// One line of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    pub depth: usize,
    pub principal: String,
    pub kind: String,
    /// `None` for a root.
    pub via: Option<Via>,
    /// Owners in effect at the hop's time (`role: owner`, comma-separated).
    pub owners: String,
    /// Effective authority of the principal after this hop, as text.
    pub effective: Option<String>,
    /// The principal acted beyond what its delegator held in this hop's task (a scope
    /// amplification finding).
    pub amplified: bool,
    /// The principal was already expanded above; its children are not repeated.
    pub repeated: bool,
}

/// Builds the rows, roots in id order and children in time order. `amplified` lists the
/// (principal, task) pairs that amplified their scope, as the stored findings tell.
pub fn build_tree(graph: &DelegationGraph, amplified: &[(String, Option<String>)]) -> Vec<TreeRow> {
    let amplified: BTreeSet<(&str, Option<&str>)> = amplified
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_deref()))
        .collect();
    let edges = graph.edges(None, None);
    let mut children: BTreeMap<&str, Vec<&Edge>> = BTreeMap::new();
    let mut has_parent: BTreeSet<&str> = BTreeSet::new();
    for e in &edges {
        children.entry(e.from.as_str()).or_default().push(e);
        has_parent.insert(e.to.as_str());
    }
    let mut roots: Vec<&str> = children
        .keys()
        .copied()
        .filter(|id| !has_parent.contains(id))
        .collect();
    // Principals reachable only through a cycle: start from the first of them. What is reachable
    // grows with each new root instead of being walked again per edge (that walk per edge took
    // the overview 47 s at a million events).
    let mut seen = BTreeSet::new();
    for &root in &roots {
        mark_reachable(&mut seen, root, &children);
    }
    for e in &edges {
        let from = e.from.as_str();
        if !seen.contains(from) {
            roots.push(from);
            mark_reachable(&mut seen, from, &children);
        }
    }
    let ctx = Context {
        graph,
        children: &children,
        amplified: &amplified,
    };
    let mut rows = Vec::new();
    let mut expanded = BTreeSet::new();
    for root in roots {
        if !expanded.insert(root) {
            continue;
        }
        let first_at = children
            .get(root)
            .and_then(|k| k.first())
            .map(|e| e.at)
            .unwrap_or_default();
        rows.push(TreeRow {
            depth: 0,
            principal: root.to_owned(),
            kind: kind_of(graph, root),
            via: None,
            owners: owners(graph, root, first_at),
            effective: None,
            amplified: amplified.iter().any(|(p, _)| *p == root),
            repeated: false,
        });
        ctx.walk(root, 1, &mut expanded, &mut rows);
    }
    rows
}

struct Context<'a> {
    graph: &'a DelegationGraph,
    children: &'a BTreeMap<&'a str, Vec<&'a Edge>>,
    amplified: &'a BTreeSet<(&'a str, Option<&'a str>)>,
}

impl<'a> Context<'a> {
    fn walk(
        &self,
        id: &'a str,
        depth: usize,
        expanded: &mut BTreeSet<&'a str>,
        rows: &mut Vec<TreeRow>,
    ) {
        for e in self.children.get(id).into_iter().flatten() {
            let first = expanded.insert(e.to.as_str());
            let chain = self.graph.chain(&e.to, e.task.as_deref(), e.at, None);
            let effective = chain
                .hops
                .iter()
                .rev()
                .find(|h| h.to == e.to)
                .map(|h| h.effective.to_string());
            rows.push(TreeRow {
                depth,
                principal: e.to.clone(),
                kind: kind_of(self.graph, &e.to),
                via: Some(Via {
                    kind: e.kind.as_str(),
                    at: e.at,
                    task: e.task.clone(),
                    scope: e.scope.clone(),
                    constrained: e.constrained,
                    carries_authority: e.kind.carries_authority(),
                    label: e.label.clone(),
                }),
                owners: owners(self.graph, &e.to, e.at),
                effective,
                amplified: self
                    .amplified
                    .iter()
                    .any(|(p, t)| *p == e.to && (e.task.is_none() || *t == e.task.as_deref())),
                repeated: !first,
            });
            if first {
                self.walk(&e.to, depth + 1, expanded, rows);
            }
        }
    }
}

/// Adds `from` and every principal reachable from it to `seen`, without walking again what is
/// already there.
fn mark_reachable<'a>(
    seen: &mut BTreeSet<&'a str>,
    from: &'a str,
    children: &BTreeMap<&'a str, Vec<&'a Edge>>,
) {
    if !seen.insert(from) {
        return;
    }
    let mut stack = vec![from];
    while let Some(id) = stack.pop() {
        for e in children.get(id).into_iter().flatten() {
            if seen.insert(e.to.as_str()) {
                stack.push(e.to.as_str());
            }
        }
    }
}

fn kind_of(graph: &DelegationGraph, id: &str) -> String {
    graph
        .principal(id)
        .map_or("unknown", |n| n.kind.as_str())
        .to_owned()
}

fn owners(graph: &DelegationGraph, id: &str, at: Timestamp) -> String {
    [
        (OwnerRole::BusinessOwner, "business"),
        (OwnerRole::WorkflowOwner, "workflow"),
        (OwnerRole::AccessApprover, "access"),
        (OwnerRole::RuntimeOwner, "runtime"),
    ]
    .into_iter()
    .filter_map(|(role, short)| {
        graph
            .inputs()
            .owner_in_effect(id, role, at)
            .map(|o| format!("{short}: {}", o.owner))
    })
    .collect::<Vec<_>>()
    .join(", ")
}
