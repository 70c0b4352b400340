//! Rendering: a pure function of the [`App`] state into a ratatui buffer. Nothing here does I/O
//! or changes state, so every screen is tested by rendering into a `TestBackend`.
//!
//! Every piece of evidence text goes through [`safe`] (or [`safe_clipped`]) before it is drawn:
//! control characters, escape sequences and bidirectional overrides become visible notation, and
//! very long values are cut, so log content can neither drive the terminal nor stall drawing.

pub mod accountability;
pub mod detail;
pub mod findings;
pub mod graph;
pub mod help;
pub mod sql;
pub mod timeline;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget as _};

use super::action::Action;
use super::app::{App, PromptKind, View, format_filter};
use super::keymap::Layer;
use super::worker::Slot;
use crate::model::Timestamp;
use crate::text::for_terminal_clipped;

/// Longest piece of evidence text drawn in one cell or line.
pub const MAX_CELL_CHARS: usize = 400;

/// Evidence text made harmless for the terminal, cut to [`MAX_CELL_CHARS`].
pub fn safe(text: &str) -> String {
    safe_clipped(text, MAX_CELL_CHARS)
}

/// Evidence text made harmless for the terminal, cut to `max` characters.
pub fn safe_clipped(text: &str, max: usize) -> String {
    for_terminal_clipped(text, max)
}

/// A time as the views show it (UTC, to the second).
pub fn short_time(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Colour of a severity rank (4 = critical … 0 = info).
pub fn severity_style(rank: i32) -> Style {
    match rank {
        4 => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        3 => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        2 => Style::new().fg(Color::Yellow),
        1 => Style::new().fg(Color::Cyan),
        _ => Style::new().fg(Color::DarkGray),
    }
}

/// One-letter severity for marker columns.
pub fn severity_letter(rank: i32) -> char {
    match rank {
        4 => 'C',
        3 => 'H',
        2 => 'M',
        1 => 'L',
        _ => 'I',
    }
}

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    draw(app, area, frame.buffer_mut());
}

/// Draws the whole screen into `buf`.
pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let [tabs, main, status, bottom] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ]));
    draw_tabs(app, tabs, buf);
    match app.view {
        View::Timeline => timeline::render(app, main, buf),
        View::Detail => detail::render(app, main, buf),
        View::Graph => graph::render(app, main, buf),
        View::Findings => findings::render(app, main, buf),
        View::Accountability => accountability::render(app, main, buf),
        View::Sql => sql::render(app, main, buf),
    }
    draw_status(app, status, buf);
    draw_bottom(app, bottom, buf);
    if app.help {
        help::render(app, main, buf);
    }
}

fn draw_tabs(app: &App, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    for (i, view) in View::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, view.title());
        if *view == app.view {
            spans.push(Span::styled(
                label,
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
            ));
        } else {
            spans.push(Span::raw(label));
        }
        spans.push(Span::raw("│"));
    }
    spans.push(Span::styled(
        format!(" {}", safe_clipped(&app.label, 80)),
        Style::new().fg(Color::DarkGray),
    ));
    Paragraph::new(Line::from(spans)).render(area, buf);
}

fn slot_name(slot: Slot) -> &'static str {
    match slot {
        Slot::Count => "count",
        Slot::Page => "rows",
        Slot::Histogram => "histogram",
        Slot::Jump => "jump",
        Slot::Detail => "detail",
        Slot::Locate => "bookmarks",
        Slot::Overview => "graph+findings",
        Slot::Sql => "sql",
    }
}

fn draw_status(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.timeline;
    let position = match t.total {
        Some(0) => "no events".to_owned(),
        Some(n) => format!("event {}/{n}", t.cursor + 1),
        None => "counting…".to_owned(),
    };
    let mut spans = vec![Span::styled(
        format!(" {position} "),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let filter = format_filter(&t.filter);
    if !filter.is_empty() {
        spans.push(Span::styled(
            format!("│ filter: {} ", safe_clipped(&filter, 60)),
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some(s) = &t.search {
        spans.push(Span::raw(format!("│ /{} ", safe_clipped(s, 30))));
    }
    let drift = match &app.overview {
        Some(Ok(o)) => o.drift_points.len(),
        _ => 0,
    };
    spans.push(Span::raw(format!(
        "│ {} findings │ {drift} drift │ {} bookmarks{} ",
        app.findings.len(),
        app.bookmarks.len(),
        if app.bookmarks_persist {
            ""
        } else {
            " (session)"
        }
    )));
    let busy = app.busy();
    if !busy.is_empty() {
        let names: Vec<&str> = busy.iter().map(|s| slot_name(*s)).collect();
        spans.push(Span::styled(
            format!("│ ⟳ {} ", names.join(", ")),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ));
    }
    Paragraph::new(Line::from(spans))
        .style(Style::new().bg(Color::DarkGray).fg(Color::White))
        .render(area, buf);
}

fn draw_bottom(app: &App, area: Rect, buf: &mut Buffer) {
    let line = if let Some(p) = &app.prompt {
        let label = match p.kind {
            PromptKind::Search => "/",
            PromptKind::Filter => "filter: ",
        };
        Line::from(vec![
            Span::styled(label, Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(safe(&p.input)),
            Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
        ])
    } else if let Some(m) = &app.message {
        let style = if m.error {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Green)
        };
        Line::styled(safe(&m.text), style)
    } else {
        hints(app)
    };
    Paragraph::new(line).render(area, buf);
}

/// A few key hints, taken from the keymap so they always match it.
fn hints(app: &App) -> Line<'static> {
    let wanted = [
        (Action::Help, "help"),
        (Action::Open, "open"),
        (Action::Search, "search"),
        (Action::Filter, "filter"),
        (Action::NextDrift, "drift"),
        (Action::ToggleBookmark, "mark"),
        (Action::ViewSql, "SQL"),
        (Action::Quit, "quit"),
    ];
    let mut spans = Vec::new();
    for (action, name) in wanted {
        let label = Layer::ALL
            .iter()
            .flat_map(|l| app.keymap.bindings(*l))
            .find(|b| b.action == action)
            .and_then(|b| b.labels.first());
        if let Some(label) = label {
            spans.push(Span::raw(label.clone()).bold());
            spans.push(Span::raw(format!(" {name}  ")));
        }
    }
    Line::from(spans).fg(Color::DarkGray)
}

/// A centred placeholder for a view with nothing to show yet.
pub fn placeholder(text: &str, area: Rect, buf: &mut Buffer) {
    Paragraph::new(text.to_owned())
        .style(Style::new().fg(Color::DarkGray))
        .wrap(ratatui::widgets::Wrap { trim: true })
        .render(area, buf);
}

/// First row to show so that `cursor` is visible in `height` rows.
pub fn scroll_offset(cursor: usize, height: usize) -> usize {
    if height == 0 {
        return cursor;
    }
    cursor.saturating_sub(height - 1)
}
