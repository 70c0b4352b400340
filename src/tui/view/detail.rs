//! The event detail: normalised fields, the actor's chain of authority back to its root, the
//! task's declared scope next to what this action did, and the raw record with its source file,
//! place and hash.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget as _, Wrap};

use super::{MAX_CELL_CHARS, placeholder, safe, safe_clipped, short_time};
use crate::graph::Chain;
use crate::model::{ActionClass, Constraints, parse_action_class, pattern_matches};
use crate::store::{EventDetail, TaskDeclaration};
use crate::tui::app::App;
use crate::tui::worker::DetailAnswer;

/// Lines of the raw record shown at most (a huge record is cut, with a note).
const MAX_RAW_LINES: usize = 400;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(answer) = &app.detail else {
        placeholder(
            "No event open. Select an event in the timeline (1) and press Enter.",
            area,
            buf,
        );
        return;
    };
    let title = format!(" event {} ", safe_clipped(&answer.id, 80));
    let lines = lines(app, answer);
    Paragraph::new(lines)
        .block(Block::default().borders(Borders::TOP).title(title))
        .wrap(Wrap { trim: false })
        .scroll((app.detail_scroll, 0))
        .render(area, buf);
}

fn heading(text: &str) -> Line<'static> {
    Line::styled(
        text.to_owned(),
        Style::new()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
    )
}

fn pair(name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("  {name:<15} "), Style::new().fg(Color::DarkGray)),
        Span::raw(value),
    ])
}

fn lines(app: &App, answer: &DetailAnswer) -> Vec<Line<'static>> {
    let Some(event) = &answer.event else {
        return vec![Line::raw("this event is not in the evidence database")];
    };
    let mut out = vec![heading("Event")];
    let inferred = if event.time_inferred {
        " (inferred)"
    } else {
        ""
    };
    out.push(pair(
        "time",
        format!("{}{inferred}", short_time(&event.time)),
    ));
    if app.bookmarks.contains(&event.id) {
        out.push(pair("bookmark", "yes".to_owned()));
    }
    for (name, value) in &event.fields {
        out.push(pair(name, safe_clipped(value, MAX_CELL_CHARS * 10)));
    }
    out.push(Line::raw(""));
    analysis_lines(app, answer, &event.id, &mut out);
    chain_lines(answer.chain.as_ref(), app.overview.is_none(), &mut out);
    if answer.chain.is_some()
        && event.field("task").is_none()
        && let Some(Ok(o)) = &app.overview
        && o.summarised
    {
        out.push(Line::raw(
            "  (large evidence and an event of no task: the chain follows principals through \
             the summarised graph, one edge per principal pair)",
        ));
    }
    out.push(Line::raw(""));
    scope_lines(event, &answer.tasks, &mut out);
    out.push(Line::raw(""));
    raw_lines(event, &mut out);
    out
}

/// What the analysis concluded about this event: a drift point (its rule, cause and traced
/// values), the cause of one, and instruction detection on its content (score and signals).
fn analysis_lines(app: &App, answer: &DetailAnswer, id: &str, out: &mut Vec<Line<'static>>) {
    let drifts: Vec<&crate::store::StoredDriftPoint> = match &app.overview {
        Some(Ok(o)) => o.drift_points.iter().collect(),
        _ => Vec::new(),
    };
    let here: Vec<_> = drifts.iter().filter(|d| d.event_id == id).collect();
    let caused: Vec<_> = drifts
        .iter()
        .filter(|d| d.cause_event_id.as_deref() == Some(id))
        .collect();
    if here.is_empty() && caused.is_empty() && answer.spans.is_empty() {
        return;
    }
    out.push(heading("Analysis"));
    for d in here {
        out.push(pair(
            "drift point",
            format!("of task {} (rule {})", safe_clipped(&d.task, 80), d.kind),
        ));
        out.push(pair(
            "cause",
            d.cause_event_id
                .as_deref()
                .map_or_else(|| "none found".to_owned(), |c| safe_clipped(c, 80)),
        ));
        for p in d.provenance.as_array().into_iter().flatten() {
            let text = |k: &str| p.get(k).and_then(serde_json::Value::as_str).unwrap_or("?");
            let from = if p.get("instruction").and_then(serde_json::Value::as_bool) == Some(true) {
                format!(
                    "inside instructions (score {:.1}) of {}",
                    p.get("score")
                        .and_then(serde_json::Value::as_f64)
                        .unwrap_or(0.0),
                    safe_clipped(text("event_id"), 60)
                )
            } else {
                format!("data carried by {}", safe_clipped(text("event_id"), 60))
            };
            out.push(pair(
                "value",
                format!(
                    "{} = {}: {from}",
                    safe_clipped(text("argument"), 40),
                    safe_clipped(text("value"), 80)
                ),
            ));
        }
    }
    for d in caused {
        out.push(pair(
            "cause of",
            format!(
                "the drift point {} of task {}",
                safe_clipped(&d.event_id, 60),
                safe_clipped(&d.task, 80)
            ),
        ));
    }
    for s in &answer.spans {
        let verdict = if s.instruction {
            Span::styled("instructions", Style::new().fg(Color::Red))
        } else {
            Span::styled("near miss", Style::new().fg(Color::Yellow))
        };
        out.push(Line::from(vec![
            Span::styled(
                format!("  {:<15} ", "content span"),
                Style::new().fg(Color::DarkGray),
            ),
            verdict,
            Span::raw(format!(
                " score {:.1}, bytes {}..{}: {}",
                s.score,
                s.start,
                s.end,
                s.kinds().join(", ")
            )),
        ]));
        out.push(pair("  excerpt", safe_clipped(&s.excerpt, 300)));
    }
    out.push(Line::raw(""));
}

