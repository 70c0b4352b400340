//! Paging, positions, searches and the histogram against a real in-memory DuckDB.

use super::*;
use crate::model::{Event, EventKind, parse_time};
use crate::store::{ConsoleRun, NewSource, SourceCounts};

/// 30 events, one a minute from 10:00, alternating between two actors; every third event is
/// in task T-1. Ids are `s:L<n>` with n from 1.
fn store() -> Store {
    let mut store = Store::open_in_memory().expect("open");
    let mut w = store
        .begin_source(NewSource {
            path: "/evidence/s.jsonl".to_owned(),
            format: "onus".to_owned(),
            sha256: "s".to_owned(),
            size_bytes: 1,
        })
        .expect("begin");
    for n in 1..=30u64 {
        let mut e = Event::new(
            format!("s:L{n}"),
            format!("L{n}"),
            parse_time(&format!("2026-03-04T10:{:02}:00Z", n - 1)).expect("time"),
            EventKind::ToolCall,
            if n % 2 == 0 { "agent:b" } else { "agent:a" }.to_owned(),
        );
        e.seq = n;
        e.action = Some(format!("tickets.read{n}"));
        e.task = (n % 3 == 0).then(|| "T-1".to_owned());
        e.content = (n == 17).then(|| "the Needle is here".to_owned());
        e.raw = format!("{{\"n\":{n}}}");
        w.event(&e).expect("event");
    }
    w.commit(SourceCounts {
        records_read: 30,
        records_ok: 30,
        ..SourceCounts::default()
    })
    .expect("commit");
    store
}

fn analysed(store: &Store) {
    store
        .conn()
        .execute_batch(
            "INSERT INTO findings VALUES ('f1', 'drift.tool', 'Tool out of scope', 'high', 3,
                 'behavioural_control', 'T-1', 'agent:a', TIMESTAMP '2026-03-04 10:08:00',
                 'why', '[\"s:L9\", \"s:L12\"]', '{}');
             INSERT INTO drift_points VALUES ('T-1', 's:L9', TIMESTAMP '2026-03-04 10:08:00',
                 'out_of_scope', '[]', NULL, '[]', 3, '[]', 120.0, NULL, NULL);",
        )
        .expect("analysis rows");
}

#[test]
fn pages_are_windows_of_the_time_order() {
    let store = store();
    let all = EventFilter::default();
    assert_eq!(store.count_events(&all).expect("count"), 30);
    let page = store.event_page(&all, 10, 5).expect("page");
    let ids: Vec<&str> = page.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["s:L11", "s:L12", "s:L13", "s:L14", "s:L15"]);
    assert!(store.event_page(&all, 40, 5).expect("page").is_empty());
}

#[test]
fn pages_in_the_second_half_are_the_same_windows() {
    // Every window, the last ones included, is a slice of the whole order.
    let store = store();
    let all = EventFilter::default();
    let everything = store.event_page(&all, 0, 100).expect("all");
    for offset in [0, 14, 15, 16, 25, 28, 29] {
        for limit in [1, 3, 7, 40] {
            let page = store.event_page(&all, offset, limit).expect("page");
            let want: Vec<_> = everything
                .iter()
                .skip(offset as usize)
                .take(limit as usize)
                .cloned()
                .collect();
            assert_eq!(page, want, "offset {offset}, limit {limit}");
        }
    }
    let odd = EventFilter {
        actor: Some("agent:a".to_owned()),
        ..EventFilter::default()
    };
    let everything = store.event_page(&odd, 0, 100).expect("all");
    assert_eq!(everything.len(), 15);
    let tail = store.event_page(&odd, 12, 10).expect("tail");
    assert_eq!(tail, everything[12..].to_vec());
    assert!(store.event_page(&odd, 15, 10).expect("past").is_empty());
}

#[test]
fn filters_combine() {
    let store = store();
    let filter = EventFilter {
        task: Some("T-1".to_owned()),
        actor: Some("agent:b".to_owned()),
        ..EventFilter::default()
    };
    assert_eq!(store.count_events(&filter).expect("count"), 5);
    let text = EventFilter {
        text: Some("NEEDLE".to_owned()),
        ..EventFilter::default()
    };
    let page = store.event_page(&text, 0, 10).expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, "s:L17");
    let window = EventFilter {
        since: Some(parse_time("2026-03-04T10:05:00Z").expect("t")),
        until: Some(parse_time("2026-03-04T10:10:00Z").expect("t")),
        ..EventFilter::default()
    };
    assert_eq!(store.count_events(&window).expect("count"), 5);
}

#[test]
fn positions_respect_the_filter() {
    let store = store();
    let all = EventFilter::default();
    assert_eq!(store.event_position(&all, "s:L1").expect("pos"), Some(0));
    assert_eq!(store.event_position(&all, "s:L30").expect("pos"), Some(29));
    let b = EventFilter {
        actor: Some("agent:b".to_owned()),
        ..EventFilter::default()
    };
    assert_eq!(store.event_position(&b, "s:L6").expect("pos"), Some(2));
    assert_eq!(store.event_position(&b, "s:L7").expect("pos"), None);
    assert_eq!(store.event_position(&all, "nope").expect("pos"), None);
}

