//! The delegation graph as a tree: who handed authority to whom, with the owners in effect, the
//! effective authority after each hop and amplification highlighted. Enter filters the timeline
//! to the selected principal.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget as _, Wrap};

use super::{placeholder, safe, scroll_offset, short_time};
use crate::tui::app::App;
use crate::tui::tree::TreeRow;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let (rows, summarised) = match &app.overview {
        None => return placeholder("building the delegation graph…", area, buf),
        Some(Err(e)) => {
            return placeholder(&format!("cannot load the evidence: {}", safe(e)), area, buf);
        }
        Some(Ok(o)) => match &o.tree {
            Err(e) => {
                return placeholder(&format!("cannot build the graph: {}", safe(e)), area, buf);
            }
            Ok(rows) => (rows, o.summarised),
        },
    };
    if rows.is_empty() {
        placeholder("no delegations in the evidence", area, buf);
        return;
    }
    let [list, info] = area.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(6),
    ]));
    let height = usize::from(list.height);
    let first = scroll_offset(app.graph_cursor, height);
    let lines: Vec<Line<'static>> = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, r)| tree_line(r, i == app.graph_cursor))
        .collect();
    Paragraph::new(lines).render(list, buf);
    if let Some(row) = rows.get(app.graph_cursor) {
        Paragraph::new(info_lines(row))
            .block(Block::default().borders(Borders::TOP).title(if summarised {
                " selected (Enter: its events) · large evidence: one row per principal \
                         pair and kind, counted; an event's detail shows its task's own chain "
            } else {
                " selected (Enter: its events) "
            }))
            .wrap(Wrap { trim: false })
            .render(info, buf);
    }
}

fn tree_line(r: &TreeRow, selected: bool) -> Line<'static> {
    let mut spans = vec![Span::raw("  ".repeat(r.depth))];
    if let Some(via) = &r.via {
        spans.push(Span::raw("└ "));
        spans.push(Span::styled(
            format!("{} ", via.kind),
            Style::new().fg(Color::Magenta),
        ));
    }
    let name_style = if r.amplified {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    spans.push(Span::styled(safe(&r.principal), name_style));
    spans.push(Span::styled(
        format!(" ({})", r.kind),
        Style::new().fg(Color::DarkGray),
    ));
    if r.amplified {
        spans.push(Span::styled(
            "  ⚠ scope amplification",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(via) = &r.via {
        if via.kind == "handoff" && !via.constrained {
            spans.push(Span::styled(
                "  ! no constraints",
                Style::new().fg(Color::Yellow),
            ));
        }
        if let Some(task) = &via.task {
            spans.push(Span::raw(format!("  task {}", safe(task))));
        }
    }
    if r.repeated {
        spans.push(Span::styled(
            "  (shown above)",
            Style::new().fg(Color::DarkGray),
        ));
    }
    let line = Line::from(spans);
    if selected {
        line.style(Style::new().add_modifier(Modifier::REVERSED))
    } else {
        line
    }
}

fn info_lines(r: &TreeRow) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    match &r.via {
        Some(via) => {
            let scope = match &via.scope {
                Some(s) => format!("{{{}}}", safe(&s.join(", "))),
                None if via.carries_authority => "unknown".to_owned(),
                None => "–".to_owned(),
            };
            let label = via
                .label
                .as_deref()
                .map(|l| format!("  ({})", safe(l)))
                .unwrap_or_default();
            out.push(Line::raw(format!(
                "via {} at {}  scope passed {scope}{label}",
                via.kind,
                short_time(&via.at)
            )));
            out.push(Line::raw(format!(
                "effective authority after this hop: {}",
                r.effective.as_deref().map_or("unknown".to_owned(), safe)
            )));
        }
        None => out.push(Line::raw("root of its chains")),
    }
    out.push(Line::raw(format!(
        "owners then: {}",
        if r.owners.is_empty() {
            "none on record".to_owned()
        } else {
            safe(&r.owners)
        }
    )));
    out
}
