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

/// The page's only styling. Tables have fixed column widths and cells break long evidence strings
/// anywhere, so a hostile or merely long value (a URL, a formula, a path) can neither push columns
/// off the page nor squeeze the others. When printed, header rows repeat on every page, rows are
/// not split, the graph shrinks to the page width and severity colours are kept; pages are
/// landscape, as the timeline has eight columns and the graph grows sideways.
/// An identifier of onus's own vocabulary (detector, class, role, rule): may break after a dot or
/// an underscore rather than anywhere.
fn ident(text: &str) -> String {
    h(text).replace('.', ".<wbr>").replace('_', "_<wbr>")
}

/// A timestamp: may break between date and time of day.
fn time(text: &str) -> String {
    h(text).replacen('T', "T<wbr>", 1)
}

/// A hex digest in groups of 16 that break cleanly.
fn digest(text: &str) -> String {
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return h(text);
    }
    text.as_bytes()
        .chunks(16)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("<wbr>")
}

/// Opens a table with fixed column widths (percent of the page), so that no evidence value,
/// however long, can widen a column beyond its share or squeeze the others.
fn table_head(id: &str, columns: &[(&str, u8)]) -> String {
    debug_assert_eq!(columns.iter().map(|(_, w)| u32::from(*w)).sum::<u32>(), 100);
    let mut o = format!("<table id=\"{id}\"><colgroup>");
    for (_, width) in columns {
        let _ = write!(o, "<col style=\"width:{width}%\">");
    }
    o.push_str("</colgroup><thead><tr>");
    for (name, _) in columns {
        let _ = write!(o, "<th>{name}</th>");
    }
    o.push_str("</tr></thead><tbody>\n");
    o
}

