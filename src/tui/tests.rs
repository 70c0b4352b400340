//! The TUI driven synchronously: actions go into the real [`App`], queries run through the real
//! [`worker::execute`] against an in-memory DuckDB holding ingested (and hostile) evidence, and
//! every screen is rendered into a `TestBackend`.

use std::collections::VecDeque;
use std::fmt::Write as _;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::action::Action;
use super::app::{App, Effect, View};
use super::keymap::Keymap;
use super::view;
use super::worker::{self, Response};
use crate::ingest::{IngestOptions, NoProgress, ingest_paths};
use crate::model::parse_time;
use crate::store::{
    EventFilter, Store, StoredAccountability, StoredDriftPoint, StoredFinding, StoredSpan,
};

/// Escape sequences, bell, bidi overrides and a 100k-character line, as an attacker would
/// plant them in a log.
fn hostile() -> String {
    format!(
        "\u{1b}]0;pwned\u{7}\u{1b}[2Jcleared \u{202e}desrever\u{202c} \u{9b}31m {}",
        "A".repeat(100_000)
    )
}

fn evidence_lines() -> Vec<String> {
    let mut lines = vec![
        json!({"time": "2026-03-04T10:00:00Z", "kind": "task.start", "actor": "agent:a",
               "actor_kind": "agent", "task": "T-1", "on_behalf_of": "alice@example.com",
               "intent": "answer the ticket",
               "constraints": {"tools": ["tickets.read"], "destinations": ["mail:ok@example.net"],
                               "max_action_class": "communicate"}})
        .to_string(),
        json!({"time": "2026-03-04T10:00:01Z", "kind": "tool.call", "actor": "agent:a",
               "task": "T-1", "action": "tickets.read", "resource": "ticket:1",
               "outcome": "success"})
        .to_string(),
        json!({"time": "2026-03-04T10:00:02Z", "kind": "tool.result", "actor": "agent:a",
               "task": "T-1", "content": hostile(), "trust": "untrusted"})
        .to_string(),
        json!({"time": "2026-03-04T10:00:03Z", "kind": "delegate", "actor": "agent:a",
               "target": "agent:\u{1b}[31mb", "task": "T-1"})
        .to_string(),
        json!({"time": "2026-03-04T10:00:04Z", "kind": "tool.call", "actor": "agent:\u{1b}[31mb",
               "task": "T-1", "action": "payments.transfer\u{202e}", "resource": "ledger:\u{7}x",
               "destination": "iban:EVIL\u{1b}[0m", "args": {"to": "\u{1b}[5mEVIL"},
               "outcome": "success"})
        .to_string(),
    ];
    for n in 0..40 {
        lines.push(
            json!({"time": format!("2026-03-04T11:{n:02}:00Z"), "kind": "tool.call",
                   "actor": "agent:c", "task": "T-2", "action": "tickets.read",
                   "resource": format!("ticket:{n}"), "outcome": "success"})
            .to_string(),
        );
    }
    lines
}

struct Harness {
    store: Store,
    worker: worker::WorkerState,
    app: App,
    /// Event ids in timeline order.
    ids: Vec<String>,
    saved: Vec<Vec<String>>,
}

impl Harness {
    fn new(size: (u16, u16)) -> Self {
        Self::summarising_above(size, worker::FULL_GRAPH_MAX_ROWS)
    }

