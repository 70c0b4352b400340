//! The graph as text (a tree for the terminal), DOT, Mermaid and JSON.
//!
//! Evidence text (principal ids, labels) is escaped for each target: control characters are made
//! visible, DOT strings and Mermaid labels are quoted with their own escapes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::{DelegationGraph, Edge, GraphFinding, Node};
use crate::model::{OwnerRole, Timestamp, format_time};
use crate::text::for_terminal;

/// Output formats of `onus graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
    Json,
}

/// Version of the JSON shape (docs/graph.md).
pub const GRAPH_JSON_VERSION: u32 = 1;

/// Renders the graph as of `at` (all edges when `None`), optionally restricted to `task`.
pub fn render(
    graph: &DelegationGraph,
    at: Option<Timestamp>,
    task: Option<&str>,
    format: GraphFormat,
) -> String {
    let edges = graph.edges(at, task);
    match format {
        GraphFormat::Text => text(graph, &edges, at),
        GraphFormat::Dot => dot(graph, &edges),
        GraphFormat::Mermaid => mermaid(graph, &edges),
        GraphFormat::Json => json(graph, &edges, at, task),
    }
}

fn involved<'a>(graph: &'a DelegationGraph, edges: &[&Edge]) -> Vec<&'a Node> {
    let ids: BTreeSet<&str> = edges
        .iter()
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .collect();
    ids.into_iter()
        .filter_map(|id| graph.principal(id))
        .collect()
}

fn owners_text(graph: &DelegationGraph, id: &str, at: Timestamp) -> String {
    let mut parts = Vec::new();
    for (role, short) in [
        (OwnerRole::BusinessOwner, "business"),
        (OwnerRole::WorkflowOwner, "workflow"),
        (OwnerRole::AccessApprover, "access"),
        (OwnerRole::RuntimeOwner, "runtime"),
    ] {
        if let Some(o) = graph.inputs().owner_in_effect(id, role, at) {
            parts.push(format!("{short}: {}", o.owner));
        }
    }
    parts.join(", ")
}

fn text(graph: &DelegationGraph, edges: &[&Edge], at: Option<Timestamp>) -> String {
    let mut out = String::new();
    if edges.is_empty() {
        out.push_str("no delegations in the evidence");
        out.push_str(if at.is_some() {
            " at that time\n"
        } else {
            "\n"
        });
        return out;
    }
    let mut children: BTreeMap<&str, Vec<&Edge>> = BTreeMap::new();
    let mut has_parent: BTreeSet<&str> = BTreeSet::new();
    for e in edges {
        children.entry(e.from.as_str()).or_default().push(e);
        has_parent.insert(e.to.as_str());
    }
    let mut roots: Vec<&str> = children
        .keys()
        .copied()
        .filter(|id| !has_parent.contains(id))
        .collect();
    let mut printed: BTreeSet<&str> = BTreeSet::new();
    // Principals only reachable through a cycle have no root: start from the first of them.
    let mut reach = reachable(&roots, &children);
    for e in edges {
        if !reach.contains(e.from.as_str()) {
            roots.push(e.from.as_str());
            reach = reachable(&roots, &children);
        }
    }
    for root in roots {
        if printed.contains(root) {
            continue;
        }
        let _ = writeln!(out, "{}", describe(graph, root, at));
        printed.insert(root);
        walk(graph, root, &children, "", &mut printed, &mut out, at);
    }
    out
}

fn reachable<'a>(
    roots: &[&'a str],
    children: &BTreeMap<&'a str, Vec<&'a Edge>>,
) -> BTreeSet<&'a str> {
    let mut seen: BTreeSet<&str> = roots.iter().copied().collect();
    let mut stack: Vec<&str> = roots.to_vec();
    while let Some(id) = stack.pop() {
        for e in children.get(id).into_iter().flatten() {
            if seen.insert(e.to.as_str()) {
                stack.push(e.to.as_str());
            }
        }
    }
    seen
}

fn describe(graph: &DelegationGraph, id: &str, at: Option<Timestamp>) -> String {
    let node = graph.principal(id);
    let kind = node.map_or("unknown", |n| n.kind.as_str());
    let mut s = format!("{} ({kind})", for_terminal(id));
    if let Some(at) = at.or_else(|| graph.edges(None, None).last().map(|e| e.at)) {
        let owners = owners_text(graph, id, at);
        if !owners.is_empty() {
            let _ = write!(s, "  [{}]", for_terminal(&owners));
        }
    }
    s
}

