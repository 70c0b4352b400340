//! Reading one MCP log record: the optional wrapper a logger puts around a JSON-RPC message
//! (time, session, server, client), the message itself, and its W3C trace context.

use serde_json::{Map, Value};

use crate::ingest::frame::json_type;
use crate::model::{Outcome, Timestamp};

/// What the logger said about a message, outside the message.
#[derive(Debug, Default, Clone)]
pub(super) struct Meta {
    pub time: Option<Timestamp>,
    pub session: Option<String>,
    pub server: Option<String>,
    pub client: Option<String>,
    pub task: Option<String>,
    pub direction: Option<String>,
}

/// A JSON-RPC message by shape.
#[derive(Debug)]
pub(super) enum Message {
    Request {
        id: Value,
        method: String,
        params: Map<String, Value>,
    },
    Notification {
        method: String,
        params: Map<String, Value>,
    },
    Response {
        id: Value,
        body: Result<Value, Value>,
    },
}

fn first_str(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// Splits a record into the logger's metadata and the JSON-RPC message object.
pub(super) fn unwrap(record: Map<String, Value>) -> Result<(Meta, Map<String, Value>), String> {
    if record.contains_key("jsonrpc") {
        return Ok((Meta::default(), record));
    }
    let mut record = record;
    let inner = ["message", "payload", "data"]
        .iter()
        .find_map(|k| match record.get(*k) {
            Some(Value::Object(m)) if m.contains_key("jsonrpc") => Some(*k),
            _ => None,
        });
    let Some(key) = inner else {
        return Err(
            "not a JSON-RPC 2.0 message: no `jsonrpc` member, and no `message` that has one"
                .to_owned(),
        );
    };
    let Some(Value::Object(message)) = record.remove(key) else {
        return Err("the wrapped message is not an object".to_owned());
    };
    let time = match ["timestamp", "time", "ts"]
        .iter()
        .find_map(|k| record.get(*k))
    {
        None | Some(Value::Null) => None,
        Some(v) => {
            Some(crate::ingest::frame::loose_time(v).map_err(|e| format!("wrapper time: {e}"))?)
        }
    };
    let meta = Meta {
        time,
        session: first_str(
            &record,
            &["session", "session_id", "sessionId", "mcp.session.id"],
        ),
        server: first_str(&record, &["server", "server_name", "serverName"]),
        client: first_str(&record, &["agent", "client", "client_name", "clientName"]),
        task: first_str(&record, &["task", "task_id"]),
        direction: first_str(&record, &["direction", "dir"]),
    };
    Ok((meta, message))
}

/// Reads the message's shape, checking what JSON-RPC 2.0 requires.
pub(super) fn classify(mut m: Map<String, Value>) -> Result<Message, String> {
    match m.get("jsonrpc") {
        Some(Value::String(v)) if v == "2.0" => {}
        Some(other) => {
            return Err(format!(
                "`jsonrpc` is {}, not \"2.0\"",
                crate::text::for_terminal_clipped(&other.to_string(), 32)
            ));
        }
        None => return Err("not a JSON-RPC 2.0 message: no `jsonrpc` member".to_owned()),
    }
    let id = m.remove("id").filter(|v| !v.is_null());
    if let Some(id) = &id
        && !(id.is_string() || id.is_number())
    {
        return Err(format!(
            "`id` must be a string or a number, not {}",
            json_type(id)
        ));
    }
    if let Some(method) = m.remove("method") {
        let Value::String(method) = method else {
            return Err(format!(
                "`method` must be a string, not {}",
                json_type(&method)
            ));
        };
        let params = match m.remove("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p,
            Some(other) => {
                return Err(format!(
                    "`params` must be an object here, not {}",
                    json_type(&other)
                ));
            }
        };
        return Ok(match id {
            Some(id) => Message::Request { id, method, params },
            None => Message::Notification { method, params },
        });
    }
    let body = match (m.remove("result"), m.remove("error")) {
        (Some(r), None) => Ok(r),
        (None, Some(e)) => Err(e),
        (Some(_), Some(_)) => return Err("a response has both `result` and `error`".to_owned()),
        (None, None) => {
            return Err(
                "neither a request (`method`) nor a response (`result` or `error`)".to_owned(),
            );
        }
    };
    match id {
        Some(id) => Ok(Message::Response { id, body }),
        None => Err("a response without `id` cannot be paired with its request".to_owned()),
    }
}

/// The trace context an MCP client put in `params._meta` (W3C `traceparent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TraceContext {
    pub trace_id: String,
    pub parent_span_id: String,
    pub flags: String,
}

/// Parses `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; anything else is `None`.
pub(super) fn traceparent(params: &Map<String, Value>) -> Option<TraceContext> {
    let text = params.get("_meta")?.get("traceparent")?.as_str()?;
    let parts: Vec<&str> = text.trim().split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    match parts.as_slice() {
        [version, trace, span, flags, ..]
            if hex(version, 2) && hex(trace, 32) && hex(span, 16) && hex(flags, 2) =>
        {
            Some(TraceContext {
                trace_id: trace.to_ascii_lowercase(),
                parent_span_id: span.to_ascii_lowercase(),
                flags: (*flags).to_owned(),
            })
        }
        _ => None,
    }
}

