//! Graph tests on hand-built inputs: chains, authority, findings, time and cycles.

use super::*;
use crate::model::{
    DelegationKind, DelegationRecord, GrantRecord, Origin, OwnerAssignment, OwnerRole,
    PrincipalRecord, parse_time,
};
use crate::store::{ActionRow, TaskStart};

fn t(s: &str) -> Timestamp {
    parse_time(&format!("2026-03-04T{s}Z")).expect("time")
}

fn principal(id: &str, kind: PrincipalKind) -> PrincipalRecord {
    PrincipalRecord {
        id: id.to_owned(),
        kind,
        name: None,
        origin: Origin::Manifest,
    }
}

fn handoff(
    from: &str,
    to: &str,
    at: &str,
    scope: Option<&[&str]>,
    constrained: bool,
) -> DelegationRecord {
    DelegationRecord {
        delegator: from.to_owned(),
        delegate: to.to_owned(),
        kind: DelegationKind::Handoff,
        task: Some("T".to_owned()),
        scope: scope.map(|s| s.iter().map(|x| (*x).to_owned()).collect()),
        constraints: constrained.then(|| serde_json::json!({"tools": ["x"]})),
        at: t(at),
        expires_at: None,
        event_id: format!("ev-{from}-{to}"),
        details: None,
    }
}

fn grant(principal: &str, scope: &[&str]) -> GrantRecord {
    GrantRecord {
        grant_id: format!("G-{principal}"),
        principal: principal.to_owned(),
        scope: Some(scope.iter().map(|s| (*s).to_owned()).collect()),
        approved_by: Some("ivan".to_owned()),
        valid_from: None,
        valid_until: None,
        origin: Origin::Manifest,
        event_id: None,
    }
}

fn action(actor: &str, what: &str, at: &str) -> ActionRow {
    ActionRow {
        event_id: format!("act-{actor}-{what}"),
        at: t(at),
        actor: actor.to_owned(),
        task: Some("T".to_owned()),
        action: what.to_owned(),
        credential: None,
        outcome: "success".to_owned(),
    }
}

fn base() -> GraphInputs {
    GraphInputs {
        principals: vec![
            principal("alice", PrincipalKind::Human),
            principal("copilot", PrincipalKind::Agent),
            principal("payer", PrincipalKind::Agent),
        ],
        task_starts: vec![TaskStart {
            task: "T".to_owned(),
            agent: "copilot".to_owned(),
            on_behalf_of: Some("alice".to_owned()),
            at: t("10:00:00"),
            event_id: "ev-start".to_owned(),
        }],
        delegations: vec![handoff("copilot", "payer", "10:01:00", None, true)],
        grants: vec![
            grant("copilot", &["payments:refund", "tickets:read"]),
            grant("payer", &["payments:*"]),
        ],
        owners: vec![OwnerAssignment {
            subject: "copilot".to_owned(),
            role: OwnerRole::WorkflowOwner,
            owner: "wes".to_owned(),
            valid_from: None,
            valid_until: None,
            origin: Origin::Manifest,
            event_id: None,
        }],
        ..GraphInputs::default()
    }
}

#[test]
fn the_chain_runs_back_to_the_human_who_asked() {
    let g = DelegationGraph::build(base());
    let chain = g.chain("payer", Some("T"), t("10:02:00"), None);
    assert_eq!(chain.path(), "alice → copilot → payer");
    assert_eq!(chain.depth(), 2);
    assert_eq!(chain.root_kind, PrincipalKind::Human);
    assert_eq!(chain.workflow_owner.as_deref(), Some("wes"));
    // copilot's grants ∩ unknown hop scope ∩ payer's grants: at most the refund.
    assert_eq!(
        chain.hops[1].effective.to_string(),
        "at most {payments:refund}"
    );
}

#[test]
fn acting_beyond_the_delegator_is_amplification_and_inside_is_not() {
    let mut inputs = base();
    inputs.actions = vec![
        action("payer", "payments.refund", "10:02:00"),
        action("payer", "payments.transfer", "10:03:00"),
    ];
    let g = DelegationGraph::build(inputs);
    let amplified: Vec<GraphFinding> = g
        .findings()
        .into_iter()
        .filter(|f| f.kind == GraphFindingKind::ScopeAmplification)
        .collect();
    assert_eq!(amplified.len(), 1, "{amplified:#?}");
    assert_eq!(amplified[0].evidence[0], "act-payer-payments.transfer");
    assert!(
        amplified[0]
            .evidence
            .contains(&"ev-copilot-payer".to_owned())
    );
    assert!(
        amplified[0].explanation.contains("G-payer"),
        "{}",
        amplified[0].explanation
    );
}