#[test]
fn searches_go_both_ways_from_an_event() {
    let store = store();
    let all = EventFilter::default();
    let text = Target::Text("needle".to_owned());
    let hit = store
        .find_event(&all, &text, Some("s:L3"), Direction::Forward)
        .expect("search");
    assert_eq!(hit, Some(("s:L17".to_owned(), 16)));
    let none = store
        .find_event(&all, &text, Some("s:L17"), Direction::Forward)
        .expect("search");
    assert_eq!(none, None);
    let ids = Target::Ids(vec!["s:L4".to_owned(), "s:L20".to_owned()]);
    let back = store
        .find_event(&all, &ids, Some("s:L19"), Direction::Backward)
        .expect("search");
    assert_eq!(back, Some(("s:L4".to_owned(), 3)));
    let first = store
        .find_event(&all, &ids, None, Direction::Forward)
        .expect("search");
    assert_eq!(first, Some(("s:L4".to_owned(), 3)));
    let last = store
        .find_event(&all, &ids, None, Direction::Backward)
        .expect("search");
    assert_eq!(last, Some(("s:L20".to_owned(), 19)));
    assert_eq!(
        store
            .find_event(&all, &Target::Ids(Vec::new()), None, Direction::Forward)
            .expect("search"),
        None
    );
}

#[test]
fn markers_and_severity_come_from_the_analysis_tables() {
    let store = store();
    analysed(&store);
    let page = store
        .event_page(&EventFilter::default(), 5, 10)
        .expect("page");
    let row = |id: &str| page.iter().find(|r| r.id == id).expect("row");
    assert!(row("s:L9").drift_point);
    assert!(row("s:L9").after_drift);
    assert_eq!(row("s:L9").severity_rank, Some(3));
    assert!(!row("s:L6").after_drift, "before the drift point");
    assert!(row("s:L12").after_drift);
    assert!(!row("s:L10").after_drift, "not in the drifted task");
    let severe = EventFilter {
        min_severity: Some(3),
        ..EventFilter::default()
    };
    assert_eq!(store.count_events(&severe).expect("count"), 2);
    let drifts = store.stored_drift_points().expect("drift points");
    assert_eq!(drifts.len(), 1);
    assert_eq!(drifts[0].event_id, "s:L9");
    let findings = store.stored_findings().expect("findings");
    assert_eq!(findings[0].evidence, ["s:L9", "s:L12"]);
    assert!(store.stored_accountability().expect("acc").is_empty());
}

#[test]
fn the_histogram_spreads_events_over_buckets() {
    let store = store();
    analysed(&store);
    let h = store
        .histogram(&EventFilter::default(), 10)
        .expect("histogram");
    assert_eq!(h.counts.len(), 10);
    assert_eq!(h.counts.iter().sum::<u64>(), 30);
    assert!(h.counts.iter().all(|&n| n == 3), "{:?}", h.counts);
    assert_eq!(h.findings.len(), 1);
    assert_eq!(h.drift_points.len(), 1);
    let none = EventFilter {
        actor: Some("nobody".to_owned()),
        ..EventFilter::default()
    };
    let empty = store.histogram(&none, 10).expect("histogram");
    assert_eq!(empty.span, None);
    assert_eq!(empty.counts.iter().sum::<u64>(), 0);
}

#[test]
fn the_detail_has_the_fields_the_raw_record_and_the_source() {
    let store = store();
    let d = store.event_detail("s:L17").expect("detail").expect("found");
    assert_eq!(d.field("content"), Some("the Needle is here"));
    assert_eq!(d.field("actor"), Some("agent:a"));
    assert_eq!(d.field("task"), None);
    assert_eq!(d.raw, "{\"n\":17}");
    assert_eq!(d.source_sha256, "s");
    assert_eq!(d.locator, "L17");
    assert!(store.event_detail("nope").expect("detail").is_none());
    assert!(store.task_declarations("T-1").expect("tasks").is_empty());
}

#[test]
fn console_sql_never_changes_the_evidence() {
    let store = store();
    let run = ConsoleRun { max_rows: 3 };
    let r = store
        .run_console_sql("SELECT id FROM events ORDER BY seq", run)
        .expect("select");
    assert_eq!(r.columns, ["id"]);
    assert_eq!(r.rows.len(), 3);
    assert!(r.truncated);
    store
        .run_console_sql("DELETE FROM events", run)
        .expect("delete runs, then is rolled back");
    assert!(
        store
            .run_console_sql("COMMIT; DELETE FROM events", run)
            .is_err()
    );
    assert_eq!(store.event_count().expect("count"), 30);
    assert!(store.run_console_sql("  ", run).is_err());
    let clone = store.try_clone().expect("clone");
    assert_eq!(clone.event_count().expect("count"), 30);
}
