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
    /// OTLP/JSON trace export requests with GenAI attributes (docs/formats/otlp.md).
    Otlp,
    /// MCP JSON-RPC message logs (docs/formats/mcp.md).
    Mcp,
    /// Agent chat transcripts, "messages with tool calls" (docs/formats/chat.md).
    Chat,
    /// AWS CloudTrail: `{"Records":[...]}` delivery files or one record per line
    /// (docs/formats/cloudtrail.md).
    CloudTrail,
    /// Kubernetes audit events, `audit.k8s.io` `Event` objects one per line
    /// (docs/formats/k8s-audit.md).
    K8sAudit,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: &'static [Self] = &[
        Self::Onus,
        Self::CloudTrail,
        Self::K8sAudit,
        Self::Otlp,
        Self::Mcp,
        Self::Chat,
    ];

    /// The name used on the command line and in the `sources` table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Onus => "onus",
            Self::Otlp => "otlp",
            Self::Mcp => "mcp",
            Self::Chat => "chat",
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
            // The agent formats are recognised by the `agent` module below.
            Self::Otlp | Self::Mcp | Self::Chat => false,
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
    detect_in(EvidenceFile::open(path, limits)?)
}

/// Like [`detect`], for evidence already open (a file or bytes in memory).
pub(super) fn detect_in(file: EvidenceFile) -> io::Result<Result<Format, String>> {
    let mut head = Vec::new();
    // A stream that breaks off early (a gzip file cut short) is recognised from what could be
    // read, as the loader keeps those records and quarantines the rest; only a stream that gives
    // nothing, or inflates past the limit, makes the file unreadable.
    if let Err(e) = file.reader.take(SNIFF_BYTES).read_to_end(&mut head)
        && (head.is_empty() || e.kind() == io::ErrorKind::FileTooLarge)
    {
        return Err(e);
    }
    Ok(detect_bytes(&head))
}

fn detect_bytes(head: &[u8]) -> Result<Format, String> {
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return Err("the file is empty".to_owned());
    };
    if let Some(format) = after_a_bad_first_line(first, lines.clone(), head) {
        return format;
    }
    if !first.starts_with(b"{") && !first.starts_with(b"[") {
        return Err("not JSON: the first record does not start with `{`".to_owned());
    }
    match serde_json::from_slice::<serde_json::Value>(first) {
        Ok(value) => {
            let second = lines
                .next()
                .and_then(|l| serde_json::from_slice::<serde_json::Value>(l).ok());
            classify(&value, second.as_ref())
        }
        // A CloudTrail delivery file too long for the sniff window, or pretty-printed over
        // many lines: recognised by how the document opens.
        Err(_) if super::cloudtrail::opens_records(head) => Ok(Format::CloudTrail),
        // Not complete on its first line: a pretty-printed document.
        Err(e) if e.is_eof() => agent::detect_document(head).unwrap_or_else(|| {
            Err("unrecognised: the first record is not complete JSON on one line within the first MiB (use --format to force one)".to_owned())
        }),
        Err(e) => Err(format!(
            "unrecognised: the first record is not valid JSON ({e}); use --format to force one"
        )),
    }
}

/// A first line that is not a record (cut short, not valid JSON, not JSON at all) followed by
/// lines that are: JSON lines whose first record was torn (a log rotated or copied mid-write).
/// The file is named by its first good record, so that the bad one costs one record, not the
/// file. `None` when the first line is fine, or when what follows is not JSON lines either (a
/// pretty-printed document, a CSV file): then the first line decides as usual.
fn after_a_bad_first_line<'h>(
    first: &[u8],
    mut rest: impl Iterator<Item = &'h [u8]>,
    head: &[u8],
) -> Option<Result<Format, String>> {
    let parsed = serde_json::from_slice::<serde::de::IgnoredAny>(first);
    if parsed.is_ok() || super::cloudtrail::opens_records(head) {
        return None;
    }
    let second = rest.next()?;
    let value = serde_json::from_slice::<Value>(second)
        .ok()
        .filter(|v| v.is_object() || v.is_array())?;
    let opens = matches!(first.first(), Some(b'{' | b'['));
    let cut = parsed.is_err_and(|e| e.is_eof());
    if opens && cut && !super::frame::torn_first_line(first, second) {
        return None;
    }
    let third = rest
        .next()
        .and_then(|l| serde_json::from_slice::<Value>(l).ok());
    Some(classify(&value, third.as_ref()))
}

