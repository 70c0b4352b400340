//! The help overlay, generated from the keymap that drives input.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget as _};

use crate::tui::app::App;
use crate::tui::keymap::Layer;

/// The help text, one line per binding, grouped by layer.
pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for layer in Layer::ALL {
        let title = match layer {
            Layer::Global => "Everywhere",
            Layer::Timeline => "Timeline",
            Layer::Input => "While typing (prompt, SQL line)",
        };
        out.push(Line::styled(
            title,
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ));
        for b in app.keymap.bindings(layer) {
            out.push(Line::from(vec![
                Span::styled(
                    // The trailing space keeps a long key list off its description
                    // ("pagedown, ctrl-f, space" ran into "Page down").
                    format!("  {:<22} ", b.labels.join(", ")),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(b.desc.clone()),
            ]));
        }
        out.push(Line::raw(""));
    }
    out.push(Line::raw("Mouse wheel scrolls. Esc or ? closes this help."));
    out
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [row] = area.layout(&Layout::vertical([Constraint::Percentage(90)]).flex(Flex::Center));
    let [popup] = row.layout(&Layout::horizontal([Constraint::Percentage(90)]).flex(Flex::Center));
    Clear.render(popup, buf);
    Paragraph::new(help_lines(app))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" keys (from the keymap) "),
        )
        .scroll((app.help_scroll, 0))
        .render(popup, buf);
}
