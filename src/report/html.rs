//! The self-contained HTML report, for management and legal: no scripts, no external assets,
//! a restrictive Content-Security-Policy, the delegation graph drawn inline as SVG, and every
//! piece of evidence text HTML-escaped. It prints to PDF from a browser as it is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Report;
use crate::text::for_terminal;

/// Escapes text for HTML content and attribute values (control characters made visible first).
pub fn h(text: &str) -> String {
    let safe = for_terminal(text);
    let mut out = String::with_capacity(safe.len() + 8);
    for ch in safe.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

fn s(v: &serde_json::Value, key: &str) -> String {
    match v.get(key) {
        Some(serde_json::Value::String(x)) => x.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:1200px}\
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}\
th{background:#f0f0f0}.critical{color:#fff;background:#a00}.high{background:#f4b6b6}.medium{background:#fde2b3}.low{background:#e6f0ff}\
code{font-size:0.85em;word-break:break-all}.gap{color:#a00;font-weight:bold}svg{border:1px solid #ddd;background:#fafafa}\
@media print{body{margin:0}a{color:inherit}}";

#[allow(clippy::too_many_lines, reason = "the page, section by section")]
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
<title>{}</title><style>{STYLE}</style></head><body>\n",
        h(&r.title)
    );
    let _ = writeln!(o, "<h1>{}</h1>", h(&r.title));
    let _ = writeln!(
        o,
        "<p>onus {} · rules: {} · report schema {}{}</p>",
        h(r.tool_version),
        h(&r.rules_version),
        r.schema_version,
        r.generated_at
            .as_deref()
            .map(|g| format!(" · generated {}", h(g)))
            .unwrap_or_default()
    );
    let sm = &r.summary;
    let _ = writeln!(
        o,
        "<h2>Summary</h2><ul><li>{} events from {} sources ({} quarantined)</li><li>{} findings: {} critical, {} high, {} medium, {} low, {} info</li><li>{} task(s) drifted</li></ul>",
        sm.events,
        r.sources.len(),
        sm.quarantined,
        sm.findings,
        sm.critical,
        sm.high,
        sm.medium,
        sm.low,
        sm.info,
        sm.tasks_with_drift
    );
    let _ = writeln!(o, "<h2>Accountability</h2>");
    let _ = writeln!(
        o,
        "<table id=\"accountability\"><tr><th>task</th><th>primary class</th><th>accountable (at the time)</th><th>secondary</th><th>contributing</th><th>rule</th><th>liability shift point</th></tr>"
    );
    for a in &r.accountability {
        let owner = |key: &str| {
            let v = s(a, key);
            if v.is_empty() {
                "<span class=\"gap\">not on record (gap)</span>".to_owned()
            } else {
                h(&v)
            }
        };
        let mut contributing = String::new();
        for c in a
            .get("contributing")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            let _ = write!(
                contributing,
                "{} → {}: {}<br>",
                h(&s(c, "class")),
                h(&s(c, "role")),
                if s(c, "owner").is_empty() {
                    "<span class=\"gap\">gap</span>".to_owned()
                } else {
                    h(&s(c, "owner"))
                }
            );
        }
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}: {}</td><td>{}</td><td>{contributing}</td><td>{}<br><small>{}</small></td><td><code>{}</code><br>{}</td></tr>",
            h(&s(a, "task")),
            h(&s(a, "primary_class")),
            h(&s(a, "primary_role")),
            owner("primary_owner"),
            if s(a, "secondary_role").is_empty() {
                String::new()
            } else {
                format!(
                    "{}: {}",
                    h(&s(a, "secondary_role")),
                    owner("secondary_owner")
                )
            },
            h(&s(a, "rule")),
            h(&s(a, "rationale")),
            h(&s(a, "shift_event_id")),
            h(&s(a, "shift_time"))
        );
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(o, "<h2>Delegation graph</h2>");
    o.push_str(&svg(r));
    let _ = writeln!(
        o,
        "<h2>Findings</h2><table id=\"findings\"><tr><th>severity</th><th>detector</th><th>task</th><th>explanation</th><th>evidence</th><th>mappings</th></tr>"
    );
    for f in &r.findings {
        let evidence: Vec<&str> = f
            .evidence
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        let _ = writeln!(
            o,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><small>{}</small></td></tr>",
            h(&f.severity),
            h(&f.severity),
            h(&f.detector),
            h(f.task.as_deref().unwrap_or("")),
            h(&f.explanation),
            h(&evidence.join(", ")),
            h(&f.mappings.to_string())
        );
    }
    let _ = writeln!(
        o,
        "</table><h2>Timeline of key events</h2><table id=\"timeline\"><tr><th>time</th><th>event</th><th>kind</th><th>actor</th><th>action</th><th>target</th><th>outcome</th><th>findings</th></tr>"
    );
    for k in &r.timeline {
        let e = &k.event;
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&crate::model::format_time(&e.time)),
            h(&e.id),
            if k.drift_point {
                " <b>drift point</b>"
            } else {
                ""
            },
            h(&e.kind),
            h(&e.actor),
            h(e.action.as_deref().unwrap_or("")),
            h(e.destination
                .as_deref()
                .or(e.resource.as_deref())
                .unwrap_or("")),
            h(&e.outcome),
            h(&k.findings.join(", "))
        );
    }
    let _ = writeln!(
        o,
        "</table><h2>Evidence sources</h2><table id=\"sources\"><tr><th>path</th><th>format</th><th>SHA-256</th><th>records</th><th>quarantined</th><th>events</th></tr>"
    );
    for src in &r.sources {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&src.path),
            h(&src.format),
            h(&src.sha256),
            src.records_read,
            src.records_quarantined,
            src.events_ingested
        );
    }
    let _ = writeln!(o, "</table></body></html>");
    o
}