    /// A harness whose overview summarises the graph past `rows` graph records.
    fn summarising_above(size: (u16, u16), rows: u64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("hostile.jsonl");
        std::fs::write(&log, evidence_lines().join("\n")).expect("write log");
        let mut store = Store::open_in_memory().expect("store");
        ingest_paths(&mut store, &[log], &IngestOptions::default(), &NoProgress).expect("ingest");
        let ids: Vec<String> = store
            .event_page(
                &store.filter_index(&EventFilter::default()).expect("index"),
                0,
                100,
            )
            .expect("page")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids.len(), 45, "every line is an event");
        let at = parse_time("2026-03-04T10:00:04Z").expect("time");
        store
            .seed_analysis_for_tests(
                &[StoredFinding {
                    id: "f1".to_owned(),
                    detector: "drift.tool".to_owned(),
                    title: format!("transfer out of scope {}", hostile()),
                    severity: "critical".to_owned(),
                    severity_rank: 4,
                    failure_class: "behavioural_control".to_owned(),
                    task: Some("T-1".to_owned()),
                    principal: Some("agent:\u{1b}[31mb".to_owned()),
                    time: at,
                    explanation: hostile(),
                    evidence: vec![ids[4].clone(), ids[2].clone()],
                    mappings: json!({"owasp_asi": ["ASI01"]}),
                }],
                &[StoredDriftPoint {
                    task: "T-1".to_owned(),
                    event_id: ids[4].clone(),
                    time: at,
                    kind: "out_of_scope".to_owned(),
                    reasons: json!([]),
                    cause_event_id: Some(ids[2].clone()),
                    provenance: json!([{"argument": "to", "value": hostile(), "event_id": ids[2].clone(), "instruction": true, "score": 7.5}]),
                    actions_after: 1,
                    seconds_after: 0.0,
                    stopped_by: None,
                    stop_kind: None,
                }],
                &[StoredAccountability {
                    task: "T-1".to_owned(),
                    primary_class: "behavioural_control".to_owned(),
                    primary_role: "runtime_owner".to_owned(),
                    primary_owner: None,
                    secondary_role: None,
                    secondary_owner: None,
                    contributing: json!([{"class": "entitlement", "role": "access_approver",
                                          "owner": "ivan\u{1b}[2J", "why": hostile()}]),
                    rule: "R2\u{202e}".to_owned(),
                    rationale: hostile(),
                    shift_event_id: Some(ids[4].clone()),
                    shift_time: Some(at),
                    gaps: json!(["no runtime owner"]),
                    evidence: vec![ids[4].clone()],
                }],
                &[StoredSpan {
                    event_id: ids[4].clone(),
                    start: 0,
                    end: 40,
                    score: 7.5,
                    instruction: true,
                    signals: json!([{"kind": "addressed_to_agent", "start": 0, "end": 12},
                                    {"kind": "concealment", "start": 20, "end": 30}]),
                    excerpt: hostile(),
                }],
            )
            .expect("seed");
        let app = App::new(Keymap::builtin().expect("keymap"), "test".to_owned(), size);
        let mut worker = worker::WorkerState::default();
        worker.summarise_above = rows;
        let mut h = Self {
            store,
            worker,
            app,
            ids,
            saved: Vec::new(),
        };
        let effects = h.app.start();
        h.run(effects);
        h
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Send(request) => {
                    let slot = request.query.slot();
                    let answer = worker::execute(&self.store, &mut self.worker, request.query)
                        .map_err(|e| e.to_string());
                    queue.extend(self.app.receive(Response {
                        generation: request.generation,
                        slot,
                        answer,
                    }));
                }
                Effect::SaveBookmarks(ids) => self.saved.push(ids),
            }
        }
    }

    fn act(&mut self, action: Action) {
        let effects = self.app.update(action);
        self.run(effects);
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.act(Action::Insert(c));
        }
    }

    fn screen(&self, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        terminal
            .draw(|frame| view::render(&self.app, frame))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                let symbol = buffer[(x, y)].symbol();
                assert!(
                    !symbol.chars().any(|c| c.is_control()
                        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
                    "unsafe character {symbol:?} at {x},{y} in {:?}",
                    self.app.view
                );
                out.push_str(symbol);
            }
            out.push('\n');
        }
        out
    }
}

const SIZES: [(u16, u16); 6] = [(80, 24), (120, 40), (200, 60), (30, 8), (5, 3), (1, 1)];

#[test]
fn every_view_shows_hostile_evidence_harmlessly_at_every_size() {
    let mut h = Harness::new((80, 24));
    h.act(Action::Down);
    h.act(Action::Down);
    h.act(Action::Open);
    assert_eq!(h.app.view, View::Detail);
    let detail = h.screen(120, 200);
    assert!(detail.contains("\\x1b]0;pwned\\x07"), "{detail}");
    assert!(detail.contains("<U+202E>"), "{detail}");
    h.act(Action::ViewSql);
    h.type_text("SELECT content, actor FROM events WHERE trust = 'untrusted'");
    h.act(Action::Submit);
    h.act(Action::Cancel);
    h.act(Action::Help);
    let _ = h.screen(80, 24);
    h.act(Action::Help);
    for view in View::ALL {
        h.app.view = view;
        for (w, rows) in SIZES {
            h.act(Action::Resize(w, rows));
            let text = h.screen(w, rows);
            if w >= 80 {
                assert!(
                    text.contains(view.title()),
                    "{view:?} at {w}x{rows}:\n{text}"
                );
            }
        }
    }
}