#[test]
fn unknown_delegator_scope_never_proves_amplification() {
    let mut inputs = base();
    inputs.grants.retain(|g| g.principal != "copilot");
    inputs.actions = vec![action("payer", "payments.transfer", "10:03:00")];
    let g = DelegationGraph::build(inputs);
    assert!(
        g.findings()
            .iter()
            .all(|f| f.kind != GraphFindingKind::ScopeAmplification),
        "unknown is not nothing"
    );
    let chain = g.chain("payer", Some("T"), t("10:03:00"), None);
    assert_eq!(chain.hops[0].effective, Authority::Unknown);
}

#[test]
fn hand_offs_without_constraints_are_found() {
    let mut inputs = base();
    inputs.delegations = vec![handoff("copilot", "payer", "10:01:00", None, false)];
    let g = DelegationGraph::build(inputs);
    let f = g.findings();
    assert!(
        f.iter()
            .any(|f| f.kind == GraphFindingKind::UnboundedHandoff && f.principal == "payer")
    );
    let mut bounded = base();
    bounded.delegations = vec![handoff(
        "copilot",
        "payer",
        "10:01:00",
        Some(&["payments:refund"]),
        true,
    )];
    assert!(
        DelegationGraph::build(bounded)
            .findings()
            .iter()
            .all(|f| f.kind != GraphFindingKind::UnboundedHandoff)
    );
}

#[test]
fn edges_respect_the_as_of_time() {
    let g = DelegationGraph::build(base());
    assert_eq!(
        g.edges(Some(t("10:00:30")), None).len(),
        1,
        "only the task request yet"
    );
    assert_eq!(g.edges(Some(t("10:05:00")), None).len(), 2);
    assert_eq!(g.edges(Some(t("09:00:00")), None).len(), 0);
    let early = g.chain("payer", Some("T"), t("10:00:30"), None);
    assert_eq!(early.path(), "payer", "the hand-off did not exist yet");
}

#[test]
fn cycles_are_found_and_chains_stop_at_them() {
    let mut inputs = base();
    inputs
        .delegations
        .push(handoff("payer", "copilot", "10:01:30", None, true));
    let g = DelegationGraph::build(inputs);
    assert_eq!(
        g.cycles(),
        vec![vec!["copilot".to_owned(), "payer".to_owned()]]
    );
    let chain = g.chain("payer", Some("T"), t("10:02:00"), None);
    assert!(chain.cut || chain.depth() <= 3, "the walk terminates");
    assert!(
        g.findings()
            .iter()
            .any(|f| f.kind == GraphFindingKind::Cycle)
    );
    // Every renderer copes with the cycle.
    for format in [
        GraphFormat::Text,
        GraphFormat::Dot,
        GraphFormat::Mermaid,
        GraphFormat::Json,
    ] {
        assert!(!render(&g, None, None, format).is_empty());
    }
}

#[test]
fn depth_over_policy_and_unowned_agents_are_found() {
    let mut inputs = base();
    inputs.max_depth = Some(1);
    inputs.actions = vec![action("payer", "payments.refund", "10:02:00")];
    let g = DelegationGraph::build(inputs.clone());
    assert!(
        g.findings()
            .iter()
            .any(|f| f.kind == GraphFindingKind::DepthOverPolicy)
    );
    assert!(
        g.findings()
            .iter()
            .all(|f| f.kind != GraphFindingKind::NoOwnedRoot)
    );
    inputs.owners.clear();
    let g = DelegationGraph::build(inputs);
    assert!(
        g.findings()
            .iter()
            .any(|f| f.kind == GraphFindingKind::NoOwnedRoot)
    );
}

