//! Store tests against real DuckDB databases (in memory and on disk).

use super::*;
use crate::model::{Event, EventKind, QuarantineRecord, parse_time};

fn meta(sha: &str) -> NewSource {
    NewSource {
        path: format!("/evidence/{sha}.jsonl"),
        format: "onus".to_owned(),
        sha256: sha.to_owned(),
        size_bytes: 10,
    }
}

fn event(n: u64) -> Event {
    let mut e = Event::new(
        format!("abc:L{n}"),
        format!("L{n}"),
        parse_time("2026-03-04T10:00:00Z").expect("time"),
        EventKind::Auth,
        "agent:a".to_owned(),
    );
    e.seq = n;
    e.raw = "{}".to_owned();
    e
}

fn counts(n: u64) -> SourceCounts {
    SourceCounts {
        records_read: n,
        records_ok: n,
        ..SourceCounts::default()
    }
}

#[test]
fn a_committed_source_is_visible_with_its_counts() {
    let mut store = Store::open_in_memory().expect("open");
    let mut w = store.begin_source(meta("aa")).expect("begin");
    for n in 1..=3 {
        w.event(&event(n)).expect("event");
    }
    let (id, c) = w.commit(counts(3)).expect("commit");
    assert_eq!(c.events_ingested, 3);
    assert_eq!(store.event_count().expect("count"), 3);
    let sources = store.sources().expect("sources");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].id, id);
    assert_eq!(sources[0].events_ingested, 3);
    assert!(store.source_by_sha256("aa").expect("lookup").is_some());
}

#[test]
fn dropping_a_writer_rolls_the_whole_source_back() {
    let mut store = Store::open_in_memory().expect("open");
    {
        let mut w = store.begin_source(meta("bb")).expect("begin");
        for n in 1..=5000 {
            w.event(&event(n)).expect("event");
        }
        w.quarantine(&QuarantineRecord {
            id: "bb:L9".to_owned(),
            locator: "L9".to_owned(),
            byte_offset: Some(3),
            reason: "bad".to_owned(),
            raw: "x".to_owned(),
            raw_bytes: 1,
            raw_truncated: false,
        })
        .expect("quarantine");
        // dropped without commit
    }
    assert_eq!(store.event_count().expect("count"), 0);
    assert!(store.sources().expect("sources").is_empty());
    let q: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))
        .expect("count");
    assert_eq!(q, 0);
    // The store is usable afterwards.
    let w = store.begin_source(meta("cc")).expect("begin again");
    w.commit(counts(0)).expect("commit");
    assert_eq!(store.sources().expect("sources").len(), 1);
}

#[test]
fn counts_that_do_not_reconcile_are_refused() {
    let mut store = Store::open_in_memory().expect("open");
    let mut w = store.begin_source(meta("dd")).expect("begin");
    w.event(&event(1)).expect("event");
    let err = w
        .commit(SourceCounts {
            records_read: 2,
            records_ok: 1,
            ..SourceCounts::default()
        })
        .expect_err("one record unaccounted for");
    assert!(err.to_string().contains("2 records read"), "{err}");
    assert!(store.sources().expect("sources").is_empty());
}

#[test]
fn files_are_real_databases_and_read_only_opens_refuse_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("e.duckdb");
    {
        let mut store = Store::open(&path, Access::ReadWrite).expect("create");
        let mut w = store.begin_source(meta("ee")).expect("begin");
        w.event(&event(1)).expect("event");
        w.commit(counts(1)).expect("commit");
    }
    let store = Store::open(&path, Access::ReadOnly).expect("read-only");
    assert_eq!(store.event_count().expect("count"), 1);
    let err = store
        .run_sql("DELETE FROM events", |_| {}, |_, _| true)
        .expect_err("read-only");
    assert!(matches!(err, StoreError::Query(_)), "{err}");
    let mut rows = Vec::new();
    store
        .run_sql(
            "SELECT kind, count(*) AS n FROM events GROUP BY kind",
            |_| {},
            |_, r| {
                rows.push(r);
                true
            },
        )
        .expect("select");
    assert_eq!(
        rows,
        vec![vec![serde_json::json!("auth"), serde_json::json!(1)]]
    );
}

