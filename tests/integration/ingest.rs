//! Ingest through the binary: reconciliation, quarantine, de-duplication, fixtures.

use std::collections::BTreeMap;
use std::fs;

use crate::util::{fixture, ingest_fixture, native_line, onus, onus_json};

#[test]
fn three_malformed_lines_among_a_hundred_are_quarantined_with_line_and_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e.duckdb");
    let log = dir.path().join("mixed.jsonl");
    let mut lines: Vec<String> = (0..100).map(native_line).collect();
    // Lines 11, 52 and 103 (1-based) are bad, each in its own way.
    lines.insert(
        10,
        r#"{"time":"2026-03-04T10:00:00Z","kind":"tool.call","actor":"#.to_owned(),
    );
    lines.insert(
        51,
        r#"{"time":"not a time","kind":"auth","actor":"a"}"#.to_owned(),
    );
    lines.push(r#"{"time":"2026-03-04T10:00:00Z","kind":"warp","actor":"a"}"#.to_owned());
    fs::write(&log, lines.join("\n") + "\n").expect("write");

    let run = onus(&db, &["ingest", log.to_str().expect("utf-8 path")]);
    assert_eq!(
        run.code, 3,
        "partly bad input has its own exit code: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("100 events, 3 quarantined"),
        "{}",
        run.stdout
    );

    let q = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT locator, reason FROM quarantine ORDER BY byte_offset",
        ],
    );
    let rows = q.as_array().expect("array");
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["locator"].as_str().expect("locator"),
                r["reason"].as_str().expect("reason"),
            )
        })
        .collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].0, "L11");
    assert!(got[0].1.contains("truncated"), "{}", got[0].1);
    assert_eq!(got[1].0, "L52");
    assert!(got[1].1.contains("RFC 3339"), "{}", got[1].1);
    assert_eq!(got[2].0, "L103");
    assert!(got[2].1.contains("unknown event kind"), "{}", got[2].1);

    let sources = onus_json(&db, &["sources", "--format", "json"]);
    let s = &sources[0];
    assert_eq!(s["records_read"], 103);
    assert_eq!(s["records_ok"], 100);
    assert_eq!(s["records_quarantined"], 3);
    assert_eq!(s["events_ingested"], 100);
}

#[test]
fn ingesting_the_same_file_twice_adds_nothing_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e.duckdb");
    let log = dir.path().join("a.jsonl");
    fs::write(
        &log,
        (0..20).map(native_line).collect::<Vec<_>>().join("\n"),
    )
    .expect("write");
    let copy = dir.path().join("copy-of-a.jsonl");
    fs::copy(&log, &copy).expect("copy");

    let first = onus(&db, &["ingest", log.to_str().expect("path")]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = onus(
        &db,
        &[
            "ingest",
            log.to_str().expect("path"),
            copy.to_str().expect("path"),
        ],
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        second
            .stdout
            .matches("already ingested as source 1")
            .count(),
        2,
        "{}",
        second.stdout
    );
    let n = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM events",
        ],
    );
    assert_eq!(n[0]["n"], 20);
    let ids = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(DISTINCT id) AS n FROM events",
        ],
    );
    assert_eq!(ids[0]["n"], 20, "event ids are unique");
}

#[test]
fn quiet_lists_only_the_files_with_problems_and_the_totals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).expect("mkdir");
    for n in 0..5 {
        fs::write(logs.join(format!("good-{n}.jsonl")), native_line(n) + "\n").expect("write");
    }
    fs::write(
        logs.join("bad.jsonl"),
        format!("{}\nnot json\n", native_line(9)),
    )
    .expect("write");
    fs::write(logs.join("notes.csv"), "a,b\n1,2\n").expect("write");
    let db = dir.path().join("q.duckdb");
    let quiet = onus(&db, &["ingest", "--quiet", logs.to_str().expect("path")]);
    assert_eq!(quiet.code, 3, "{}", quiet.stderr);
    let lines: Vec<&str> = quiet.stdout.lines().collect();
    assert!(
        lines.iter().all(|l| !l.contains("good-")),
        "{}",
        quiet.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("loaded") && l.contains("bad.jsonl")),
        "{}",
        quiet.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("REFUSED") && l.contains("notes.csv")),
        "{}",
        quiet.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("total: 7 records read")),
        "{}",
        quiet.stdout
    );
    assert!(quiet.stderr.is_empty(), "no chatter: {}", quiet.stderr);
    let loud = onus(
        &dir.path().join("l.duckdb"),
        &["ingest", logs.to_str().expect("path")],
    );
    assert_eq!(loud.stdout.matches("good-").count(), 5, "{}", loud.stdout);
}