fn chain_lines(chain: Option<&Chain>, graph_loading: bool, out: &mut Vec<Line<'static>>) {
    out.push(heading("Chain of authority (root first)"));
    let Some(chain) = chain else {
        out.push(Line::raw(if graph_loading {
            "  (the delegation graph is still being built; the chain appears when it is ready)"
        } else {
            "  (the delegation graph is not available)"
        }));
        return;
    };
    out.push(pair(
        "root",
        format!(
            "{} ({}), holds {}",
            safe(&chain.root),
            chain.root_kind.as_str(),
            safe(&chain.root_authority.to_string())
        ),
    ));
    for (i, hop) in chain.hops.iter().enumerate() {
        let scope = hop.scope.as_ref().map_or_else(
            || "scope unknown".to_owned(),
            |s| format!("scope {{{}}}", safe(&s.join(", "))),
        );
        let bounds = if hop.constrained {
            ""
        } else {
            "  ! no constraints"
        };
        out.push(Line::from(vec![
            Span::raw(format!("  {}└ ", "  ".repeat(i))),
            Span::styled(
                hop.kind.as_str().to_owned(),
                Style::new().fg(Color::Magenta),
            ),
            Span::raw(format!(
                " {} → {}  {scope}  effective {}",
                short_time(&hop.at),
                safe(&hop.to),
                safe(&hop.effective.to_string())
            )),
            Span::styled(bounds.to_owned(), Style::new().fg(Color::Yellow)),
        ]));
    }
    out.push(pair(
        "depth",
        format!(
            "{}{}",
            chain.depth(),
            if chain.cut {
                " (cut: cycle or too deep)"
            } else {
                ""
            }
        ),
    ));
    out.push(pair(
        "workflow owner",
        chain
            .workflow_owner
            .as_deref()
            .map_or_else(|| "none on record (gap)".to_owned(), safe),
    ));
}

/// ✓ inside, ✗ outside, or a note when the axis is not constrained.
fn verdict(allowed: Option<&[String]>, value: Option<&str>) -> Span<'static> {
    match (allowed, value) {
        (None, _) => Span::styled("not constrained", Style::new().fg(Color::Yellow)),
        (Some(_), None) => Span::raw("–"),
        (Some(list), Some(v)) if list.iter().any(|p| pattern_matches(p, v)) => {
            Span::styled("✓ inside", Style::new().fg(Color::Green))
        }
        (Some(_), Some(_)) => Span::styled(
            "✗ outside",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    }
}

fn axis(name: &str, allowed: Option<&[String]>, did: Option<&str>) -> Line<'static> {
    let declared = allowed.map_or_else(|| "(none)".to_owned(), |l| safe(&l.join(", ")));
    Line::from(vec![
        Span::styled(format!("    {name:<13}"), Style::new().fg(Color::DarkGray)),
        Span::raw(format!("{declared:<40} ")),
        Span::raw(format!("did {:<28} ", safe(did.unwrap_or("–")))),
        verdict(allowed, did),
    ])
}

