//! Recognising an evidence file's format from its content, never from its name.

use std::io::{self, Read};
use std::path::Path;

use serde_json::{Map, Value};

use super::reader::{EvidenceFile, Limits};

/// The log formats onus reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The canonical schema as JSON lines (docs/schema.md).
    Onus,
    /// AWS CloudTrail: `{"Records":[...]}` delivery files or one record per line
    /// (docs/formats/cloudtrail.md).
    CloudTrail,
    /// Kubernetes audit events, `audit.k8s.io` `Event` objects one per line
    /// (docs/formats/k8s-audit.md).
    K8sAudit,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: &'static [Self] = &[Self::Onus, Self::CloudTrail, Self::K8sAudit];

    /// The name used on the command line and in the `sources` table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Onus => "onus",
            Self::CloudTrail => "cloudtrail",
            Self::K8sAudit => "k8s-audit",
        }
    }

    /// Whether a first record (a JSON object) looks like this format.
    fn matches(self, obj: &Map<String, Value>) -> bool {
        let is_str = |k: &str| obj.get(k).is_some_and(Value::is_string);
        match self {
            Self::Onus => is_str("kind") && is_str("time") && is_str("actor"),
            Self::CloudTrail => {
                obj.get("Records").is_some_and(Value::is_array)
                    || (is_str("eventTime")
                        && is_str("eventSource")
                        && is_str("eventName")
                        && obj.get("userIdentity").is_some_and(Value::is_object))
            }
            Self::K8sAudit => {
                let api = obj.get("apiVersion").and_then(Value::as_str);
                obj.get("kind").and_then(Value::as_str) == Some("Event")
                    && is_str("auditID")
                    && (api.is_some_and(|a| a.starts_with("audit.k8s.io/"))
                        || (api.is_none() && is_str("stage") && is_str("verb")))
            }
        }
    }

    /// Parses a format name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(text))
    }
}

/// How much of a file detection looks at.
const SNIFF_BYTES: u64 = 1 << 20;

/// Looks at the start of the file and names its format, or says why it cannot.
pub(super) fn detect(path: &Path, limits: &Limits) -> io::Result<Result<Format, String>> {
    let file = EvidenceFile::open(path, limits)?;
    let mut head = Vec::new();
    file.reader.take(SNIFF_BYTES).read_to_end(&mut head)?;
    Ok(detect_bytes(&head))
}

fn detect_bytes(head: &[u8]) -> Result<Format, String> {
    let first = head
        .split(|b| *b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|l| !l.is_empty());
    let Some(first) = first else {
        return Err("the file is empty".to_owned());
    };
    if !first.starts_with(b"{") {
        return Err("not JSON: the first record does not start with `{`".to_owned());
    }
    match serde_json::from_slice::<Map<String, Value>>(first) {
        Ok(obj) => {
            let found: Vec<Format> = Format::ALL
                .iter()
                .copied()
                .filter(|f| f.matches(&obj))
                .collect();
            match found.as_slice() {
                [one] => Ok(*one),
                [] => {
                    let keys: Vec<&str> = obj.keys().take(8).map(String::as_str).collect();
                    Err(format!(
                        "unrecognised JSON: the first record has keys [{}], which match no known format (use --format to force one)",
                        keys.join(", ")
                    ))
                }
                many => {
                    let names: Vec<&str> = many.iter().map(|f| f.as_str()).collect();
                    Err(format!(
                        "ambiguous: the first record fits several formats ({}); use --format to choose",
                        names.join(", ")
                    ))
                }
            }
        }
        // A CloudTrail delivery file too long for the sniff window, or pretty-printed over
        // many lines: recognised by how the document opens.
        Err(_) if super::cloudtrail::opens_records(head) => Ok(Format::CloudTrail),
        Err(e) if e.is_eof() => Err(
            "unrecognised: the first record is not complete JSON on one line within the first MiB (use --format to force one)".to_owned(),
        ),
        Err(e) => Err(format!(
            "unrecognised: the first record is not valid JSON ({e}); use --format to force one"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_lines_are_recognised() {
        let line = br#"{"time":"2026-03-04T10:00:00Z","kind":"auth","actor":"a"}"#;
        assert_eq!(detect_bytes(line), Ok(Format::Onus));
    }

    #[test]
    fn other_content_is_reported_not_guessed() {
        assert!(detect_bytes(b"").expect_err("empty").contains("empty"));
        assert!(
            detect_bytes(b"<html>")
                .expect_err("html")
                .contains("not JSON")
        );
        let err = detect_bytes(br#"{"records":[]}"#).expect_err("other json");
        assert!(err.contains("records"), "{err}");
        let err = detect_bytes(br#"{"kind": 0}"#).expect_err("not an audit event");
        assert!(err.contains("unrecognised"), "{err}");
    }

    #[test]
    fn cloudtrail_shapes_are_recognised() {
        assert_eq!(detect_bytes(br#"{"Records":[]}"#), Ok(Format::CloudTrail));
        // Cut by the sniff window, or spread over lines: the opening decides.
        assert_eq!(
            detect_bytes(b"{\n  \"Records\" : [\n    {\"eventVersion\": \"1.08\",\n"),
            Ok(Format::CloudTrail)
        );
        assert_eq!(
            detect_bytes(br#"{"Records":[{"eventTime":"2023-07-10T11:42:18Z""#),
            Ok(Format::CloudTrail)
        );
        let line = br#"{"eventTime":"2023-07-10T11:42:18Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"IAMUser"}}"#;
        assert_eq!(detect_bytes(line), Ok(Format::CloudTrail));
    }

    #[test]
    fn kubernetes_audit_events_are_recognised() {
        let v1 = br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get"}"#;
        assert_eq!(detect_bytes(v1), Ok(Format::K8sAudit));
        // Old captures carry no apiVersion.
        let old = br#"{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"get"}"#;
        assert_eq!(detect_bytes(old), Ok(Format::K8sAudit));
        let other = br#"{"kind":"Event","apiVersion":"v1","reason":"Pulled"}"#;
        assert!(detect_bytes(other).is_err());
    }

    #[test]
    fn a_record_fitting_two_formats_is_refused() {
        let both = br#"{"kind":"Event","time":"2026-03-04T10:00:00Z","actor":"a","apiVersion":"audit.k8s.io/v1","auditID":"x"}"#;
        let err = detect_bytes(both).expect_err("ambiguous");
        assert!(err.contains("ambiguous"), "{err}");
    }
}
