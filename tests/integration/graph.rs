//! The delegation graph on the bundled fixtures, through the binary.

use crate::util::{event_id_at, ingested, onus, onus_json};

#[test]
fn payments_copilot_chain_and_amplification_are_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = ingested("payments-copilot", &dir);
    let graph = onus_json(&db, &["graph", "--task", "T-1042", "--format", "json"]);
    let edges = graph["edges"].as_array().expect("edges");
    let has = |from: &str, to: &str, kind: &str| {
        edges
            .iter()
            .any(|e| e["from"] == from && e["to"] == to && e["kind"] == kind)
    };
    assert!(
        has("alice@example.com", "agent:support-copilot", "task_request"),
        "{edges:#?}"
    );
    assert!(has("agent:support-copilot", "agent:payments", "handoff"));
    assert!(has(
        "agent:payments",
        "svc:payments-runner",
        "credential_use"
    ));

    // The amplification: the payments agent moved money on the service account's broad grant,
    // beyond what the copilot held. Its first evidence is the first transfer.
    let findings = graph["findings"].as_array().expect("findings");
    let first_transfer = event_id_at(&db, "payments-agent.jsonl", 39);
    let amp: Vec<_> = findings
        .iter()
        .filter(|f| {
            f["kind"] == "scope_amplification" && f["evidence"][0] == first_transfer.as_str()
        })
        .collect();
    assert_eq!(amp.len(), 1, "{findings:#?}");
    let handoff = event_id_at(&db, "copilot-runtime.jsonl", 127);
    let evidence: Vec<&str> = amp[0]["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(evidence[0], first_transfer);
    assert!(evidence.contains(&handoff.as_str()), "{evidence:?}");
    let explanation = amp[0]["explanation"].as_str().expect("text");
    assert!(explanation.contains("G-payments-broad"), "{explanation}");
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "unbounded_handoff" && f["evidence"][0] == handoff.as_str()),
        "the hand-off without bounds is found"
    );

    // The text tree shows the whole chain.
    let text = onus(&db, &["graph", "--task", "T-1042"]);
    assert_eq!(text.code, 0);
    let pos = |s: &str| {
        text.stdout
            .find(s)
            .unwrap_or_else(|| panic!("{s} in {}", text.stdout))
    };
    assert!(pos("alice@example.com") < pos("→ agent:support-copilot"));
    assert!(pos("→ agent:support-copilot") < pos("→ agent:payments"));
    assert!(pos("→ agent:payments") < pos("→ svc:payments-runner"));
}

#[test]
fn owners_are_those_in_effect_at_the_time_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = ingested("payments-copilot", &dir);
    // Owners as of the incident, not the later ones.
    let at_incident = onus_json(
        &db,
        &[
            "graph",
            "--task",
            "T-1042",
            "--at",
            "2026-03-04T10:20:00Z",
            "--format",
            "json",
        ],
    );
    let node = |id: &str| {
        at_incident["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .find(|n| n["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("node {id}"))
    };
    assert_eq!(
        node("agent:support-copilot")["owners"]["runtime_owner"],
        "raj@example.com"
    );
    assert_eq!(
        node("agent:support-copilot")["owners"]["workflow_owner"],
        "wes@example.com"
    );
    assert_eq!(
        node("agent:payments")["owners"]["runtime_owner"],
        "kofi@example.com"
    );
    let later = onus_json(
        &db,
        &[
            "graph",
            "--task",
            "T-1042",
            "--at",
            "2026-03-06T00:00:00Z",
            "--format",
            "json",
        ],
    );
    let later_copilot = later["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == "agent:support-copilot")
        .cloned()
        .expect("copilot");
    assert_eq!(later_copilot["owners"]["runtime_owner"], "mei@example.com");
}

#[test]
fn clean_run_shows_no_amplification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = ingested("clean-run", &dir);
    let graph = onus_json(&db, &["graph", "--format", "json"]);
    let findings = graph["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .all(|f| f["kind"] != "scope_amplification" && f["kind"] != "unbounded_handoff"),
        "{findings:#?}"
    );
    assert!(!graph["edges"].as_array().expect("edges").is_empty());
}

#[test]
fn dot_and_mermaid_outputs_are_produced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = ingested("payments-copilot", &dir);
    let dot = onus(&db, &["graph", "--format", "dot"]);
    assert_eq!(dot.code, 0);
    assert!(dot.stdout.starts_with("digraph delegations {"));
    assert!(
        dot.stdout
            .contains("\"agent:support-copilot\" -> \"agent:payments\"")
    );
    let mermaid = onus(&db, &["graph", "--format", "mermaid"]);
    assert!(mermaid.stdout.starts_with("flowchart LR"));
}