/// Names the format of the first record, or says why none (or more than one) matches.
fn classify(
    first: &serde_json::Value,
    second: Option<&serde_json::Value>,
) -> Result<Format, String> {
    let mut matches = Vec::new();
    if let serde_json::Value::Object(obj) = first {
        let is_str = |k: &str| obj.get(k).is_some_and(serde_json::Value::is_string);
        if is_str("kind") && is_str("time") && is_str("actor") {
            matches.push(Format::Onus);
        }
        for f in [Format::CloudTrail, Format::K8sAudit] {
            if f.matches(obj) {
                matches.push(f);
            }
        }
    }
    matches.extend(agent::classify_value(first, second));
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => {
            let keys: Vec<&str> = first
                .as_object()
                .map(|o| o.keys().take(8).map(String::as_str).collect())
                .unwrap_or_default();
            Err(format!(
                "unrecognised JSON: the first record has keys [{}], which match no known format (use --format to force one)",
                keys.join(", ")
            ))
        }
        many => {
            let names: Vec<&str> = many.iter().map(|f| f.as_str()).collect();
            Err(format!(
                "ambiguous: the first record looks like {} (use --format to choose)",
                names.join(" and ")
            ))
        }
    }
}

/// Detection of the agent-trace formats (OTLP, MCP, chat), kept apart from the others.
mod agent {
    use serde_json::{Map, Value};

    use super::Format;

    fn is_chat_message(v: &Value) -> bool {
        let Some(obj) = v.as_object() else {
            return false;
        };
        let role = obj.get("role").and_then(Value::as_str);
        let has_body = ["content", "tool_calls", "function_call", "tool_call_id"]
            .iter()
            .any(|k| obj.contains_key(*k));
        if role.is_some() && has_body {
            return true;
        }
        // A wrapped message line (`{"type": "user", "message": {"role": ...}}`).
        obj.get("message").is_some_and(is_chat_message)
    }

    fn is_jsonrpc(v: &Value) -> bool {
        match v {
            Value::Object(obj) => {
                obj.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
                    || ["message", "payload", "data"]
                        .iter()
                        .any(|k| obj.get(*k).is_some_and(is_jsonrpc))
            }
            Value::Array(items) => items.first().is_some_and(is_jsonrpc),
            _ => false,
        }
    }

    const ENVELOPE_KEYS: &[&str] = &["task", "agent", "session", "started_at", "user"];

    fn is_envelope_header(obj: &Map<String, Value>) -> bool {
        !obj.is_empty()
            && obj
                .keys()
                .all(|k| ENVELOPE_KEYS.contains(&k.as_str()) || k == "messages" || k == "system")
    }

    /// The agent formats a parsed first record (and the record after it) match.
    pub(super) fn classify_value(first: &Value, second: Option<&Value>) -> Vec<Format> {
        let mut out = Vec::new();
        match first {
            Value::Object(obj) => {
                if obj.get("resourceSpans").is_some_and(Value::is_array) {
                    out.push(Format::Otlp);
                }
                if is_jsonrpc(first) {
                    out.push(Format::Mcp);
                }
                let messages = obj.get("messages").and_then(Value::as_array);
                let header_then_message =
                    is_envelope_header(obj) && second.is_some_and(is_chat_message);
                if is_chat_message(first)
                    || messages.is_some_and(|m| m.first().is_none_or(is_chat_message))
                    || header_then_message
                {
                    out.push(Format::Chat);
                }
            }
            Value::Array(items) => {
                if items.first().is_some_and(is_chat_message) {
                    out.push(Format::Chat);
                }
                if is_jsonrpc(first) {
                    out.push(Format::Mcp);
                }
            }
            _ => {}
        }
        out
    }