#[test]
fn event_ids_are_stable_across_databases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("a.jsonl");
    fs::write(&log, (0..5).map(native_line).collect::<Vec<_>>().join("\n")).expect("write");
    let ids = |db: &str| {
        let db = dir.path().join(db);
        assert_eq!(onus(&db, &["ingest", log.to_str().expect("path")]).code, 0);
        onus_json(
            &db,
            &[
                "query",
                "--format",
                "json",
                "SELECT id FROM events ORDER BY seq",
            ],
        )
    };
    let a = ids("one.duckdb");
    assert_eq!(a, ids("two.duckdb"));
    let sha = onus_json(
        &dir.path().join("one.duckdb"),
        &["sources", "--format", "json"],
    )[0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();
    assert_eq!(a[2]["id"], format!("{}:L3", &sha[..16]));
}

/// Counts events per kind straight from a fixture's JSONL files, independently of onus.
fn kinds_in_fixture(name: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for entry in fs::read_dir(fixture(name)).expect("fixture exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in fs::read_to_string(&path).expect("read").lines() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value =
                    serde_json::from_str(line).expect("fixture line is JSON");
                *counts
                    .entry(v["kind"].as_str().expect("kind").to_owned())
                    .or_default() += 1;
            }
        }
    }
    counts
}

#[test]
fn the_payments_fixture_loads_completely_into_a_real_duckdb_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.duckdb");
    let run = ingest_fixture(&db, "payments-copilot");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("[manifest"),
        "the manifest named with --manifest is loaded: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("(documentation)"),
        "README is reported as skipped: {}",
        run.stdout
    );

    let expected = kinds_in_fixture("payments-copilot");
    assert!(
        expected.values().sum::<u64>() >= 250,
        "a realistic fixture: {expected:?}"
    );
    let rows = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "select kind, count(*) n from events group by kind order by kind",
        ],
    );
    let got: BTreeMap<String, u64> = rows
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().expect("kind").to_owned(),
                r["n"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // Any DuckDB client can open the file: use the engine directly, not through onus.
    let conn = duckdb::Connection::open(&db).expect("a real DuckDB database");
    let quarantined: i64 = conn
        .query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))
        .expect("query");
    assert_eq!(quarantined, 0);
    let owners: i64 = conn
        .query_row(
            "SELECT count(DISTINCT owner) FROM owner_assignments",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert!(owners >= 4, "the manifest's owners are stored");
}

#[test]
fn the_clean_run_fixture_loads_without_quarantine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.duckdb");
    let run = ingest_fixture(&db, "clean-run");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let expected: u64 = kinds_in_fixture("clean-run").values().sum();
    let n = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM events",
        ],
    );
    assert_eq!(n[0]["n"].as_u64(), Some(expected));
}

#[test]
fn a_bad_manifest_is_refused_whole_and_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.duckdb");
    let manifest = dir.path().join("bad.toml");
    fs::write(&manifest, "[[tasks]]\nid = \"T\"\n[tasks.constriants]\n").expect("write");
    let run = onus(
        &db,
        &["ingest", "--manifest", manifest.to_str().expect("path")],
    );
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("REFUSED") && run.stdout.contains("constriants"),
        "{}",
        run.stdout
    );
    let n = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM sources",
        ],
    );
    assert_eq!(n[0]["n"], 0);
}

#[test]
fn a_manifest_over_the_size_limit_is_refused_and_the_limit_can_be_raised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.duckdb");
    let manifest = crate::util::fixture("payments-copilot").join("manifest.toml");
    let size = fs::metadata(&manifest).expect("stat").len();
    let path = manifest.to_str().expect("path");
    let small = (size - 1).to_string();
    let run = onus(
        &db,
        &["ingest", "--manifest", path, "--max-manifest-bytes", &small],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stdout.contains("REFUSED")
            && run.stdout.contains(&format!("{size} bytes"))
            && run.stdout.contains("--max-manifest-bytes"),
        "{}",
        run.stdout
    );
    let exact = size.to_string();
    let run = onus(
        &db,
        &["ingest", "--manifest", path, "--max-manifest-bytes", &exact],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn unknown_formats_are_refused_not_guessed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("u.duckdb");
    let file = dir.path().join("events.jsonl");
    fs::write(&file, "{\"greeting\": \"hello\"}\n").expect("write");
    let run = onus(&db, &["ingest", file.to_str().expect("path")]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("REFUSED") && run.stdout.contains("greeting"),
        "{}",
        run.stdout
    );
}

