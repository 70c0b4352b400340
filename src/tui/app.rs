//! The model of the TUI and its update function: [`App::update`] takes an [`Action`] and
//! returns the [`Effect`]s the event loop must run (queries for the workers, a bookmark file to
//! write). Worker answers come back through [`App::receive`]. Nothing here does I/O, so every
//! behaviour can be tested by feeding actions and answers.

mod filter;
mod receive;
mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::action::Action;
use super::keymap::{Keymap, Mode};
use super::worker::{DetailAnswer, Overview, Query, Request, Slot};
use crate::model::Timestamp;
use crate::store::{ConsoleResult, EventFilter, Histogram, PageRow};

pub use filter::{format_filter, parse_filter};

/// The screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Timeline,
    Detail,
    Graph,
    Findings,
    Accountability,
    Sql,
}

impl View {
    pub const ALL: [Self; 6] = [
        Self::Timeline,
        Self::Detail,
        Self::Graph,
        Self::Findings,
        Self::Accountability,
        Self::Sql,
    ];

    pub const fn title(self) -> &'static str {
        match self {
            Self::Timeline => "Timeline",
            Self::Detail => "Event",
            Self::Graph => "Delegation",
            Self::Findings => "Findings",
            Self::Accountability => "Accountability",
            Self::Sql => "SQL",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// Something the event loop must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run a query on a worker (SQL console queries go to their own worker).
    Send(Request),
    /// Write the bookmarks (event ids) to the bookmark file.
    SaveBookmarks(Vec<String>),
}

/// The timeline: a filter, a cursor, and a small window of rows around it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelineState {
    pub filter: EventFilter,
    /// Events the filter keeps; `None` until counted.
    pub total: Option<u64>,
    /// Position of the selected event.
    pub cursor: u64,
    /// Position of the first visible row.
    pub top: u64,
    /// The cached window: position of its first row, and the rows.
    pub page: Option<(u64, Vec<PageRow>)>,
    /// The window last asked for (offset, limit), while it is on its way.
    requested: Option<(u64, u64)>,
    pub histogram: Option<Histogram>,
    /// The active search text (`n`/`N` repeat it).
    pub search: Option<String>,
    /// Enter was pressed before the selected row had loaded: open it when it arrives.
    pub open_when_loaded: bool,
}

impl TimelineState {
    /// The row at `position`, if it is in the cached window.
    pub fn row(&self, position: u64) -> Option<&PageRow> {
        let (offset, rows) = self.page.as_ref()?;
        let index = usize::try_from(position.checked_sub(*offset)?).ok()?;
        rows.get(index)
    }

    /// The selected row, if loaded.
    pub fn current(&self) -> Option<&PageRow> {
        self.row(self.cursor)
    }
}

/// The SQL console.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlState {
    pub input: String,
    /// Keys go to the input line.
    pub editing: bool,
    pub history: Vec<String>,
    history_pos: Option<usize>,
    /// The last result (with its SQL) or error.
    pub result: Option<Result<(String, ConsoleResult), String>>,
    /// First result row shown.
    pub scroll: usize,
}

/// A one-line prompt at the bottom of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Search,
    Filter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
}

/// A line of feedback in the status area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

/// A finding as the findings view lists it, from the `findings` table or the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingItem {
    /// `None` for the graph's own findings, which carry no severity.
    pub severity: Option<String>,
    pub severity_rank: Option<i32>,
    pub title: String,
    pub detector: String,
    pub failure_class: Option<String>,
    pub task: Option<String>,
    pub principal: Option<String>,
    pub time: Timestamp,
    pub explanation: String,
    pub evidence: Vec<String>,
    pub mappings: Option<Json>,
}

/// The whole state of the TUI.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent facts about one screen, not a state machine
pub struct App {
    pub keymap: Keymap,
    /// What is being investigated (a database path, or the ingested paths).
    pub label: String,
    pub view: View,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub timeline: TimelineState,
    pub detail: Option<DetailAnswer>,
    pub detail_scroll: u16,
    /// Selected row of the graph, findings and accountability views.
    pub graph_cursor: usize,
    pub findings_cursor: usize,
    pub accountability_cursor: usize,
    pub sql: SqlState,
    /// Loaded once at start; `None` while loading.
    pub overview: Option<Result<Overview, String>>,
    pub findings: Vec<FindingItem>,
    /// True when the findings table is empty and the graph's own findings are listed.
    pub findings_from_graph: bool,
    pub bookmarks: BTreeSet<String>,
    /// Timeline positions of the bookmarks, as far as known (set when bookmarking, looked up at
    /// start for those read from the file): `u`/`U` then need no search by id.
    pub bookmark_pos: BTreeMap<String, u64>,
    /// Whether bookmarks are written to a file (false for an in-memory database).
    pub bookmarks_persist: bool,
    pub prompt: Option<Prompt>,
    pub help: bool,
    pub help_scroll: u16,
    pub message: Option<Message>,
    /// Latest generation asked for per slot; answers to older ones are dropped.
    pending: BTreeMap<Slot, u64>,
    next_generation: u64,
    pub quit: bool,
}

