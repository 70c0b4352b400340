//! The chat transcript adapter through the binary: the injection fixture, the other shapes,
//! and broken transcripts.

use std::fs;

use crate::util::{ingest_fixture, onus, onus_json};

fn query(db: &std::path::Path, sql: &str) -> Vec<serde_json::Value> {
    let v = onus_json(db, &["query", "--format", "json", sql]);
    v.as_array().expect("rows").clone()
}

#[test]
fn the_injection_transcript_declares_intent_and_keeps_results_untrusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.duckdb");
    let run = ingest_fixture(&db, "chat-injection");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("[chat"), "{}", run.stdout);
    assert!(run.stdout.contains("0 quarantined"), "{}", run.stdout);

    let tasks = query(&db, "SELECT task_id, agent, intent FROM tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["task_id"], "T-3318");
    assert_eq!(tasks[0]["agent"], "agent:procurement-assistant");
    assert!(
        tasks[0]["intent"]
            .as_str()
            .expect("intent")
            .starts_with("Please read Northwind Metals' supplier onboarding page")
    );
    let results = query(
        &db,
        "SELECT DISTINCT trust FROM events WHERE kind = 'tool.result'",
    );
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["trust"], "untrusted");

    // The drifted call's destination first appears in the untrusted page.
    let page = query(
        &db,
        "SELECT content FROM events WHERE kind = 'tool.result' AND action = 'web.fetch'",
    );
    let send = query(
        &db,
        "SELECT destination, time_inferred, time FROM events WHERE kind = 'tool.call' AND action = 'email.send'",
    );
    let to = send[0]["destination"].as_str().expect("destination");
    assert_eq!(to, "verification@northwind-onboarding.example.net");
    assert!(page[0]["content"].as_str().expect("content").contains(to));
    assert_eq!(send[0]["time_inferred"], true);
    assert_eq!(send[0]["time"], "2026-03-12T14:02:10.000008Z");
}

#[test]
fn json_lines_in_other_shapes_pair_results_by_order_and_name_the_task_after_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.duckdb");
    let log = dir.path().join("run.jsonl");
    let lines = [
        r#"{"role":"user","content":[{"type":"text","text":"Find the invoice for order 77 and mail it to the customer."}],"timestamp":"2026-03-12T09:00:00Z"}"#,
        r#"{"role":"assistant","content":[{"type":"text","text":"Looking it up."},{"type":"tool_use","id":"toolu_1","name":"invoices.find","input":{"order_id":"77"}}]}"#,
        r#"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"INV-77.pdf"}]}]}"#,
        r#"{"role":"assistant","tool_calls":[{"id":null,"function":{"name":"mail.send","arguments":"{\"to\": \"c@example.org\"}"}},{"id":null,"function":{"name":"crm.note","arguments":"oops, not json"}}]}"#,
        r#"{"role":"tool","tool_call_id":null,"content":"sent"}"#,
        r#"{"role":"tool","tool_call_id":null,"content":"noted","is_error":true}"#,
        r#"{"role":"assistant","tool_calls":[{"function":"tickets.close","args":{"ticket_id":"T-9"},"id":"x1"}]}"#,
    ];
    fs::write(&log, lines.join("\n") + "\n").expect("write");
    let run = onus(&db, &["ingest", log.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("[chat"), "{}", run.stdout);

    let tasks = query(&db, "SELECT task_id, intent FROM tasks");
    let task = tasks[0]["task_id"].as_str().expect("task");
    assert!(task.starts_with("chat:") && task.len() == 21, "{task}");
    assert!(
        tasks[0]["intent"]
            .as_str()
            .expect("intent")
            .starts_with("Find the invoice")
    );

    let rows = query(
        &db,
        "SELECT kind, action, call_id, outcome, time, time_inferred,
                json_extract_string(attributes, '$.arguments_raw') AS raw_args
         FROM events WHERE kind IN ('tool.call', 'tool.result') ORDER BY seq",
    );
    let pick = |i: usize, k: &str| rows[i][k].clone();
    assert_eq!(pick(0, "action"), "invoices.find");
    assert_eq!(pick(1, "call_id"), "toolu_1");
    // Null ids pair by order: mail.send gets "sent", crm.note gets the error.
    assert_eq!(pick(2, "action"), "mail.send");
    assert_eq!(pick(4, "call_id"), pick(2, "call_id"));
    assert_eq!(pick(4, "action"), "mail.send");
    assert_eq!(pick(5, "action"), "crm.note");
    assert_eq!(pick(5, "outcome"), "error");
    assert_eq!(pick(3, "raw_args"), "oops, not json");
    assert_eq!(pick(6, "action"), "tickets.close");
    // Times after the first recorded one are inferred, a microsecond apart.
    assert_eq!(pick(0, "time"), "2026-03-12T09:00:00.000001Z");
    assert_eq!(pick(0, "time_inferred"), true);
}

