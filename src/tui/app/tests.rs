//! Update logic without a database: answers are made up, so stale ones, paging and bookmarks can
//! be checked step by step.

use super::*;
use crate::store::PageRow;
use crate::tui::worker::{Answer, Response};

fn app() -> App {
    App::new(
        Keymap::builtin().expect("keymap"),
        "test".to_owned(),
        (80, 24),
    )
}

fn sent(effects: &[Effect]) -> Vec<&Request> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(r) => Some(r),
            Effect::SaveBookmarks(_) => None,
        })
        .collect()
}

fn generation_of(effects: &[Effect], slot: Slot) -> u64 {
    sent(effects)
        .into_iter()
        .find(|r| r.query.slot() == slot)
        .map(|r| r.generation)
        .expect("a request for the slot")
}

fn rows(offset: u64, n: u64) -> Vec<PageRow> {
    (offset..offset + n)
        .map(|i| PageRow {
            pos: i,
            id: format!("e{i}"),
            time: chrono::DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap_or_default(),
            kind: "tool.call".to_owned(),
            actor: "agent:a".to_owned(),
            task: None,
            action: None,
            action_class: None,
            resource: None,
            destination: None,
            outcome: "success".to_owned(),
            severity_rank: None,
            drift_point: false,
            after_drift: false,
        })
        .collect()
}

/// Answers the start-up count (`total` events) and first page (`loaded` rows from the top).
fn loaded(app: &mut App, start: &[Effect], total: u64, loaded: u64) {
    answer(
        app,
        generation_of(start, Slot::Count),
        Slot::Count,
        Answer::Count(total),
    );
    answer(
        app,
        generation_of(start, Slot::Page),
        Slot::Page,
        Answer::Page {
            offset: 0,
            rows: rows(0, loaded),
        },
    );
}

fn answer(app: &mut App, generation: u64, slot: Slot, answer: Answer) -> Vec<Effect> {
    app.receive(Response {
        generation,
        slot,
        answer: Ok(answer),
    })
}

#[test]
fn stale_answers_are_dropped() {
    let mut app = app();
    let first = app.start();
    let old = generation_of(&first, Slot::Count);
    let again = app.set_filter(EventFilter {
        actor: Some("agent:a".to_owned()),
        ..EventFilter::default()
    });
    let new = generation_of(&again, Slot::Count);
    assert!(answer(&mut app, old, Slot::Count, Answer::Count(1000)).is_empty());
    assert_eq!(app.timeline.total, None, "the old count is ignored");
    assert!(app.busy().contains(&Slot::Count));
    answer(&mut app, new, Slot::Count, Answer::Count(7));
    assert_eq!(app.timeline.total, Some(7));
    assert!(!app.busy().contains(&Slot::Count));
}

