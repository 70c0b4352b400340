//! Cutting a line stream into JSON values, for the formats that come either as JSON lines or as
//! one (pretty-printed) document: OTLP/JSON, MCP logs and chat transcripts.
//!
//! The first record decides. When the first non-blank line is a complete JSON value on its own,
//! the file is JSON lines and every line is one value. When it opens a value and does not close
//! it, the line after it decides between a document and a JSON line cut short (a torn first line,
//! as a log rotated or copied mid-write leaves): see [`torn_first_line`]. A torn first line is
//! one bad record (handed over at the end of the file, where its parse names the problem) and the
//! rest of the file is JSON lines, so it costs that one record, not the file. Otherwise the file
//! is a document: lines are joined until the brackets opened on the first line are closed again
//! (strings and escapes are respected), which also accepts several documents one after the other.
//! A document still open at the end of the file is handed over as truncated; one larger than the
//! record limit keeps only its start, so memory stays bounded whatever the input.

use serde_json::Value;

pub(super) use super::json::json_type;
use super::sink::Unit;

/// One JSON value cut from the input, with where it started.
#[derive(Debug)]
pub(super) struct Frame {
    /// 1-based line where the value starts.
    pub line: u64,
    /// Byte offset of that line in the (decompressed) stream.
    pub offset: u64,
    /// The value's bytes (for a document, its lines joined with `\n`).
    pub bytes: Vec<u8>,
    pub state: FrameState,
}

/// Whether a frame holds a whole value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FrameState {
    Complete,
    /// The file ended before the document closed.
    Truncated,
    /// The document was larger than the limit; `bytes` holds its start. The total is given.
    Oversize(u64),
}

impl Frame {
    /// Parses the frame as JSON, or says why it cannot be (a quarantine reason).
    pub fn parse(&self) -> Result<Value, String> {
        match self.state {
            FrameState::Truncated => {
                return Err(format!(
                    "truncated JSON: the document starting at line {} is still open at the end of the file",
                    self.line
                ));
            }
            FrameState::Oversize(total) => {
                return Err(format!(
                    "document starting at line {} is {total} bytes, over the record limit (raise --max-record-bytes to load it)",
                    self.line
                ));
            }
            FrameState::Complete => {}
        }
        let text = std::str::from_utf8(&self.bytes)
            .map_err(|e| format!("invalid UTF-8 at byte {} of the record", e.valid_up_to()))?;
        super::json::parse_record(text)
    }

    /// Sets the whole frame aside with `reason`: its bytes (the start, for one over the record
    /// limit) and its full length.
    pub fn quarantine_whole(
        &self,
        sink: &mut super::sink::Sink<'_>,
        reason: &str,
    ) -> Result<(), super::sink::Stop> {
        let total = match self.state {
            FrameState::Oversize(total) => total,
            FrameState::Complete | FrameState::Truncated => self.bytes.len() as u64,
        };
        sink.quarantine(
            &format!("L{}", self.line),
            Some(self.offset),
            reason,
            &self.bytes,
            total,
            total > self.bytes.len() as u64,
        )
    }

    /// The locator of the `n`-th record (1-based) inside this frame.
    pub fn locator(&self, n: usize) -> String {
        format!("L{}.{n}", self.line)
    }
}

/// A time written as RFC 3339 text (with offset), or as epoch seconds or milliseconds.
pub(super) fn loose_time(v: &Value) -> Result<crate::model::Timestamp, String> {
    match v {
        Value::String(s) => crate::model::parse_time(s).map_err(|e| e.to_string()),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            // Past 10^11 it is milliseconds (10^11 seconds is the year 5138).
            let micros = if x > 1e11 { x * 1e3 } else { x * 1e6 };
            chrono::DateTime::from_timestamp_micros(micros as i64)
                .filter(|t| (1970..=2200).contains(&chrono::Datelike::year(t)))
                .ok_or_else(|| format!("`{x}` is not a plausible epoch time"))
        }
        other => Err(format!(
            "a time must be text or a number, not {}",
            json_type(other)
        )),
    }
}

