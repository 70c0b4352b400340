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
    store.rebuild_timeline_index().expect("index");
    store
}

fn analysed(store: &mut Store) {
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
    store.rebuild_timeline_index().expect("index");
}

fn all() -> EventFilter {
    EventFilter::default()
}

fn by_actor(actor: &str) -> EventFilter {
    EventFilter {
        actor: Some(actor.to_owned()),
        ..EventFilter::default()
    }
}

/// The filter's index with chunks of 4 positions, so that 30 events span eight chunks and
/// pages, positions and searches cross chunk boundaries.
fn small_chunks(store: &Store, filter: &EventFilter) -> FilterIndex {
    store.filter_index_in_chunks(filter, 4).expect("index")
}

fn ids(rows: &[PageRow]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn pages_are_windows_of_the_time_order() {
    let store = store();
    assert_eq!(store.count_events(&all()).expect("count"), 30);
    let index = store.filter_index(&all()).expect("index");
    let page = store.event_page(&index, 10, 5).expect("page");
    assert_eq!(ids(&page), ["s:L11", "s:L12", "s:L13", "s:L14", "s:L15"]);
    assert_eq!(page[0].pos, 10);
    assert!(store.event_page(&index, 40, 5).expect("page").is_empty());
}

#[test]
fn the_index_follows_time_not_file_order() {
    // A second source whose events fall between the first one's: positions interleave.
    let mut store = store();
    let mut w = store
        .begin_source(NewSource {
            path: "/evidence/t.jsonl".to_owned(),
            format: "onus".to_owned(),
            sha256: "t".to_owned(),
            size_bytes: 1,
        })
        .expect("begin");
    let mut e = Event::new(
        "t:L1".to_owned(),
        "L1".to_owned(),
        parse_time("2026-03-04T10:02:30Z").expect("time"),
        EventKind::ToolCall,
        "agent:c".to_owned(),
    );
    e.raw = "{}".to_owned();
    w.event(&e).expect("event");
    w.commit(SourceCounts {
        records_read: 1,
        records_ok: 1,
        ..SourceCounts::default()
    })
    .expect("commit");
    assert!(
        matches!(
            store.filter_index(&all()),
            Err(StoreError::StaleIndex {
                indexed: 30,
                stored: 31
            })
        ),
        "an index that misses events is refused, not shown"
    );
    store.rebuild_timeline_index().expect("index");
    let index = store.filter_index(&all()).expect("index");
    let page = store.event_page(&index, 1, 4).expect("page");
    assert_eq!(ids(&page), ["s:L2", "s:L3", "t:L1", "s:L4"]);
    assert_eq!(store.event_position(&index, "t:L1").expect("pos"), Some(3));
}

#[test]
fn pages_in_the_second_half_are_the_same_windows() {
    // Every window, the last ones included, is a slice of the whole order, whatever the chunks.
    let store = store();
    for filter in [all(), by_actor("agent:a"), by_actor("agent:b")] {
        let whole = store.filter_index(&filter).expect("index");
        let everything = store.event_page(&whole, 0, 100).expect("all");
        assert_eq!(everything.len() as u64, whole.kept());
        for index in [whole.clone(), small_chunks(&store, &filter)] {
            for offset in [0, 1, 3, 4, 5, 7, 8, 13, 14, 15, 16, 25, 28, 29] {
                for limit in [1, 2, 3, 5, 7, 40] {
                    let page = store.event_page(&index, offset, limit).expect("page");
                    let want: Vec<_> = everything
                        .iter()
                        .skip(offset as usize)
                        .take(limit as usize)
                        .cloned()
                        .collect();
                    assert_eq!(page, want, "{filter:?} offset {offset}, limit {limit}");
                }
            }
        }
    }
    let odd = by_actor("agent:a");
    let index = small_chunks(&store, &odd);
    assert_eq!(index.kept(), 15);
    assert!(store.event_page(&index, 15, 10).expect("past").is_empty());
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
    assert_eq!(small_chunks(&store, &filter).kept(), 5);
    let text = EventFilter {
        text: Some("NEEDLE".to_owned()),
        ..EventFilter::default()
    };
    let index = small_chunks(&store, &text);
    let page = store.event_page(&index, 0, 10).expect("page");
    assert_eq!(ids(&page), ["s:L17"]);
    let window = EventFilter {
        since: Some(parse_time("2026-03-04T10:05:00Z").expect("t")),
        until: Some(parse_time("2026-03-04T10:10:00Z").expect("t")),
        ..EventFilter::default()
    };
    assert_eq!(store.count_events(&window).expect("count"), 5);
    let index = small_chunks(&store, &window);
    let page = store.event_page(&index, 0, 10).expect("page");
    assert_eq!(ids(&page), ["s:L6", "s:L7", "s:L8", "s:L9", "s:L10"]);
}

#[test]
fn positions_respect_the_filter() {
    let store = store();
    let everything = store.filter_index(&all()).expect("index");
    assert_eq!(
        store.event_position(&everything, "s:L1").expect("pos"),
        Some(0)
    );
    assert_eq!(
        store.event_position(&everything, "s:L30").expect("pos"),
        Some(29)
    );
    assert_eq!(
        store.event_position(&everything, "nope").expect("pos"),
        None
    );
    let b = by_actor("agent:b");
    for index in [
        store.filter_index(&b).expect("index"),
        small_chunks(&store, &b),
    ] {
        assert_eq!(store.event_position(&index, "s:L6").expect("pos"), Some(2));
        assert_eq!(
            store.event_position(&index, "s:L30").expect("pos"),
            Some(14)
        );
        assert_eq!(store.event_position(&index, "s:L7").expect("pos"), None);
    }
}

#[test]
fn searches_go_both_ways_from_an_event() {
    let store = store();
    let text = Target::Text("needle".to_owned());
    let ids_target = Target::Ids(vec!["s:L4".to_owned(), "s:L20".to_owned()]);
    let hit = |id: &str, pos: u64, ordinal: u64| {
        Some(Hit {
            id: id.to_owned(),
            pos,
            ordinal,
        })
    };
    // Chunks of one, four and the default size: the windows double from one chunk.
    for index in [
        store.filter_index_in_chunks(&all(), 1).expect("index"),
        small_chunks(&store, &all()),
        store.filter_index(&all()).expect("index"),
    ] {
        let find = |target: &Target, from: Option<u64>, direction| {
            store
                .find_event(&index, target, from, direction)
                .expect("search")
        };
        assert_eq!(
            find(&text, Some(2), Direction::Forward),
            hit("s:L17", 16, 16)
        );
        assert_eq!(find(&text, Some(16), Direction::Forward), None);
        assert_eq!(
            find(&text, Some(29), Direction::Backward),
            hit("s:L17", 16, 16)
        );
        assert_eq!(
            find(&ids_target, Some(18), Direction::Backward),
            hit("s:L4", 3, 3)
        );
        assert_eq!(
            find(&ids_target, None, Direction::Forward),
            hit("s:L4", 3, 3)
        );
        assert_eq!(
            find(&ids_target, None, Direction::Backward),
            hit("s:L20", 19, 19)
        );
        assert_eq!(find(&ids_target, Some(3), Direction::Backward), None);
        assert_eq!(
            find(&Target::Ids(Vec::new()), None, Direction::Forward),
            None
        );
        assert_eq!(find(&Target::DriftPoints, None, Direction::Forward), None);
    }
    // Under a filter the hit's ordinal counts only the kept events.
    let b = by_actor("agent:b");
    let index = small_chunks(&store, &b);
    let found = store
        .find_event(&index, &ids_target, Some(5), Direction::Forward)
        .expect("search");
    assert_eq!(found, hit("s:L20", 19, 9));
    assert_eq!(
        store
            .find_event(&index, &text, None, Direction::Forward)
            .expect("search"),
        None,
        "the only match is agent:a's"
    );
}

#[test]
fn markers_and_severity_come_from_the_analysis_tables() {
    let mut store = store();
    analysed(&mut store);
    let index = store.filter_index(&all()).expect("index");
    let page = store.event_page(&index, 5, 10).expect("page");
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
    let index = small_chunks(&store, &severe);
    assert_eq!(
        ids(&store.event_page(&index, 0, 5).expect("page")),
        ["s:L9", "s:L12"]
    );
    for index in [
        small_chunks(&store, &all()),
        small_chunks(&store, &by_actor("agent:a")),
    ] {
        let drift = store
            .find_event(&index, &Target::DriftPoints, Some(0), Direction::Forward)
            .expect("search")
            .expect("the drift point");
        assert_eq!((drift.id.as_str(), drift.pos), ("s:L9", 8));
        assert_eq!(
            store
                .find_event(&index, &Target::DriftPoints, Some(8), Direction::Forward)
                .expect("search"),
            None
        );
    }
    assert_eq!(
        store
            .find_event(
                &small_chunks(&store, &by_actor("agent:b")),
                &Target::DriftPoints,
                None,
                Direction::Forward
            )
            .expect("search"),
        None,
        "the filter hides the drift point"
    );
    let drifts = store.stored_drift_points().expect("drift points");
    assert_eq!(drifts.len(), 1);
    assert_eq!(drifts[0].event_id, "s:L9");
    let findings = store.stored_findings().expect("findings");
    assert_eq!(findings[0].evidence, ["s:L9", "s:L12"]);
    assert!(store.stored_accountability().expect("acc").is_empty());
}

#[test]
fn the_histogram_spreads_events_over_buckets() {
    let mut store = store();
    analysed(&mut store);
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
    let d = store
        .event_detail("s:L17", None)
        .expect("detail")
        .expect("found");
    let by_pos = store.event_detail("s:L17", Some(16)).expect("detail");
    assert_eq!(
        by_pos.as_ref(),
        Some(&d),
        "the position only narrows the lookup"
    );
    let wrong_pos = store.event_detail("s:L17", Some(3)).expect("detail");
    assert_eq!(
        wrong_pos.as_ref(),
        Some(&d),
        "a stale position falls back to the id"
    );
    assert_eq!(d.field("content"), Some("the Needle is here"));
    assert_eq!(d.field("actor"), Some("agent:a"));
    assert_eq!(d.field("task"), None);
    assert_eq!(d.raw, "{\"n\":17}");
    assert_eq!(d.source_sha256, "s");
    assert_eq!(d.locator, "L17");
    assert!(store.event_detail("nope", None).expect("detail").is_none());
    assert!(
        store
            .event_detail("nope", Some(3))
            .expect("detail")
            .is_none()
    );
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

#[test]
fn bookmarks_are_found_by_their_positions_under_a_filter() {
    let store = store();
    let ids: Vec<String> = ["s:L4", "s:L20", "s:L7", "nope"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut found = store.timeline_positions(&ids).expect("positions");
    found.sort();
    assert_eq!(
        found,
        [
            ("s:L20".to_owned(), 19),
            ("s:L4".to_owned(), 3),
            ("s:L7".to_owned(), 6)
        ]
    );
    let mut candidates: Vec<(u64, String)> = found.into_iter().map(|(id, p)| (p, id)).collect();
    candidates.sort();
    let all = store.filter_index(&all()).expect("index");
    let next = |index: &FilterIndex, from, direction| {
        store
            .first_kept(index, &candidates, from, direction)
            .expect("search")
            .map(|h| (h.id, h.ordinal))
    };
    assert_eq!(
        next(&all, Some(3), Direction::Forward),
        Some(("s:L7".to_owned(), 6))
    );
    assert_eq!(
        next(&all, Some(6), Direction::Backward),
        Some(("s:L4".to_owned(), 3))
    );
    assert_eq!(next(&all, Some(19), Direction::Forward), None);
    assert_eq!(
        next(&all, None, Direction::Backward),
        Some(("s:L20".to_owned(), 19))
    );
    // agent:b keeps the even lines: s:L7 is hidden, so the next after s:L4 is s:L20, the 10th
    // of agent:b's events.
    let b = small_chunks(&store, &by_actor("agent:b"));
    assert_eq!(
        next(&b, Some(3), Direction::Forward),
        Some(("s:L20".to_owned(), 9))
    );
    assert_eq!(
        next(&b, Some(19), Direction::Backward),
        Some(("s:L4".to_owned(), 1))
    );
}