#[test]
fn hostile_ids_are_escaped_in_every_format() {
    let mut inputs = base();
    inputs.delegations.push(handoff(
        "payer",
        "evil\"]\x1b[2J<script>",
        "10:01:40",
        None,
        true,
    ));
    let g = DelegationGraph::build(inputs);
    let dot = render(&g, None, None, GraphFormat::Dot);
    assert!(dot.contains("evil\\\"]\\\\x1b[2J<script>"), "{dot}");
    let mermaid = render(&g, None, None, GraphFormat::Mermaid);
    assert!(
        !mermaid.contains("<script>") && !mermaid.contains('\x1b'),
        "{mermaid}"
    );
    let text = render(&g, None, None, GraphFormat::Text);
    assert!(!text.contains('\x1b'));
    let json: serde_json::Value =
        serde_json::from_str(&render(&g, None, None, GraphFormat::Json)).expect("valid JSON");
    assert_eq!(json["schema_version"], 1);
}

#[test]
fn the_summary_counts_every_edge_of_the_full_graph_per_principal_pair_and_kind() {
    use std::collections::BTreeMap;

    use crate::ingest::{IngestOptions, NoProgress, ingest_paths};
    let mut store = crate::store::Store::open_in_memory().expect("store");
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/payments-copilot");
    let options = IngestOptions {
        manifests: vec![fixture.join("manifest.toml")],
        ..IngestOptions::default()
    };
    ingest_paths(&mut store, &[fixture], &options, &NoProgress).expect("ingest");
    let full = DelegationGraph::build(GraphInputs::load_without_actions(&store).expect("inputs"));
    let summary = DelegationGraph::build(GraphInputs::load_summary(&store).expect("summary"));
    // (kind, from, to) → (hand-offs, first time). A credential use counts its events.
    let mut want: BTreeMap<(&str, String, String), (usize, Timestamp)> = BTreeMap::new();
    for e in full.edges(None, None) {
        let n = if e.kind == EdgeKind::CredentialUse {
            e.evidence.len()
        } else {
            1
        };
        let slot = want
            .entry((e.kind.as_str(), e.from.clone(), e.to.clone()))
            .or_insert((0, e.at));
        slot.0 += n;
        slot.1 = slot.1.min(e.at);
    }
    let mut got: BTreeMap<(&str, String, String), (usize, Timestamp)> = BTreeMap::new();
    for e in summary.edges(None, None) {
        assert_eq!(e.task, None, "summary edges are untasked");
        let label = e.label.as_deref().expect("a count");
        let n: usize = label.trim_end_matches(" in all").parse().expect("a number");
        let slot = got
            .entry((e.kind.as_str(), e.from.clone(), e.to.clone()))
            .or_insert((0, e.at));
        slot.0 += n;
        slot.1 = slot.1.min(e.at);
    }
    assert!(
        want.len() >= 4,
        "the fixture has hand-offs of several kinds: {want:?}"
    );
    assert_eq!(got, want);
    // A chain over the summary follows principals: the hops below the root are the exact
    // chain's, and the root is one of those who requested the copilot's tasks (which one, the
    // summary cannot tell).
    let chain = summary.chain("agent:payments", None, t("23:59:59"), None);
    let at = t("23:59:59");
    let exact = full.chain("agent:payments", Some("T-1042"), at, None);
    let below_root = |c: &Chain| c.hops.iter().map(|h| h.to.clone()).collect::<Vec<_>>();
    assert_eq!(below_root(&chain), below_root(&exact), "{}", chain.path());
    let requesters: Vec<&str> = want
        .keys()
        .filter(|(kind, _, to)| *kind == "task_request" && to == "agent:support-copilot")
        .map(|(_, from, _)| from.as_str())
        .collect();
    assert!(
        requesters.len() > 1,
        "several people asked the copilot for work"
    );
    assert!(
        requesters.contains(&chain.root.as_str()),
        "{} not in {requesters:?}",
        chain.root
    );
    // Rebuilt from the task's own records, the chain is the exact one again.
    let scoped = DelegationGraph::build(
        GraphInputs::load_for_task(&store, "T-1042", at, summary.inputs()).expect("task inputs"),
    );
    let rebuilt = scoped.chain("agent:payments", Some("T-1042"), at, None);
    assert_eq!(
        serde_json::to_value(&rebuilt).expect("json"),
        serde_json::to_value(&exact).expect("json"),
        "the same hops, authority, owners and evidence"
    );
}
