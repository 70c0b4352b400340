//! The timestamp shapes CloudTrail uses: ISO 8601 extended (`eventTime`, newer
//! `creationDate`), ISO 8601 basic (`20131102T010628Z`, older `creationDate`) and the
//! English, locale-style `expiration` of STS credentials (`Oct 2, 2019 11:12:29 PM`, also seen
//! with a comma after the year). All are UTC.

use chrono::NaiveDateTime;

use crate::model::{Timestamp, format_time, parse_time};

/// The `strftime` patterns tried after RFC 3339, in order.
const PATTERNS: &[&str] = &[
    "%Y%m%dT%H%M%SZ",
    "%b %d, %Y, %I:%M:%S %p",
    "%b %d, %Y %I:%M:%S %p",
];

/// Parses any of the three shapes into UTC, with the same plausibility checks as native times.
pub(super) fn parse_aws_time(text: &str) -> Result<Timestamp, String> {
    let trimmed = text.trim();
    let rfc = match parse_time(trimmed) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    for pattern in PATTERNS {
        if let Ok(naive) = NaiveDateTime::parse_from_str(trimmed, pattern) {
            // Round-trip through the native parser so the year bounds apply here too.
            return parse_time(&format_time(&naive.and_utc())).map_err(|e| e.to_string());
        }
    }
    Err(format!(
        "{rfc}; nor is it a CloudTrail basic (20230710T115447Z) or expiration (Jul 10, 2023, 12:09:47 PM) time"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn same(text: &str, expected: &str) {
        let t = parse_aws_time(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(format_time(&t), expected);
    }

    #[test]
    fn the_three_shapes_parse_to_utc() {
        same("2023-07-10T11:54:47Z", "2023-07-10T11:54:47.000000Z");
        same("20131102T010628Z", "2013-11-02T01:06:28.000000Z");
        same("Oct 2, 2019 11:12:29 PM", "2019-10-02T23:12:29.000000Z");
        same("Jul 10, 2023, 12:09:47 PM", "2023-07-10T12:09:47.000000Z");
        same("Jul 10, 2023, 12:09:47 AM", "2023-07-10T00:09:47.000000Z");
    }

    #[test]
    fn other_text_is_refused_with_the_shapes_named() {
        let err = parse_aws_time("yesterday").expect_err("not a time");
        assert!(err.contains("basic"), "{err}");
        assert!(parse_aws_time("20990230T000000Z").is_err());
        assert!(parse_aws_time("Jan 1, 1960 1:00:00 AM").is_err());
    }
}
