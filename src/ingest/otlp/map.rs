//! Turning the spans of a whole file into events, once every parent can be looked up: who acted
//! (the agent whose `invoke_agent` span encloses the span), which task (the trace), and which
//! `invoke_agent` spans are hand-offs from another agent.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::span::{Span, SpanKind, Status};
use crate::ingest::sink::{Sink, Stop};
use crate::ingest::tool_target;
use crate::model::{Event, EventKind, Outcome, PrincipalKind, Trust};

/// Longest parent chain followed (a guard against cycles and absurd nesting).
const MAX_DEPTH: usize = 256;
/// Longest chain of linked traces followed to find a task.
const MAX_LINK_HOPS: usize = 8;

/// Operations that start an agent's work.
const AGENT_OPS: &[&str] = &["invoke_agent", "invoke_workflow"];
/// Model inference operations: recorded as messages to the model, not as actions.
const INFERENCE_OPS: &[&str] = &[
    "chat",
    "text_completion",
    "generate_content",
    "embeddings",
    "plan",
];
/// MCP methods that move data (the rest is protocol housekeeping).
const MCP_ACTION_METHODS: &[&str] = &["tools/call", "resources/read", "prompts/get"];

/// Resolves and stores every span, in file order.
pub(super) fn emit(spans: &[Span], sink: &mut Sink<'_>) -> Result<(), Stop> {
    let mut index: HashMap<(&str, &str), usize> = HashMap::with_capacity(spans.len());
    let mut duplicate = vec![None; spans.len()];
    for (i, s) in spans.iter().enumerate() {
        if let Some(&first) = index.get(&(s.trace_id.as_str(), s.span_id.as_str())) {
            duplicate[i] = Some(first);
        } else {
            index.insert((&s.trace_id, &s.span_id), i);
        }
    }
    let mut m = Mapper {
        spans,
        index,
        tasks: HashMap::new(),
        roots: HashMap::new(),
        seq: 0,
    };
    m.find_roots();
    for (i, s) in spans.iter().enumerate() {
        if let Some(first) = duplicate[i] {
            let reason = format!(
                "span {} of trace {} appears again (first at {}); only the first is used",
                s.span_id, s.trace_id, spans[first].locator
            );
            sink.quarantine(
                &s.locator,
                Some(s.offset),
                &reason,
                s.raw.as_bytes(),
                s.raw.len() as u64,
                false,
            )?;
            continue;
        }
        for e in m.events(i, sink) {
            sink.event(e)?;
        }
        sink.record_ok();
    }
    Ok(())
}

struct Mapper<'s> {
    spans: &'s [Span],
    index: HashMap<(&'s str, &'s str), usize>,
    /// Task id per trace, once computed.
    tasks: HashMap<&'s str, String>,
    /// Per trace, its first top-level agent span.
    roots: HashMap<&'s str, usize>,
    seq: u64,
}

fn op(s: &Span) -> Option<&str> {
    s.own("gen_ai.operation.name")
}

fn is_agent_span(s: &Span) -> bool {
    op(s).is_some_and(|o| AGENT_OPS.contains(&o))
}

/// The agent a span names: `gen_ai.agent.id`, else `gen_ai.agent.name`.
fn named_agent(s: &Span) -> Option<&str> {
    s.own("gen_ai.agent.id")
        .or_else(|| s.own("gen_ai.agent.name"))
}

/// The agent an agent span invokes, falling back to the service that reported it.
fn agent_id(s: &Span) -> String {
    named_agent(s)
        .or_else(|| s.attr("service.name"))
        .unwrap_or("unknown_service")
        .to_owned()
}

fn outcome(s: &Span) -> Outcome {
    let error_type = s.own("error.type");
    let failed = match s.status {
        Status::Ok => return Outcome::Success,
        Status::Error => true,
        Status::Unset => error_type.is_some(),
    };
    if !failed {
        return Outcome::Unknown;
    }
    let text = format!(
        "{} {}",
        error_type.unwrap_or_default(),
        s.status_message.as_deref().unwrap_or_default()
    )
    .to_ascii_lowercase();
    let denied = [
        "denied",
        "forbidden",
        "unauthorized",
        "unauthorised",
        "permission",
        "403",
        "401",
    ];
    if denied.iter().any(|w| text.contains(w)) {
        Outcome::Denied
    } else {
        Outcome::Error
    }
}

