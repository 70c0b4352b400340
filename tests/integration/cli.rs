//! Command-line behaviour: exit codes, read-only queries, timeline filters and formats.

use std::fs;

use crate::util::{native_line, onus, onus_json};

fn loaded_db(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let db = dir.path().join("t.duckdb");
    let log = dir.path().join("t.jsonl");
    fs::write(
        &log,
        (0..30).map(native_line).collect::<Vec<_>>().join("\n"),
    )
    .expect("write");
    assert_eq!(onus(&db, &["ingest", log.to_str().expect("path")]).code, 0);
    db
}

#[test]
fn bad_sql_is_a_usage_error_with_the_engine_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = loaded_db(&dir);
    let run = onus(&db, &["query", "SELEC nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("error: query failed") && run.stderr.contains("syntax"),
        "{}",
        run.stderr
    );
}

#[test]
fn query_refuses_more_than_one_statement_instead_of_showing_only_the_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = loaded_db(&dir);
    let run = onus(&db, &["query", "SELECT 1 AS a; SELECT 2 AS b"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stdout.is_empty(), "nothing ran: {}", run.stdout);
    assert!(
        run.stderr.contains("one statement at a time"),
        "{}",
        run.stderr
    );
    // A `;` inside a string is not a second statement.
    let quoted = onus(&db, &["query", "--format", "csv", "SELECT 'a;b' AS s;"]);
    assert_eq!(quoted.code, 0, "{}", quoted.stderr);
    assert!(quoted.stdout.contains("a;b"), "{}", quoted.stdout);
}

#[test]
fn query_cannot_modify_the_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = loaded_db(&dir);
    let run = onus(&db, &["query", "DELETE FROM events"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("read-only"), "{}", run.stderr);
    let n = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM events",
        ],
    );
    assert_eq!(n[0]["n"], 30);
}

#[test]
fn commands_on_a_missing_database_fail_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = onus(&dir.path().join("nope.duckdb"), &["timeline"]);
    assert_eq!(run.code, 4);
    assert!(
        run.stderr.contains("no evidence database"),
        "{}",
        run.stderr
    );
}

#[test]
fn timeline_filters_by_task_and_time_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = loaded_db(&dir);
    let rows = onus_json(&db, &["timeline", "--task", "T-3", "--format", "json"]);
    let rows = rows.as_array().expect("array");
    // native_line(n) has task T-(n % 7): n = 3, 10, 17, 24.
    assert_eq!(rows.len(), 4);
    let times: Vec<&str> = rows
        .iter()
        .map(|r| r["time"].as_str().expect("time"))
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted);
    let since = onus_json(
        &db,
        &[
            "timeline",
            "--since",
            "2026-03-04T10:00:20Z",
            "--until",
            "2026-03-04 10:00:25",
            "--format",
            "json",
        ],
    );
    assert_eq!(since.as_array().expect("array").len(), 5);
    let limited = onus_json(&db, &["timeline", "--limit", "2", "--format", "json"]);
    assert_eq!(limited.as_array().expect("array").len(), 2);
}

#[test]
fn a_limited_timeline_is_the_start_of_the_whole_one_across_sources() {
    // Four sources interleaved in time, with ties: the first N rows of `--limit N` (which DuckDB
    // reads as a top-N) are exactly the first N of the whole timeline, in every output format.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = crate::util::ingested("payments-copilot", &dir);
    let whole = onus_json(&db, &["timeline", "--format", "json"]);
    let whole = whole.as_array().expect("array");
    assert!(whole.len() > 100, "{}", whole.len());
    for n in [1, 37, 100] {
        let limited = onus_json(
            &db,
            &["timeline", "--limit", &n.to_string(), "--format", "json"],
        );
        assert_eq!(
            limited.as_array().expect("array")[..],
            whole[..n],
            "--limit {n}"
        );
    }
}

#[test]
fn timeline_csv_and_table_outputs_are_well_formed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = loaded_db(&dir);
    let csv = onus(&db, &["timeline", "--format", "csv"]);
    assert_eq!(csv.code, 0);
    assert_eq!(csv.stdout.lines().count(), 31, "header plus 30 rows");
    assert!(csv.stdout.starts_with("time,id,kind,actor"));
    let table = onus(&db, &["timeline"]);
    assert_eq!(table.code, 0);
    assert!(
        table
            .stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("----"))
    );
}

#[test]
fn hostile_text_never_reaches_the_terminal_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.duckdb");
    let log = dir.path().join("h.jsonl");
    fs::write(
        &log,
        "{\"time\":\"2026-03-04T10:00:00Z\",\"kind\":\"tool.call\",\"actor\":\"agent:\\u001b]0;owned\\u0007\\u001b[2J\",\"action\":\"=HYPERLINK(\\\"http://x\\\")\"}\n",
    )
    .expect("write");
    assert_eq!(onus(&db, &["ingest", log.to_str().expect("path")]).code, 0);
    for args in [
        &["timeline"][..],
        &["timeline", "--format", "csv"],
        &["query", "SELECT actor, action FROM events"],
    ] {
        let run = onus(&db, args);
        assert_eq!(run.code, 0);
        assert!(
            !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'),
            "{args:?}: {:?}",
            run.stdout
        );
    }
    let csv = onus(&db, &["timeline", "--format", "csv"]);
    assert!(csv.stdout.contains("\"'=HYPERLINK("), "{}", csv.stdout);
}

#[test]
fn help_documents_the_exit_codes() {
    let run = onus(std::path::Path::new("unused.duckdb"), &["--help"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("Exit codes") && run.stdout.contains("3  bad input"),
        "{}",
        run.stdout
    );
}
