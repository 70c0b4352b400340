//! Accountability records per task: failure classes, primary and contributing owners, the rule
//! that fired and the liability shift point. Enter jumps to the shift point in the timeline.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget as _, Wrap};

use super::{placeholder, safe, scroll_offset, short_time};
use crate::store::StoredAccountability;
use crate::tui::app::App;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let records = match &app.overview {
        None => return placeholder("loading accountability records…", area, buf),
        Some(Err(e)) => return placeholder(&format!("cannot load: {}", safe(e)), area, buf),
        Some(Ok(o)) => &o.accountability,
    };
    if records.is_empty() {
        placeholder(
            "No accountability records in this database: the accountability analysis has not \
             recorded any.",
            area,
            buf,
        );
        return;
    }
    let [list, info] = area.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Percentage(60),
    ]));
    let height = usize::from(list.height);
    let first = scroll_offset(app.accountability_cursor, height);
    let lines: Vec<Line<'static>> = records
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, a)| {
            let owner = a.primary_owner.as_deref().map_or_else(
                || Span::styled("GAP: no owner on record", Style::new().fg(Color::Red)),
                |o| Span::raw(safe(o)),
            );
            let line = Line::from(vec![
                Span::styled(
                    format!("task {:<12} ", safe(&a.task)),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!("{:<20} ", safe(&a.primary_class))),
                Span::raw(format!("{}: ", safe(&a.primary_role))),
                owner,
                Span::styled(
                    format!("  rule {}", safe(&a.rule)),
                    Style::new().fg(Color::DarkGray),
                ),
            ]);
            if i == app.accountability_cursor {
                line.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    Paragraph::new(lines).render(list, buf);
    if let Some(a) = records.get(app.accountability_cursor) {
        Paragraph::new(info_lines(a))
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(" record (Enter: jump to the liability shift point) "),
            )
            .wrap(Wrap { trim: false })
            .render(info, buf);
    }
}

fn owner(o: Option<&str>) -> String {
    o.map_or_else(|| "none on record (gap)".to_owned(), safe)
}

fn info_lines(a: &StoredAccountability) -> Vec<Line<'static>> {
    let mut out = vec![Line::raw(format!(
        "primary: {} → {} {}",
        safe(&a.primary_class),
        safe(&a.primary_role),
        owner(a.primary_owner.as_deref())
    ))];
    if let Some(role) = &a.secondary_role {
        out.push(Line::raw(format!(
            "secondary: {} {}",
            safe(role),
            owner(a.secondary_owner.as_deref())
        )));
    }
    if let Some(list) = a.contributing.as_array() {
        for c in list {
            let field = |k: &str| {
                c.get(k)
                    .and_then(|v| v.as_str())
                    .map_or_else(|| "?".to_owned(), safe)
            };
            out.push(Line::raw(format!(
                "contributing: {} → {} {}  ({})",
                field("class"),
                field("role"),
                field("owner"),
                field("why")
            )));
        }
    }
    out.push(Line::raw(format!(
        "rule {}: {}",
        safe(&a.rule),
        safe(&a.rationale)
    )));
    let shift = match (&a.shift_event_id, a.shift_time) {
        (Some(id), Some(t)) => format!("{} at {}", safe(id), short_time(&t)),
        (Some(id), None) => safe(id),
        _ => "none recorded".to_owned(),
    };
    out.push(Line::raw(format!("liability shift point: {shift}")));
    if a.gaps.as_array().is_some_and(|g| !g.is_empty()) {
        out.push(Line::styled(
            format!("gaps: {}", safe(&a.gaps.to_string())),
            Style::new().fg(Color::Yellow),
        ));
    }
    out.push(Line::raw(format!(
        "evidence: {}",
        safe(&a.evidence.join(", "))
    )));
    out
}