#[test]
fn opening_a_missing_file_read_only_says_how_to_create_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Store::open(&dir.path().join("none.duckdb"), Access::ReadOnly).expect_err("missing");
    assert!(err.to_string().contains("onus ingest"), "{err}");
}

#[test]
fn restricted_connections_cannot_touch_files() {
    let store = Store::open_in_memory().expect("open");
    store.restrict_to_evidence().expect("restrict");
    let err = store
        .run_sql("SELECT * FROM read_csv('/etc/passwd')", |_| {}, |_, _| true)
        .expect_err("no file access");
    assert!(matches!(err, StoreError::Query(_)), "{err}");
}

#[test]
fn migrations_are_recorded_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.duckdb");
    drop(Store::open(&path, Access::ReadWrite).expect("create"));
    let store = Store::open(&path, Access::ReadWrite).expect("reopen");
    let (rows, max): (i64, i64) = store
        .conn()
        .query_row(
            "SELECT count(*), max(version) FROM schema_version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("versions");
    assert_eq!(max, SCHEMA_VERSION);
    assert_eq!(
        rows,
        i64::try_from(super::migrate::MIGRATION_COUNT).expect("small")
    );
}

#[test]
fn a_new_database_appears_complete_and_stale_scratch_files_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.duckdb");
    // What a process killed while creating the file leaves (no such pid runs).
    let stale = dir.path().join("new.duckdb.creating-4000000000");
    std::fs::write(&stale, b"half made").expect("write");
    let store = Store::open(&path, Access::ReadWrite).expect("create");
    drop(store);
    assert!(!stale.exists(), "a stale scratch file is cleaned up");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["new.duckdb"], "only the database is left");
    // It opens read-only at the current schema straight away.
    Store::open(&path, Access::ReadOnly).expect("complete schema");
}

#[test]
fn evidence_is_cited_by_file_name_unless_two_files_share_it() {
    use crate::ingest::{IngestOptions, NoProgress, ingest_paths};
    let dir = tempfile::tempdir().expect("tempdir");
    let line = |n: u32| {
        format!(
            r#"{{"time":"2026-03-04T10:00:0{n}Z","kind":"tool.call","actor":"agent:a","action":"x.read"}}"#
        )
    };
    for (sub, n) in [("a", 1), ("b", 2)] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        std::fs::write(dir.path().join(sub).join("same.jsonl"), line(n)).expect("write");
    }
    std::fs::write(
        dir.path().join("own.jsonl"),
        format!("{}\n{}", line(3), line(4)),
    )
    .expect("write");
    let mut store = Store::open_in_memory().expect("store");
    ingest_paths(
        &mut store,
        &[dir.path().to_path_buf()],
        &IngestOptions::default(),
        &NoProgress,
    )
    .expect("ingest");
    let mut rows = Vec::new();
    store
        .timeline(&crate::store::TimelineFilter::default(), |r| {
            rows.push(r);
            true
        })
        .expect("timeline");
    let evidence: Vec<String> = rows.iter().rev().map(|r| r.id.clone()).collect();
    store
        .seed_analysis_for_tests(
            &[crate::store::StoredFinding {
                id: "f1".to_owned(),
                detector: "drift.tool".to_owned(),
                title: "t".to_owned(),
                severity: "high".to_owned(),
                severity_rank: 3,
                failure_class: "behavioural_control".to_owned(),
                task: None,
                principal: None,
                time: rows[0].time,
                explanation: String::new(),
                evidence: evidence.clone(),
                mappings: serde_json::json!({}),
            }],
            &[],
            &[],
            &[],
        )
        .expect("seed");
    let finding = store.findings().expect("findings").remove(0);
    let shared = |sub: &str| format!("{}:L1", dir.path().join(sub).join("same.jsonl").display());
    assert_eq!(
        finding.cited,
        [
            "own.jsonl:L2".to_owned(),
            "own.jsonl:L1".to_owned(),
            shared("b"),
            shared("a")
        ],
        "in the evidence's order; {evidence:?}"
    );
}
