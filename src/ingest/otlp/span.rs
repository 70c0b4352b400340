//! Reading spans out of an OTLP/JSON `ExportTraceServiceRequest`: ids, times, attributes
//! (every `AnyValue` variant), links and status, each checked, so that a malformed span is named
//! and quarantined instead of guessed at.

use std::rc::Rc;

use chrono::{DateTime, Datelike};
use serde_json::{Map, Value};

use crate::model::Timestamp;

/// A span as the adapter keeps it until the end of the file.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names, reason = "the names OTLP gives these ids")]
pub(super) struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: Option<String>,
    /// Links as (trace id, span id).
    pub links: Vec<(String, String)>,
    pub name: String,
    pub kind: SpanKind,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub status: Status,
    pub status_message: Option<String>,
    pub attrs: Map<String, Value>,
    pub resource: Rc<Map<String, Value>>,
    pub scope: Option<String>,
    pub locator: String,
    pub offset: u64,
    pub raw: String,
}

impl Span {
    /// A string attribute of the span, else of its resource.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .get(key)
            .or_else(|| self.resource.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// A string attribute of the span only.
    pub fn own(&self, key: &str) -> Option<&str> {
        self.attrs
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }
}

/// OTLP span kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// OTLP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Unset,
    Ok,
    Error,
}

/// A record inside a request that could not be read, with its place and raw text.
#[derive(Debug)]
pub(super) struct Bad {
    pub locator: String,
    pub reason: String,
    pub raw: String,
}

/// What one request yields, in file order: spans and records to quarantine.
pub(super) type Item = Result<Span, Bad>;

/// Reads every span of one request. `locator(n)` names the `n`-th record (1-based).
pub(super) fn read_request(
    request: &Map<String, Value>,
    offset: u64,
    locator: &dyn Fn(usize) -> String,
) -> Result<Vec<Item>, String> {
    let resource_spans = match request.get("resourceSpans") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "`resourceSpans` must be an array, not {}",
                super::super::frame::json_type(other)
            ));
        }
        None => return Err("not an OTLP trace request: no `resourceSpans`".to_owned()),
    };
    let mut out = Vec::new();
    let mut n = 0;
    let bad = |what: &Value, reason: String, n: &mut usize| {
        *n += 1;
        Err(Bad {
            locator: locator(*n),
            reason,
            raw: what.to_string(),
        })
    };
    for rs in resource_spans {
        let resource = match resource_attributes(rs) {
            Ok(r) => Rc::new(r),
            Err(reason) => {
                out.push(bad(rs, format!("resource: {reason}"), &mut n));
                continue;
            }
        };
        let scope_spans = match list(rs, &["scopeSpans", "instrumentationLibrarySpans"]) {
            Ok(s) => s,
            Err(reason) => {
                out.push(bad(rs, reason, &mut n));
                continue;
            }
        };
        for ss in scope_spans {
            let scope = ss
                .get("scope")
                .or_else(|| ss.get("instrumentationLibrary"))
                .and_then(|s| s.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let spans = match list(ss, &["spans"]) {
                Ok(s) => s,
                Err(reason) => {
                    out.push(bad(ss, reason, &mut n));
                    continue;
                }
            };
            for span in spans {
                n += 1;
                let loc = locator(n);
                out.push(
                    read_span(span, &resource, scope.clone(), &loc, offset).map_err(|reason| Bad {
                        locator: loc,
                        reason,
                        raw: span.to_string(),
                    }),
                );
            }
        }
    }
    Ok(out)
}

/// The array under the first of `keys` present (absent means empty).
fn list<'v>(v: &'v Value, keys: &[&str]) -> Result<&'v [Value], String> {
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "expected an object, found {}",
            super::super::frame::json_type(v)
        ));
    };
    match keys.iter().find_map(|k| obj.get(*k)) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!(
            "`{}` must be an array, not {}",
            keys[0],
            super::super::frame::json_type(other)
        )),
    }
}

