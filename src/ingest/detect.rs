//! Recognising an evidence file's format from its content, never from its name.

use std::io::{self, Read};
use std::path::Path;

use super::reader::{EvidenceFile, Limits};

/// The log formats onus reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The canonical schema as JSON lines (docs/schema.md).
    Onus,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: &'static [Self] = &[Self::Onus];

    /// The name used on the command line and in the `sources` table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Onus => "onus",
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
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(first) {
        Ok(obj) => {
            let is_str = |k: &str| obj.get(k).is_some_and(serde_json::Value::is_string);
            if is_str("kind") && is_str("time") && is_str("actor") {
                Ok(Format::Onus)
            } else {
                let keys: Vec<&str> = obj.keys().take(8).map(String::as_str).collect();
                Err(format!(
                    "unrecognised JSON: the first record has keys [{}], which match no known format (use --format to force one)",
                    keys.join(", ")
                ))
            }
        }
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
        let err = detect_bytes(br#"{"Records":[]}"#).expect_err("other json");
        assert!(err.contains("Records"), "{err}");
    }
}