fn scope_lines(event: &EventDetail, tasks: &[TaskDeclaration], out: &mut Vec<Line<'static>>) {
    let Some(task) = event.field("task") else {
        out.push(heading("Declared scope"));
        out.push(Line::raw(
            "  this event names no task: nothing declares what it was for (untraceable)",
        ));
        return;
    };
    out.push(heading(&format!(
        "Declared scope of task {} vs this event",
        safe_clipped(task, 60)
    )));
    if tasks.is_empty() {
        out.push(Line::raw(
            "  no declaration of this task in the manifest or a task.start event",
        ));
        return;
    }
    for t in tasks {
        out.push(pair(
            &format!("{} says", t.origin),
            format!(
                "intent: {}",
                t.intent.as_deref().map_or("(none)".to_owned(), safe)
            ),
        ));
        if let Some(raw) = &t.unreadable {
            out.push(pair("constraints", format!("unreadable: {}", safe(raw))));
            continue;
        }
        let Some(c) = &t.constraints else {
            out.push(Line::styled(
                "    no constraints declared (workflow design gap)",
                Style::new().fg(Color::Yellow),
            ));
            continue;
        };
        constraint_lines(c, event, out);
    }
}

fn constraint_lines(c: &Constraints, event: &EventDetail, out: &mut Vec<Line<'static>>) {
    out.push(axis("tools", c.tools.as_deref(), event.field("action")));
    out.push(axis(
        "resources",
        c.resources.as_deref(),
        event.field("resource"),
    ));
    out.push(axis(
        "destinations",
        c.destinations.as_deref(),
        event.field("destination"),
    ));
    out.push(axis(
        "environments",
        c.environments.as_deref(),
        event.field("environment"),
    ));
    let class = event.field("action_class").and_then(parse_action_class);
    let ceiling = match (c.max_action_class, class) {
        (None, _) => Span::styled("not constrained", Style::new().fg(Color::Yellow)),
        (Some(_), None) => Span::raw("–"),
        (Some(max), Some(cl)) if cl <= max => {
            Span::styled("✓ within", Style::new().fg(Color::Green))
        }
        (Some(_), Some(_)) => Span::styled(
            "✗ above the ceiling",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    };
    out.push(Line::from(vec![
        Span::styled(
            format!("    {:<13}", "max class"),
            Style::new().fg(Color::DarkGray),
        ),
        Span::raw(format!(
            "{:<40} ",
            c.max_action_class.map_or("(none)", ActionClass::as_str)
        )),
        Span::raw(format!(
            "did {:<28} ",
            class.map_or("–", ActionClass::as_str)
        )),
        ceiling,
    ]));
    if let Some(needs) = &c.approval_required {
        let action = event.field("action");
        let needed = needs.iter().any(|p| {
            action.is_some_and(|a| pattern_matches(p, a))
                || class.is_some_and(|cl| p.eq_ignore_ascii_case(cl.as_str()))
        });
        out.push(Line::from(vec![
            Span::styled(
                format!("    {:<13}", "approval"),
                Style::new().fg(Color::DarkGray),
            ),
            Span::raw(format!("{:<40} ", safe(&needs.join(", ")))),
            if needed {
                Span::styled(
                    "this action needs runtime approval",
                    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
                )
            } else {
                Span::raw("not needed for this action")
            },
        ]));
    }
    if let Some(ttl) = &c.credential_ttl {
        out.push(pair("  ttl", safe(ttl)));
    }
}

fn raw_lines(event: &EventDetail, out: &mut Vec<Line<'static>>) {
    out.push(heading("Raw evidence"));
    out.push(pair(
        "source",
        format!(
            "{} ({})",
            safe(&event.source_path),
            safe(&event.source_format)
        ),
    ));
    out.push(pair("location", safe(&event.locator)));
    out.push(pair("sha256", safe(&event.source_sha256)));
    let pretty = serde_json::from_str::<serde_json::Value>(&event.raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| event.raw.clone());
    let total = pretty.lines().count();
    for line in pretty.lines().take(MAX_RAW_LINES) {
        out.push(Line::raw(format!(
            "  {}",
            safe_clipped(line, MAX_CELL_CHARS * 4)
        )));
    }
    if total > MAX_RAW_LINES {
        out.push(Line::styled(
            format!(
                "  … {} more lines (query the raw column in the SQL console)",
                total - MAX_RAW_LINES
            ),
            Style::new().fg(Color::DarkGray),
        ));
    }
}
