//! Findings, most severe first, with the explanation and evidence of the selected one. Enter
//! jumps to its first evidence event in the timeline.
//!
//! The list comes from the `findings` table. While that table is empty (the drift and
//! accountability analysis has not run on this database), the delegation graph's own findings
//! are listed instead, computed from the evidence now and labelled as such: they are real, just
//! without a severity.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget as _, Wrap};

use super::{placeholder, safe, safe_clipped, scroll_offset, severity_style, short_time};
use crate::tui::app::{App, FindingItem};

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if app.overview.is_none() {
        placeholder("loading findings…", area, buf);
        return;
    }
    if app.findings.is_empty() {
        placeholder(
            if app.findings_from_graph {
                "No findings: the analysis has not run on this database (`onus analyze` runs \
                 it) and the delegation graph's hand-offs show none."
            } else {
                "No findings: the analysis found nothing wrong in this evidence."
            },
            area,
            buf,
        );
        return;
    }
    let note = u16::from(app.findings_from_graph) * 3;
    let [head, list, info] = area.layout(&Layout::vertical([
        Constraint::Length(note),
        Constraint::Fill(1),
        Constraint::Length(9),
    ]));
    if app.findings_from_graph {
        Paragraph::new(
            "The drift/accountability analysis has not run on this database (`onus analyze` \
             runs it). Showing the delegation graph's own findings about its hand-offs, computed \
             now; they carry no severity.",
        )
        .style(Style::new().fg(Color::Yellow))
        .wrap(Wrap { trim: true })
        .render(head, buf);
    }
    let height = usize::from(list.height);
    let first = scroll_offset(app.findings_cursor, height);
    let lines: Vec<Line<'static>> = app
        .findings
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, f)| item_line(f, i == app.findings_cursor))
        .collect();
    Paragraph::new(lines).render(list, buf);
    if let Some(f) = app.findings.get(app.findings_cursor) {
        Paragraph::new(info_lines(f))
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(" explanation (Enter: jump to the evidence) "),
            )
            .wrap(Wrap { trim: false })
            .render(info, buf);
    }
}

fn item_line(f: &FindingItem, selected: bool) -> Line<'static> {
    let severity = match (&f.severity, f.severity_rank) {
        (Some(s), Some(rank)) => {
            Span::styled(format!("{:<9}", safe_clipped(s, 9)), severity_style(rank))
        }
        _ => Span::styled(format!("{:<9}", "graph"), Style::new().fg(Color::DarkGray)),
    };
    let line = Line::from(vec![
        severity,
        Span::raw(format!("{}  ", short_time(&f.time))),
        Span::styled(safe(&f.title), Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            "  {}  {}",
            f.task
                .as_deref()
                .map_or(String::new(), |t| format!("task {}", safe(t))),
            f.principal.as_deref().map_or(String::new(), safe)
        )),
    ]);
    if selected {
        line.style(Style::new().add_modifier(Modifier::REVERSED))
    } else {
        line
    }
}

fn info_lines(f: &FindingItem) -> Vec<Line<'static>> {
    let mut out = vec![Line::raw(safe(&f.explanation))];
    out.push(Line::raw(format!(
        "detector {}{}",
        safe(&f.detector),
        f.failure_class
            .as_deref()
            .map(|c| format!("  ·  failure class {}", safe(c)))
            .unwrap_or_default()
    )));
    out.push(Line::raw(format!(
        "evidence: {}",
        safe(&f.evidence.join(", "))
    )));
    if let Some(m) = &f.mappings
        && !m.is_null()
        && m.as_object().is_none_or(|o| !o.is_empty())
    {
        out.push(Line::raw(format!("mappings: {}", safe(&m.to_string()))));
    }
    out
}
