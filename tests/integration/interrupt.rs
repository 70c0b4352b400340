//! An ingest killed part-way leaves a database that opens, with the source absent or complete.

use std::fs;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{native_line, onus, onus_bin, onus_json};

const LINES: usize = 400_000;

fn big_log(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("big.jsonl");
    let mut out = std::io::BufWriter::new(fs::File::create(&path).expect("create"));
    for n in 0..LINES {
        writeln!(out, "{}", native_line(n)).expect("write");
    }
    out.flush().expect("flush");
    path
}

/// Starts an ingest, kills it with `signal` after `delay`, and checks the database.
fn kill_during_ingest(signal: &str, delay: Duration) -> Option<u64> {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_log(dir.path());
    let db = dir.path().join("k.duckdb");
    let mut child = Command::new(onus_bin())
        .args(["ingest", "--quiet", "--db"])
        .arg(&db)
        .arg(&log)
        .env_remove("ONUS_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn onus");
    let started = Instant::now();
    while started.elapsed() < delay {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let finished_first = child.try_wait().expect("wait").is_some();
    if !finished_first {
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
    let _ = child.wait();

    // Killed while the database was being created: no database file exists (it only appears
    // with its whole schema), and nothing half-made is left where the user looks.
    if db.exists() {
        check_source_complete_or_absent(&db);
    } else {
        assert!(!dir.path().join("k.duckdb.wal").exists());
    }
    // And it can still be written: a re-ingest completes the job.
    let again = onus(&db, &["ingest", "--quiet", log.to_str().expect("path")]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let events = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM events",
        ],
    );
    assert_eq!(events[0]["n"].as_u64(), Some(LINES as u64));
    (!finished_first).then_some(events[0]["n"].as_u64().unwrap_or(0))
}

/// The database opens and answers; the source is either complete or absent.
fn check_source_complete_or_absent(db: &std::path::Path) {
    let sources = onus_json(db, &["sources", "--format", "json"]);
    let sources = sources.as_array().expect("array");
    let events = onus_json(
        db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM events",
        ],
    );
    let events = events[0]["n"].as_u64().expect("count");
    if sources.is_empty() {
        assert_eq!(events, 0, "no source row, so no events may remain");
    } else {
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0]["events_ingested"].as_u64(), Some(LINES as u64));
        assert_eq!(events, LINES as u64);
    }
}

#[test]
fn a_killed_ingest_leaves_a_consistent_database() {
    let mut interrupted = 0;
    // The early kills land while the database file is being created, the later ones while the
    // source is being loaded.
    for (signal, ms) in [
        ("-KILL", 30),
        ("-KILL", 120),
        ("-KILL", 300),
        ("-KILL", 900),
        ("-INT", 500),
        ("-TERM", 700),
    ] {
        if kill_during_ingest(signal, Duration::from_millis(ms)).is_some() {
            interrupted += 1;
        }
    }
    assert!(
        interrupted > 0,
        "the ingest always finished before it could be killed; use a bigger file"
    );
}