#[test]
fn manifest_classes_apply_whatever_the_ingest_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.duckdb");
    let log = dir.path().join("l.jsonl");
    fs::write(
        &log,
        r#"{"time":"2026-03-04T10:00:00Z","kind":"tool.call","actor":"a","action":"crm.sync"}"#,
    )
    .expect("write");
    let manifest = dir.path().join("m.toml");
    fs::write(
        &manifest,
        "[[action_classes]]\naction = \"crm.*\"\nclass = \"read\"\n",
    )
    .expect("write");
    assert_eq!(onus(&db, &["ingest", log.to_str().expect("path")]).code, 0);
    let before = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT action_class, class_source FROM events",
        ],
    );
    assert_eq!(before[0]["class_source"], "none");
    assert_eq!(
        onus(
            &db,
            &["ingest", "--manifest", manifest.to_str().expect("path")]
        )
        .code,
        0
    );
    let after = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT action_class, class_source FROM events",
        ],
    );
    assert_eq!(after[0]["action_class"], "read");
    assert_eq!(after[0]["class_source"], "manifest");
}

#[test]
fn denied_or_failed_hand_offs_and_credentials_derive_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("d.duckdb");
    let log = dir.path().join("l.jsonl");
    let lines = [
        r#"{"time":"2026-03-04T10:00:00Z","kind":"delegate","actor":"a","target":"b","outcome":"denied"}"#,
        r#"{"time":"2026-03-04T10:00:01Z","kind":"delegate","actor":"a","target":"c","action":"assume_role","outcome":"error"}"#,
        r#"{"time":"2026-03-04T10:00:02Z","kind":"credential.issue","actor":"iam","target":"b","credential":"k1","outcome":"denied"}"#,
        r#"{"time":"2026-03-04T10:00:03Z","kind":"delegate","actor":"a","target":"d","outcome":"success"}"#,
        r#"{"time":"2026-03-04T10:00:04Z","kind":"credential.issue","actor":"iam","target":"d","credential":"k2"}"#,
    ];
    fs::write(&log, lines.join("\n")).expect("write");
    let run = onus(&db, &["ingest", log.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let q = |sql: &str| onus_json(&db, &["query", "--format", "json", sql]);
    // The attempts stay as events; only what took effect is a delegation or a credential.
    assert_eq!(q("SELECT count(*) AS n FROM events")[0]["n"], 5);
    let d = q("SELECT delegate FROM delegations");
    assert_eq!(d.as_array().map(Vec::len), Some(1));
    assert_eq!(d[0]["delegate"], "d");
    let c = q("SELECT credential_id FROM credentials");
    assert_eq!(c.as_array().map(Vec::len), Some(1));
    assert_eq!(c[0]["credential_id"], "k2");
}

#[test]
fn a_byte_order_mark_does_not_stop_a_log_from_loading_under_auto_detection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("windows.jsonl");
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend(
        (0..7)
            .map(native_line)
            .collect::<Vec<_>>()
            .join("\n")
            .bytes(),
    );
    fs::write(&log, &bytes).expect("write");
    let db = dir.path().join("bom.duckdb");
    let run = onus(&db, &["ingest", log.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let rows = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM quarantine) AS q, \
             (SELECT min(locator) FROM events) AS first, (SELECT sha256 FROM sources) AS sha",
        ],
    );
    assert_eq!(rows[0]["e"], 7, "{rows}");
    assert_eq!(rows[0]["q"], 0, "{rows}");
    assert_eq!(rows[0]["first"], "L1");
    // The hash is of the file as it is on disk, mark included.
    let digest = sha2_hex(&bytes);
    assert_eq!(rows[0]["sha"], digest);
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[test]
fn the_quarantine_sample_is_in_file_order_within_a_document() {
    // Twelve bad records in one CloudTrail document share a byte offset; their locators
    // L1.1 … L1.12 must not come back in text order (L1.1, L1.10, L1.11, …).
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("trail.json");
    let items: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    fs::write(&log, format!("{{\"Records\":[{}]}}", items.join(","))).expect("write");
    let db = dir.path().join("q.duckdb");
    let run = onus(
        &db,
        &[
            "ingest",
            "--format",
            "cloudtrail",
            "--json",
            log.to_str().expect("path"),
        ],
    );
    let summary: serde_json::Value = serde_json::from_str(&run.stdout).expect("json summary");
    let sample: Vec<&str> = summary["files"][0]["quarantine_sample"]
        .as_array()
        .expect("a sample")
        .iter()
        .map(|pair| pair[0].as_str().expect("locator"))
        .collect();
    assert_eq!(
        sample,
        ["L1.1", "L1.2", "L1.3", "L1.4", "L1.5"],
        "{}",
        run.stdout
    );
}