/// Whether `first`, a line that opens a JSON value without closing it, is a JSON line cut short
/// rather than the first line of a value spread over lines, judged by the line after it.
///
/// In JSON lines, the line after a torn one is a whole value of its own (`{...}` or `[...]`)
/// that cannot continue the cut one: joined to it the text is no longer the start of any JSON
/// value (a cut inside a string meets a line break, a cut after `,` in an object meets `{`
/// where a key belongs), or both lines open the same first key, as records of one log do. A
/// pretty-printed document's second line is a key, a lone bracket or an element followed by a
/// comma, none of which stands alone; where it does (the only element of an array), it still
/// continues the first line.
pub(super) fn torn_first_line(first: &[u8], second: &[u8]) -> bool {
    let second = second.trim_ascii();
    if !matches!(second.first(), Some(b'{' | b'[')) {
        return false;
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(second).is_err() {
        return false;
    }
    let first_key = |b: &[u8]| -> Option<Vec<u8>> {
        let rest = b.trim_ascii_start().strip_prefix(b"{")?.trim_ascii_start();
        let rest = rest.strip_prefix(b"\"")?;
        let mut key = Vec::new();
        let mut escaped = false;
        for &c in rest {
            match c {
                b'"' if !escaped => return Some(key),
                b'\\' if !escaped => escaped = true,
                _ => escaped = false,
            }
            key.push(c);
        }
        None
    };
    if first_key(first).is_some_and(|k| first_key(second) == Some(k)) {
        return true;
    }
    let mut joined = Vec::with_capacity(first.len() + second.len() + 1);
    joined.extend_from_slice(first);
    joined.push(b'\n');
    joined.extend_from_slice(second);
    serde_json::from_slice::<serde::de::IgnoredAny>(&joined).is_err_and(|e| !e.is_eof())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Undecided,
    /// The first line opened a value: the second says whether it is a document or torn.
    Probing,
    Lines,
    Document,
}

/// Bracket depth through a JSON text, one chunk at a time.
#[derive(Debug, Default)]
struct Brackets {
    depth: usize,
    in_string: bool,
    escaped: bool,
    opened: bool,
}

impl Brackets {
    /// Feeds bytes; true when the outermost value closed within them.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let mut closed = false;
        for &b in bytes {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    self.opened = true;
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 && self.opened {
                        closed = true;
                    }
                }
                _ => {}
            }
        }
        closed
    }
}

/// Splits units (lines) into [`Frame`]s.
pub(super) struct Framer {
    mode: Mode,
    limit: usize,
    pending: Option<Frame>,
    depth: Brackets,
    /// A torn first line, handed over by [`Framer::finish`].
    torn: Option<Frame>,
}

impl Framer {
    /// A framer that keeps at most `limit` bytes of one document.
    pub fn new(limit: usize) -> Self {
        Self {
            mode: Mode::Undecided,
            limit,
            pending: None,
            depth: Brackets::default(),
            torn: None,
        }
    }

    /// Takes one line; returns a value when one is complete.
    pub fn push(&mut self, unit: &Unit<'_>) -> Option<Frame> {
        if self.mode == Mode::Undecided {
            let mut probe = Brackets::default();
            let closes = probe.feed(unit.bytes);
            let starts_value = matches!(unit.bytes.trim_ascii_start().first(), Some(b'{' | b'['));
            self.mode = if starts_value && !closes {
                Mode::Probing
            } else {
                Mode::Lines
            };
        } else if self.mode == Mode::Probing {
            let first = self.pending.as_ref().map_or(&[][..], |f| &f.bytes[..]);
            if torn_first_line(first, unit.bytes) {
                self.mode = Mode::Lines;
                self.torn = self.pending.take();
                self.depth = Brackets::default();
            } else {
                self.mode = Mode::Document;
            }
        }
        if self.mode == Mode::Lines {
            return Some(Frame {
                line: unit.line,
                offset: unit.offset,
                bytes: unit.bytes.to_vec(),
                state: FrameState::Complete,
            });
        }
        let frame = self.pending.get_or_insert_with(|| Frame {
            line: unit.line,
            offset: unit.offset,
            bytes: Vec::new(),
            state: FrameState::Complete,
        });
        match frame.state {
            FrameState::Oversize(ref mut total) => *total += unit.bytes.len() as u64 + 1,
            _ if frame.bytes.len() + unit.bytes.len() + 1 > self.limit => {
                let total = (frame.bytes.len() + unit.bytes.len() + 1) as u64;
                let room = self.limit.saturating_sub(frame.bytes.len());
                frame
                    .bytes
                    .extend_from_slice(&unit.bytes[..room.min(unit.bytes.len())]);
                frame.state = FrameState::Oversize(total);
            }
            _ => {
                if !frame.bytes.is_empty() {
                    frame.bytes.push(b'\n');
                }
                frame.bytes.extend_from_slice(unit.bytes);
            }
        }
        let closed = self.depth.feed(unit.bytes);
        // A line that opens nothing (stray text between documents) is a record of its own.
        if closed || !self.depth.opened {
            self.depth = Brackets::default();
            return self.pending.take();
        }
        None
    }

