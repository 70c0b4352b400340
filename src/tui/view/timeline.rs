//! The timeline: a density strip with findings and drift points, then one row per event with a
//! marker column (drift point `D`, after the drift `›`, finding severity `C/H/M/L/I`, bookmark
//! `*`).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table, Widget as _};

use super::{placeholder, safe, severity_letter, severity_style, short_time};
use crate::store::{Histogram, PageRow};
use crate::tui::app::App;

/// Height of the density strip (two rows of bars, one of markers).
const HISTOGRAM_ROWS: u16 = 3;

/// Screens shorter than this drop the density strip to keep rows for events.
const MIN_HEIGHT_FOR_HISTOGRAM: u16 = 16;

/// Lines the frame takes around a view: tabs, status, prompt.
const FRAME_ROWS: u16 = 3;

/// Event rows visible on a terminal `height` rows high (the app pages by this).
pub fn visible_rows(height: u16) -> u16 {
    let strip = if height >= MIN_HEIGHT_FOR_HISTOGRAM {
        HISTOGRAM_ROWS
    } else {
        0
    };
    height.saturating_sub(FRAME_ROWS + strip + 1)
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let strip = if area.height + FRAME_ROWS >= MIN_HEIGHT_FOR_HISTOGRAM {
        HISTOGRAM_ROWS
    } else {
        0
    };
    let [hist, table] = area.layout(&Layout::vertical([
        Constraint::Length(strip),
        Constraint::Fill(1),
    ]));
    if strip > 0 {
        histogram(app, hist, buf);
    }
    rows(app, table, buf);
}

fn histogram(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(h) = &app.timeline.histogram else {
        placeholder("building the time histogram…", area, buf);
        return;
    };
    let [bars, marks] = area.layout(&Layout::vertical([
        Constraint::Length(HISTOGRAM_ROWS - 1),
        Constraint::Length(1),
    ]));
    let width = usize::from(area.width);
    let data = rescale(&h.counts, width);
    Sparkline::default()
        .data(&data)
        .style(Style::new().fg(Color::Blue))
        .render(bars, buf);
    let cursor_time = app.timeline.current().map(|r| r.time);
    Paragraph::new(marker_line(h, width, cursor_time)).render(marks, buf);
}

/// Sums `counts` into `width` columns.
fn rescale(counts: &[u64], width: usize) -> Vec<u64> {
    if width == 0 || counts.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0; width];
    for (i, n) in counts.iter().enumerate() {
        out[i * width / counts.len()] += n;
    }
    out
}

/// The markers under the strip: the worst finding per column, drift points (`D`), and the
/// selected event (`^`).
fn marker_line(
    h: &Histogram,
    width: usize,
    cursor: Option<crate::model::Timestamp>,
) -> Line<'static> {
    let Some((first, last)) = h.span else {
        return Line::raw("no events");
    };
    let lo = first.timestamp_micros();
    let span = (last.timestamp_micros() - lo).max(1);
    let column = |t: crate::model::Timestamp| -> Option<usize> {
        let x = t.timestamp_micros() - lo;
        if x < 0 || x > span || width == 0 {
            return None;
        }
        let column = i128::from(x) * (width as i128 - 1) / i128::from(span);
        usize::try_from(column).ok()
    };
    let mut cells: Vec<(char, Style)> = vec![('─', Style::new().fg(Color::DarkGray)); width];
    for (t, rank) in &h.findings {
        if let Some(c) = column(*t)
            && severity_rank_of(cells[c].0) < *rank
        {
            cells[c] = (severity_letter(*rank), severity_style(*rank));
        }
    }
    for t in &h.drift_points {
        if let Some(c) = column(*t) {
            cells[c] = (
                'D',
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            );
        }
    }
    if let Some(c) = cursor.and_then(column) {
        cells[c] = (
            '^',
            Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
        );
    }
    Line::from(
        cells
            .into_iter()
            .map(|(ch, style)| Span::styled(ch.to_string(), style))
            .collect::<Vec<_>>(),
    )
}

fn severity_rank_of(letter: char) -> i32 {
    match letter {
        'C' => 4,
        'H' => 3,
        'M' => 2,
        'L' => 1,
        'I' => 0,
        _ => -1,
    }
}