/// The delegation graph as inline SVG: principals in columns by their distance from a root,
/// edges as lines, hand-offs without constraints dashed red.
fn svg(r: &Report) -> String {
    let edges = r.graph.edges(None, None);
    let edges: Vec<_> = edges
        .into_iter()
        .filter(|e| e.kind != crate::graph::EdgeKind::CredentialIssue)
        .collect();
    if edges.is_empty() {
        return "<p>No delegations in the evidence.</p>\n".to_owned();
    }
    let ids: BTreeSet<&str> = edges
        .iter()
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .collect();
    let mut depth: BTreeMap<&str, usize> = ids.iter().map(|id| (*id, 0)).collect();
    for _ in 0..ids.len().min(16) {
        for e in &edges {
            let d = depth[e.from.as_str()] + 1;
            if d > depth[e.to.as_str()] && d < 16 {
                depth.insert(e.to.as_str(), d);
            }
        }
    }
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut pos: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (id, d) in &depth {
        let row = rows.entry(*d).or_insert(0);
        pos.insert(id, (40 + d * 260, 40 + *row * 70));
        *row += 1;
    }
    let width = 40 + (depth.values().max().copied().unwrap_or(0) + 1) * 260;
    let height = 40 + rows.values().max().copied().unwrap_or(1) * 70;
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"graph\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-size=\"11\">\n"
    );
    for e in &edges {
        let (x1, y1) = pos[e.from.as_str()];
        let (x2, y2) = pos[e.to.as_str()];
        let style = if e.constrained {
            "stroke=\"#555\""
        } else {
            "stroke=\"#c00\" stroke-dasharray=\"6 4\""
        };
        let _ = writeln!(
            o,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{x2}\" y2=\"{}\" {style} stroke-width=\"1.5\"><title>{} → {} ({})</title></line><text x=\"{}\" y=\"{}\" fill=\"#555\">{}</text>",
            x1 + 200,
            y1 + 15,
            y2 + 15,
            h(&e.from),
            h(&e.to),
            h(e.kind.as_str()),
            (x1 + 200).midpoint(x2),
            y1.midpoint(y2) + 10,
            h(e.kind.as_str())
        );
    }
    for (id, (x, y)) in &pos {
        let kind = r.graph.principal(id).map_or("unknown", |n| n.kind.as_str());
        let label: String = id.chars().take(30).collect();
        let _ = writeln!(
            o,
            "<rect x=\"{x}\" y=\"{y}\" width=\"200\" height=\"30\" rx=\"4\" fill=\"#fff\" stroke=\"#333\"/><text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" fill=\"#777\" font-size=\"9\">{}</text>",
            x + 6,
            y + 14,
            h(&label),
            x + 6,
            y + 26,
            h(kind)
        );
    }
    o.push_str("</svg>\n");
    o
}
