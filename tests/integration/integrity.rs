//! Evidence integrity: `onus verify` re-hashes the files a database was built from, a second
//! writer on an open database gets a clear "locked" error instead of corrupting it, and a store
//! written before a schema change is migrated (and its derived tables built) rather than misread.

use std::fs;
use std::io::Write as _;

use onus::store::{Access, Store};

use crate::util::{fixture, ingest_fixture, ingested, onus, onus_json};

#[test]
fn verify_notices_a_changed_a_missing_and_an_unchanged_evidence_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let evidence = dir.path().join("evidence");
    fs::create_dir(&evidence).expect("mkdir");
    for name in ["copilot-runtime.jsonl", "manifest.toml"] {
        fs::copy(fixture("clean-run").join(name), evidence.join(name)).expect("copy");
    }
    let extra = evidence.join("extra.jsonl");
    fs::write(&extra, format!("{}\n", crate::util::native_line(1))).expect("write");
    let db = dir.path().join("e.duckdb");
    let manifest = evidence.join("manifest.toml");
    let ingest = onus(
        &db,
        &[
            "ingest",
            evidence.to_str().expect("utf-8 path"),
            "--manifest",
            manifest.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);

    let clean = onus(&db, &["verify", "--format", "json"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let checks: serde_json::Value = serde_json::from_str(&clean.stdout).expect("json");
    let checks = checks.as_array().expect("array");
    assert_eq!(checks.len(), 3, "one check per source: {checks:?}");
    assert!(
        checks.iter().all(|c| c["status"] == "unchanged"),
        "{checks:?}"
    );

    // One byte appended to the runtime log, the extra file removed.
    let runtime = evidence.join("copilot-runtime.jsonl");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&runtime)
        .expect("open for append");
    f.write_all(b"\n").expect("append");
    drop(f);
    fs::remove_file(&extra).expect("remove");

    let run = onus(&db, &["verify", "--format", "json"]);
    assert_eq!(
        run.code, 1,
        "a changed file fails the check: {}",
        run.stderr
    );
    assert!(run.stderr.contains("2 of 3"), "{}", run.stderr);
    let checks: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let status_of = |suffix: &str| {
        checks
            .as_array()
            .expect("array")
            .iter()
            .find(|c| c["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
            .unwrap_or_else(|| panic!("no check for {suffix}: {checks}"))
            .clone()
    };
    let changed = status_of("copilot-runtime.jsonl");
    assert_eq!(changed["status"], "changed");
    assert_ne!(changed["current_sha256"], changed["recorded_sha256"]);
    assert_eq!(
        changed["current_bytes"].as_u64(),
        changed["recorded_bytes"].as_u64().map(|b| b + 1)
    );
    assert_eq!(status_of("extra.jsonl")["status"], "missing");
    assert_eq!(status_of("manifest.toml")["status"], "unchanged");

    // The table names the problem too. Verify and report open the database read-only, so they
    // run while another process holds a read-only handle (a writer would be refused).
    let reader = Store::open(&db, Access::ReadOnly).expect("open read-only");
    let table = onus(&db, &["verify"]);
    assert_eq!(table.code, 1, "{}", table.stderr);
    assert!(table.stdout.contains("changed") && table.stdout.contains("missing"));
    let report = onus(&db, &["report", "--format", "md"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(
        report
            .stdout
            .contains(&changed["recorded_sha256"].as_str().expect("sha")[..16])
    );
    drop(reader);
}

#[test]
fn verify_resolves_relative_paths_against_a_base_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("a.jsonl"),
        format!("{}\n", crate::util::native_line(2)),
    )
    .expect("write");
    let db = dir.path().join("e.duckdb");
    let out = std::process::Command::new(crate::util::onus_bin())
        .current_dir(dir.path())
        .args(["ingest", "a.jsonl", "--db", "e.duckdb"])
        .env_remove("ONUS_DB")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // From elsewhere the relative path does not resolve...
    let lost = onus(&db, &["verify", "--format", "json"]);
    assert_eq!(lost.code, 1);
    assert!(lost.stdout.contains("\"missing\""), "{}", lost.stdout);
    // ...and with --base it does.
    let base = dir.path().to_str().expect("utf-8");
    let found = onus(&db, &["verify", "--base", base]);
    assert_eq!(found.code, 0, "{}{}", found.stdout, found.stderr);
}

#[test]
fn a_second_writer_is_told_the_database_is_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e.duckdb");
    let first = ingest_fixture(&db, "clean-run");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let count_sources = || {
        crate::util::onus_json(&db, &["sources", "--format", "json"])
            .as_array()
            .expect("array")
            .len()
    };
    let before = count_sources();

    // This test process holds the database open for writing, as a running ingest would.
    let holder = Store::open(&db, Access::ReadWrite).expect("open for writing");
    let log = dir.path().join("more.jsonl");
    fs::write(&log, format!("{}\n", crate::util::native_line(3))).expect("write");
    let second = onus(&db, &["ingest", log.to_str().expect("utf-8")]);
    assert_eq!(second.code, 4, "stderr: {}", second.stderr);
    assert!(
        second.stderr.contains("database is locked"),
        "the error says what is wrong: {}",
        second.stderr
    );
    assert!(!second.stderr.contains("panicked"), "{}", second.stderr);
    drop(holder);

    // Once the first writer is gone, the same command works and nothing was half-written.
    let retry = onus(&db, &["ingest", log.to_str().expect("utf-8")]);
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_eq!(count_sources(), before + 1);
}

#[test]
fn verify_json_escapes_hostile_file_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = dir.path().join("log\u{202e}lmth.jsonl");
    fs::write(&name, format!("{}\n", crate::util::native_line(4))).expect("write");
    let db = dir.path().join("e.duckdb");
    let run = onus(&db, &["ingest", name.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = onus(&db, &["verify", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert!(
        !json.stdout.contains('\u{202e}'),
        "raw bidi override in: {}",
        json.stdout
    );
    let checks: serde_json::Value = serde_json::from_str(&json.stdout).expect("valid JSON");
    assert!(
        checks[0]["path"]
            .as_str()
            .is_some_and(|p| p.contains('\u{202e}')),
        "the parsed path keeps the character: {checks}"
    );
}

#[test]
fn a_store_from_before_the_timeline_index_is_migrated_and_indexed_by_reindex() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = ingested("payments-copilot", &dir);
    let count = |sql: &str| -> i64 {
        let rows = onus_json(&db, &["query", "--format", "json", sql]);
        rows[0]["n"].as_i64().expect("a count")
    };
    let events = count("SELECT count(*) AS n FROM events");
    assert_eq!(count("SELECT count(*) AS n FROM timeline"), events);
    let marks = count("SELECT count(*) AS n FROM timeline_marks WHERE drift_point");
    assert_eq!(marks, 1, "the fixture's one drift point is marked");
    // Make it a schema-3 store, as an onus without the index wrote it.
    {
        let conn = duckdb::Connection::open(&db).expect("open");
        conn.execute_batch(
            "DROP TABLE timeline; DROP TABLE timeline_marks;
             DELETE FROM schema_version WHERE version = 4;",
        )
        .expect("downgrade");
    }
    let refused = onus(&db, &["query", "SELECT 1"]);
    assert_ne!(refused.code, 0, "a read-only command refuses an old schema");
    assert!(
        refused.stderr.contains("onus reindex"),
        "{}",
        refused.stderr
    );
    let run = onus(&db, &["reindex"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("{events} events")),
        "{}",
        run.stdout
    );
    assert_eq!(count("SELECT count(*) AS n FROM timeline"), events);
    assert_eq!(
        count("SELECT count(*) AS n FROM timeline_marks WHERE drift_point"),
        marks
    );
    // Positions follow the investigation order, with no gap.
    assert_eq!(
        count(
            "SELECT count(*) AS n FROM (SELECT pos, row_number() OVER (ORDER BY time, source_id, seq) - 1 AS want FROM timeline) WHERE pos <> want"
        ),
        0
    );
    assert_eq!(count("SELECT max(pos) + 1 AS n FROM timeline"), events);
}