    /// The document still open at the end of the file, if any, marked truncated; or the torn
    /// first line of a JSON lines file, as it was read.
    pub fn finish(&mut self) -> Option<Frame> {
        if let Some(torn) = self.torn.take() {
            return Some(torn);
        }
        let mut frame = self.pending.take()?;
        if frame.state == FrameState::Complete {
            frame.state = FrameState::Truncated;
        }
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(text: &str, limit: usize) -> Vec<Frame> {
        let mut framer = Framer::new(limit);
        let mut out = Vec::new();
        let mut offset = 0;
        for (i, line) in text.split('\n').enumerate() {
            if !line.trim().is_empty() {
                let unit = Unit {
                    line: i as u64 + 1,
                    offset,
                    bytes: line.as_bytes(),
                };
                out.extend(framer.push(&unit));
            }
            offset += line.len() as u64 + 1;
        }
        out.extend(framer.finish());
        out
    }

    #[test]
    fn json_lines_give_one_frame_per_line() {
        let got = frames("{\"a\":1}\n\n{\"b\":\"}\"}\nnot json\n", 1000);
        let lines: Vec<u64> = got.iter().map(|f| f.line).collect();
        assert_eq!(lines, [1, 3, 4]);
        assert!(got[2].parse().is_err());
    }

    #[test]
    fn a_pretty_document_is_joined_until_it_closes() {
        let got = frames("{\n  \"a\": [1,\n  \"]}\"],\n  \"b\": {}\n}\n[\n1\n]", 1000);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].line, 1);
        assert_eq!(got[0].parse().expect("valid")["a"][1], "]}");
        assert_eq!(got[1].line, 6);
    }

    #[test]
    fn a_torn_first_line_costs_one_record_and_the_rest_are_lines() {
        let cut_in_a_string = "{\"resourceSpans\":[{\"resource\":{\"attr\n{\"a\":1}\n{\"b\":2}\n";
        let cut_after_a_colon = "{\"time\":\"x\",\"args\":\n{\"time\":\"y\"}\n[1]\n";
        let cut_after_a_comma = "{\"a\":1,\n{\"b\":2}\n";
        for text in [cut_in_a_string, cut_after_a_colon, cut_after_a_comma] {
            let got = frames(text, 1000);
            let lines: Vec<u64> = got.iter().map(|f| f.line).collect();
            let want: Vec<u64> = (2..=text.trim_end().lines().count() as u64)
                .chain([1])
                .collect();
            assert_eq!(lines, want, "{text:?}");
            assert!(got.last().expect("torn").parse().is_err(), "{text:?}");
            assert!(got[0].parse().is_ok(), "{text:?}");
        }
    }

    #[test]
    fn a_document_whose_second_line_stands_alone_is_still_a_document() {
        for text in [
            "[\n{\"role\":\"user\",\"content\":\"x\"}\n]\n",
            "{\"resourceSpans\": [\n{\"resource\": {}}\n]}\n",
            "{\n\"a\": 1\n}\n",
        ] {
            let got = frames(text, 1000);
            assert_eq!(got.len(), 1, "{text:?}");
            assert!(got[0].parse().is_ok(), "{text:?}");
        }
    }

    #[test]
    fn an_unclosed_document_is_truncated_and_a_huge_one_oversize() {
        let got = frames("{\n \"a\": [1,\n", 1000);
        assert_eq!(got.len(), 1);
        assert!(got[0].parse().expect_err("cut").contains("truncated"));
        let big = format!("{{\n\"a\": \"{}\"\n}}", "x".repeat(500));
        let got = frames(&big, 100);
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0].state, FrameState::Oversize(n) if n > 500));
        assert!(got[0].bytes.len() <= 100);
    }
}