fn walk<'a>(
    graph: &DelegationGraph,
    id: &'a str,
    children: &BTreeMap<&'a str, Vec<&'a Edge>>,
    indent: &str,
    printed: &mut BTreeSet<&'a str>,
    out: &mut String,
    at: Option<Timestamp>,
) {
    let kids = children.get(id).map(Vec::as_slice).unwrap_or_default();
    for (i, e) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        let branch = if last { "└─ " } else { "├─ " };
        let mut line = format!(
            "{indent}{branch}{} {}{} → {}",
            e.kind.as_str(),
            format_time(&e.at),
            e.task
                .as_ref()
                .map(|t| format!(" task {}", for_terminal(t)))
                .unwrap_or_default(),
            describe(graph, &e.to, at.or(Some(e.at)))
        );
        match &e.scope {
            Some(s) => {
                let _ = write!(line, "  scope {{{}}}", for_terminal(&s.join(", ")));
            }
            None if e.kind.carries_authority() => line.push_str("  scope unknown"),
            None => {}
        }
        if let Some(label) = &e.label {
            let _ = write!(line, "  ({})", for_terminal(label));
        }
        if !e.constrained {
            line.push_str("  ! no constraints");
        }
        out.push_str(&line);
        out.push('\n');
        let child_indent = format!("{indent}{}", if last { "   " } else { "│  " });
        if printed.insert(e.to.as_str()) {
            walk(graph, &e.to, children, &child_indent, printed, out, at);
        } else {
            let _ = writeln!(out, "{child_indent}(already shown above)");
        }
    }
}

fn dot_string(text: &str) -> String {
    let safe = for_terminal(text);
    let mut out = String::with_capacity(safe.len() + 2);
    out.push('"');
    for ch in safe.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

fn dot(graph: &DelegationGraph, edges: &[&Edge]) -> String {
    let mut out = String::from(
        "digraph delegations {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for n in involved(graph, edges) {
        let shape = match n.kind {
            crate::model::PrincipalKind::Human => "ellipse",
            crate::model::PrincipalKind::Agent => "box",
            _ => "component",
        };
        let _ = writeln!(
            out,
            "  {} [label={}, shape={shape}];",
            dot_string(&n.id),
            dot_string(&format!("{}\n{}", n.id, n.kind))
        );
    }
    for e in edges {
        let mut label = e.kind.as_str().to_owned();
        if let Some(t) = &e.task {
            let _ = write!(label, "\n{t}");
        }
        let style = if e.constrained { "solid" } else { "dashed" };
        let color = if e.constrained { "black" } else { "red" };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}, style={style}, color={color}];",
            dot_string(&e.from),
            dot_string(&e.to),
            dot_string(&label)
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_label(text: &str) -> String {
    let safe = for_terminal(text);
    let mut out = String::new();
    for ch in safe.chars() {
        match ch {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            _ => out.push(ch),
        }
    }
    out
}

fn mermaid(graph: &DelegationGraph, edges: &[&Edge]) -> String {
    let nodes = involved(graph, edges);
    let ids: BTreeMap<&str, String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), format!("n{i}")))
        .collect();
    let mut out = String::from("flowchart LR\n");
    for n in &nodes {
        let _ = writeln!(
            out,
            "  {}[\"{}<br/>{}\"]",
            ids[n.id.as_str()],
            mermaid_label(&n.id),
            n.kind
        );
    }
    for e in edges {
        let arrow = if e.constrained { "-->" } else { "-.->" };
        let label = match &e.task {
            Some(t) => format!("{} {}", e.kind.as_str(), t),
            None => e.kind.as_str().to_owned(),
        };
        let _ = writeln!(
            out,
            "  {} {arrow}|\"{}\"| {}",
            ids[e.from.as_str()],
            mermaid_label(&label),
            ids[e.to.as_str()]
        );
    }
    out
}

#[derive(Serialize)]
struct JsonNode<'a> {
    id: &'a str,
    kind: &'a str,
    name: Option<&'a str>,
    owners: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    schema_version: u32,
    at: Option<String>,
    task: Option<&'a str>,
    nodes: Vec<JsonNode<'a>>,
    edges: &'a [&'a Edge],
    cycles: Vec<Vec<String>>,
    findings: Vec<GraphFinding>,
}

fn json(
    graph: &DelegationGraph,
    edges: &[&Edge],
    at: Option<Timestamp>,
    task: Option<&str>,
) -> String {
    let owner_time = at.or_else(|| edges.last().map(|e| e.at));
    let nodes = involved(graph, edges)
        .into_iter()
        .map(|n| {
            let mut owners = BTreeMap::new();
            if let Some(t) = owner_time {
                for role in OwnerRole::ALL {
                    if let Some(o) = graph.inputs().owner_in_effect(&n.id, *role, t) {
                        owners.insert(role.as_str(), o.owner.clone());
                    }
                }
            }
            JsonNode {
                id: &n.id,
                kind: n.kind.as_str(),
                name: n.name.as_deref(),
                owners,
            }
        })
        .collect();
    let findings = graph
        .findings()
        .into_iter()
        .filter(|f| task.is_none_or(|t| f.task.as_deref() == Some(t)))
        .filter(|f| at.is_none_or(|t| f.at <= t))
        .collect();
    let doc = JsonGraph {
        schema_version: GRAPH_JSON_VERSION,
        at: at.map(|t| format_time(&t)),
        task,
        nodes,
        edges,
        cycles: graph.cycles(),
        findings,
    };
    crate::text::json_string(&doc, true).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")) + "\n"
}
