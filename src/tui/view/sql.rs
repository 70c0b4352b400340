//! The SQL console: an input line, then the result as a scrollable table, or the error inline.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget as _, Wrap};
use serde_json::Value as Json;

use super::{placeholder, safe, safe_clipped};
use crate::tui::app::App;
use crate::tui::worker::{SQL_ROW_LIMIT, Slot};

/// Widest a result column gets.
const MAX_COLUMN_WIDTH: usize = 40;

/// A result value as text.
pub fn cell_text(v: &Json) -> String {
    match v {
        Json::Null => "NULL".to_owned(),
        Json::String(s) => safe(s),
        other => safe(&other.to_string()),
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [input, note, results] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ]));
    let mut spans = vec![
        Span::styled(
            "SQL> ",
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ),
        Span::raw(safe(&app.sql.input)),
    ];
    if app.sql.editing {
        spans.push(Span::styled(
            "█",
            Style::new().add_modifier(Modifier::SLOW_BLINK),
        ));
    }
    Paragraph::new(Line::from(spans)).render(input, buf);
    let running = app.busy().contains(&Slot::Sql);
    let keys = if app.sql.editing {
        "Enter runs · ↑/↓ history · Esc leaves the line"
    } else {
        "Enter edits the query · j/k scroll · q quits"
    };
    let note_text = if running {
        format!("running… (the rest of the interface keeps working) · {keys}")
    } else {
        match &app.sql.result {
            Some(Ok((_, r))) if r.truncated => format!(
                "first {SQL_ROW_LIMIT} rows shown (add LIMIT or aggregate for more) · {keys}"
            ),
            Some(Ok((_, r))) => format!("{} rows · {keys}", r.rows.len()),
            _ => keys.to_owned(),
        }
    };
    Paragraph::new(note_text)
        .style(Style::new().fg(Color::DarkGray))
        .render(note, buf);
    match &app.sql.result {
        None => placeholder(
            "Read-only SQL against the evidence (DuckDB dialect), e.g. \
             SELECT kind, count(*) FROM events GROUP BY kind. Tables: events, sources, \
             quarantine, principals, tasks, grants, credentials, delegations, owner_assignments, \
             findings, drift_points, accountability.",
            results,
            buf,
        ),
        Some(Err(e)) => Paragraph::new(safe_clipped(e, 2000))
            .style(Style::new().fg(Color::Red))
            .wrap(Wrap { trim: false })
            .render(results, buf),
        Some(Ok((_, r))) => {
            let height = usize::from(results.height.saturating_sub(1));
            let rows: Vec<Vec<String>> = r
                .rows
                .iter()
                .skip(app.sql.scroll)
                .take(height)
                .map(|row| row.iter().map(cell_text).collect())
                .collect();
            let widths: Vec<Constraint> = r
                .columns
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let widest = rows
                        .iter()
                        .filter_map(|row| row.get(i))
                        .map(|c| c.chars().count())
                        .chain(std::iter::once(name.chars().count()))
                        .max()
                        .unwrap_or(1);
                    Constraint::Length(widest.clamp(1, MAX_COLUMN_WIDTH) as u16)
                })
                .collect();
            let header = Row::new(r.columns.iter().map(|c| Cell::from(safe(c))))
                .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
            Table::new(rows.into_iter().map(Row::new), widths)
                .header(header)
                .column_spacing(2)
                .render(results, buf);
        }
    }
}