#[test]
fn moving_out_of_the_window_asks_for_one_more_page() {
    let mut app = app();
    let start = app.start();
    let visible = u64::from(crate::tui::view::timeline::visible_rows(24));
    loaded(&mut app, &start, 1_000_000, visible * 3);
    assert!(app.update(Action::Down).is_empty(), "inside the window");
    let far = app.update(Action::Bottom);
    let requests = sent(&far);
    assert_eq!(requests.len(), 1);
    match &requests[0].query {
        Query::Page { offset, limit, .. } => {
            assert!(*offset <= 999_999 && offset + limit >= 1_000_000);
            assert_eq!(*limit, visible * 3, "memory stays at three screens");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(app.timeline.cursor, 999_999);
    assert!(
        app.update(Action::Up).is_empty(),
        "already asked for that window"
    );
}

#[test]
fn bookmarks_are_written_only_for_a_database_file() {
    let mut app = app();
    let start = app.start();
    loaded(&mut app, &start, 3, 3);
    assert!(app.update(Action::ToggleBookmark).is_empty());
    assert!(app.bookmarks.contains("e0"));
    app.bookmarks_persist = true;
    let effects = app.update(Action::ToggleBookmark);
    assert_eq!(effects, [Effect::SaveBookmarks(Vec::new())]);
    assert!(app.bookmarks.is_empty());
}

#[test]
fn bookmark_jumps_go_by_known_positions_and_file_bookmarks_are_located_at_start() {
    let mut app = app();
    app.bookmarks.insert("from-file".to_owned());
    let start = app.start();
    let locate = sent(&start)
        .into_iter()
        .find(|r| r.query.slot() == Slot::Locate)
        .expect("the file's bookmarks are located at start");
    assert_eq!(locate.query, Query::Locate(vec!["from-file".to_owned()]));
    loaded(&mut app, &start, 9, 9);
    // Before the position is known, `u` asks by id.
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::ToggleBookmark);
    assert_eq!(app.bookmark_pos.get("e2"), Some(&2));
    let by_id = app.update(Action::NextBookmark);
    let target = |effects: &[Effect]| match &sent(effects)[0].query {
        Query::Find { target, .. } => target.clone(),
        other => panic!("unexpected {other:?}"),
    };
    assert!(matches!(target(&by_id), crate::store::Target::Ids(_)));
    answer(
        &mut app,
        locate.generation,
        Slot::Locate,
        Answer::Located(vec![(7, "from-file".to_owned())]),
    );
    let by_pos = app.update(Action::NextBookmark);
    assert_eq!(
        target(&by_pos),
        crate::store::Target::Events(vec![(2, "e2".to_owned()), (7, "from-file".to_owned())])
    );
    app.update(Action::ToggleBookmark);
    assert!(
        !app.bookmark_pos.contains_key("e2"),
        "removed with the bookmark"
    );
}

#[test]
fn keys_typed_in_a_prompt_do_not_navigate() {
    let mut app = app();
    app.update(Action::Search);
    assert_eq!(app.mode(), Mode::Editing);
    app.update(Action::Insert('q'));
    assert!(!app.quit);
    app.update(Action::Cancel);
    assert_eq!(app.mode(), Mode::Browsing { timeline: true });
    app.update(Action::ViewSql);
    assert_eq!(app.mode(), Mode::Editing);
    app.update(Action::Cancel);
    app.update(Action::Quit);
    assert!(app.quit);
}

#[test]
fn drift_without_drift_points_says_so() {
    let mut app = app();
    let start = app.start();
    let overview = Overview {
        tree: Ok(Vec::new()),
        summarised: false,
        analysed: true,
        findings: Vec::new(),
        graph_findings: Vec::new(),
        accountability: Vec::new(),
        drift_points: Vec::new(),
    };
    answer(
        &mut app,
        generation_of(&start, Slot::Overview),
        Slot::Overview,
        Answer::Overview(Box::new(overview)),
    );
    assert!(app.update(Action::NextDrift).is_empty());
    let message = app.message.clone().expect("a message");
    assert!(message.error && message.text.contains("no drift points"));
}

#[test]
fn drift_before_the_overview_has_loaded_asks_the_timeline_index() {
    let mut app = app();
    let start = app.start();
    loaded(&mut app, &start, 50, 50);
    app.update(Action::Down);
    app.update(Action::Down);
    let effects = app.update(Action::NextDrift);
    let find = sent(&effects)
        .into_iter()
        .find(|r| r.query.slot() == Slot::Jump)
        .expect("a search is sent without waiting for the overview");
    match &find.query {
        Query::Find { target, from, .. } => {
            assert_eq!(*target, crate::store::Target::DriftPoints);
            assert_eq!(
                *from,
                Some(2),
                "starts from the selected row's timeline position"
            );
        }
        other => panic!("unexpected query {other:?}"),
    }
    assert!(app.message.is_none(), "no complaint about the overview");
}

#[test]
fn enter_before_the_row_has_loaded_opens_it_when_it_arrives() {
    let mut app = app();
    let start = app.start();
    // Enter is pressed while the count and the first page are still on their way.
    assert!(app.update(Action::Open).is_empty());
    assert_eq!(app.view, View::Timeline);
    assert!(app.timeline.open_when_loaded);
    answer(
        &mut app,
        generation_of(&start, Slot::Count),
        Slot::Count,
        Answer::Count(5),
    );
    let effects = answer(
        &mut app,
        generation_of(&start, Slot::Page),
        Slot::Page,
        Answer::Page {
            offset: 0,
            rows: rows(0, 5),
        },
    );
    assert_eq!(app.view, View::Detail, "the key was kept, not dropped");
    assert!(
        sent(&effects).iter().any(|r| r.query
            == Query::Detail {
                id: "e0".to_owned(),
                pos: Some(0)
            }),
        "the selected event's detail is asked for: {effects:?}"
    );
    assert!(!app.timeline.open_when_loaded);

    // With nothing on its way and nothing at the cursor, Enter says so.
    let mut empty = self::app();
    let start = empty.start();
    answer(
        &mut empty,
        generation_of(&start, Slot::Count),
        Slot::Count,
        Answer::Count(0),
    );
    answer(
        &mut empty,
        generation_of(&start, Slot::Page),
        Slot::Page,
        Answer::Page {
            offset: 0,
            rows: Vec::new(),
        },
    );
    assert!(empty.update(Action::Open).is_empty());
    assert!(!empty.timeline.open_when_loaded);
    assert!(empty.message.as_ref().is_some_and(|m| m.error));
}
