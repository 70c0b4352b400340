//! The OTLP/JSON adapter through the binary: the hand-off fixture, and broken input.

use std::fs;

use crate::util::{fixture, ingest_fixture, onus, onus_json};

fn query(db: &std::path::Path, sql: &str) -> Vec<serde_json::Value> {
    let v = onus_json(db, &["query", "--format", "json", sql]);
    v.as_array().expect("rows").clone()
}

#[test]
fn the_otel_handoff_fixture_rebuilds_both_handoffs_and_the_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.duckdb");
    let run = ingest_fixture(&db, "otel-handoff");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let sources = query(
        &db,
        "SELECT format, records_read, records_quarantined FROM sources WHERE path LIKE '%.jsonl' ORDER BY path",
    );
    assert_eq!(sources[0]["format"], "mcp", "{sources:?}");
    assert_eq!(sources[1]["format"], "otlp", "{sources:?}");
    assert_eq!(sources[1]["records_read"], 17);
    assert!(sources.iter().all(|s| s["records_quarantined"] == 0));

    let handoffs = query(
        &db,
        "SELECT delegator, delegate, kind, task FROM delegations ORDER BY delegated_at",
    );
    let pairs: Vec<(&str, &str)> = handoffs
        .iter()
        .map(|d| {
            (
                d["delegator"].as_str().expect("delegator"),
                d["delegate"].as_str().expect("delegate"),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("asst_orch_9QmT2", "finance-analyst"),
            ("asst_orch_9QmT2", "report-notifier")
        ]
    );
    let task = "trace:4bf92f3577b34da6a3ce929d0e0e4736";
    assert!(
        handoffs
            .iter()
            .all(|d| d["kind"] == "handoff" && d["task"] == task)
    );

    let tasks = query(
        &db,
        "SELECT task_id, agent, intent FROM tasks WHERE origin = 'event'",
    );
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["task_id"], task);
    assert_eq!(tasks[0]["agent"], "asst_orch_9QmT2");
    assert!(
        tasks[0]["intent"]
            .as_str()
            .expect("intent")
            .contains("Q1 2026 vendor spend")
    );
    let starts = query(
        &db,
        "SELECT on_behalf_of FROM events WHERE kind = 'task.start' AND task LIKE 'trace:%'",
    );
    assert_eq!(starts[0]["on_behalf_of"], "nina@example.com");

    // Sub-agent tool calls are the sub-agent's; the failed MCP call is an error; results are
    // untrusted; the uppercase root span id still resolves as a parent.
    let calls = query(
        &db,
        "SELECT actor, outcome FROM events e JOIN sources s ON e.source_id = s.id
         WHERE s.format = 'otlp' AND kind = 'tool.call' AND action = 'warehouse.query' ORDER BY time",
    );
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c["actor"] == "finance-analyst"));
    assert_eq!(calls[0]["outcome"], "error");
    assert_eq!(calls[1]["outcome"], "success");
    let trust = query(
        &db,
        "SELECT DISTINCT trust FROM events WHERE kind = 'tool.result'",
    );
    assert_eq!(trust.len(), 1);
    assert_eq!(trust[0]["trust"], "untrusted");
}

#[test]
fn a_pretty_printed_request_is_one_document_with_l1_locators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("p.duckdb");
    let line = fs::read_to_string(fixture("otel-handoff").join("traces.jsonl")).expect("read");
    let first: serde_json::Value =
        serde_json::from_str(line.lines().next().expect("line")).expect("json");
    let pretty = dir.path().join("export.json");
    fs::write(
        &pretty,
        serde_json::to_string_pretty(&first).expect("pretty"),
    )
    .expect("write");
    let run = onus(&db, &["ingest", pretty.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("[otlp"), "{}", run.stdout);
    let locs = query(&db, "SELECT locator FROM events ORDER BY seq");
    let locs: Vec<&str> = locs
        .iter()
        .map(|r| r["locator"].as_str().expect("loc"))
        .collect();
    assert_eq!(locs, ["L1.1", "L1.2", "L1.3", "L1.3#2", "L1.4", "L1.5"]);
}

#[test]
fn broken_spans_and_cut_requests_are_quarantined_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.duckdb");
    let log = dir.path().join("broken.jsonl");
    let good = r#"{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"invoke_agent a","kind":1,"startTimeUnixNano":"1773219600000000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}},{"key":"gen_ai.agent.name","value":{"stringValue":"a"}}]}"#;
    let bad_id = r#"{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"zz","startTimeUnixNano":"1773219600000000000"}"#;
    let bad_time = r#"{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203332","startTimeUnixNano":"tomorrow"}"#;
    let line1 = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[]}},"scopeSpans":[{{"spans":[{good},{bad_id},{bad_time}]}}]}}]}}"#
    );
    let cut = &line1[..line1.len() / 2];
    fs::write(&log, format!("{line1}\n{cut}\n")).expect("write");
    let run = onus(&db, &["ingest", log.to_str().expect("path")]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let q = query(
        &db,
        "SELECT locator, reason FROM quarantine ORDER BY locator",
    );
    let got: Vec<(&str, &str)> = q
        .iter()
        .map(|r| {
            (
                r["locator"].as_str().expect("l"),
                r["reason"].as_str().expect("r"),
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, "L1.2");
    assert!(got[0].1.contains("spanId"), "{}", got[0].1);
    assert_eq!(got[1].0, "L1.3");
    assert!(got[1].1.contains("startTimeUnixNano"), "{}", got[1].1);
    assert_eq!(got[2].0, "L2");
    assert!(got[2].1.contains("truncated"), "{}", got[2].1);
    let n = query(&db, "SELECT count(*) AS n FROM events");
    assert_eq!(n[0]["n"], 1);

    // A pretty-printed document cut in the middle: detected from its keys, then quarantined.
    let db2 = dir.path().join("c.duckdb");
    let doc = dir.path().join("cut.json");
    fs::write(&doc, "{\n  \"resourceSpans\": [\n    {\"scopeSpans\": [\n").expect("write");
    let run = onus(&db2, &["ingest", doc.to_str().expect("path")]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("still open at the end"),
        "{}",
        run.stdout
    );
}