fn resource_attributes(rs: &Value) -> Result<Map<String, Value>, String> {
    match rs.get("resource").and_then(|r| r.get("attributes")) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(a) => attributes(a),
    }
}

fn read_span(
    v: &Value,
    resource: &Rc<Map<String, Value>>,
    scope: Option<String>,
    locator: &str,
    offset: u64,
) -> Result<Span, String> {
    let Value::Object(obj) = v else {
        return Err(format!(
            "a span must be an object, not {}",
            super::super::frame::json_type(v)
        ));
    };
    let trace_id = hex_id(obj.get("traceId"), "traceId", 32)?.ok_or("`traceId` is missing")?;
    let span_id = hex_id(obj.get("spanId"), "spanId", 16)?.ok_or("`spanId` is missing")?;
    let parent_id = hex_id(obj.get("parentSpanId"), "parentSpanId", 16)?;
    let start = unix_nanos(obj.get("startTimeUnixNano"), "startTimeUnixNano")?
        .ok_or("`startTimeUnixNano` is missing")?;
    let end = unix_nanos(obj.get("endTimeUnixNano"), "endTimeUnixNano")?;
    let attrs = match obj.get("attributes") {
        None | Some(Value::Null) => Map::new(),
        Some(a) => attributes(a)?,
    };
    let mut links = Vec::new();
    if let Some(items) = obj.get("links").filter(|l| !l.is_null()) {
        let Value::Array(items) = items else {
            return Err("`links` must be an array".to_owned());
        };
        for (i, link) in items.iter().enumerate() {
            let what = |e: String| format!("link {}: {e}", i + 1);
            let t = hex_id(link.get("traceId"), "traceId", 32).map_err(what)?;
            let s = hex_id(link.get("spanId"), "spanId", 16).map_err(what)?;
            if let (Some(t), Some(s)) = (t, s) {
                links.push((t, s));
            }
        }
    }
    let status = obj.get("status");
    Ok(Span {
        trace_id,
        span_id,
        parent_id,
        links,
        name: obj
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        kind: span_kind(obj.get("kind"))?,
        start,
        end,
        status: status_code(status.and_then(|s| s.get("code")))?,
        status_message: status
            .and_then(|s| s.get("message"))
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        attrs,
        resource: Rc::clone(resource),
        scope,
        locator: locator.to_owned(),
        offset,
        raw: v.to_string(),
    })
}

