//! The Kubernetes audit adapter against the Falco trace files, the hand-written impersonation
//! fixture, and broken input.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{ingest_fixture, onus, onus_json, shared_data};

/// The real trace folder, or `None` (with a note) when the shared data is not there.
fn falco() -> Option<PathBuf> {
    shared_data("k8s-audit-falco/trace_files")
}

fn rows(db: &Path, sql: &str) -> Vec<Value> {
    onus_json(db, &["query", "--format", "json", sql])
        .as_array()
        .expect("rows")
        .clone()
}

fn str_of<'v>(row: &'v Value, key: &str) -> &'v str {
    row[key].as_str().unwrap_or_default()
}

/// The non-blank lines of every file in `dir`.
fn records_in(dir: &Path) -> usize {
    fs::read_dir(dir)
        .expect("dir")
        .map(|e| fs::read_to_string(e.expect("entry").path()).expect("read"))
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .sum()
}

#[test]
fn falco_traces_are_all_accounted_for() {
    let Some(dir) = falco() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("k8s.duckdb");
    let expected = records_in(&dir);
    assert_eq!(expected, 52);

    // Detected from content: one file holds `{"kind": 0}`, which is no known format: refused.
    let run = onus(&db, &["ingest", "--json", dir.to_str().expect("path")]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let summary: Value = serde_json::from_str(&run.stdout).expect("json summary");
    let files = summary["files"].as_array().expect("files");
    let refused: Vec<&Value> = files.iter().filter(|f| f["outcome"] == "refused").collect();
    assert_eq!(refused.len(), 1, "{files:#?}");
    assert!(str_of(refused[0], "path").ends_with("fal_01_003.json"));
    assert!(str_of(refused[0], "reason").contains("unrecognised"));

    // Forced, the same file is read and its one record quarantined with the reason.
    let run = onus(
        &db,
        &[
            "ingest",
            "--format",
            "k8s-audit",
            str_of(refused[0], "path"),
        ],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let totals = &rows(
        &db,
        "SELECT sum(records_read) AS r, sum(records_ok) AS ok, sum(records_quarantined) AS q, \
         count(*) AS files FROM sources WHERE format = 'k8s-audit'",
    )[0];
    assert_eq!(totals["r"], expected);
    assert_eq!(totals["ok"], expected - 1);
    assert_eq!(totals["q"], 1);
    assert_eq!(totals["files"], 47);
    let reason = &rows(&db, "SELECT reason FROM quarantine")[0];
    assert!(str_of(reason, "reason").contains("not a Kubernetes audit event"));

    // No two stages of one request share a file here, so each record is one request.
    let kinds = rows(
        &db,
        "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind",
    );
    assert_eq!(kinds[0]["kind"], "policy.decision");
    assert_eq!(kinds[0]["n"], expected - 1);
    assert_eq!(kinds[1]["kind"], "tool.call");
    assert_eq!(kinds[1]["n"], expected - 1);

    let sa = rows(
        &db,
        "SELECT kind FROM principals \
         WHERE id = 'system:serviceaccount:kube-system:replicaset-controller'",
    );
    assert_eq!(sa[0]["kind"], "workload");
    let exec = rows(
        &db,
        "SELECT action_class, outcome FROM events \
         WHERE kind = 'tool.call' AND action LIKE 'k8s:pods/exec:%'",
    );
    assert_eq!(exec[0]["action_class"], "execute");
    assert_eq!(exec[0]["outcome"], "success");
}

#[test]
fn impersonation_fixture_gives_the_edge_and_merges_stages() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("imp.duckdb");
    let run = ingest_fixture(&db, "k8s-impersonation");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let source = &rows(
        &db,
        "SELECT format, records_read, records_ok, events_ingested FROM sources",
    )[0];
    assert_eq!(source["format"], "k8s-audit");
    assert_eq!(source["records_read"], 6);
    assert_eq!(source["records_ok"], 6);
    assert_eq!(source["events_ingested"], 8);

    let sa = "system:serviceaccount:automation:deploy-agent";
    let calls = rows(
        &db,
        "SELECT actor, on_behalf_of, action, action_class, outcome, locator, \
         json_extract(attributes, '$.stages')::VARCHAR AS stages \
         FROM events WHERE kind = 'tool.call' ORDER BY time",
    );
    let got: Vec<(&str, &str, &str, &str)> = calls
        .iter()
        .map(|r| {
            (
                str_of(r, "actor"),
                str_of(r, "action"),
                str_of(r, "outcome"),
                str_of(r, "stages"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (sa, "k8s:pods:list", "success", r#"["ResponseComplete"]"#),
            (
                "jane@example.com",
                "k8s:secrets:get",
                "success",
                r#"["RequestReceived","ResponseComplete"]"#
            ),
            (
                "jane@example.com",
                "k8s:pods/exec:create",
                "success",
                r#"["ResponseStarted","ResponseComplete"]"#
            ),
            (sa, "k8s:secrets:get", "denied", r#"["ResponseComplete"]"#),
        ]
    );
    assert_eq!(calls[2]["action_class"], "execute");
    assert_eq!(calls[2]["locator"], "L6");
    assert_eq!(calls[1]["on_behalf_of"], sa);
    // The refused impersonation is the service account's own act, with the name it asked for.
    assert_eq!(calls[3]["on_behalf_of"], Value::Null);

    let delegations = rows(&db, "SELECT delegator, delegate, kind FROM delegations");
    assert_eq!(delegations.len(), 1, "{delegations:#?}");
    assert_eq!(delegations[0]["delegator"], sa);
    assert_eq!(delegations[0]["delegate"], "jane@example.com");
    assert_eq!(delegations[0]["kind"], "impersonation");
    let kind = rows(
        &db,
        &format!("SELECT kind FROM principals WHERE id = '{sa}'"),
    );
    assert_eq!(kind[0]["kind"], "workload");
    let decisions = rows(
        &db,
        "SELECT decision, count(*) AS n FROM events WHERE kind = 'policy.decision' \
         GROUP BY decision ORDER BY decision",
    );
    assert_eq!(decisions[0]["decision"], "allow");
    assert_eq!(decisions[0]["n"], 3);
    assert_eq!(decisions[1]["decision"], "deny");

    let graph = onus_json(&db, &["graph", "--format", "json"]);
    let edges = graph["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["kind"], "impersonation");
    assert!(str_of(&edges[0], "label").contains("impersonatedGroups=platform-admins"));
}

#[test]
fn broken_audit_lines_are_quarantined_and_a_missing_time_is_inferred() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let event = |id: &str, extra: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"{id}","stage":"ResponseComplete","verb":"get","user":{{"username":"u"}},"objectRef":{{"resource":"pods","namespace":"d","name":"p"}},"responseStatus":{{"code":200}}{extra}}}"#
        )
    };
    let time = r#","requestReceivedTimestamp":"2025-03-14T09:20:00Z""#;
    let lines = [
        event("1", time),
        event("2", r#","requestReceivedTimestamp":"yesterday""#),
        "[1]".to_owned(),
        event("3", time).replace(r#""user":{"username":"u"},"#, ""),
        event("4", ""),
        r#"{"kind":"Event","auditID":"5","stage":"Respo"#.to_owned(),
        format!(
            r#"{{"kind":"EventList","items":[{},{}]}}"#,
            event("6", time),
            event("7", time)
        ),
    ];
    let file = tmp.path().join("audit.log");
    fs::write(&file, lines.join("\n")).expect("write");
    let db = tmp.path().join("bad.duckdb");
    let run = onus(&db, &["ingest", file.to_str().expect("path")]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let q = rows(
        &db,
        "SELECT locator, reason FROM quarantine ORDER BY locator",
    );
    let got: Vec<(&str, &str)> = q
        .iter()
        .map(|r| (str_of(r, "locator"), str_of(r, "reason")))
        .collect();
    let expect = [
        ("L2", "field `requestReceivedTimestamp`"),
        ("L3", "must be an object"),
        ("L4", "`user.username` is missing"),
        ("L6", "truncated JSON"),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((locator, reason), (l, r)) in got.iter().zip(expect) {
        assert_eq!(*locator, l);
        assert!(reason.contains(r), "{locator}: {reason}");
    }
    let inferred = rows(
        &db,
        "SELECT time_inferred, json_extract_string(attributes, '$.timeField') AS field \
         FROM events WHERE kind = 'tool.call' AND source_event_id = '4'",
    );
    assert_eq!(inferred[0]["time_inferred"], true);
    assert_eq!(inferred[0]["field"], "inferred");
    let listed = rows(
        &db,
        "SELECT locator FROM events WHERE kind = 'tool.call' AND locator LIKE 'L7.%' ORDER BY locator",
    );
    assert_eq!(listed.len(), 2);
    let counts = &rows(&db, "SELECT records_read, records_ok FROM sources")[0];
    assert_eq!(counts["records_read"], 8);
    assert_eq!(counts["records_ok"], 4);
}
