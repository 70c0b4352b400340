//! The MCP JSON-RPC log adapter through the binary: pairing, trace links, broken input, and
//! detection that leaves other formats alone.

use std::fs;

use crate::util::{fixture, onus, onus_json};

fn query(db: &std::path::Path, sql: &str) -> Vec<serde_json::Value> {
    let v = onus_json(db, &["query", "--format", "json", sql]);
    v.as_array().expect("rows").clone()
}

#[test]
fn the_mcp_log_pairs_calls_and_links_them_into_the_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.duckdb");
    let log = fixture("otel-handoff").join("mcp-warehouse.jsonl");
    let run = onus(&db, &["ingest", log.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("[mcp"), "{}", run.stdout);

    let calls = query(
        &db,
        "SELECT actor, target, action, outcome, task, call_id,
                json_extract_string(attributes, '$.parent_span_id') AS parent
         FROM events WHERE kind = 'tool.call' ORDER BY time",
    );
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0]["actor"], "finance-analyst");
    assert_eq!(calls[0]["target"], "warehouse-mcp");
    assert_eq!(calls[0]["action"], "warehouse.query");
    assert_eq!(
        calls[0]["outcome"], "error",
        "isError in a successful envelope"
    );
    assert_eq!(calls[1]["outcome"], "success");
    assert_eq!(calls[0]["task"], "trace:4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(calls[0]["parent"], "b2e1d4c3f5a60003");
    let results = query(
        &db,
        "SELECT call_id, trust, content FROM events WHERE kind = 'tool.result' ORDER BY time",
    );
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["trust"] == "untrusted"));
    assert_eq!(results[0]["call_id"], calls[0]["call_id"]);
}

#[test]
fn orphans_and_garbage_are_kept_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.duckdb");
    let log = dir.path().join("mcp.jsonl");
    let lines = [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fs.read","arguments":"{\"path\":\"/etc/hosts\"}"}}"#,
        r#"{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"late"}]}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fs.write","arguments":{"path":"/tmp/x"}}}"#,
        r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Unknown tool: fs.write"}}"#,
        r#"["not", "messages"]"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/ca"#,
    ];
    fs::write(&log, lines.join("\n") + "\n").expect("write");
    let run = onus(
        &db,
        &["ingest", "--format", "mcp", log.to_str().expect("path")],
    );
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let q = query(
        &db,
        "SELECT locator, reason FROM quarantine ORDER BY locator",
    );
    let reasons: Vec<(&str, &str)> = q
        .iter()
        .map(|r| {
            (
                r["locator"].as_str().expect("l"),
                r["reason"].as_str().expect("r"),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert_eq!(reasons[0].0, "L2");
    assert!(reasons[0].1.contains("no request"), "{}", reasons[0].1);
    assert!(reasons[1].0.starts_with("L5."), "{reasons:?}");
    assert!(reasons[3].1.contains("truncated"), "{}", reasons[3].1);
    // The unanswered call is kept, with its arguments parsed from the JSON string.
    let calls = query(
        &db,
        "SELECT action, outcome, resource, json_extract_string(attributes, '$.response') AS response
         FROM events WHERE kind = 'tool.call' ORDER BY seq",
    );
    assert_eq!(calls[0]["action"], "fs.read");
    assert_eq!(calls[0]["outcome"], "unknown");
    assert_eq!(calls[0]["resource"], "/etc/hosts");
    assert_eq!(calls[0]["response"], "missing");
    assert_eq!(calls[1]["outcome"], "error");
    let sources = onus_json(&db, &["sources", "--format", "json"]);
    assert_eq!(sources[0]["records_read"], 7);
}

#[test]
fn cloudtrail_and_kubernetes_files_are_not_claimed_by_the_agent_adapters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.duckdb");
    let delivery = dir.path().join("ct.json");
    fs::write(
        &delivery,
        r#"{"Records":[{"eventVersion":"1.08","eventTime":"2026-03-04T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"AssumedRole"}}]}"#,
    )
    .expect("write");
    let pretty = dir.path().join("ct-pretty.json");
    fs::write(
        &pretty,
        "{\n  \"Records\": [\n    {\"eventVersion\": \"1.08\", \"eventName\": \"GetObject\"}\n  ]\n}\n",
    )
    .expect("write");
    let k8s = dir.path().join("audit.log");
    fs::write(
        &k8s,
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"get","user":{"username":"system:serviceaccount:agents:runner"}}"#,
    )
    .expect("write");
    let run = onus(
        &db,
        &[
            "ingest",
            delivery.to_str().expect("path"),
            pretty.to_str().expect("path"),
            k8s.to_str().expect("path"),
        ],
    );
    for name in ["ct.json", "ct-pretty.json", "audit.log"] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} reported: {}", run.stdout));
        assert!(
            !line.contains("[otlp") && !line.contains("[mcp") && !line.contains("[chat"),
            "{line}"
        );
    }
}
