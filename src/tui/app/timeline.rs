//! Timeline navigation: the cursor, the window of rows kept around it, filters, searches and
//! jumps to drift points, bookmarks and evidence.
//!
//! The timeline never holds more than a few screens of rows: when the visible rows leave the
//! cached window, one page (three screens, centred on the view) is asked for by position.

use super::{App, Effect, View};
use crate::store::{Direction, EventFilter, Target};
use crate::tui::view::timeline::visible_rows;
use crate::tui::worker::{FindPurpose, Query};

impl App {
    fn rows_on_screen(&self) -> u64 {
        u64::from(visible_rows(self.size.1).max(1))
    }

    /// Forgets everything loaded for the timeline and asks for it again.
    pub(super) fn reload_timeline(&mut self) -> Vec<Effect> {
        let t = &mut self.timeline;
        t.total = None;
        t.cursor = 0;
        t.top = 0;
        t.page = None;
        t.requested = None;
        t.histogram = None;
        let filter = self.timeline.filter.clone();
        let limit = self.rows_on_screen() * 3;
        self.timeline.requested = Some((0, limit));
        vec![
            self.request(Query::Count(filter.clone())),
            self.request(Query::Page {
                filter: filter.clone(),
                offset: 0,
                limit,
            }),
            self.request(Query::Histogram(filter)),
        ]
    }

    pub(super) fn set_filter(&mut self, filter: EventFilter) -> Vec<Effect> {
        self.timeline.filter = filter;
        self.reload_timeline()
    }

    /// Keeps the cursor on screen after a move or a resize.
    pub(super) fn scroll_into_view(&mut self) {
        let rows = self.rows_on_screen();
        let t = &mut self.timeline;
        if let Some(total) = t.total {
            t.cursor = t.cursor.min(total.saturating_sub(1));
            t.top = t.top.min(total.saturating_sub(rows));
        }
        if t.cursor < t.top {
            t.top = t.cursor;
        } else if t.cursor >= t.top + rows {
            t.top = t.cursor + 1 - rows;
        }
    }

    /// Asks for the rows on screen when the cached window does not hold them.
    pub(super) fn ensure_page(&mut self) -> Vec<Effect> {
        let Some(total) = self.timeline.total else {
            return Vec::new();
        };
        let rows = self.rows_on_screen();
        let t = &self.timeline;
        let want = (t.top, (t.top + rows).min(total));
        if want.0 >= want.1 {
            return Vec::new();
        }
        let covers = |(offset, len): (u64, u64)| {
            offset <= want.0 && (offset + len >= want.1 || offset + len >= total)
        };
        let cached = t.page.as_ref().map(|(o, r)| (*o, r.len() as u64));
        if cached.is_some_and(covers) || t.requested.is_some_and(covers) {
            return Vec::new();
        }
        let offset = t.top.saturating_sub(rows);
        let limit = rows * 3;
        self.timeline.requested = Some((offset, limit));
        let filter = self.timeline.filter.clone();
        vec![self.request(Query::Page {
            filter,
            offset,
            limit,
        })]
    }

    pub(super) fn move_cursor(&mut self, delta: i64) -> Vec<Effect> {
        let Some(total) = self.timeline.total else {
            return Vec::new();
        };
        let max = total.saturating_sub(1) as i64;
        self.timeline.cursor = (self.timeline.cursor as i64)
            .saturating_add(delta)
            .clamp(0, max.max(0)) as u64;
        self.scroll_into_view();
        self.ensure_page()
    }

    /// Puts the cursor on `position` with some context above it, in the timeline view.
    pub(super) fn place_cursor(&mut self, position: u64) -> Vec<Effect> {
        self.view = View::Timeline;
        let rows = self.rows_on_screen();
        self.timeline.cursor = position;
        self.timeline.top = position.saturating_sub(rows / 3);
        self.scroll_into_view();
        self.ensure_page()
    }

    /// Shows event `id` in the timeline (clearing the filter if it hides the event).
    pub(super) fn jump_to_event(&mut self, id: String) -> Vec<Effect> {
        let filter = self.timeline.filter.clone();
        vec![self.request(Query::Position { filter, id })]
    }

    fn find(&mut self, target: Target, direction: Direction, purpose: FindPurpose) -> Vec<Effect> {
        let from = self.current_event_in_timeline();
        let filter = self.timeline.filter.clone();
        vec![self.request(Query::Find {
            filter,
            target,
            from,
            direction,
            purpose,
        })]
    }

    /// Timeline position of the selected event, where searches start.
    fn current_event_in_timeline(&self) -> Option<u64> {
        self.timeline.current().map(|r| r.pos)
    }

    /// Goes to the next (previous) drift point. It does not wait for the overview: the timeline
    /// index knows where the drift points are.
    pub(super) fn drift(&mut self, direction: Direction) -> Vec<Effect> {
        if let Some(Ok(overview)) = &self.overview
            && overview.drift_points.is_empty()
        {
            self.complain(
                "no drift points in this database (the drift analysis has not recorded any)",
            );
            return Vec::new();
        }
        self.find(Target::DriftPoints, direction, FindPurpose::Drift)
    }

    pub(super) fn bookmark_jump(&mut self, direction: Direction) -> Vec<Effect> {
        if self.bookmarks.is_empty() {
            self.complain("no bookmarks yet (m bookmarks the current event)");
            return Vec::new();
        }
        let mut known: Vec<(u64, String)> = self
            .bookmarks
            .iter()
            .filter_map(|id| Some((*self.bookmark_pos.get(id)?, id.clone())))
            .collect();
        let target = if known.len() == self.bookmarks.len() {
            known.sort();
            Target::Events(known)
        } else {
            Target::Ids(self.bookmarks.iter().cloned().collect())
        };
        self.find(target, direction, FindPurpose::Bookmark)
    }

    pub(super) fn start_search(&mut self, text: &str) -> Vec<Effect> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            self.timeline.search = None;
            return Vec::new();
        }
        self.timeline.search = Some(text.clone());
        self.find(Target::Text(text), Direction::Forward, FindPurpose::Search)
    }

    pub(super) fn search_again(&mut self, direction: Direction) -> Vec<Effect> {
        let Some(text) = self.timeline.search.clone() else {
            self.complain("no search yet (/ searches)");
            return Vec::new();
        };
        self.find(Target::Text(text), direction, FindPurpose::Search)
    }

    pub(super) fn filter_by_current(&mut self, task: bool) -> Vec<Effect> {
        let Some(row) = self.timeline.current() else {
            return Vec::new();
        };
        let mut filter = self.timeline.filter.clone();
        if task {
            let Some(t) = row.task.clone() else {
                self.complain("this event belongs to no task");
                return Vec::new();
            };
            filter.task = Some(t);
        } else {
            filter.actor = Some(row.actor.clone());
        }
        self.set_filter(filter)
    }
}
