//! Worker answers: stale ones (an older generation than the latest request of their slot) are
//! dropped; the others update the state and may ask for more.

use super::{App, Effect, FindingItem};
use crate::store::EventFilter;
use crate::text::for_terminal_clipped as clip;
use crate::tui::worker::{Answer, FindPurpose, Overview, Query, Response, Slot};

impl App {
    /// Applies a worker's answer, unless a newer request of the same slot made it stale.
    pub fn receive(&mut self, response: Response) -> Vec<Effect> {
        if self.pending.get(&response.slot) != Some(&response.generation) {
            return Vec::new();
        }
        self.pending.remove(&response.slot);
        match response.answer {
            Ok(answer) => self.apply(answer),
            Err(error) => {
                match response.slot {
                    Slot::Sql => self.sql.result = Some(Err(error)),
                    Slot::Overview => self.overview = Some(Err(error)),
                    Slot::Page => {
                        self.timeline.requested = None;
                        self.complain(error);
                    }
                    _ => self.complain(error),
                }
                Vec::new()
            }
        }
    }

    fn apply(&mut self, answer: Answer) -> Vec<Effect> {
        match answer {
            Answer::Count(n) => {
                self.timeline.total = Some(n);
                self.scroll_into_view();
                self.ensure_page()
            }
            Answer::Page { offset, rows } => {
                self.timeline.page = Some((offset, rows));
                self.timeline.requested = None;
                let mut effects = self.ensure_page();
                if self.timeline.open_when_loaded
                    && self.view == super::View::Timeline
                    && self.timeline.current().is_some()
                {
                    effects.extend(self.open());
                }
                effects
            }
            Answer::Histogram(h) => {
                self.timeline.histogram = Some(h);
                Vec::new()
            }
            Answer::Position { id, position } => self.positioned(id, position),
            Answer::Found {
                hit,
                wrapped,
                purpose,
            } => self.found(hit, wrapped, purpose),
            Answer::Located(found) => {
                for (pos, id) in found {
                    if self.bookmarks.contains(&id) {
                        self.bookmark_pos.insert(id, pos);
                    }
                }
                Vec::new()
            }
            Answer::Detail(detail) => {
                self.detail = Some(*detail);
                Vec::new()
            }
            Answer::Overview(overview) => {
                self.set_overview(*overview);
                // A detail opened while the graph was being built has no chain yet: ask again.
                match &self.detail {
                    Some(d) if d.chain.is_none() && d.event.is_some() => {
                        let (id, pos) = (d.id.clone(), d.pos);
                        vec![self.request(Query::Detail { id, pos })]
                    }
                    _ => Vec::new(),
                }
            }
            Answer::Sql { sql, result } => {
                self.sql.result = Some(Ok((sql, result)));
                Vec::new()
            }
        }
    }

    fn positioned(&mut self, id: String, position: Option<u64>) -> Vec<Effect> {
        match position {
            Some(p) => {
                self.say(format!("event {}", clip(&id, 60)));
                self.place_cursor(p)
            }
            None if !self.timeline.filter.is_empty() => {
                self.timeline.filter = EventFilter::default();
                let mut effects = self.reload_timeline();
                self.say("the filter hid that event, so it was cleared");
                effects.push(self.request(Query::Position {
                    filter: EventFilter::default(),
                    id,
                }));
                effects
            }
            None => {
                self.complain(format!("event {} is not in the evidence", clip(&id, 60)));
                Vec::new()
            }
        }
    }

    fn found(
        &mut self,
        hit: Option<(String, u64)>,
        wrapped: bool,
        purpose: FindPurpose,
    ) -> Vec<Effect> {
        let around = if wrapped { " (wrapped around)" } else { "" };
        let Some((id, position)) = hit else {
            let what = match purpose {
                FindPurpose::Search => format!(
                    "no event matches \"{}\"",
                    clip(self.timeline.search.as_deref().unwrap_or_default(), 40)
                ),
                FindPurpose::Drift => "no drift point in the filtered timeline".to_owned(),
                FindPurpose::Bookmark => "no bookmark in the filtered timeline".to_owned(),
            };
            let filter_note = if self.timeline.filter.is_empty() {
                ""
            } else {
                " (F clears the filter)"
            };
            self.complain(format!("{what}{filter_note}"));
            return Vec::new();
        };
        let text = match purpose {
            FindPurpose::Search => format!(
                "match for \"{}\"{around}",
                clip(self.timeline.search.as_deref().unwrap_or_default(), 40)
            ),
            FindPurpose::Drift => {
                let point = match &self.overview {
                    Some(Ok(o)) => o.drift_points.iter().find(|d| d.event_id == id),
                    _ => None,
                };
                match point {
                    Some(d) => format!(
                        "drift point of task {} ({}){around}",
                        clip(&d.task, 30),
                        clip(&d.kind, 20)
                    ),
                    None => format!("drift point{around}"),
                }
            }
            FindPurpose::Bookmark => {
                let n = self
                    .bookmarks
                    .iter()
                    .position(|b| *b == id)
                    .map_or(0, |i| i + 1);
                format!("bookmark {n} of {}{around}", self.bookmarks.len())
            }
        };
        self.say(text);
        self.place_cursor(position)
    }

    fn set_overview(&mut self, overview: Overview) {
        self.findings_from_graph = !overview.analysed;
        self.findings = if self.findings_from_graph {
            overview
                .graph_findings
                .iter()
                .map(|f| FindingItem {
                    severity: None,
                    severity_rank: None,
                    title: f.kind.as_str().replace('_', " "),
                    detector: format!("graph.{}", f.kind.as_str()),
                    failure_class: None,
                    task: f.task.clone(),
                    principal: Some(f.principal.clone()),
                    time: f.at,
                    explanation: f.explanation.clone(),
                    evidence: f.evidence.clone(),
                    mappings: None,
                })
                .collect()
        } else {
            overview
                .findings
                .iter()
                .map(|f| FindingItem {
                    severity: Some(f.severity.clone()),
                    severity_rank: Some(f.severity_rank),
                    title: f.title.clone(),
                    detector: f.detector.clone(),
                    failure_class: Some(f.failure_class.clone()),
                    task: f.task.clone(),
                    principal: f.principal.clone(),
                    time: f.time,
                    explanation: f.explanation.clone(),
                    evidence: f.evidence.clone(),
                    mappings: Some(f.mappings.clone()),
                })
                .collect()
        };
        self.overview = Some(Ok(overview));
    }
}