/// A lowercase hex id of `digits` digits; absent or empty means none. All zeros is invalid.
fn hex_id(v: Option<&Value>, field: &str, digits: usize) -> Result<Option<String>, String> {
    let text = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(format!(
                "`{field}` must be a hex string, not {}",
                super::super::frame::json_type(other)
            ));
        }
    };
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{field}` `{}` is not {digits} hex digits (OTLP/JSON writes ids in hex, not base64)",
            clip(text)
        ));
    }
    if text.bytes().all(|b| b == b'0') {
        return Err(format!(
            "`{field}` is all zeros, which OTLP defines as invalid"
        ));
    }
    Ok(Some(text.to_ascii_lowercase()))
}

/// An int64 that OTLP/JSON may write as a number or a decimal string. A number beyond the int64
/// range is not one (it is not wrapped round to a negative value).
fn int64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| {
            s.trim()
                .parse::<u64>()
                .ok()
                .and_then(|u| i64::try_from(u).ok())
        }),
        _ => None,
    }
}

/// A `*UnixNano` field as a timestamp truncated to microseconds; absent or zero means none.
fn unix_nanos(v: Option<&Value>, field: &str) -> Result<Option<Timestamp>, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let nanos = int64(v).ok_or_else(|| {
        format!(
            "`{field}` `{}` is not an integer in the int64 range",
            clip(&v.to_string())
        )
    })?;
    if nanos == 0 {
        return Ok(None);
    }
    let t = DateTime::from_timestamp_micros(nanos.div_euclid(1000))
        .filter(|t| (1970..=2200).contains(&t.year()))
        .ok_or_else(|| format!("`{field}` {nanos} is outside the plausible years 1970-2200"))?;
    Ok(Some(t))
}

fn span_kind(v: Option<&Value>) -> Result<SpanKind, String> {
    let code = match v {
        None | Some(Value::Null) => return Ok(SpanKind::Unspecified),
        Some(Value::String(s)) if s.starts_with("SPAN_KIND_") => {
            return Ok(match &s["SPAN_KIND_".len()..] {
                "INTERNAL" => SpanKind::Internal,
                "SERVER" => SpanKind::Server,
                "CLIENT" => SpanKind::Client,
                "PRODUCER" => SpanKind::Producer,
                "CONSUMER" => SpanKind::Consumer,
                _ => SpanKind::Unspecified,
            });
        }
        Some(other) => int64(other)
            .ok_or_else(|| format!("`kind` `{}` is not a span kind", clip(&other.to_string())))?,
    };
    Ok(match code {
        1 => SpanKind::Internal,
        2 => SpanKind::Server,
        3 => SpanKind::Client,
        4 => SpanKind::Producer,
        5 => SpanKind::Consumer,
        _ => SpanKind::Unspecified,
    })
}

fn status_code(v: Option<&Value>) -> Result<Status, String> {
    let code = match v {
        None | Some(Value::Null) => return Ok(Status::Unset),
        Some(Value::String(s)) if s.starts_with("STATUS_CODE_") => {
            return Ok(match &s["STATUS_CODE_".len()..] {
                "OK" => Status::Ok,
                "ERROR" => Status::Error,
                _ => Status::Unset,
            });
        }
        Some(other) => int64(other).ok_or_else(|| {
            format!(
                "`status.code` `{}` is not a status code",
                clip(&other.to_string())
            )
        })?,
    };
    Ok(match code {
        1 => Status::Ok,
        2 => Status::Error,
        _ => Status::Unset,
    })
}

/// An OTLP `KeyValue` list as a JSON object (a repeated key keeps its last value).
fn attributes(v: &Value) -> Result<Map<String, Value>, String> {
    let Value::Array(items) = v else {
        return Err(format!(
            "`attributes` must be an array of key/value pairs, not {}",
            super::super::frame::json_type(v)
        ));
    };
    let mut out = Map::new();
    for item in items {
        let Some(key) = item.get("key").and_then(Value::as_str) else {
            return Err("an attribute has no string `key`".to_owned());
        };
        let value = match item.get("value") {
            None | Some(Value::Null) => Value::Null,
            Some(v) => any_value(v).map_err(|e| format!("attribute `{}`: {e}", clip(key)))?,
        };
        out.insert(key.to_owned(), value);
    }
    Ok(out)
}

/// An OTLP `AnyValue` as plain JSON. `bytesValue` stays as its base64 text.
fn any_value(v: &Value) -> Result<Value, String> {
    let Value::Object(obj) = v else {
        return Err(format!(
            "a value must be an AnyValue object, not {}",
            super::super::frame::json_type(v)
        ));
    };
    let Some((variant, inner)) = obj.iter().next() else {
        return Ok(Value::Null);
    };
    if obj.len() > 1 {
        return Err("an AnyValue holds more than one variant".to_owned());
    }
    match variant.as_str() {
        "stringValue" | "bytesValue" => match inner {
            Value::String(_) => Ok(inner.clone()),
            other => Err(format!(
                "`{variant}` must be a string, not {}",
                super::super::frame::json_type(other)
            )),
        },
        "boolValue" => inner
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| "`boolValue` must be true or false".to_owned()),
        "intValue" => int64(inner)
            .map(Value::from)
            .ok_or_else(|| format!("`intValue` `{}` is not an int64", clip(&inner.to_string()))),
        "doubleValue" => match inner {
            Value::Number(_) => Ok(inner.clone()),
            // JSON has no NaN or infinities; the encoding spells them as strings.
            Value::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {
                Ok(inner.clone())
            }
            Value::String(s) => s
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("`doubleValue` `{}` is not a number", clip(s))),
            other => Err(format!(
                "`doubleValue` must be a number, not {}",
                super::super::frame::json_type(other)
            )),
        },
        "arrayValue" => {
            let values = list(inner, &["values"])?;
            values
                .iter()
                .map(any_value)
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        "kvlistValue" => {
            let values = inner
                .get("values")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            attributes(&values).map(Value::Object)
        }
        other => Err(format!("unknown AnyValue variant `{}`", clip(other))),
    }
}

fn clip(text: &str) -> String {
    crate::text::for_terminal_clipped(text, 64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_any_value_variant_converts() {
        let attrs = json!([
            {"key": "s", "value": {"stringValue": "x"}},
            {"key": "b", "value": {"boolValue": true}},
            {"key": "i", "value": {"intValue": "9007199254740993"}},
            {"key": "j", "value": {"intValue": 7}},
            {"key": "d", "value": {"doubleValue": 0.5}},
            {"key": "n", "value": {"doubleValue": "NaN"}},
            {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "p"}, {"intValue": "2"}]}}},
            {"key": "k", "value": {"kvlistValue": {"values": [{"key": "in", "value": {"boolValue": false}}]}}},
            {"key": "y", "value": {"bytesValue": "AAE="}},
            {"key": "e", "value": {}}
        ]);
        let got = attributes(&attrs).expect("valid");
        assert_eq!(
            Value::Object(got),
            json!({"s": "x", "b": true, "i": 9_007_199_254_740_993_i64, "j": 7, "d": 0.5, "n": "NaN",
                   "a": ["p", 2], "k": {"in": false}, "y": "AAE=", "e": null})
        );
        assert!(attributes(&json!([{"key": "i", "value": {"intValue": "x"}}])).is_err());
        assert!(attributes(&json!([{"key": "q", "value": {"weirdValue": 1}}])).is_err());
        assert!(attributes(&json!({"key": "q"})).is_err());
    }

    #[test]
    fn ids_and_times_are_checked() {
        assert_eq!(
            hex_id(Some(&json!("A1B2C3D4E5F60718")), "spanId", 16),
            Ok(Some("a1b2c3d4e5f60718".to_owned()))
        );
        assert_eq!(hex_id(Some(&json!("")), "parentSpanId", 16), Ok(None));
        assert!(hex_id(Some(&json!("obLDxOX2Bxg=")), "spanId", 16).is_err());
        assert!(hex_id(Some(&json!("0000000000000000")), "spanId", 16).is_err());
        let t = unix_nanos(Some(&json!("1741944060123456789")), "t").expect("ok");
        assert_eq!(
            t.map(|t| crate::model::format_time(&t)).as_deref(),
            Some("2025-03-14T09:21:00.123456Z")
        );
        assert_eq!(
            unix_nanos(Some(&json!(1_741_944_060_000_000_000_u64)), "t")
                .expect("ok")
                .map(|t| t.timestamp()),
            Some(1_741_944_060)
        );
        assert!(unix_nanos(Some(&json!("soon")), "t").is_err());
        assert!(unix_nanos(Some(&json!("9223372036854775807")), "t").is_err());
    }

    #[test]
    fn integers_beyond_int64_are_refused_not_wrapped() {
        // 2^63 and 2^64 - 1 written as JSON numbers used to wrap to i64::MIN and -1.
        assert_eq!(int64(&json!(9_223_372_036_854_775_808_u64)), None);
        assert_eq!(int64(&json!(u64::MAX)), None);
        assert_eq!(int64(&json!("9223372036854775808")), None);
        assert_eq!(int64(&json!(i64::MAX)), Some(i64::MAX));
        assert_eq!(int64(&json!(i64::MIN)), Some(i64::MIN));
        let err = attributes(&json!([{"key": "i", "value": {"intValue": u64::MAX}}]))
            .expect_err("not an int64");
        assert!(err.contains("18446744073709551615"), "{err}");
        let err = unix_nanos(Some(&json!(u64::MAX)), "t").expect_err("not an int64");
        assert!(err.contains("18446744073709551615"), "{err}");
    }
}