fn marker(app: &App, row: &PageRow) -> Line<'static> {
    let drift = if row.drift_point {
        Span::styled(
            "D",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )
    } else if row.after_drift {
        Span::styled("›", Style::new().fg(Color::Yellow))
    } else {
        Span::raw(" ")
    };
    let severity = row.severity_rank.map_or_else(
        || Span::raw(" "),
        |r| Span::styled(severity_letter(r).to_string(), severity_style(r)),
    );
    let mark = if app.bookmarks.contains(&row.id) {
        Span::styled(
            "*",
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::raw(" ")
    };
    Line::from(vec![drift, severity, mark])
}

fn target(row: &PageRow) -> String {
    match (&row.resource, &row.destination) {
        (Some(r), Some(d)) => format!("{} → {}", safe(r), safe(d)),
        (Some(r), None) => safe(r),
        (None, Some(d)) => format!("→ {}", safe(d)),
        (None, None) => String::new(),
    }
}

/// The outcome as the timeline shows it: an outcome nobody recorded (a tool call, whose result
/// is its own row; a hand-off) is a dash, not the word "unknown" on most rows.
fn outcome_text(outcome: &str) -> String {
    if outcome == "unknown" {
        "–".to_owned()
    } else {
        safe(outcome)
    }
}

/// Width of the kind column: the longest kind name, so none is cut.
pub(crate) fn kind_width() -> u16 {
    crate::model::EventKind::ALL
        .iter()
        .map(|k| k.as_str().chars().count())
        .max()
        .unwrap_or(16)
        .try_into()
        .unwrap_or(u16::MAX)
}

fn outcome_style(outcome: &str) -> Style {
    match outcome {
        "denied" | "error" => Style::new().fg(Color::Red),
        "success" => Style::new().fg(Color::Green),
        _ => Style::new().fg(Color::DarkGray),
    }
}

fn rows(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.timeline;
    let Some(total) = t.total else {
        placeholder("counting events…", area, buf);
        return;
    };
    if total == 0 {
        let text = if t.filter.is_empty() {
            "the evidence database holds no events"
        } else {
            "no event matches the filter (F clears it)"
        };
        placeholder(text, area, buf);
        return;
    }
    let visible = u64::from(area.height.saturating_sub(1));
    let end = (t.top + visible).min(total);
    let mut lines = Vec::new();
    for position in t.top..end {
        let selected = position == t.cursor;
        let row = match t.row(position) {
            Some(r) => Row::new(vec![
                Cell::from(marker(app, r)),
                Cell::from(short_time(&r.time)),
                Cell::from(safe(&r.actor)),
                Cell::from(safe(&r.kind)),
                Cell::from(safe(r.action.as_deref().unwrap_or_default())),
                Cell::from(target(r)),
                Cell::from(Span::styled(
                    outcome_text(&r.outcome),
                    outcome_style(&r.outcome),
                )),
            ]),
            None => Row::new(vec![Cell::from(""), Cell::from("…")])
                .style(Style::new().fg(Color::DarkGray)),
        };
        lines.push(if selected {
            row.style(Style::new().add_modifier(Modifier::REVERSED))
        } else {
            row
        });
    }
    let header = Row::new(vec![
        "",
        "time (UTC)",
        "actor",
        "kind",
        "action",
        "resource → destination",
        "outcome",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    Table::new(
        lines,
        [
            Constraint::Length(3),
            Constraint::Length(19),
            Constraint::Fill(2),
            Constraint::Length(kind_width()),
            Constraint::Fill(2),
            Constraint::Fill(3),
            Constraint::Length(7),
        ],
    )
    .header(header)
    .column_spacing(1)
    .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fit_the_terminal_at_any_height() {
        assert_eq!(visible_rows(24), 24 - 3 - 3 - 1);
        assert_eq!(visible_rows(10), 10 - 3 - 1);
        assert_eq!(visible_rows(2), 0);
    }

    #[test]
    fn rescaling_keeps_the_total() {
        let counts = vec![1; 240];
        assert_eq!(rescale(&counts, 80).iter().sum::<u64>(), 240);
        assert_eq!(rescale(&counts, 500).iter().sum::<u64>(), 240);
        assert!(rescale(&counts, 0).is_empty());
    }
}
