//! MCP JSON-RPC logs (docs/formats/mcp.md): one JSON-RPC 2.0 message per line, bare or wrapped
//! by the logger with a time, session, server and client; JSON-RPC batches and a pretty-printed
//! array of messages are read too.
//!
//! A request is held until its response arrives (paired by session and JSON-RPC `id`), so the
//! `tool.call` can carry the outcome; the response becomes the `tool.result`, untrusted. A request
//! never answered is stored at the end with outcome `unknown`; a response whose request is not in
//! the file is quarantined with the reason. Nothing is dropped.

mod message;

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::frame::{Frame, Framer, json_type};
use super::sink::{Adapter, Sink, Stop, Unit};
use super::tool_target;
use crate::model::{Event, EventKind, Outcome, PrincipalKind, Timestamp, Trust};
use message::{Message, Meta};

/// Requests held while waiting for their responses; beyond this, new ones are stored at once.
/// Responses waiting for their requests are held up to the same number.
const MAX_PENDING: usize = 100_000;
/// Raw bytes of the responses held while waiting for their requests; beyond this, a response
/// whose request has not been seen is quarantined at once rather than held.
const MAX_ORPHAN_BYTES: usize = 256 << 20;
/// Methods whose request and response are an action and its result.
const ACTION_METHODS: &[&str] = &["tools/call", "resources/read", "prompts/get"];
/// Methods a server sends to its client.
const SERVER_METHODS: &[&str] = &[
    "sampling/createMessage",
    "roots/list",
    "elicitation/create",
    "notifications/message",
    "notifications/progress",
    "notifications/resources/updated",
    "notifications/resources/list_changed",
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
];

/// Who is on each side of one connection, learnt from `initialize` or the wrapper.
#[derive(Debug, Default, Clone)]
struct Peers {
    client: Option<String>,
    server: Option<String>,
}

/// A request waiting for its response.
struct Pending {
    event: Event,
    method: String,
}

/// A response whose request has not been seen (yet).
struct Orphan {
    locator: String,
    offset: u64,
    raw: String,
    time: (Timestamp, bool),
    body: Result<Value, Value>,
    seq: u64,
}

/// The MCP adapter.
#[derive(Default)]
pub(super) struct McpAdapter {
    framer: Option<Framer>,
    peers: HashMap<String, Peers>,
    pending: HashMap<(String, String), Pending>,
    orphans: HashMap<(String, String), Orphan>,
    /// Raw bytes held in `orphans`.
    orphan_bytes: usize,
    last_time: Option<Timestamp>,
    seq: u64,
}

impl Adapter for McpAdapter {
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
        let mut waiting: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        waiting.sort_by_key(|p| p.event.seq);
        for mut p in waiting {
            note(&mut p.event, "response", Value::from("missing"));
            sink.event(p.event)?;
        }
        let mut orphans: Vec<((String, String), Orphan)> = self.orphans.drain().collect();
        self.orphan_bytes = 0;
        orphans.sort_by_key(|(_, o)| o.seq);
        for ((_, id), o) in orphans {
            let reason = format!(
                "a response to JSON-RPC id {id} with no request in this file (the log may start mid-session)"
            );
            sink.quarantine(
                &o.locator,
                Some(o.offset),
                &reason,
                o.raw.as_bytes(),
                o.raw.len() as u64,
                false,
            )?;
        }
        Ok(())
    }
}

fn note(e: &mut Event, key: &str, value: Value) {
    e.attributes
        .get_or_insert_with(Map::new)
        .insert(key.to_owned(), value);
}

fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl McpAdapter {
    fn frame(&mut self, frame: &Frame, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let value = match frame.parse() {
            Ok(v) => v,
            Err(reason) => return frame.quarantine_whole(sink, &reason),
        };
        match value {
            Value::Array(items) => {
                for (n, item) in items.into_iter().enumerate() {
                    self.record(item, frame.locator(n + 1), frame.offset, sink)?;
                }
                Ok(())
            }
            other => self.record(other, format!("L{}", frame.line), frame.offset, sink),
        }
    }

    fn record(
        &mut self,
        v: Value,
        locator: String,
        offset: u64,
        sink: &mut Sink<'_>,
    ) -> Result<(), Stop> {
        let raw = v.to_string();
        let quarantine = |sink: &mut Sink<'_>, reason: &str| {
            sink.quarantine(
                &locator,
                Some(offset),
                reason,
                raw.as_bytes(),
                raw.len() as u64,
                false,
            )
        };
        let Value::Object(obj) = v else {
            return quarantine(
                sink,
                &format!("a log record must be a JSON object, not {}", json_type(&v)),
            );
        };
        let (meta, message) = match message::unwrap(obj) {
            Ok(x) => x,
            Err(reason) => return quarantine(sink, &reason),
        };
        let message = match message::classify(message) {
            Ok(m) => m,
            Err(reason) => return quarantine(sink, &reason),
        };
        self.seq += 1;
        let conn = meta
            .session
            .clone()
            .or_else(|| meta.server.clone())
            .unwrap_or_default();
        self.learn_peers(&conn, &meta, &message);
        match message {
            Message::Request { id, method, params } => {
                let key = (conn, id_text(&id));
                let mut e = self.new_event(&locator, &meta, &key.0, &method, &params, &raw, sink);
                note(&mut e, "jsonrpc_id", id);
                if ACTION_METHODS.contains(&method.as_str()) {
                    e.kind = EventKind::ToolCall;
                    action_fields(&mut e, &method, &params);
                }
                sink.record_ok();
                if let Some(orphan) = self.orphans.remove(&key) {
                    self.orphan_bytes -= orphan.raw.len();
                    sink.record_ok(); // the response, read earlier
                    return Self::pair(Pending { event: e, method }, orphan, sink);
                }
                if let Some(older) = self.pending.remove(&key) {
                    let mut old = older.event;
                    note(&mut old, "response", Value::from("missing (id reused)"));
                    sink.event(old)?;
                }
                if self.pending.len() >= MAX_PENDING {
                    note(
                        &mut e,
                        "response",
                        Value::from("not tracked (too many open requests)"),
                    );
                    sink.event(e)?;
                } else {
                    self.pending.insert(key, Pending { event: e, method });
                }
                Ok(())
            }
            Message::Notification { method, params } => {
                let e = self.new_event(&locator, &meta, &conn, &method, &params, &raw, sink);
                sink.event(e)?;
                sink.record_ok();
                Ok(())
            }
            Message::Response { id, body } => {
                let key = (conn, id_text(&id));
                let time = self.time(&meta);
                let orphan = Orphan {
                    locator,
                    offset,
                    raw,
                    time,
                    body,
                    seq: self.seq,
                };
                if let Some(p) = self.pending.remove(&key) {
                    sink.record_ok();
                    Self::pair(p, orphan, sink)
                } else {
                    self.hold_orphan(key, orphan, sink)
                }
            }
        }
    }

    /// Keeps a response until its request arrives. Two responses to one id with no request
    /// between them: the later one waits, the earlier one can never be paired and is kept in
    /// quarantine with why, never overwritten.
    fn hold_orphan(
        &mut self,
        key: (String, String),
        orphan: Orphan,
        sink: &mut Sink<'_>,
    ) -> Result<(), Stop> {
        let id = key.1.clone();
        if !self.orphans.contains_key(&key)
            && (self.orphans.len() >= MAX_PENDING
                || self.orphan_bytes + orphan.raw.len() > MAX_ORPHAN_BYTES)
        {
            let reason = format!(
                "a response to JSON-RPC id {id} with no request before it, and too many such \
                 responses are already waiting ({MAX_PENDING} responses, {MAX_ORPHAN_BYTES} \
                 bytes at most) to hold it for one"
            );
            return sink.quarantine(
                &orphan.locator,
                Some(orphan.offset),
                &reason,
                orphan.raw.as_bytes(),
                orphan.raw.len() as u64,
                false,
            );
        }
        self.orphan_bytes += orphan.raw.len();
        let Some(older) = self.orphans.insert(key, orphan) else {
            return Ok(());
        };
        self.orphan_bytes -= older.raw.len();
        let reason = format!(
            "a response to JSON-RPC id {id} with no request in this file, followed by another response to the same id (a duplicate id)"
        );
        sink.quarantine(
            &older.locator,
            Some(older.offset),
            &reason,
            older.raw.as_bytes(),
            older.raw.len() as u64,
            false,
        )
    }

    /// Remembers the client and server names of a connection (wrapper fields, `initialize`).
    fn learn_peers(&mut self, conn: &str, meta: &Meta, message: &Message) {
        let peers = self.peers.entry(conn.to_owned()).or_default();
        if meta.client.is_some() {
            peers.client.clone_from(&meta.client);
        }
        if meta.server.is_some() {
            peers.server.clone_from(&meta.server);
        }
        let name = |v: Option<&Value>| {
            v.and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match message {
            Message::Request { method, params, .. }
                if method == "initialize" && peers.client.is_none() =>
            {
                peers.client = name(params.get("clientInfo"));
            }
            Message::Response {
                body: Ok(result), ..
            } if peers.server.is_none() => {
                peers.server = name(result.get("serverInfo"));
            }
            _ => {}
        }
    }

    /// Stores a request and its response: the request gets the response's outcome.
    fn pair(request: Pending, response: Orphan, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let outcome = message::response_outcome(&response.body);
        let mut call = request.event;
        call.outcome = outcome;
        let action = ACTION_METHODS.contains(&request.method.as_str());
        let kind = if action {
            EventKind::ToolResult
        } else {
            EventKind::Message
        };
        let time = response.time;
        let mut r = Event::new(
            sink.event_id(&response.locator),
            response.locator,
            time.0,
            kind,
            call.actor.clone(),
        );
        r.time_inferred = time.1;
        r.seq = response.seq;
        r.actor_kind = call.actor_kind;
        r.task.clone_from(&call.task);
        r.session.clone_from(&call.session);
        r.call_id.clone_from(&call.call_id);
        r.action.clone_from(&call.action);
        r.outcome = outcome;
        r.target.clone_from(&call.target);
        r.target_kind = call.target_kind;
        if !action {
            // A housekeeping answer comes from the side that was asked.
            std::mem::swap(&mut r.actor, r.target.get_or_insert_with(String::new));
            std::mem::swap(&mut r.actor_kind, &mut r.target_kind);
        }
        r.content = match &response.body {
            Ok(result) => message::result_text(result),
            Err(error) => Some(
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| error.to_string(), str::to_owned),
            ),
        };
        if action {
            r.trust = Some(Trust::Untrusted);
        }
        let mut attrs = Map::new();
        attrs.insert("method".to_owned(), Value::from(request.method));
        if let Some(a) = &call.attributes {
            for k in ["jsonrpc_id", "trace_id", "parent_span_id", "mcp_session"] {
                if let Some(v) = a.get(k) {
                    attrs.insert(k.to_owned(), v.clone());
                }
            }
        }
        if let Err(error) = &response.body {
            attrs.insert("jsonrpc_error".to_owned(), error.clone());
        }
        r.attributes = Some(attrs);
        r.raw = response.raw;
        sink.event(call)?;
        sink.event(r)
    }

    /// The record's time, or (without one) a microsecond after the previous record.
    fn time(&mut self, meta: &Meta) -> (Timestamp, bool) {
        let (t, inferred) = match meta.time {
            Some(t) => (t, false),
            None => (
                self.last_time.map_or(Timestamp::UNIX_EPOCH, |t| {
                    t + chrono::TimeDelta::microseconds(1)
                }),
                true,
            ),
        };
        self.last_time = Some(t);
        (t, inferred)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_event(
        &mut self,
        locator: &str,
        meta: &Meta,
        conn: &str,
        method: &str,
        params: &Map<String, Value>,
        raw: &str,
        sink: &mut Sink<'_>,
    ) -> Event {
        let peers = self.peers.get(conn).cloned().unwrap_or_default();
        let client = peers.client.unwrap_or_else(|| "mcp-client".to_owned());
        let server = peers.server.unwrap_or_else(|| "mcp-server".to_owned());
        let from_server = match meta.direction.as_deref().map(str::to_ascii_lowercase) {
            Some(d)
                if d.contains("server_to_client")
                    || d == "recv"
                    || d == "incoming"
                    || d == "<-" =>
            {
                true
            }
            Some(d)
                if d.contains("client_to_server")
                    || d == "send"
                    || d == "outgoing"
                    || d == "->" =>
            {
                false
            }
            _ => SERVER_METHODS.contains(&method),
        };
        let (actor, target) = if from_server {
            (server, client)
        } else {
            (client, server)
        };
        let (time, inferred) = self.time(meta);
        let mut e = Event::new(
            sink.event_id(locator),
            locator.to_owned(),
            time,
            EventKind::Message,
            actor,
        );
        e.time_inferred = inferred;
        e.seq = self.seq;
        e.actor_kind = Some(if from_server {
            PrincipalKind::Tool
        } else {
            PrincipalKind::Agent
        });
        e.target = Some(target);
        e.target_kind = Some(if from_server {
            PrincipalKind::Agent
        } else {
            PrincipalKind::Tool
        });
        e.action = Some(method.to_owned());
        e.outcome = Outcome::Unknown;
        let trace = message::traceparent(params);
        e.task = trace
            .as_ref()
            .map(|t| format!("trace:{}", t.trace_id))
            .or_else(|| meta.task.clone());
        e.session = meta
            .session
            .clone()
            .or_else(|| trace.as_ref().map(|t| format!("trace:{}", t.trace_id)));
        let mut attrs = Map::new();
        attrs.insert("method".to_owned(), Value::from(method));
        if let Some(t) = &trace {
            attrs.insert("trace_id".to_owned(), Value::from(t.trace_id.as_str()));
            attrs.insert(
                "parent_span_id".to_owned(),
                Value::from(t.parent_span_id.as_str()),
            );
            attrs.insert("trace_flags".to_owned(), Value::from(t.flags.as_str()));
        }
        if let Some(m) = params.get("_meta") {
            attrs.insert("_meta".to_owned(), m.clone());
        }
        if let Some(s) = &meta.session {
            attrs.insert("mcp_session".to_owned(), Value::from(s.as_str()));
        }
        if let Some(d) = &meta.direction {
            attrs.insert("direction".to_owned(), Value::from(d.as_str()));
        }
        e.attributes = Some(attrs);
        raw.clone_into(&mut e.raw);
        e
    }
}