/// The first user message of `gen_ai.input.messages` (or the older `gen_ai.prompt`).
fn declared_intent(s: &Span) -> Option<String> {
    let raw = s
        .attrs
        .get("gen_ai.input.messages")
        .or_else(|| s.attrs.get("gen_ai.prompt"))?;
    let parsed;
    let messages = match raw {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok();
            match &parsed {
                Some(v) => v,
                None => return Some(text.clone()),
            }
        }
        other => other,
    };
    let user = messages
        .as_array()?
        .iter()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))?;
    if let Some(text) = user.get("content").and_then(Value::as_str) {
        return Some(text.to_owned());
    }
    let parts: Vec<&str> = user
        .get("parts")
        .or_else(|| user.get("content"))
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|p| {
            p.get("content")
                .or_else(|| p.get("text"))
                .and_then(Value::as_str)
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl<'s> Mapper<'s> {
    fn parent(&self, i: usize) -> Option<usize> {
        let s = &self.spans[i];
        let p = s.parent_id.as_deref()?;
        self.index.get(&(s.trace_id.as_str(), p)).copied()
    }

    /// The nearest enclosing agent span (not the span itself).
    fn agent_ancestor(&self, i: usize) -> Option<usize> {
        let mut at = i;
        for _ in 0..MAX_DEPTH {
            at = self.parent(at)?;
            if at == i {
                return None; // a cycle of parent ids
            }
            if is_agent_span(&self.spans[at]) {
                return Some(at);
            }
        }
        None
    }

    /// Who acted for a span: the agent it invokes or runs under, else the agent it names, else
    /// its service.
    fn acting(&self, i: usize) -> (String, PrincipalKind) {
        let s = &self.spans[i];
        if is_agent_span(s) {
            return (agent_id(s), PrincipalKind::Agent);
        }
        if let Some(a) = self.agent_ancestor(i) {
            return (agent_id(&self.spans[a]), PrincipalKind::Agent);
        }
        if let Some(name) = named_agent(s) {
            return (name.to_owned(), PrincipalKind::Agent);
        }
        (
            s.attr("service.name")
                .unwrap_or("unknown_service")
                .to_owned(),
            PrincipalKind::Workload,
        )
    }

    fn find_roots(&mut self) {
        for (i, s) in self.spans.iter().enumerate() {
            if !is_agent_span(s) || self.agent_ancestor(i).is_some() {
                continue;
            }
            let better = self
                .roots
                .get(s.trace_id.as_str())
                .is_none_or(|&r| s.start < self.spans[r].start);
            if better {
                self.roots.insert(&s.trace_id, i);
            }
        }
    }

    /// A span this one links to that is in the file, in another trace or under another agent.
    fn linked(&self, i: usize) -> Option<usize> {
        self.spans[i]
            .links
            .iter()
            .find_map(|(t, s)| self.index.get(&(t.as_str(), s.as_str())).copied())
    }

    /// The task of a trace: `trace:<id>`, or, when the trace's first agent was started through a
    /// link from another trace (an asynchronous hand-off), the task of that trace.
    fn task(&mut self, trace: &'s str) -> String {
        if let Some(t) = self.tasks.get(trace) {
            return t.clone();
        }
        let mut at = trace;
        for _ in 0..MAX_LINK_HOPS {
            let next = self
                .roots
                .get(at)
                .and_then(|&r| self.linked(r))
                .map(|l| self.spans[l].trace_id.as_str())
                .filter(|t| *t != at && *t != trace);
            match next {
                Some(t) => at = t,
                None => break,
            }
        }
        let task = format!("trace:{at}");
        self.tasks.insert(trace, task.clone());
        task
    }

    fn event(&mut self, i: usize, part: usize, kind: EventKind, sink: &Sink<'_>) -> Event {
        let spans = self.spans;
        let s = &spans[i];
        let locator = if part == 1 {
            s.locator.clone()
        } else {
            format!("{}#{part}", s.locator)
        };
        let (actor, actor_kind) = self.acting(i);
        let mut e = Event::new(sink.event_id(&locator), locator, s.start, kind, actor);
        self.seq += 1;
        e.seq = self.seq;
        e.actor_kind = Some(actor_kind);
        e.task = Some(self.task(&s.trace_id));
        e.session = Some(format!("trace:{}", s.trace_id));
        e.source_event_id = Some(s.span_id.clone());
        e.outcome = outcome(s);
        e.environment = s
            .attr("deployment.environment.name")
            .or_else(|| s.attr("deployment.environment"))
            .map(str::to_owned);
        e.attributes = Some(attributes(s));
        e.raw.clone_from(&s.raw);
        e
    }

    /// The events of span `i` (see docs/formats/otlp.md for the table).
    fn events(&mut self, i: usize, sink: &mut Sink<'_>) -> Vec<Event> {
        let spans = self.spans;
        let s = &spans[i];
        let operation = op(s).unwrap_or_default();
        let mcp_method = s.own("mcp.method.name");
        if is_agent_span(s) {
            return vec![self.agent_event(i, sink)];
        }
        if operation == "create_agent" {
            let mut e = self.event(i, 1, EventKind::ToolCall, sink);
            e.action = Some("create_agent".to_owned());
            if let Some(created) = named_agent(s) {
                sink.principal(created, PrincipalKind::Agent);
                e.resource = Some(created.to_owned());
            }
            return vec![e];
        }
        if INFERENCE_OPS.contains(&operation) {
            let mut e = self.event(i, 1, EventKind::Message, sink);
            e.target = s
                .own("gen_ai.request.model")
                .or_else(|| s.own("gen_ai.response.model"))
                .or_else(|| s.attr("gen_ai.provider.name"))
                .or_else(|| s.attr("gen_ai.system"))
                .map(str::to_owned);
            e.target_kind = e.target.as_ref().map(|_| PrincipalKind::Tool);
            return vec![e];
        }
        let is_tool = operation == "execute_tool"
            || mcp_method.is_some_and(|m| MCP_ACTION_METHODS.contains(&m))
            || (!operation.is_empty() && mcp_method.is_none());
        if is_tool {
            return self.tool_events(i, sink);
        }
        if mcp_method.is_some()
            || matches!(
                s.kind,
                SpanKind::Internal | SpanKind::Server | SpanKind::Consumer | SpanKind::Unspecified
            )
        {
            // Protocol housekeeping and spans with no GenAI meaning: on the timeline, not actions.
            let mut e = self.event(i, 1, EventKind::Message, sink);
            e.target = s.own("server.address").map(str::to_owned);
            return vec![e];
        }
        // An outbound call (HTTP, database, RPC) with no GenAI meaning: an action of the agent.
        let mut e = self.event(i, 1, EventKind::ToolCall, sink);
        e.action = Some(if s.name.is_empty() {
            "span".to_owned()
        } else {
            s.name.clone()
        });
        e.destination = s
            .own("url.full")
            .or_else(|| s.own("server.address"))
            .map(str::to_owned);
        vec![e]
    }

    /// An `invoke_agent` span: a hand-off when another agent's span encloses it (or links to
    /// it), the start of the task when it is the trace's top agent.
    fn agent_event(&mut self, i: usize, sink: &mut Sink<'_>) -> Event {
        let spans = self.spans;
        let s = &spans[i];
        let me = agent_id(s);
        let from_parent = self
            .agent_ancestor(i)
            .map(|a| (agent_id(&self.spans[a]), "parent"));
        let from_link = || {
            self.linked(i)
                .map(|l| self.acting(l))
                .filter(|(a, _)| *a != me)
                .map(|(a, _)| (a, "link"))
        };
        let delegator = from_parent.or_else(from_link);
        match delegator {
            Some((from, how)) if from != me => {
                let mut e = self.event(i, 1, EventKind::Delegate, sink);
                e.actor = from;
                e.actor_kind = Some(PrincipalKind::Agent);
                e.target = Some(me);
                e.target_kind = Some(PrincipalKind::Agent);
                if let Some(a) = e.attributes.as_mut() {
                    a.insert("handoff".to_owned(), Value::from(how));
                }
                e
            }
            Some(_) => {
                // The same agent again (the remote side of an invocation): its work continues.
                self.event(i, 1, EventKind::Message, sink)
            }
            None => {
                let mut e = self.event(i, 1, EventKind::TaskStart, sink);
                e.intent = declared_intent(s);
                e.on_behalf_of = s
                    .attr("enduser.id")
                    .or_else(|| s.attr("user.id"))
                    .map(str::to_owned);
                e
            }
        }
    }

    /// A tool execution: a `tool.call`, plus a `tool.result` when the result was captured. The
    /// server side of an MCP call whose client side is in the file is that call's result.
    fn tool_events(&mut self, i: usize, sink: &mut Sink<'_>) -> Vec<Event> {
        let spans = self.spans;
        let s = &spans[i];
        let tool = s
            .own("gen_ai.tool.name")
            .map(str::to_owned)
            .or_else(|| {
                s.own("mcp.method.name")
                    .filter(|m| *m != "tools/call")
                    .map(str::to_owned)
            })
            .or_else(|| op(s).filter(|o| *o != "execute_tool").map(str::to_owned))
            .unwrap_or_else(|| {
                s.name
                    .strip_prefix("execute_tool ")
                    .or_else(|| s.name.strip_prefix("tools/call "))
                    .unwrap_or(&s.name)
                    .to_owned()
            });
        let call_id = s
            .own("gen_ai.tool.call.id")
            .map(str::to_owned)
            .or_else(|| s.attrs.get("jsonrpc.request.id").map(text_of));
        let result = s.attrs.get("gen_ai.tool.call.result").map(text_of);
        let server_side = s.kind == SpanKind::Server
            && s.own("mcp.method.name").is_some()
            && self.parent(i).is_some();
        if server_side {
            let mut e = self.event(i, 1, EventKind::ToolResult, sink);
            e.time = s.end.unwrap_or(s.start);
            e.action = Some(tool);
            e.call_id = call_id;
            e.content = result;
            e.trust = Some(Trust::Untrusted);
            return vec![e];
        }
        let mut call = self.event(i, 1, EventKind::ToolCall, sink);
        call.action = Some(tool.clone());
        call.call_id.clone_from(&call_id);
        match s.attrs.get("gen_ai.tool.call.arguments") {
            Some(Value::String(text)) => {
                if let Ok(args) = tool_target::parse_arguments(text) {
                    call.args = Some(args);
                }
            }
            Some(v @ Value::Object(_)) => call.args = Some(v.clone()),
            _ => {}
        }
        if let Some(args) = &call.args {
            call.destination = tool_target::destination(args);
            call.resource = tool_target::resource(args);
        }
        if let Some(uri) = s.own("mcp.resource.uri") {
            call.resource = Some(uri.to_owned());
        }
        if let Some(source) = s.own("gen_ai.data_source.id") {
            call.resource.get_or_insert_with(|| source.to_owned());
        }
        let mut out = vec![call];
        if let Some(content) = result {
            let mut r = self.event(i, 2, EventKind::ToolResult, sink);
            r.time = s.end.unwrap_or(s.start);
            r.action = Some(tool);
            r.call_id = call_id;
            r.content = Some(content);
            r.trust = Some(Trust::Untrusted);
            out.push(r);
        }
        out
    }
}

/// The span's context kept on every event it gives: ids, name, kind, status, scope, resource
/// and all span attributes as given.
fn attributes(s: &Span) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert("trace_id".to_owned(), Value::from(s.trace_id.as_str()));
    a.insert("span_id".to_owned(), Value::from(s.span_id.as_str()));
    if let Some(p) = &s.parent_id {
        a.insert("parent_span_id".to_owned(), Value::from(p.as_str()));
    }
    a.insert("span_name".to_owned(), Value::from(s.name.as_str()));
    a.insert("span_kind".to_owned(), Value::from(s.kind.as_str()));
    if let Some(m) = &s.status_message {
        a.insert("status_message".to_owned(), Value::from(m.as_str()));
    }
    if let Some(end) = s.end {
        a.insert(
            "end_time".to_owned(),
            Value::from(crate::model::format_time(&end)),
        );
    }
    if let Some(scope) = &s.scope {
        a.insert("scope".to_owned(), Value::from(scope.as_str()));
    }
    if !s.links.is_empty() {
        let links = s
            .links
            .iter()
            .map(|(t, sp)| serde_json::json!({"trace_id": t, "span_id": sp}))
            .collect();
        a.insert("links".to_owned(), Value::Array(links));
    }
    a.insert(
        "resource".to_owned(),
        Value::Object(s.resource.as_ref().clone()),
    );
    a.insert("span".to_owned(), Value::Object(s.attrs.clone()));
    a
}