#[test]
fn broken_transcripts_are_quarantined_or_refused_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.duckdb");
    let doc = dir.path().join("t.json");
    fs::write(
        &doc,
        r#"{"task": "T-1", "messages": [
  {"role": "user", "content": "Summarise ticket 4."},
  "assistant said hi",
  {"role": "narrator", "content": "meanwhile"},
  {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"arguments": "{}"}}]}
]}
"#,
    )
    .expect("write");
    let run = onus(&db, &["ingest", doc.to_str().expect("path")]);
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
    assert!(got[0].1.contains("must be a JSON object"), "{}", got[0].1);
    assert!(got[1].1.contains("narrator"), "{}", got[1].1);
    assert!(got[2].1.contains("names no function"), "{}", got[2].1);

    let cut = dir.path().join("cut.json");
    fs::write(
        &cut,
        "[\n  {\"role\": \"user\", \"content\": \"hi\"},\n  {\"role\": \"assis",
    )
    .expect("write");
    let db2 = dir.path().join("c.duckdb");
    let run = onus(
        &db2,
        &["ingest", "--format", "chat", cut.to_str().expect("path")],
    );
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("truncated"), "{}", run.stdout);
}

#[test]
fn benchmark_envelopes_keep_their_extra_keys_text_blocks_and_tool_errors() {
    // Three fidelity gaps: an envelope with keys beyond the documented ones was quarantined whole;
    // `{"type": "text", "content": ...}` blocks became the literal "[text]" (the declared intent
    // itself); a tool message's `error` field was ignored.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e.duckdb");
    let log = dir.path().join("runs.jsonl");
    let envelope = serde_json::json!({
        "task": "bench-1",
        "agent": "agent:banking",
        "suite": "banking",
        "tools": [{"name": "read_file"}, {"name": "send_money"}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "content": "Pay the bill in bill.txt"}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{\"file_path\": \"bill.txt\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "", "error": "FileNotFoundError: bill.txt"}
        ]
    });
    fs::write(&log, format!("{envelope}\n")).expect("write");
    let run = onus(&db, &["ingest", log.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("0 quarantined"), "{}", run.stdout);
    let start = query(
        &db,
        "SELECT intent, attributes->>'$.envelope.suite' AS suite, json_array_length(attributes->'$.envelope.tools') AS tools FROM events WHERE kind = 'task.start'",
    );
    assert_eq!(start[0]["intent"], "Pay the bill in bill.txt");
    assert_eq!(start[0]["suite"], "banking");
    assert_eq!(start[0]["tools"], 2);
    let result = query(
        &db,
        "SELECT outcome, content FROM events WHERE kind = 'tool.result'",
    );
    assert_eq!(result[0]["outcome"], "error");
    assert_eq!(result[0]["content"], "FileNotFoundError: bill.txt");
}

#[test]
fn a_manifest_names_the_destination_arguments_of_a_tool() {
    // `who` is no default destination key: only the manifest's argument roles make the call to
    // an address outside the task's destinations a scope deviation, through the real store.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("run.json");
    let transcript = serde_json::json!({
        "task": "T-roles",
        "agent": "agent:ops",
        "messages": [
            {"role": "user", "content": "Onboard Dora (dora@corp.example) to the wiki."},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "wiki.onboard", "arguments": "{\"who\": \"fred9246@gmail.com\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"}
        ]
    });
    fs::write(&log, transcript.to_string()).expect("write");
    let manifest = |roles: &str| {
        format!(
            "[[tasks]]\nid = \"T-roles\"\n  [tasks.constraints]\n  tools = [\"wiki.onboard\"]\n  destinations = [\"dora@corp.example\"]\n{roles}"
        )
    };
    let detectors = |name: &str, roles: &str| -> Vec<String> {
        let db = dir.path().join(format!("{name}.duckdb"));
        let m = dir.path().join(format!("{name}.toml"));
        fs::write(&m, manifest(roles)).expect("write");
        let run = onus(
            &db,
            &[
                "ingest",
                log.to_str().expect("path"),
                "--manifest",
                m.to_str().expect("path"),
            ],
        );
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        query(&db, "SELECT detector FROM findings")
            .iter()
            .filter_map(|r| r["detector"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(!detectors("plain", "").contains(&"drift.destination".to_owned()));
    let with_roles = detectors(
        "roles",
        "\n[tools.\"wiki.onboard\"]\ndestinations = [\"who\"]\n",
    );
    assert!(
        with_roles.contains(&"drift.destination".to_owned()),
        "{with_roles:?}"
    );
}
