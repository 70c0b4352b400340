//! OTLP/JSON traces with OpenTelemetry GenAI attributes (docs/formats/otlp.md).
//!
//! The input is one `ExportTraceServiceRequest` (possibly pretty-printed) or JSON lines of them,
//! as the collector's file exporter writes. Every span is a record: it is read and checked as the
//! file is read ([`span`]), and kept; spans of one trace may be spread over several requests and
//! arrive in any order, so parents, agents and hand-offs are resolved only once the whole file is
//! read ([`map`]). Memory is bounded by a per-trace and a per-file span limit: spans beyond them
//! are quarantined with the reason, never dropped.

mod map;
mod span;

use std::collections::HashMap;

use serde_json::Value;

use super::frame::{Frame, Framer, json_type};
use super::sink::{Adapter, Sink, Stop, Unit};
use span::Span;

/// Most spans of one trace held for resolution.
const MAX_SPANS_PER_TRACE: usize = 100_000;
/// Most spans of one file held for resolution.
const MAX_SPANS_PER_FILE: usize = 2_000_000;

/// The OTLP/JSON adapter.
#[derive(Default)]
pub(super) struct OtlpAdapter {
    framer: Option<Framer>,
    spans: Vec<Span>,
    per_trace: HashMap<String, usize>,
}

impl Adapter for OtlpAdapter {
    fn unit(&mut self, unit: &Unit<'_>, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let limit = sink.max_record_bytes();
        let framer = self.framer.get_or_insert_with(|| Framer::new(limit));
        match framer.push(unit) {
            Some(frame) => self.frame(&frame, sink),
            None => Ok(()),
        }
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<(), Stop> {
        if let Some(frame) = self.framer.as_mut().and_then(Framer::finish) {
            self.frame(&frame, sink)?;
        }
        map::emit(&std::mem::take(&mut self.spans), sink)
    }
}

impl OtlpAdapter {
    fn frame(&mut self, frame: &Frame, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let whole = |sink: &mut Sink<'_>, reason: &str| frame.quarantine_whole(sink, reason);
        let value = match frame.parse() {
            Ok(v) => v,
            Err(reason) => return whole(sink, &reason),
        };
        let Value::Object(request) = value else {
            return whole(
                sink,
                &format!(
                    "an OTLP request must be a JSON object, not {}",
                    json_type(&value)
                ),
            );
        };
        let items = match span::read_request(&request, frame.offset, &|n| frame.locator(n)) {
            Ok(items) => items,
            Err(reason) => return whole(sink, &reason),
        };
        for item in items {
            match item {
                Ok(span) => self.keep(span, sink)?,
                Err(bad) => sink.quarantine(
                    &bad.locator,
                    Some(frame.offset),
                    &bad.reason,
                    bad.raw.as_bytes(),
                    bad.raw.len() as u64,
                    false,
                )?,
            }
        }
        Ok(())
    }

    fn keep(&mut self, span: Span, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let count = self.per_trace.entry(span.trace_id.clone()).or_default();
        let reason = if *count >= MAX_SPANS_PER_TRACE {
            Some(format!(
                "trace {} has more than {MAX_SPANS_PER_TRACE} spans in this file; the rest are kept here unresolved",
                span.trace_id
            ))
        } else if self.spans.len() >= MAX_SPANS_PER_FILE {
            Some(format!(
                "the file has more than {MAX_SPANS_PER_FILE} spans; split it to resolve the rest"
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return sink.quarantine(
                &span.locator,
                Some(span.offset),
                &reason,
                span.raw.as_bytes(),
                span.raw.len() as u64,
                false,
            );
        }
        *count += 1;
        self.spans.push(span);
        Ok(())
    }
}