impl App {
    /// A fresh app for a terminal of `size`; call [`App::start`] for the first queries.
    pub fn new(keymap: Keymap, label: String, size: (u16, u16)) -> Self {
        Self {
            keymap,
            label,
            view: View::Timeline,
            size,
            timeline: TimelineState::default(),
            detail: None,
            detail_scroll: 0,
            graph_cursor: 0,
            findings_cursor: 0,
            accountability_cursor: 0,
            sql: SqlState::default(),
            overview: None,
            findings: Vec::new(),
            findings_from_graph: false,
            bookmarks: BTreeSet::new(),
            bookmark_pos: BTreeMap::new(),
            bookmarks_persist: false,
            prompt: None,
            help: false,
            help_scroll: 0,
            message: None,
            pending: BTreeMap::new(),
            next_generation: 0,
            quit: false,
        }
    }

    /// The first queries: the overview, then the timeline.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut effects = vec![self.request(Query::Overview)];
        effects.extend(self.reload_timeline());
        if !self.bookmarks.is_empty() {
            let ids = self.bookmarks.iter().cloned().collect();
            effects.push(self.request(Query::Locate(ids)));
        }
        effects
    }

    /// Which keymap layers apply now.
    pub fn mode(&self) -> Mode {
        if self.prompt.is_some() || (self.view == View::Sql && self.sql.editing) {
            Mode::Editing
        } else {
            Mode::Browsing {
                timeline: self.view == View::Timeline,
            }
        }
    }

    /// Slots with a query on its way, for the busy indicator.
    pub fn busy(&self) -> Vec<Slot> {
        self.pending.keys().copied().collect()
    }

    fn request(&mut self, query: Query) -> Effect {
        self.next_generation += 1;
        self.pending.insert(query.slot(), self.next_generation);
        Effect::Send(Request {
            generation: self.next_generation,
            query,
        })
    }

    fn say(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    /// Shows an error in the status area (also used by the event loop for its own failures).
    pub fn complain(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
    }

    /// Applies one action.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        if !matches!(action, Action::Resize(..) | Action::Scroll(_)) {
            self.message = None;
        }
        if self.mode() == Mode::Editing && self.edit(action) {
            return self.finish_edit(action);
        }
        if self.help && !matches!(action, Action::Quit | Action::Resize(..)) {
            self.help_key(action);
            return Vec::new();
        }
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.help = true;
                self.help_scroll = 0;
                Vec::new()
            }
            Action::ViewTimeline => self.show(View::Timeline),
            Action::ViewDetail => self.show(View::Detail),
            Action::ViewGraph => self.show(View::Graph),
            Action::ViewFindings => self.show(View::Findings),
            Action::ViewAccountability => self.show(View::Accountability),
            Action::ViewSql => self.show(View::Sql),
            Action::NextView => self.show(View::ALL[(self.view.index() + 1) % View::ALL.len()]),
            Action::PrevView => {
                self.show(View::ALL[(self.view.index() + View::ALL.len() - 1) % View::ALL.len()])
            }
            Action::Down => self.step(1),
            Action::Up => self.step(-1),
            Action::PageDown => self.step(i64::from(self.page_rows())),
            Action::PageUp => self.step(-i64::from(self.page_rows())),
            Action::Top => self.step(i64::MIN / 2),
            Action::Bottom => self.step(i64::MAX / 2),
            Action::Scroll(n) => self.step(i64::from(n)),
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.scroll_into_view();
                self.ensure_page()
            }
            Action::Open => self.open(),
            Action::Back => {
                self.view = View::Timeline;
                Vec::new()
            }
            Action::NextDrift => self.drift(crate::store::Direction::Forward),
            Action::PrevDrift => self.drift(crate::store::Direction::Backward),
            Action::ToggleBookmark => self.toggle_bookmark(),
            Action::NextBookmark => self.bookmark_jump(crate::store::Direction::Forward),
            Action::PrevBookmark => self.bookmark_jump(crate::store::Direction::Backward),
            Action::Search => {
                self.prompt = Some(Prompt {
                    kind: PromptKind::Search,
                    input: self.timeline.search.clone().unwrap_or_default(),
                });
                Vec::new()
            }
            Action::NextHit => self.search_again(crate::store::Direction::Forward),
            Action::PrevHit => self.search_again(crate::store::Direction::Backward),
            Action::Filter => {
                self.prompt = Some(Prompt {
                    kind: PromptKind::Filter,
                    input: format_filter(&self.timeline.filter),
                });
                Vec::new()
            }
            Action::ClearFilter => self.set_filter(EventFilter::default()),
            Action::FilterTask => self.filter_by_current(true),
            Action::FilterActor => self.filter_by_current(false),
            Action::Submit
            | Action::Cancel
            | Action::HistoryPrev
            | Action::HistoryNext
            | Action::DeleteChar
            | Action::ClearLine
            | Action::Insert(_) => Vec::new(),
        }
    }

    fn help_key(&mut self, action: Action) {
        match action {
            Action::Down | Action::Scroll(1..) => {
                self.help_scroll = self.help_scroll.saturating_add(1);
            }
            Action::Up | Action::Scroll(..=-1) => {
                self.help_scroll = self.help_scroll.saturating_sub(1);
            }
            Action::PageDown => self.help_scroll = self.help_scroll.saturating_add(10),
            Action::PageUp => self.help_scroll = self.help_scroll.saturating_sub(10),
            Action::Help | Action::Back => self.help = false,
            _ => {}
        }
    }

    fn show(&mut self, view: View) -> Vec<Effect> {
        self.view = view;
        self.timeline.open_when_loaded = false;
        if view == View::Sql {
            self.sql.editing = true;
        }
        if view == View::Timeline {
            return self.ensure_page();
        }
        Vec::new()
    }

    /// Rows a page key moves in the current view.
    fn page_rows(&self) -> u16 {
        match self.view {
            View::Timeline => super::view::timeline::visible_rows(self.size.1),
            _ => self.size.1.saturating_sub(6).max(1),
        }
    }

    fn step(&mut self, delta: i64) -> Vec<Effect> {
        fn moved(cursor: usize, delta: i64, len: usize) -> usize {
            let max = len.saturating_sub(1) as i64;
            (cursor as i64).saturating_add(delta).clamp(0, max.max(0)) as usize
        }
        match self.view {
            View::Timeline => return self.move_cursor(delta),
            View::Detail => {
                let max = i64::from(u16::MAX);
                self.detail_scroll = (i64::from(self.detail_scroll) + delta).clamp(0, max) as u16;
            }
            View::Graph => {
                let len = self.tree_len();
                self.graph_cursor = moved(self.graph_cursor, delta, len);
            }
            View::Findings => {
                self.findings_cursor = moved(self.findings_cursor, delta, self.findings.len());
            }
            View::Accountability => {
                let len = self.accountability_len();
                self.accountability_cursor = moved(self.accountability_cursor, delta, len);
            }
            View::Sql => {
                let len = match &self.sql.result {
                    Some(Ok((_, r))) => r.rows.len(),
                    _ => 0,
                };
                self.sql.scroll = moved(self.sql.scroll, delta, len);
            }
        }
        Vec::new()
    }

    fn tree_len(&self) -> usize {
        match &self.overview {
            Some(Ok(o)) => o.tree.as_ref().map_or(0, Vec::len),
            _ => 0,
        }
    }

    fn accountability_len(&self) -> usize {
        match &self.overview {
            Some(Ok(o)) => o.accountability.len(),
            _ => 0,
        }
    }

    fn open(&mut self) -> Vec<Effect> {
        match self.view {
            View::Timeline => {
                let Some((id, pos)) = self.timeline.current().map(|r| (r.id.clone(), r.pos)) else {
                    // On a slow machine or a big store the row may still be on its way: keep
                    // the key instead of dropping it.
                    if self.pending.contains_key(&Slot::Page)
                        || self.pending.contains_key(&Slot::Count)
                    {
                        self.timeline.open_when_loaded = true;
                        self.say("loading; the event opens when its row arrives");
                    } else {
                        self.complain("no event at the cursor to open");
                    }
                    return Vec::new();
                };
                self.timeline.open_when_loaded = false;
                self.view = View::Detail;
                self.open_detail(id, Some(pos))
            }
            View::Detail => Vec::new(),
            View::Graph => {
                let principal = match &self.overview {
                    Some(Ok(o)) => o
                        .tree
                        .as_ref()
                        .ok()
                        .and_then(|t| t.get(self.graph_cursor))
                        .map(|r| r.principal.clone()),
                    _ => None,
                };
                let Some(principal) = principal else {
                    return Vec::new();
                };
                self.view = View::Timeline;
                self.set_filter(EventFilter {
                    actor: Some(principal),
                    ..EventFilter::default()
                })
            }
            View::Findings => {
                let first = self
                    .findings
                    .get(self.findings_cursor)
                    .and_then(|f| f.evidence.first().cloned());
                match first {
                    Some(id) => self.jump_to_event(id),
                    None => Vec::new(),
                }
            }
            View::Accountability => {
                let target = match &self.overview {
                    Some(Ok(o)) => o
                        .accountability
                        .get(self.accountability_cursor)
                        .and_then(|a| {
                            a.shift_event_id
                                .clone()
                                .or_else(|| a.evidence.first().cloned())
                        }),
                    _ => None,
                };
                let Some(id) = target else {
                    self.say("this record names no liability shift point");
                    return Vec::new();
                };
                self.jump_to_event(id)
            }
            View::Sql => {
                self.sql.editing = true;
                Vec::new()
            }
        }
    }

    fn open_detail(&mut self, id: String, pos: Option<u64>) -> Vec<Effect> {
        self.detail_scroll = 0;
        vec![self.request(Query::Detail { id, pos })]
    }

    /// The event the investigator is looking at: the detail's in the detail view, else the
    /// timeline's selected row.
    fn current_event(&self) -> Option<String> {
        if self.view == View::Detail {
            return self.detail.as_ref().map(|d| d.id.clone());
        }
        self.timeline.current().map(|r| r.id.clone())
    }

    /// Timeline position of the event [`App::current_event`] names, when known.
    fn current_pos(&self) -> Option<u64> {
        if self.view == View::Detail {
            return self.detail.as_ref().and_then(|d| d.pos);
        }
        self.timeline.current().map(|r| r.pos)
    }

    fn toggle_bookmark(&mut self) -> Vec<Effect> {
        let Some(id) = self.current_event() else {
            self.complain("no event selected to bookmark");
            return Vec::new();
        };
        if self.bookmarks.remove(&id) {
            self.bookmark_pos.remove(&id);
            self.say(format!("bookmark removed ({} left)", self.bookmarks.len()));
        } else {
            if self.bookmarks.len() >= super::bookmarks::MAX_BOOKMARKS {
                self.complain(format!(
                    "{} bookmarks already, the most onus keeps; remove one first",
                    self.bookmarks.len()
                ));
                return Vec::new();
            }
            if let Some(pos) = self.current_pos() {
                self.bookmark_pos.insert(id.clone(), pos);
            }
            self.bookmarks.insert(id);
            self.say(format!("bookmarked ({} in all)", self.bookmarks.len()));
        }
        if self.bookmarks_persist {
            vec![Effect::SaveBookmarks(
                self.bookmarks.iter().cloned().collect(),
            )]
        } else {
            Vec::new()
        }
    }

    /// Handles an editing action; false when the action is not about editing.
    fn edit(&mut self, action: Action) -> bool {
        let line = match &mut self.prompt {
            Some(p) => &mut p.input,
            None => &mut self.sql.input,
        };
        match action {
            Action::Insert(c) => line.push(c),
            Action::DeleteChar => {
                line.pop();
            }
            Action::ClearLine => line.clear(),
            Action::HistoryPrev | Action::HistoryNext if self.prompt.is_none() => {
                self.history(matches!(action, Action::HistoryPrev));
            }
            Action::Submit | Action::Cancel => {}
            _ => return false,
        }
        true
    }

    fn history(&mut self, back: bool) {
        let h = &self.sql.history;
        if h.is_empty() {
            return;
        }
        let pos = match (self.sql.history_pos, back) {
            (None, true) => Some(h.len() - 1),
            (None, false) => None,
            (Some(p), true) => Some(p.saturating_sub(1)),
            (Some(p), false) => (p + 1 < h.len()).then_some(p + 1),
        };
        self.sql.history_pos = pos;
        self.sql.input = pos.map(|p| h[p].clone()).unwrap_or_default();
    }

    fn finish_edit(&mut self, action: Action) -> Vec<Effect> {
        match (action, self.prompt.take()) {
            (Action::Submit, Some(p)) => match p.kind {
                PromptKind::Search => self.start_search(&p.input),
                PromptKind::Filter => match parse_filter(&p.input) {
                    Ok(filter) => {
                        self.view = View::Timeline;
                        self.set_filter(filter)
                    }
                    Err(e) => {
                        self.complain(format!("filter not applied: {e}"));
                        Vec::new()
                    }
                },
            },
            (Action::Cancel, Some(_)) => Vec::new(),
            (Action::Submit, None) => {
                let sql = self.sql.input.trim().to_owned();
                if sql.is_empty() {
                    return Vec::new();
                }
                if self.sql.history.last() != Some(&sql) {
                    self.sql.history.push(sql.clone());
                }
                self.sql.history_pos = None;
                self.sql.scroll = 0;
                vec![self.request(Query::Sql(sql))]
            }
            (Action::Cancel, None) => {
                self.sql.editing = false;
                Vec::new()
            }
            (_, p) => {
                self.prompt = p;
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests;