    /// A document spread over lines: parsed whole when it fits in the sniffed head, else named
    /// by its top-level keys. `None` when nothing agent-like is seen.
    pub(super) fn detect_document(head: &[u8]) -> Option<Result<Format, String>> {
        if let Ok(value) = serde_json::from_slice::<Value>(head) {
            return match classify_value(&value, None).as_slice() {
                [one] => Some(Ok(*one)),
                _ => None,
            };
        }
        let keys = top_level_keys(head);
        let has = |k: &str| keys.iter().any(|x| x == k);
        match (has("resourceSpans"), has("messages")) {
            (true, false) => Some(Ok(Format::Otlp)),
            (false, true) => Some(Ok(Format::Chat)),
            _ => None,
        }
    }

    /// The keys of the outermost object seen in `head` (strings and nesting respected).
    fn top_level_keys(head: &[u8]) -> Vec<String> {
        let mut keys = Vec::new();
        let mut depth = 0usize;
        let mut i = 0;
        while i < head.len() {
            match head[i] {
                b'"' => {
                    let start = i + 1;
                    i += 1;
                    while i < head.len() && head[i] != b'"' {
                        i += if head[i] == b'\\' { 2 } else { 1 };
                    }
                    let after = head[(i + 1).min(head.len())..].trim_ascii_start();
                    if depth == 1 && after.first() == Some(&b':') {
                        let end = i.min(head.len());
                        keys.push(String::from_utf8_lossy(&head[start..end]).into_owned());
                    }
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            i += 1;
        }
        keys
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

    #[test]
    fn agent_formats_are_recognised_by_content() {
        let otlp = br#"{"resourceSpans":[{"scopeSpans":[]}]}"#;
        assert_eq!(detect_bytes(otlp), Ok(Format::Otlp));
        let pretty = b"{\n  \"resourceSpans\": [\n    {\"scopeSpans\": [";
        assert_eq!(detect_bytes(pretty), Ok(Format::Otlp));
        let mcp = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
        assert_eq!(detect_bytes(mcp), Ok(Format::Mcp));
        let wrapped =
            br#"{"timestamp":"2026-03-04T10:00:00Z","message":{"jsonrpc":"2.0","method":"ping"}}"#;
        assert_eq!(detect_bytes(wrapped), Ok(Format::Mcp));
        let chat = br#"{"role":"user","content":"hi"}"#;
        assert_eq!(detect_bytes(chat), Ok(Format::Chat));
        let header = b"{\"task\":\"T-1\",\"agent\":\"a\"}\n{\"role\":\"user\",\"content\":\"hi\"}";
        assert_eq!(detect_bytes(header), Ok(Format::Chat));
        let doc = b"[\n  {\"role\": \"system\", \"content\": \"be brief\"}\n]";
        assert_eq!(detect_bytes(doc), Ok(Format::Chat));
    }

    #[test]
    fn a_gzip_file_cut_short_is_detected_from_what_inflates() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for n in 0..200 {
            writeln!(
                gz,
                r#"{{"time":"2026-03-04T10:00:00Z","kind":"auth","actor":"a{n}"}}"#
            )
            .expect("gzip");
        }
        let whole = gz.finish().expect("gzip");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cut.jsonl.gz");
        std::fs::write(&path, &whole[..whole.len() / 2]).expect("write");
        let got = detect(&path, &Limits::default()).expect("readable in part");
        assert_eq!(got, Ok(Format::Onus));
        std::fs::write(&path, &whole[..5]).expect("write");
        assert!(
            detect(&path, &Limits::default()).is_err(),
            "nothing inflates"
        );
    }

    #[test]
    fn look_alikes_are_refused_or_called_ambiguous() {
        // CloudTrail's shape belongs to the CloudTrail adapter, never to the agent formats.
        let records = b"{\n  \"Records\": [\n    {\"eventName\": \"GetObject\"";
        assert_eq!(detect_bytes(records), Ok(Format::CloudTrail));
        assert_eq!(
            detect_bytes(br#"{"Records":[{"eventName":"GetObject"}]}"#),
            Ok(Format::CloudTrail)
        );
        let both = br#"{"jsonrpc":"2.0","role":"user","content":"x","method":"m"}"#;
        let err = detect_bytes(both).expect_err("ambiguous");
        assert!(err.contains("ambiguous"), "{err}");
        // A header line alone says nothing about what follows.
        assert!(detect_bytes(br#"{"task":"T-1"}"#).is_err());
    }
}