/// Event ids, separated so that a list wraps between them; an id breaks after its colon if it
/// must (`1ff351e26bd4888f:L39`).
fn ids(list: &[&str]) -> String {
    list.iter()
        .filter(|id| !id.is_empty())
        .map(|id| format!("<code>{}</code>", h(id).replacen(':', ":<wbr>", 1)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Framework mappings as one line per framework (`OWASP ASI: ASI01, ASI02`).
fn mappings(v: &serde_json::Value) -> String {
    let Some(frameworks) = v.as_object() else {
        return h(&v.to_string());
    };
    let mut lines = Vec::new();
    for (key, refs) in frameworks {
        let name = match key.as_str() {
            "owasp_asi" => "OWASP ASI",
            "owasp_t" => "OWASP T",
            "maestro" => "MAESTRO",
            "nist_ai_rmf" => "NIST AI RMF",
            other => other,
        };
        let refs = match refs {
            serde_json::Value::Array(a) => a
                .iter()
                .map(|r| r.as_str().map_or_else(|| r.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        lines.push(format!("{}: {}", h(name), h(&refs)));
    }
    lines.join("<br>")
}

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:1200px;line-height:1.3}\
table{border-collapse:collapse;table-layout:fixed;width:100%;margin:1em 0;font-size:0.9em}\
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere}\
th{background:#f0f0f0}.critical{color:#fff;background:#a00}.high{background:#f4b6b6}.medium{background:#fde2b3}.low{background:#e6f0ff}\
code{font-size:0.85em}.gap{color:#a00;font-weight:bold}\
svg{border:1px solid #ddd;background:#fafafa;max-width:100%;height:auto}\
@page{size:A4 landscape;margin:12mm}@media print{body{margin:0;max-width:none;font-size:9pt}a{color:inherit}h2{break-after:avoid}\
tr,svg{break-inside:avoid}thead{display:table-header-group}\
td{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

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
    o.push_str(&table_head(
        "accountability",
        &[
            ("task", 7),
            ("primary class", 11),
            ("accountable (at the time)", 14),
            ("secondary", 13),
            ("contributing", 19),
            ("rule", 24),
            ("liability shift point", 12),
        ],
    ));
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
            // The rule that named this class (`R6-weak-credential: …`) tells otherwise identical
            // lines apart.
            let why = s(c, "why");
            let rule = why
                .split_once(": ")
                .map(|(rule, _)| rule)
                .filter(|rule| !rule.contains(char::is_whitespace))
                .map(|rule| format!(" <small>({})</small>", ident(rule)))
                .unwrap_or_default();
            let _ = write!(
                contributing,
                "{} → {}: {}{rule}<br>",
                ident(&s(c, "class")),
                ident(&s(c, "role")),
                if s(c, "owner").is_empty() {
                    "<span class=\"gap\">gap</span>".to_owned()
                } else {
                    h(&s(c, "owner"))
                }
            );
        }
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}: {}</td><td>{}</td><td>{contributing}</td><td>{}<br><small>{}</small></td><td>{}<br>{}</td></tr>",
            h(&s(a, "task")),
            ident(&s(a, "primary_class")),
            ident(&s(a, "primary_role")),
            owner("primary_owner"),
            if s(a, "secondary_role").is_empty() {
                String::new()
            } else {
                format!(
                    "{}: {}",
                    ident(&s(a, "secondary_role")),
                    owner("secondary_owner")
                )
            },
            ident(&s(a, "rule")),
            h(&s(a, "rationale")),
            ids(&[s(a, "shift_event_id").as_str()]),
            time(&s(a, "shift_time"))
        );
    }
    let _ = writeln!(o, "</tbody></table>");
    let _ = writeln!(o, "<h2>Delegation graph</h2>");
    o.push_str(&svg(r));
    let _ = writeln!(o, "<h2>Findings</h2>");
    o.push_str(&table_head(
        "findings",
        &[
            ("severity", 8),
            ("detector", 13),
            ("task", 7),
            ("explanation", 42),
            ("evidence", 16),
            ("mappings", 14),
        ],
    ));
    for f in &r.findings {
        let evidence: Vec<&str> = f.cited.iter().map(String::as_str).collect();
        let _ = writeln!(
            o,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><small>{}</small></td></tr>",
            h(&f.severity),
            h(&f.severity),
            ident(&f.detector),
            h(f.task.as_deref().unwrap_or("")),
            h(&f.explanation),
            ids(&evidence),
            mappings(&f.mappings)
        );
    }
    let _ = writeln!(o, "</tbody></table><h2>Timeline of key events</h2>");
    o.push_str(&table_head(
        "timeline",
        &[
            ("time", 12),
            ("event", 14),
            ("kind", 8),
            ("actor", 15),
            ("action", 12),
            ("target", 18),
            ("outcome", 7),
            ("findings", 14),
        ],
    ));
    for k in &r.timeline {
        let e = &k.event;
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            time(&crate::model::format_time(&e.time)),
            ids(&[e.id.as_str()]),
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
            ident(&k.findings.join(", "))
        );
    }
    let _ = writeln!(o, "</tbody></table><h2>Evidence sources</h2>");
    o.push_str(&table_head(
        "sources",
        &[
            ("path", 36),
            ("format", 7),
            ("SHA-256", 33),
            ("records", 8),
            ("quarantined", 10),
            ("events", 6),
        ],
    ));
    for src in &r.sources {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&src.path),
            h(&src.format),
            digest(&src.sha256),
            src.records_read,
            src.records_quarantined,
            src.events_ingested
        );
    }
    let _ = writeln!(o, "</tbody></table></body></html>");
    o
}

/// Geometry of the graph drawing: principals are boxes in columns, one column per distance from
/// a root; the gap between columns leaves room for the edge labels.
const BOX_W: usize = 200;
const BOX_H: usize = 30;
const COL: usize = 360;
const ROW: usize = 70;
const MARGIN: usize = 40;
/// Longest principal id drawn in a box; the full id is in the box's tooltip.
const LABEL_CHARS: usize = 30;

/// The delegation graph as inline SVG: principals in columns by their distance from a root, one
/// arrow per delegator and delegate, labelled with the kinds of hand-off and how many there were.
/// An arrow that carried any hand-off without constraints is dashed red (drawing each edge on its
/// own would let a constrained edge hide an unconstrained one on the same line).
fn svg(r: &Report) -> String {
    let edges = r.graph.edges(None, None);
    let mut pairs: BTreeMap<(&str, &str), Vec<&crate::graph::Edge>> = BTreeMap::new();
    for e in &edges {
        if e.kind != crate::graph::EdgeKind::CredentialIssue {
            pairs
                .entry((e.from.as_str(), e.to.as_str()))
                .or_default()
                .push(e);
        }
    }
    if pairs.is_empty() {
        return "<p>No delegations in the evidence.</p>\n".to_owned();
    }
    let ids: BTreeSet<&str> = pairs.keys().flat_map(|(from, to)| [*from, *to]).collect();
    let mut depth: BTreeMap<&str, usize> = ids.iter().map(|id| (*id, 0)).collect();
    for _ in 0..ids.len().min(16) {
        for (from, to) in pairs.keys() {
            let d = depth[from] + 1;
            if d > depth[to] && d < 16 {
                depth.insert(to, d);
            }
        }
    }
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut pos: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (id, d) in &depth {
        let row = rows.entry(*d).or_insert(0);
        pos.insert(id, (MARGIN + d * COL, MARGIN + *row * ROW));
        *row += 1;
    }
    let width = 2 * MARGIN + depth.values().max().copied().unwrap_or(0) * COL + BOX_W;
    let height = MARGIN + rows.values().max().copied().unwrap_or(1) * ROW;
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"graph\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-size=\"11\">\n\
<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#555\"/></marker>\
<marker id=\"arrow-open\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#c00\"/></marker></defs>\n"
    );
    for ((from, to), group) in &pairs {
        arrow(&mut o, (from, to), group, pos[from], pos[to]);
    }
    for (id, (x, y)) in &pos {
        let kind = r.graph.principal(id).map_or("unknown", |n| n.kind.as_str());
        let mut label: String = id.chars().take(LABEL_CHARS).collect();
        if id.chars().count() > LABEL_CHARS {
            label.push('…');
        }
        let _ = writeln!(
            o,
            "<g><title>{} ({})</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"4\" fill=\"#fff\" stroke=\"#333\"/><text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" fill=\"#777\" font-size=\"9\">{}</text></g>",
            h(id),
            h(kind),
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

/// One arrow of the graph, from the right side of the delegator's box to the left side of the
/// delegate's, for every edge between the two.
fn arrow(
    o: &mut String,
    (from, to): (&str, &str),
    group: &[&crate::graph::Edge],
    (x1, y1): (usize, usize),
    (x2, y2): (usize, usize),
) {
    let (x1, y1, y2) = (x1 + BOX_W, y1 + BOX_H / 2, y2 + BOX_H / 2);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in group {
        *kinds.entry(e.kind.as_str()).or_default() += 1;
    }
    let kinds = kinds
        .iter()
        .map(|(kind, n)| {
            if *n > 1 {
                format!("{kind} ×{n}")
            } else {
                (*kind).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let open = group.iter().filter(|e| !e.constrained).count();
    let style = if open > 0 {
        "stroke=\"#c00\" stroke-dasharray=\"6 4\" marker-end=\"url(#arrow-open)\""
    } else {
        "stroke=\"#555\" marker-end=\"url(#arrow)\""
    };
    let (mx, my) = (x1.midpoint(x2), y1.midpoint(y2));
    let _ = write!(
        o,
        "<g><title>{} → {} ({})</title><line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" {style} stroke-width=\"1.5\"/>\
<text x=\"{mx}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\" stroke=\"#fafafa\" stroke-width=\"3\" paint-order=\"stroke\">{}",
        h(from),
        h(to),
        h(&kinds),
        my.saturating_sub(if open > 0 { 18 } else { 5 }),
        h(&kinds)
    );
    if open > 0 {
        let _ = write!(
            o,
            "<tspan x=\"{mx}\" dy=\"13\" fill=\"#c00\">{open} without constraints</tspan>"
        );
    }
    o.push_str("</text></g>\n");
}
