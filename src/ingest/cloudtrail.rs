//! AWS CloudTrail (docs/formats/cloudtrail.md): S3 delivery files `{"Records":[...]}` on one
//! line or pretty-printed over many, and files with one record per line.
//!
//! Each record becomes one event. A successful `AssumeRole*` becomes a `delegate` event from
//! the caller to the new role session, with the session's credential; later calls made with
//! that session have the session ARN as actor and its access key as credential, so the
//! delegation graph walks from them back through the role assumption.

mod document;
mod identity;
mod record;
mod timestamp;

use serde_json::Value;

use super::frame::torn_first_line;
use super::json;
use super::reader::Limits;
use super::sink::{Adapter, Sink, Stop, Unit};

pub(super) use document::opens_records;

/// Reads CloudTrail, one line at a time; a document spread over several lines is gathered
/// (up to the record size limit) and read at the end.
pub(super) struct CloudTrailAdapter {
    max_document_bytes: usize,
    /// Whether a non-blank line has been seen.
    started: bool,
    /// A multi-line document being gathered: its first line, offset and bytes.
    gathering: Option<(u64, u64, Vec<u8>)>,
    /// Whether the line after the first has been looked at (for a torn first line).
    probed: bool,
}

impl CloudTrailAdapter {
    pub(super) fn new(limits: &Limits) -> Self {
        Self {
            max_document_bytes: limits.max_record_bytes,
            started: false,
            gathering: None,
            probed: false,
        }
    }

    /// One line read on its own: a record, a one-line delivery document (whole or cut), or
    /// something to quarantine. A `first` line that opens an object and goes on starts gathering.
    fn line(&mut self, unit: &Unit<'_>, first: bool, sink: &mut Sink<'_>) -> Result<(), Stop> {
        if opens_records(unit.bytes) {
            let parsed = document::parse_records(unit.bytes);
            // A document that starts on the first line and goes on: gather the file.
            if first && parsed.cut {
                self.gathering = Some((unit.line, unit.offset, unit.bytes.to_vec()));
                return Ok(());
            }
            return records_document(unit, unit.bytes, parsed, sink);
        }
        match json::parse_record_cut(unit.bytes) {
            Ok(value) => one_line(value, unit, sink),
            // A record that starts on the first line and goes on: gather the file.
            Err(bad) if first && bad.cut && unit.bytes.trim_ascii_start().starts_with(b"{") => {
                self.gathering = Some((unit.line, unit.offset, unit.bytes.to_vec()));
                Ok(())
            }
            Err(bad) => quarantine_unit(unit, &bad.reason, sink),
        }
    }
}

impl Adapter for CloudTrailAdapter {
    fn unit(&mut self, unit: &Unit<'_>, sink: &mut Sink<'_>) -> Result<(), Stop> {
        if let Some((line, offset, doc)) = self.gathering.take() {
            // The second line says whether the first was a document's start or a record cut
            // short: then it costs that record, and the file is read as one record per line.
            if !self.probed {
                self.probed = true;
                if torn_first_line(&doc, unit.bytes) {
                    let first = Unit {
                        line,
                        offset,
                        bytes: &doc,
                    };
                    self.line(&first, false, sink)?;
                    return self.line(unit, false, sink);
                }
            }
            let mut doc = doc;
            if doc.len() + unit.bytes.len() + 1 > self.max_document_bytes {
                return Err(Stop::Refuse(format!(
                    "the CloudTrail document is larger than {} bytes (raise --max-record-bytes to load it)",
                    self.max_document_bytes
                )));
            }
            doc.push(b'\n');
            doc.extend_from_slice(unit.bytes);
            self.gathering = Some((line, offset, doc));
            return Ok(());
        }
        let first = !self.started;
        self.started = true;
        self.line(unit, first, sink)
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let Some((line, offset, doc)) = self.gathering.take() else {
            return Ok(());
        };
        let unit = Unit {
            line,
            offset,
            bytes: &doc,
        };
        if opens_records(&doc) {
            return records_document(&unit, &doc, document::parse_records(&doc), sink);
        }
        match json::parse_record_cut(&doc) {
            Ok(value @ Value::Object(_)) => record(value, None, &format!("L{line}"), &unit, sink),
            Err(bad) if !bad.cut && !bad.syntax => quarantine_unit(&unit, &bad.reason, sink),
            Ok(_) | Err(_) => quarantine_unit(
                &unit,
                "the file is neither one CloudTrail record per line nor a `{\"Records\":[...]}` document (it does not parse as JSON)",
                sink,
            ),
        }
    }
}

/// A complete line: a delivery document whose `Records` is not its first key (read again as
/// one, so that each record keeps its own text and its own faults), or a single record.
fn one_line(value: Value, unit: &Unit<'_>, sink: &mut Sink<'_>) -> Result<(), Stop> {
    if value.get("Records").is_some_and(Value::is_array) {
        return records_document(unit, unit.bytes, document::parse_records(unit.bytes), sink);
    }
    let raw = std::str::from_utf8(unit.bytes).ok();
    record(value, raw, &format!("L{}", unit.line), unit, sink)
}

/// A `Records` document: every complete record is loaded (a record with a key written twice is
/// quarantined on its own), and what is wrong with the rest is quarantined with where it broke.
fn records_document(
    unit: &Unit<'_>,
    bytes: &[u8],
    parsed: document::Records,
    sink: &mut Sink<'_>,
) -> Result<(), Stop> {
    let count = parsed.items.len();
    for (n, item) in parsed.items.into_iter().enumerate() {
        let locator = format!("L{}.{}", unit.line, n + 1);
        if let Some(duplicate) = item.duplicate {
            let raw = item.raw.unwrap_or_else(|| item.value.to_string());
            sink.quarantine(
                &locator,
                Some(unit.offset),
                &duplicate.reason(),
                raw.as_bytes(),
                raw.len() as u64,
                false,
            )?;
            continue;
        }
        record(item.value, item.raw.as_deref(), &locator, unit, sink)?;
    }
    if let Some(problem) = parsed.problem {
        let locator = if parsed.repeated && !parsed.cut {
            format!("L{}", unit.line)
        } else {
            format!("L{}.{}", unit.line, count + 1)
        };
        sink.quarantine(
            &locator,
            Some(unit.offset),
            &problem,
            bytes,
            bytes.len() as u64,
            false,
        )?;
    }
    Ok(())
}

/// One record; `raw` is its text as read, when known (else it is written out again).
fn record(
    value: Value,
    raw: Option<&str>,
    locator: &str,
    unit: &Unit<'_>,
    sink: &mut Sink<'_>,
) -> Result<(), Stop> {
    let id = sink.event_id(locator);
    match record::map_record(value, raw, id, locator.to_owned(), unit.line) {
        Ok(mapped) => {
            sink.event_with_details(mapped.event, mapped.details)?;
            if let Some(c) = &mapped.credential {
                sink.credential(c)?;
            }
            sink.record_ok();
            Ok(())
        }
        Err((reason, value)) => {
            let raw = raw.map_or_else(|| value.to_string(), str::to_owned);
            sink.quarantine(
                locator,
                Some(unit.offset),
                &reason,
                raw.as_bytes(),
                raw.len() as u64,
                false,
            )
        }
    }
}

fn quarantine_unit(unit: &Unit<'_>, reason: &str, sink: &mut Sink<'_>) -> Result<(), Stop> {
    sink.quarantine(
        &format!("L{}", unit.line),
        Some(unit.offset),
        reason,
        unit.bytes,
        unit.bytes.len() as u64,
        false,
    )
}
