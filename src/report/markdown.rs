//! The Markdown report, for the incident ticket. Evidence text is escaped so that it cannot
//! break a table, start a link or an image, or carry control characters.

use std::fmt::Write as _;

use super::Report;
use crate::text::for_terminal;

/// Escapes text for a Markdown table cell or paragraph: control characters made visible, line
/// breaks flattened, and every character Markdown or HTML would interpret backslash-escaped.
pub fn md(text: &str) -> String {
    let safe = for_terminal(text);
    let mut out = String::with_capacity(safe.len() + 8);
    for ch in safe.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '<' | '>' | '~' | '=' => {
                out.push('\\');
                out.push(ch);
            }
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

fn owner(v: &serde_json::Value, key: &str) -> String {
    let o = s(v, key);
    if o.is_empty() {
        "**not on record (gap)**".to_owned()
    } else {
        md(&o)
    }
}

#[allow(clippy::too_many_lines, reason = "the document, section by section")]
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", md(&r.title));
    let _ = writeln!(
        o,
        "onus {} · rules: {} · report schema {}{}\n",
        md(r.tool_version),
        md(&r.rules_version),
        r.schema_version,
        r.generated_at
            .as_deref()
            .map(|g| format!(" · generated {}", md(g)))
            .unwrap_or_default()
    );
    let sm = &r.summary;
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(
        o,
        "- {} events from {} sources ({} records quarantined)\n- {} findings: {} critical, {} high, {} medium, {} low, {} info\n- {} task(s) drifted; {} accountability record(s)\n",
        sm.events,
        r.sources.len(),
        sm.quarantined,
        sm.findings,
        sm.critical,
        sm.high,
        sm.medium,
        sm.low,
        sm.info,
        sm.tasks_with_drift,
        r.accountability.len()
    );
    let _ = writeln!(o, "## Accountability\n");
    if r.accountability.is_empty() {
        let _ = writeln!(o, "No task has findings.\n");
    } else {
        let _ = writeln!(
            o,
            "| task | primary failure class | accountable (at the time) | secondary | rule | liability shift point |\n|---|---|---|---|---|---|"
        );
        for a in &r.accountability {
            let _ = writeln!(
                o,
                "| {} | {} | {}: {} | {} | {} | {} at {} |",
                md(&s(a, "task")),
                md(&s(a, "primary_class")),
                md(&s(a, "primary_role")),
                owner(a, "primary_owner"),
                if s(a, "secondary_role").is_empty() {
                    String::new()
                } else {
                    format!(
                        "{}: {}",
                        md(&s(a, "secondary_role")),
                        owner(a, "secondary_owner")
                    )
                },
                md(&s(a, "rule")),
                md(&s(a, "shift_event_id")),
                md(&s(a, "shift_time"))
            );
        }
        let _ = writeln!(o);
        for a in &r.accountability {
            let _ = writeln!(
                o,
                "### Task {}\n\n{}\n",
                md(&s(a, "task")),
                md(&s(a, "rationale"))
            );
            if !s(a, "drift_event_id").is_empty() {
                let _ = writeln!(
                    o,
                    "- **Drift point**: {} ({}) at {}\n- **Cause**: {}\n- **Containment**: {} action(s) over {} after the drift point; stopped by {}",
                    md(&s(a, "drift_event_id")),
                    md(&s(a, "drift_kind")),
                    md(&s(a, "drift_time")),
                    if s(a, "cause_event_id").is_empty() {
                        "no untrusted input before it".to_owned()
                    } else {
                        md(&s(a, "cause_event_id"))
                    },
                    md(&s(a, "actions_after")),
                    md(&a
                        .get("seconds_after")
                        .and_then(serde_json::Value::as_f64)
                        .map_or_else(|| s(a, "seconds_after"), crate::model::human_duration)),
                    if s(a, "stopped_by").is_empty() {
                        "nothing".to_owned()
                    } else {
                        md(&s(a, "stopped_by"))
                    }
                );
                for p in a
                    .get("provenance")
                    .and_then(|p| p.as_array())
                    .into_iter()
                    .flatten()
                {
                    let whence = if p.get("instruction").and_then(serde_json::Value::as_bool)
                        == Some(true)
                    {
                        format!(
                            "sat inside the instructions (score {:.1}) of",
                            p.get("score")
                                .and_then(serde_json::Value::as_f64)
                                .unwrap_or(0.0)
                        )
                    } else {
                        "was data carried by".to_owned()
                    };
                    let _ = writeln!(
                        o,
                        "- **Argument provenance**: `{}` = {} {whence} {}",
                        md(&s(p, "argument")),
                        md(&s(p, "value")),
                        md(&s(p, "event_id"))
                    );
                }
            }
            for c in a
                .get("contributing")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                let _ = writeln!(
                    o,
                    "- **Contributing** {} → {}: {} — {}",
                    md(&s(c, "class")),
                    md(&s(c, "role")),
                    owner(c, "owner"),
                    md(&s(c, "why"))
                );
            }
            for g in a
                .get("gaps")
                .and_then(|g| g.as_array())
                .into_iter()
                .flatten()
            {
                let _ = writeln!(o, "- **Gap**: {}", md(g.as_str().unwrap_or("")));
            }
            let _ = writeln!(o);
        }
    }
    let _ = writeln!(o, "## Delegation chains\n");
    if r.chains.is_empty() {
        let _ = writeln!(o, "No drift point, so no chain to show.\n");
    }
    for c in &r.chains {
        let _ = writeln!(
            o,
            "- Task {}: {} (workflow owner {})",
            md(&c.task),
            md(&c.path),
            c.workflow_owner
                .as_deref()
                .map_or_else(|| "not on record".to_owned(), md)
        );
        for h in &c.hops {
            let _ = writeln!(
                o,
                "  - {} → {} ({}), effective authority {}",
                md(&h.from),
                md(&h.to),
                md(h.kind.as_str()),
                md(&h.effective.to_string())
            );
        }
    }
    let _ = writeln!(o, "\n## Findings\n");
    let _ = writeln!(
        o,
        "| severity | detector | task | principal | time | explanation | evidence | OWASP ASI | MAESTRO | NIST AI RMF |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for f in &r.findings {
        let list = |key: &str| {
            f.mappings
                .get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        let evidence: Vec<&str> = f.cited.iter().map(String::as_str).collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&f.severity),
            md(&f.detector),
            md(f.task.as_deref().unwrap_or("")),
            md(f.principal.as_deref().unwrap_or("")),
            md(&f.time),
            md(&f.explanation),
            md(&evidence.join(", ")),
            md(&list("owasp_asi")),
            md(&list("maestro")),
            md(&list("nist_ai_rmf"))
        );
    }
    let _ = writeln!(o, "\n## Timeline of key events\n");
    let _ = writeln!(
        o,
        "| time | event | kind | actor | action | target | outcome | findings |\n|---|---|---|---|---|---|---|---|"
    );
    for k in &r.timeline {
        let e = &k.event;
        let _ = writeln!(
            o,
            "| {} | {}{} | {} | {} | {} | {} | {} | {} |",
            md(&crate::model::format_time(&e.time)),
            md(&e.id),
            if k.drift_point {
                " **(drift point)**"
            } else {
                ""
            },
            md(&e.kind),
            md(&e.actor),
            md(e.action.as_deref().unwrap_or("")),
            md(e.destination
                .as_deref()
                .or(e.resource.as_deref())
                .unwrap_or("")),
            md(&e.outcome),
            md(&k.findings.join(", "))
        );
    }
    let _ = writeln!(o, "\n## Evidence sources\n");
    let _ = writeln!(
        o,
        "| path | format | SHA-256 | bytes | records | quarantined | events |\n|---|---|---|---|---|---|---|"
    );
    for src in &r.sources {
        let _ = writeln!(
            o,
            "| {} | {} | `{}` | {} | {} | {} | {} |",
            md(&src.path),
            md(&src.format),
            md(&src.sha256),
            src.size_bytes,
            src.records_read,
            src.records_quarantined,
            src.events_ingested
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::md;

    #[test]
    fn evidence_cannot_break_tables_links_or_images() {
        let hostile = "a|b\n![x](http://evil/p.png) [link](http://evil) <script>alert(1)</script> =HYPERLINK(\"x\")";
        let out = md(hostile);
        assert!(!out.contains('\n'));
        assert!(!out.contains("]("), "{out}");
        let raw_angle = out
            .char_indices()
            .any(|(i, c)| c == '<' && !out[..i].ends_with('\\'));
        assert!(!raw_angle, "{out}");
        assert_eq!(out.matches('|').count(), out.matches("\\|").count());
    }
}