/// The text a tool or resource returned: text items joined, other items described.
pub(super) fn result_text(result: &Value) -> Option<String> {
    let items = result
        .get("content")
        .or_else(|| result.get("contents"))
        .and_then(Value::as_array);
    let mut parts = Vec::new();
    for item in items.into_iter().flatten() {
        if let Some(t) = item.get("text").and_then(Value::as_str) {
            parts.push(t.to_owned());
        } else if let Some(t) = item
            .get("resource")
            .and_then(|r| r.get("text"))
            .and_then(Value::as_str)
        {
            parts.push(t.to_owned());
        } else {
            let kind = item.get("type").and_then(Value::as_str).unwrap_or("item");
            let what = item
                .get("uri")
                .or_else(|| item.get("mimeType"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            parts.push(format!("[{kind} {what}]"));
        }
    }
    if parts.is_empty() {
        return result.get("structuredContent").map(Value::to_string);
    }
    Some(parts.join("\n"))
}

/// How a response ended: a JSON-RPC error, or a result with `isError: true`, is a failure;
/// one whose message speaks of permissions is a denial.
pub(super) fn response_outcome(body: &Result<Value, Value>) -> Outcome {
    let (failed, text) = match body {
        Ok(r) => (
            r.get("isError").and_then(Value::as_bool) == Some(true),
            result_text(r).unwrap_or_default(),
        ),
        Err(e) => (
            true,
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
    };
    if !failed {
        return Outcome::Success;
    }
    let text = text.to_ascii_lowercase();
    let denied = [
        "denied",
        "forbidden",
        "unauthorized",
        "unauthorised",
        "not authorized",
        "permission",
    ];
    if denied.iter().any(|w| text.contains(w)) {
        Outcome::Denied
    } else {
        Outcome::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[allow(
        clippy::needless_pass_by_value,
        reason = "tests read better with json! inline"
    )]
    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn shapes_are_told_apart() {
        let req = classify(obj(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}}),
        ));
        assert!(matches!(req, Ok(Message::Request { .. })));
        let note = classify(obj(
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ));
        assert!(matches!(note, Ok(Message::Notification { .. })));
        let resp = classify(obj(
            json!({"jsonrpc": "2.0", "id": "a", "error": {"code": -32602, "message": "Unknown tool"}}),
        ));
        assert!(matches!(resp, Ok(Message::Response { body: Err(_), .. })));
        assert!(classify(obj(json!({"jsonrpc": "1.0", "id": 1, "result": {}}))).is_err());
        assert!(classify(obj(json!({"jsonrpc": "2.0", "id": [1], "result": {}}))).is_err());
        assert!(classify(obj(json!({"jsonrpc": "2.0", "result": {}}))).is_err());
    }

    #[test]
    fn tool_errors_count_even_in_a_successful_envelope() {
        let ok = Ok(json!({"content": [{"type": "text", "text": "done"}]}));
        assert_eq!(response_outcome(&ok), Outcome::Success);
        let tool_error = Ok(
            json!({"content": [{"type": "text", "text": "AccessDenied: not authorized"}], "isError": true}),
        );
        assert_eq!(response_outcome(&tool_error), Outcome::Denied);
        let rpc_error = Err(json!({"code": -32602, "message": "Unknown tool"}));
        assert_eq!(response_outcome(&rpc_error), Outcome::Error);
    }

    #[test]
    fn traceparent_is_read_from_meta() {
        let p = obj(
            json!({"_meta": {"traceparent": "00-7D3C1A9E5B2F48C0A1E6F2B9C4D8E013-d00d000000000002-01"}}),
        );
        assert_eq!(
            traceparent(&p),
            Some(TraceContext {
                trace_id: "7d3c1a9e5b2f48c0a1e6f2b9c4d8e013".to_owned(),
                parent_span_id: "d00d000000000002".to_owned(),
                flags: "01".to_owned()
            })
        );
        assert_eq!(
            traceparent(&obj(json!({"_meta": {"traceparent": "garbage"}}))),
            None
        );
    }

    #[test]
    fn wrappers_give_time_and_session() {
        let (meta, m) = unwrap(obj(json!({"timestamp": "2026-03-04T10:00:00Z", "session": "s1", "server": "fs", "message": {"jsonrpc": "2.0", "method": "ping", "id": 3}}))).expect("ok");
        assert_eq!(meta.session.as_deref(), Some("s1"));
        assert!(meta.time.is_some());
        assert!(m.contains_key("method"));
        let (meta, _) = unwrap(obj(
            json!({"ts": 1_772_618_400_000_u64, "message": {"jsonrpc": "2.0", "method": "ping"}}),
        ))
        .expect("ok");
        assert_eq!(meta.time.map(|t| t.timestamp()), Some(1_772_618_400));
        assert!(unwrap(obj(json!({"hello": 1}))).is_err());
        assert!(
            unwrap(obj(
                json!({"time": "noon", "message": {"jsonrpc": "2.0", "method": "ping"}})
            ))
            .is_err()
        );
    }
}
