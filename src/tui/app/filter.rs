//! The filter as one line of text: `key:value` words and free text, so a filter can be typed,
//! shown in the status line and edited again.
//!
//! Keys: `task`, `actor`, `kind`, `outcome`, `severity` (critical, high, medium, low, info: that
//! severity or worse), `since`, `until` (RFC 3339, or `2026-03-04 10:15`, `2026-03-04T10:15`,
//! `2026-03-04`, taken as UTC). A value runs to the next space; only the first `:` separates
//! key and value (`actor:agent:payments`). Every other word is free text.

use chrono::{NaiveDate, NaiveDateTime};

use crate::model::{Timestamp, format_time, parse_time};
use crate::store::EventFilter;

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// Reads a filter line.
pub fn parse_filter(text: &str) -> Result<EventFilter, String> {
    let mut filter = EventFilter::default();
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        let Some((key, value)) = word.split_once(':') else {
            words.push(word);
            continue;
        };
        if value.is_empty() {
            return Err(format!("`{key}:` needs a value"));
        }
        match key {
            "task" => filter.task = Some(value.to_owned()),
            "actor" => filter.actor = Some(value.to_owned()),
            "kind" => filter.kind = Some(value.to_owned()),
            "outcome" => filter.outcome = Some(value.to_owned()),
            "severity" => {
                let rank = SEVERITIES
                    .iter()
                    .position(|s| s.eq_ignore_ascii_case(value))
                    .ok_or_else(|| {
                        format!("unknown severity `{value}` (use {})", SEVERITIES.join(", "))
                    })?;
                filter.min_severity = Some(rank as i32);
            }
            "since" => filter.since = Some(typed_time(value)?),
            "until" => filter.until = Some(typed_time(value)?),
            _ => words.push(word),
        }
    }
    if let (Some(s), Some(u)) = (filter.since, filter.until)
        && u <= s
    {
        return Err("until must be after since".to_owned());
    }
    if !words.is_empty() {
        filter.text = Some(words.join(" "));
    }
    Ok(filter)
}

/// Writes a filter as the line [`parse_filter`] reads back.
pub fn format_filter(filter: &EventFilter) -> String {
    let mut parts = Vec::new();
    for (key, value) in [
        ("task", &filter.task),
        ("actor", &filter.actor),
        ("kind", &filter.kind),
        ("outcome", &filter.outcome),
    ] {
        if let Some(v) = value {
            parts.push(format!("{key}:{v}"));
        }
    }
    if let Some(rank) = filter.min_severity {
        let name = usize::try_from(rank)
            .ok()
            .and_then(|r| SEVERITIES.get(r))
            .unwrap_or(&"info");
        parts.push(format!("severity:{name}"));
    }
    if let Some(t) = filter.since {
        parts.push(format!("since:{}", format_time(&t)));
    }
    if let Some(t) = filter.until {
        parts.push(format!("until:{}", format_time(&t)));
    }
    if let Some(text) = &filter.text {
        parts.push(text.clone());
    }
    parts.join(" ")
}

fn typed_time(text: &str) -> Result<Timestamp, String> {
    if let Ok(t) = parse_time(text) {
        return Ok(t);
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Ok(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("`{text}` is not a time (use 2026-03-04T10:15:00Z or 2026-03-04)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_through_text() {
        let f = parse_filter("task:T-1042 actor:agent:payments severity:high refund 4800")
            .expect("filter");
        assert_eq!(f.task.as_deref(), Some("T-1042"));
        assert_eq!(f.actor.as_deref(), Some("agent:payments"));
        assert_eq!(f.min_severity, Some(3));
        assert_eq!(f.text.as_deref(), Some("refund 4800"));
        assert_eq!(parse_filter(&format_filter(&f)).expect("again"), f);
        let t = parse_filter("since:2026-03-04 until:2026-03-04T10:15").expect("times");
        assert_eq!(
            format_filter(&t),
            "since:2026-03-04T00:00:00.000000Z until:2026-03-04T10:15:00.000000Z"
        );
        assert!(parse_filter("").expect("empty").is_empty());
    }

    #[test]
    fn bad_filters_say_why() {
        assert!(parse_filter("severity:urgent").is_err());
        assert!(parse_filter("since:yesterday").is_err());
        assert!(parse_filter("task:").is_err());
        assert!(parse_filter("since:2026-03-05 until:2026-03-04").is_err());
    }
}
