//! Drift, findings and accountability on the bundled fixtures, through the binary.

use crate::util::{event_id_at, ingested, onus, onus_json};

fn detectors(findings: &serde_json::Value) -> Vec<&str> {
    findings
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["detector"].as_str())
        .collect()
}

#[test]
fn payments_copilot_drift_cause_provenance_and_containment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = ingested("payments-copilot", &dir);
    let records = onus_json(&db, &["accountability", "--format", "json"]);
    let r = records
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["task"] == "T-1042")
        .expect("a record for the incident task");

    // The drift point is the first payment, outside the copilot's task scope; the rule that
    // placed it is the tainted account (the IBAN sat inside the ticket's injected instructions),
    // and its reasons say what it broke.
    let first_transfer = event_id_at(&db, "payments-agent.jsonl", 39);
    assert_eq!(r["drift_event_id"], first_transfer.as_str());
    assert_eq!(r["drift_kind"], "tainted_action");
    let axes: Vec<&str> = r["drift_reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|v| v["axis"].as_str())
        .collect();
    assert!(
        axes.contains(&"tool") && axes.contains(&"destination"),
        "{axes:?}"
    );

    // The cause is the ticket with injected instructions, and the account number comes from it.
    let ticket = event_id_at(&db, "copilot-runtime.jsonl", 124);
    assert_eq!(r["cause_event_id"], ticket.as_str());
    let provenance = r["provenance"].as_array().expect("provenance");
    assert!(
        provenance.iter().any(|p| p["value"]
            .as_str()
            .is_some_and(|v| v.contains("GB33EVIL60161331926819"))
            && p["event_id"] == ticket.as_str()),
        "{provenance:#?}"
    );

    // Containment: every action of the task after the drift point, and nothing stopped it.
    let after: Vec<String> = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            &format!(
                "SELECT id FROM events WHERE task = 'T-1042' AND kind = 'tool.call' \
                 AND time > (SELECT time FROM events WHERE id = '{first_transfer}') ORDER BY time"
            ),
        ],
    )
    .as_array()
    .expect("array")
    .iter()
    .filter_map(|v| v["id"].as_str().map(str::to_owned))
    .collect();
    assert!(after.len() >= 7, "{after:?}");
    let reported: Vec<String> = r["after_event_ids"]
        .as_array()
        .expect("after ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(reported, after);
    assert_eq!(r["actions_after"].as_u64(), Some(after.len() as u64));
    assert!(r["stopped_by"].is_null(), "nothing stopped it: {r:#?}");
}

#[test]
fn payments_copilot_findings_and_accountability() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = ingested("payments-copilot", &dir);
    let findings = onus_json(&db, &["findings", "--task", "T-1042", "--format", "json"]);
    let found = detectors(&findings);
    for expected in [
        "identity.static_credential", // the persistent service account's key
        "runtime.approval_missing",   // no runtime approval for the transfers
        "identity.not_revoked_at_task_end", // the short-lived token outlived the task
        "identity.used_after_task_end",
        "drift.destination",
        "delegation.scope_amplification",
        "delegation.unbounded_handoff",
    ] {
        assert!(
            found.contains(&expected),
            "{expected} missing from {found:?}"
        );
    }
    let unrevoked = findings
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["detector"] == "identity.not_revoked_at_task_end")
        .expect("finding");
    assert!(
        unrevoked["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("tok-")),
        "{unrevoked}"
    );

    // Evidence is cited as a reader finds it: the file and the line, one per event id.
    let destination = findings
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["detector"] == "drift.destination")
        .expect("finding");
    let ids = destination["evidence"].as_array().expect("ids");
    let cited = destination["cited"].as_array().expect("cited");
    assert_eq!(ids.len(), cited.len(), "{destination}");
    assert_eq!(
        ids[0],
        event_id_at(&db, "payments-agent.jsonl", 39).as_str()
    );
    let first = cited[0].as_str().expect("text");
    assert_eq!(
        first, "payments-agent.jsonl:L39",
        "named by the file alone: no other has its name"
    );
    let table = onus(&db, &["findings", "--task", "T-1042"]);
    assert!(
        table.stdout.contains(" payments-agent.jsonl:L39 +"),
        "the table cites the file by name"
    );

    let records = onus_json(&db, &["accountability", "--format", "json"]);
    let r = &records.as_array().expect("array")[0];
    assert_eq!(r["task"], "T-1042");
    assert_eq!(r["primary_class"], "behavioural_control");
    assert_eq!(r["primary_role"], "runtime_owner");
    // raj owned the copilot runtime on 4 March; mei only from 5 March.
    assert_eq!(r["primary_owner"], "raj@example.com");
    assert_eq!(r["secondary_owner"], "kofi@example.com");
    assert_eq!(r["rule"], "R2-drift-allowed-by-grant");
    let contributing = r["contributing"].as_array().expect("contributing");
    assert!(
        contributing
            .iter()
            .any(|c| c["role"] == "access_approver" && c["owner"] == "ivan@example.com"),
        "{contributing:#?}"
    );
    assert!(contributing.iter().all(|c| c["owner"] != "mei@example.com"));
    assert_eq!(r["shift_event_id"], r["drift_event_id"]);
}

#[test]
fn clean_run_has_no_drift_and_no_high_severity_finding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = ingested("clean-run", &dir);
    let high = onus_json(&db, &["findings", "--severity", "high", "--format", "json"]);
    assert_eq!(high.as_array().map(Vec::len), Some(0), "{high:#?}");
    let drift = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM drift_points",
        ],
    );
    assert_eq!(drift[0]["n"], 0);
}

#[test]
fn analysis_is_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = ingested("payments-copilot", &dir);
    let first = onus(&a, &["findings", "--format", "json"]).stdout;
    assert_eq!(onus(&a, &["analyze"]).code, 0);
    assert_eq!(onus(&a, &["findings", "--format", "json"]).stdout, first);
    let other = tempfile::tempdir().expect("tempdir");
    let b = ingested("payments-copilot", &other);
    assert_eq!(onus(&b, &["findings", "--format", "json"]).stdout, first);
}