#[test]
fn the_timeline_pages_a_window_and_jumps_to_the_end() {
    let mut h = Harness::new((80, 24));
    let rows = u64::from(view::timeline::visible_rows(24));
    let held = |h: &Harness| {
        h.app
            .timeline
            .page
            .as_ref()
            .map_or(0, |(_, r)| r.len() as u64)
    };
    assert!(held(&h) <= rows * 3);
    assert!(h.screen(80, 24).contains("event 1/45"));
    h.act(Action::Bottom);
    assert_eq!(h.app.timeline.cursor, 44);
    assert_eq!(
        h.app.timeline.current().map(|r| r.id.clone()),
        Some(h.ids[44].clone())
    );
    assert!(held(&h) <= rows * 3);
    let screen = h.screen(80, 24);
    assert!(screen.contains("event 45/45"), "{screen}");
    assert!(screen.contains("ticket:39"), "{screen}");
    h.act(Action::Top);
    h.act(Action::PageDown);
    assert_eq!(h.app.timeline.cursor, rows);
    h.act(Action::Scroll(-3));
    assert_eq!(h.app.timeline.cursor, rows - 3);
}

#[test]
fn the_detail_shows_chain_declared_scope_and_raw_evidence() {
    let mut h = Harness::new((120, 40));
    h.act(Action::NextDrift);
    assert_eq!(h.app.timeline.cursor, 4);
    assert!(h.screen(120, 40).contains("drift point of task T-1"));
    h.act(Action::Open);
    let screen = h.screen(160, 120);
    for needle in [
        "Chain of authority",
        "alice@example.com",
        "Declared scope of task T-1",
        "✗ outside",
        "✗ above the ceiling",
        "Raw evidence",
        "sha256",
        "hostile.jsonl",
        "L5",
        // What the analysis said about this event: its rule, cause, traced value, and the
        // instruction span of its content with score and signals.
        "Analysis",
        "drift point     of task T-1 (rule out_of_scope)",
        "inside instructions (score 7.5)",
        "content span",
        "instructions score 7.5, bytes 0..40: addressed_to_agent, concealment",
    ] {
        assert!(screen.contains(needle), "{needle} missing:\n{screen}");
    }
}

#[test]
fn a_summarised_graph_still_gives_the_detail_its_tasks_exact_chain() {
    let chain_at_the_drift_point = |summarise_above: u64| {
        let mut h = Harness::summarising_above((120, 40), summarise_above);
        let summarised = match &h.app.overview {
            Some(Ok(o)) => o.summarised,
            other => panic!("no overview: {other:?}"),
        };
        h.act(Action::ViewGraph);
        let graph_screen = h.screen(200, 40);
        h.act(Action::ViewTimeline);
        h.act(Action::NextDrift);
        h.act(Action::Open);
        let detail = h.app.detail.clone().expect("a detail");
        let chain = detail.chain.expect("a chain");
        (
            summarised,
            graph_screen,
            serde_json::to_value(&chain).expect("json"),
        )
    };
    let (full, full_screen, exact) = chain_at_the_drift_point(u64::MAX);
    let (summary, summary_screen, rebuilt) = chain_at_the_drift_point(0);
    assert!(!full && summary);
    assert!(!full_screen.contains("large evidence"), "{full_screen}");
    assert!(
        summary_screen.contains("large evidence"),
        "{summary_screen}"
    );
    assert!(
        exact["hops"].as_array().is_some_and(|h| !h.is_empty()),
        "{exact}"
    );
    assert_eq!(
        rebuilt, exact,
        "the task's chain, rebuilt from its own records"
    );
}

#[test]
fn findings_and_accountability_jump_to_their_evidence() {
    let mut h = Harness::new((100, 30));
    h.act(Action::ViewFindings);
    assert!(!h.app.findings_from_graph);
    assert!(h.screen(100, 30).contains("critical"));
    h.act(Action::Open);
    assert_eq!(h.app.view, View::Timeline);
    assert_eq!(h.app.timeline.cursor, 4);
    h.act(Action::Top);
    h.act(Action::ViewAccountability);
    let screen = h.screen(100, 30);
    assert!(screen.contains("GAP: no owner"), "{screen}");
    h.act(Action::Open);
    assert_eq!(h.app.timeline.cursor, 4);
    let row = h.app.timeline.current().expect("the shift point is loaded");
    assert!(row.drift_point && row.after_drift);
    assert_eq!(row.severity_rank, Some(4));
}