/// Fills the action fields of a `tools/call`, `resources/read` or `prompts/get` request.
fn action_fields(e: &mut Event, method: &str, params: &Map<String, Value>) {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let uri = params.get("uri").and_then(Value::as_str).map(str::to_owned);
    let id = e
        .attributes
        .as_ref()
        .and_then(|a| a.get("jsonrpc_id"))
        .map(id_text)
        .unwrap_or_default();
    e.call_id = Some(match &e.session {
        Some(s) => format!("{s}/{id}"),
        None => id,
    });
    match method {
        "tools/call" => {
            e.action = name.or_else(|| Some("tools/call".to_owned()));
            match params.get("arguments") {
                Some(args @ Value::Object(_)) => {
                    e.destination = tool_target::destination(args);
                    e.resource = tool_target::resource(args);
                    e.args = Some(args.clone());
                }
                Some(Value::String(text)) => {
                    if let Ok(args) = tool_target::parse_arguments(text) {
                        e.destination = tool_target::destination(&args);
                        e.resource = tool_target::resource(&args);
                        e.args = Some(args);
                    } else {
                        note(e, "arguments_raw", Value::from(text.as_str()));
                    }
                }
                Some(Value::Null) | None => {}
                Some(other) => note(e, "arguments_raw", other.clone()),
            }
        }
        "resources/read" => e.resource = uri,
        _ => e.resource = name,
    }
}
