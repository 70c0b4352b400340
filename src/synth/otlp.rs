//! The generated incident as OpenTelemetry GenAI traces (docs/formats/otlp.md): each task is one
//! trace, written as one `ExportTraceServiceRequest` per line, as the collector's `file`
//! exporter does.
//!
//! A task's native events become spans of its trace:
//!
//! - the task's start is the root `invoke_agent` span of the agent that runs it (the user's
//!   request as the first input message, `enduser.id` the person it acts for);
//! - a hand-off to another agent is a nested `invoke_agent` span under the delegating agent's span;
//! - every tool call is an `execute_tool` span under its agent's span, ending when its result
//!   comes back, with the result captured (`gen_ai.tool.call.result`);
//! - every message an agent writes is a `chat` span (the model call that wrote it).
//!
//! Credentials, sign-ins, approvals and policy decisions have no GenAI span, and messages written
//! by people are not traced by the agent runtime, so those native events have no counterpart.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Rng;

/// The model every generated agent calls.
const MODEL: &str = "gpt-4.1-2025-04-14";

/// One task as an OTLP line: the request and the number of events onus makes of it.
pub(super) struct Trace {
    pub line: String,
    pub events: u64,
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

fn int_attr(key: &str, value: i64) -> Value {
    json!({"key": key, "value": {"intValue": value.to_string()}})
}

fn nanos(micros: i64) -> String {
    (i128::from(micros) * 1000).to_string()
}

struct Span {
    id: String,
    parent: Option<String>,
    name: String,
    kind: u8,
    start: i64,
    end: i64,
    attributes: Vec<Value>,
    status: Value,
}

impl Span {
    fn to_json(&self, trace: &str) -> Value {
        let mut o = json!({
            "traceId": trace,
            "spanId": self.id,
        });
        if let Some(p) = &self.parent {
            o["parentSpanId"] = json!(p);
        }
        o["name"] = json!(self.name);
        o["kind"] = json!(self.kind);
        o["startTimeUnixNano"] = json!(nanos(self.start));
        o["endTimeUnixNano"] = json!(nanos(self.end.max(self.start)));
        o["attributes"] = Value::Array(self.attributes.clone());
        o["status"] = self.status.clone();
        o
    }
}

fn ok() -> Value {
    json!({"code": 1})
}

/// Converts one task's native events (sorted by time) to one OTLP request.
#[allow(
    clippy::too_many_lines,
    reason = "one match over the native kinds, read top to bottom"
)]
pub(super) fn trace(task_n: u64, seed: u64, events: &[(i64, String)]) -> Trace {
    let mut rng = Rng::new(seed ^ task_n.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let trace_id = format!("{:016x}{:016x}", rng.next_u64() | 1, rng.next_u64());
    let mut next_span = || format!("{:016x}", rng.next_u64() | 1);
    let parsed: Vec<Value> = events
        .iter()
        .filter_map(|(_, line)| serde_json::from_str(line).ok())
        .collect();
    let time = |v: &Value| -> i64 {
        s(v, "time")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map_or(0, |t| t.timestamp_micros())
    };
    let last = parsed.iter().map(time).max().unwrap_or(0);
    // The span of each agent's work in this task, and the index of that span.
    let mut agent_span: BTreeMap<String, usize> = BTreeMap::new();
    let mut spans: Vec<Span> = Vec::new();
    // Open tool calls by call id: index of their span.
    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    let mut results = 0u64;
    let mut user_text: Option<String> = None;
    for v in &parsed {
        let kind = s(v, "kind").unwrap_or_default();
        let actor = s(v, "actor").unwrap_or_default();
        let t = time(v);
        match kind.as_str() {
            "message" if s(v, "actor_kind").as_deref() == Some("human") => {
                user_text = s(v, "content");
            }
            "task.start" if !agent_span.contains_key(&actor) => {
                let intent = s(v, "intent").or_else(|| user_text.clone());
                let mut attributes = vec![
                    attr("gen_ai.operation.name", "invoke_agent"),
                    attr("gen_ai.agent.name", &actor),
                    attr("gen_ai.provider.name", "openai"),
                    attr("gen_ai.request.model", MODEL),
                ];
                if let Some(u) = s(v, "on_behalf_of") {
                    attributes.push(attr("enduser.id", &u));
                }
                if let Some(text) = intent {
                    let messages =
                        json!([{"role": "user", "parts": [{"type": "text", "content": text}]}]);
                    attributes.push(attr("gen_ai.input.messages", &messages.to_string()));
                }
                if let Some(session) = s(v, "session") {
                    attributes.push(attr("gen_ai.conversation.id", &session));
                }
                agent_span.insert(actor.clone(), spans.len());
                spans.push(Span {
                    id: next_span(),
                    parent: None,
                    name: format!("invoke_agent {actor}"),
                    kind: 1,
                    start: t,
                    end: last,
                    attributes,
                    status: ok(),
                });
            }
            "delegate" => {
                let (Some(&from), Some(target)) = (agent_span.get(&actor), s(v, "target")) else {
                    continue;
                };
                let parent = spans[from].id.clone();
                agent_span.insert(target.clone(), spans.len());
                spans.push(Span {
                    id: next_span(),
                    parent: Some(parent),
                    name: format!("invoke_agent {target}"),
                    kind: 3,
                    start: t,
                    end: last,
                    attributes: vec![
                        attr("gen_ai.operation.name", "invoke_agent"),
                        attr("gen_ai.agent.name", &target),
                        attr("gen_ai.provider.name", "openai"),
                        attr("gen_ai.request.model", MODEL),
                    ],
                    status: ok(),
                });
            }
            "tool.call" => {
                let Some(&parent) = agent_span.get(&actor) else {
                    continue;
                };
                let tool = s(v, "action").unwrap_or_else(|| "tool".to_owned());
                let mut attributes = vec![
                    attr("gen_ai.operation.name", "execute_tool"),
                    attr("gen_ai.tool.name", &tool),
                    attr("gen_ai.tool.type", "function"),
                ];
                if let Some(id) = s(v, "call_id") {
                    attributes.push(attr("gen_ai.tool.call.id", &id));
                    calls.insert(id, spans.len());
                }
                if let Some(args) = v.get("args") {
                    attributes.push(attr("gen_ai.tool.call.arguments", &args.to_string()));
                }
                let parent = spans[parent].id.clone();
                spans.push(Span {
                    id: next_span(),
                    parent: Some(parent),
                    name: format!("execute_tool {tool}"),
                    kind: 1,
                    start: t,
                    end: t,
                    attributes,
                    status: json!({"code": 0}),
                });
            }
            "tool.result" => {
                let Some(&i) = s(v, "call_id").and_then(|c| calls.get(&c)) else {
                    continue;
                };
                let span = &mut spans[i];
                span.end = t;
                if let Some(content) = s(v, "content") {
                    span.attributes
                        .push(attr("gen_ai.tool.call.result", &content));
                    results += 1;
                }
                if let Some(ms) = v.pointer("/attributes/latency_ms").and_then(Value::as_i64) {
                    span.attributes.push(int_attr("onus.synth.latency_ms", ms));
                }
                span.status = match s(v, "outcome").as_deref() {
                    Some("denied") => {
                        span.attributes
                            .push(attr("error.type", "permission_denied"));
                        json!({"code": 2, "message": "permission denied"})
                    }
                    Some("error") => {
                        span.attributes.push(attr("error.type", "tool_error"));
                        json!({"code": 2, "message": "tool failed"})
                    }
                    _ => ok(),
                };
            }
            "message" => {
                let Some(&parent) = agent_span.get(&actor) else {
                    continue;
                };
                let parent = spans[parent].id.clone();
                let mut attributes = vec![
                    attr("gen_ai.operation.name", "chat"),
                    attr("gen_ai.provider.name", "openai"),
                    attr("gen_ai.request.model", MODEL),
                    attr("gen_ai.response.model", MODEL),
                ];
                if let Some(content) = s(v, "content") {
                    let out = json!([{"role": "assistant", "parts": [{"type": "text", "content": content}]}]);
                    attributes.push(attr("gen_ai.output.messages", &out.to_string()));
                }
                let tokens = 40 + (t.rem_euclid(900));
                attributes.push(int_attr("gen_ai.usage.output_tokens", tokens));
                spans.push(Span {
                    id: next_span(),
                    parent: Some(parent),
                    name: format!("chat {MODEL}"),
                    kind: 3,
                    start: t - tokens * 9_000,
                    end: t,
                    attributes,
                    status: ok(),
                });
            }
            _ => {}
        }
    }
    let json_spans: Vec<Value> = spans.iter().map(|sp| sp.to_json(&trace_id)).collect();
    let request = json!({
        "resourceSpans": [{
            "resource": {"attributes": [
                attr("service.name", "agent-runtime"),
                attr("service.version", "2.14.1"),
                attr("deployment.environment.name", "prod"),
                attr("telemetry.sdk.language", "python"),
            ]},
            "scopeSpans": [{
                "scope": {"name": "opentelemetry.instrumentation.openai_agents", "version": "0.52b0"},
                "spans": json_spans,
            }],
        }],
    });
    Trace {
        line: request.to_string(),
        events: spans.len() as u64 + results,
    }
}