#[test]
fn a_graph_node_filters_the_timeline_and_a_hidden_event_clears_the_filter() {
    let mut h = Harness::new((100, 30));
    h.act(Action::ViewGraph);
    let screen = h.screen(100, 30);
    assert!(screen.contains("alice@example.com"), "{screen}");
    h.act(Action::Open);
    assert_eq!(h.app.view, View::Timeline);
    assert_eq!(
        h.app.timeline.filter.actor.as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(h.app.timeline.total, Some(0));
    h.act(Action::ViewFindings);
    h.act(Action::Open);
    assert!(h.app.timeline.filter.is_empty());
    assert_eq!(h.app.timeline.cursor, 4);
}

#[test]
fn search_filter_and_bookmarks_work_together() {
    let mut h = Harness::new((100, 30));
    h.act(Action::Search);
    h.type_text("pwned");
    h.act(Action::Submit);
    assert_eq!(h.app.timeline.cursor, 2);
    h.act(Action::NextHit);
    assert_eq!(
        h.app.timeline.cursor, 2,
        "the only hit, found again by wrapping"
    );
    h.app.bookmarks_persist = true;
    h.act(Action::ToggleBookmark);
    assert_eq!(h.saved, [vec![h.ids[2].clone()]]);
    h.act(Action::Bottom);
    h.act(Action::NextBookmark);
    assert_eq!(h.app.timeline.cursor, 2);
    h.act(Action::Filter);
    h.act(Action::ClearLine);
    h.type_text("actor:agent:c ticket:3");
    h.act(Action::Submit);
    assert_eq!(h.app.timeline.total, Some(11), "ticket:3 and ticket:30..39");
    let screen = h.screen(100, 30);
    assert!(
        screen.contains("filter: actor:agent:c ticket:3"),
        "{screen}"
    );
    h.act(Action::ClearFilter);
    assert_eq!(h.app.timeline.total, Some(45));
}

#[test]
fn the_sql_console_shows_results_errors_and_history() {
    let mut h = Harness::new((100, 30));
    h.act(Action::ViewSql);
    h.type_text("SELECT count(*) AS n FROM events");
    h.act(Action::Submit);
    let screen = h.screen(100, 30);
    assert!(screen.contains("45"), "{screen}");
    h.act(Action::ClearLine);
    h.type_text("DELETE FROM events; SELECT 1");
    h.act(Action::Submit);
    let screen = h.screen(100, 30);
    assert!(screen.contains("one statement at a time"), "{screen}");
    h.act(Action::ClearLine);
    h.type_text("SELEC nope");
    h.act(Action::Submit);
    assert!(h.screen(100, 30).to_lowercase().contains("syntax"));
    h.act(Action::HistoryPrev);
    h.act(Action::HistoryPrev);
    assert_eq!(h.app.sql.input, "DELETE FROM events; SELECT 1");
    h.act(Action::HistoryNext);
    assert_eq!(h.app.sql.input, "SELEC nope");
    assert_eq!(h.store.event_count().expect("count"), 45);
    let mut keys = String::new();
    for b in h.app.keymap.bindings(super::keymap::Layer::Global) {
        let _ = write!(keys, "{} ", b.labels.join(","));
    }
    h.act(Action::Cancel);
    h.act(Action::Help);
    let help = h.screen(120, 80);
    assert!(help.contains("Jump to the next drift point"), "{help}");
    assert!(keys.contains(';'));
    // A key list longer than its column still leaves a space before the description.
    assert!(help.contains("pagedown, ctrl-f, space Page down"), "{help}");
}

#[test]
fn the_timeline_shows_an_unrecorded_outcome_as_a_dash_and_every_kind_whole() {
    let h = Harness::new((160, 24));
    let screen = h.screen(160, 24);
    let delegate = screen
        .lines()
        .find(|l| l.contains(" delegate "))
        .expect("the hand-off row");
    assert!(delegate.trim_end().ends_with('–'), "{delegate}");
    assert!(!screen.contains("unknown"), "{screen}");
    assert!(screen.contains("success"), "{screen}");
    let widest = crate::model::EventKind::ALL
        .iter()
        .map(|k| k.as_str().len())
        .max()
        .expect("kinds");
    assert!(widest > 16, "credential.revoke is the longest");
    assert_eq!(usize::from(view::timeline::kind_width()), widest);
}
