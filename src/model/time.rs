//! Evidence timestamps: UTC, microsecond precision, RFC 3339 with an explicit offset.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};

/// A point in time as onus stores it: UTC, microseconds.
pub type Timestamp = DateTime<Utc>;

/// Earliest year accepted in evidence; anything before is treated as a broken clock.
const MIN_YEAR: i32 = 1970;
/// Latest year accepted in evidence.
const MAX_YEAR: i32 = 2200;

/// Parses an RFC 3339 timestamp that carries an offset (`Z` or `+01:00`) and converts it to UTC,
/// truncated to microseconds.
///
/// A time without offset is refused rather than guessed, and so is a year outside 1970–2200.
///
/// # Examples
/// ```
/// let t = onus::model::parse_time("2026-03-04T11:15:02.1234567+01:00").unwrap();
/// assert_eq!(onus::model::format_time(&t), "2026-03-04T10:15:02.123456Z");
/// ```
pub fn parse_time(text: &str) -> Result<Timestamp, TimeError> {
    let trimmed = text.trim();
    let parsed = DateTime::parse_from_rfc3339(trimmed).map_err(|e| TimeError::NotRfc3339 {
        text: clip(trimmed),
        reason: e.to_string(),
    })?;
    let utc = parsed.with_timezone(&Utc);
    let year = utc.year();
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(TimeError::Implausible {
            text: clip(trimmed),
        });
    }
    truncate_to_micros(utc).ok_or_else(|| TimeError::Unrepresentable {
        text: clip(trimmed),
    })
}

/// Why a time could not be read. The text is quoted (cut to 64 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("`{text}` is not an RFC 3339 time with offset ({reason})")]
    NotRfc3339 { text: String, reason: String },
    #[error("`{text}` is outside the plausible years {MIN_YEAR}-{MAX_YEAR}")]
    Implausible { text: String },
    #[error("`{text}` cannot be represented")]
    Unrepresentable { text: String },
}

/// Formats a timestamp the way onus prints and exports it: RFC 3339, UTC, microseconds.
pub fn format_time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn truncate_to_micros(t: Timestamp) -> Option<Timestamp> {
    DateTime::from_timestamp_micros(t.timestamp_micros())
}

fn clip(text: &str) -> String {
    const LIMIT: usize = 64;
    if text.chars().count() <= LIMIT {
        text.to_owned()
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_offsets_to_utc_and_keeps_microseconds() {
        let t = parse_time("2026-03-04T11:15:02.123456789+01:00").expect("valid");
        assert_eq!(format_time(&t), "2026-03-04T10:15:02.123456Z");
    }

    #[test]
    fn refuses_times_without_offset() {
        let err = parse_time("2026-03-04T10:15:02").expect_err("no offset");
        assert!(matches!(err, TimeError::NotRfc3339 { .. }), "{err}");
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }

    #[test]
    fn refuses_implausible_years() {
        assert!(matches!(
            parse_time("1969-12-31T23:59:59Z"),
            Err(TimeError::Implausible { .. })
        ));
        assert!(parse_time("2999-01-01T00:00:00Z").is_err());
        assert!(parse_time("1970-01-01T00:00:00Z").is_ok());
    }

    #[test]
    fn refuses_impossible_dates() {
        assert!(parse_time("2026-02-30T00:00:00Z").is_err());
        assert!(parse_time("2026-13-01T00:00:00Z").is_err());
    }
}

/// A span of seconds as a person reads it: `30 min 15 s`, `2 h 5 min`, `3 d 4 h`, `1.5 s`,
/// `250 ms`; the two largest units, rounded down to whole seconds above a minute.
///
/// # Examples
/// ```
/// assert_eq!(onus::model::human_duration(1814.838907), "30 min 14 s");
/// assert_eq!(onus::model::human_duration(0.25), "250 ms");
/// assert_eq!(onus::model::human_duration(7_500.0), "2 h 5 min");
/// ```
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return format!("{seconds} s");
    }
    if seconds < 1.0 {
        return format!("{} ms", (seconds * 1000.0).round() as u64);
    }
    if seconds < 60.0 {
        let tenths = (seconds * 10.0).round() / 10.0;
        return if tenths.fract() == 0.0 {
            format!("{tenths:.0} s")
        } else {
            format!("{tenths:.1} s")
        };
    }
    let total = seconds as u64;
    let units = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = total;
    for (size, name) in units {
        if rest >= size || !parts.is_empty() {
            let n = rest / size;
            rest %= size;
            if n > 0 {
                parts.push(format!("{n} {name}"));
            }
            if parts.len() == 2 || (!parts.is_empty() && n == 0) {
                break;
            }
        }
    }
    parts.join(" ")
}

/// Parses a duration written `90s`, `15m`, `1h`, `7d` (or a bare number of seconds) into seconds.
///
/// # Examples
/// ```
/// assert_eq!(onus::model::parse_duration("15m"), Ok(900));
/// ```
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits.parse().map_err(|_| {
        format!(
            "`{}` is not a duration such as 90s, 15m, 1h or 7d",
            clip(text)
        )
    })?;
    let factor = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{}` has an unknown unit (use s, m, h or d)",
                clip(text)
            ));
        }
    };
    value
        .checked_mul(factor)
        .ok_or_else(|| format!("`{}` is too long", clip(text)))
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("30"), Ok(30));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
