//! Agent chat transcripts (docs/formats/chat.md): the "messages with tool calls" shape agent
//! frameworks log, as one JSON document (`[...]` or `{"messages": [...]}` with an optional
//! envelope) or as JSON lines (one message per line, optionally after an envelope line).
//!
//! The first user message is the declared intent (`task.start`); tool results are `tool.result`
//! events marked untrusted. Messages without timestamps keep their order and get inferred times,
//! one microsecond apart, starting from the envelope's `started_at` (else from the last recorded
//! time, else from the Unix epoch, so that replays stay deterministic).

mod message;

use std::collections::VecDeque;

use chrono::TimeDelta;
use serde_json::{Map, Value};

use super::frame::{Frame, Framer, json_type, loose_time};
use super::sink::{Adapter, Sink, Stop, Unit};
use super::tool_target;
use crate::model::{Event, EventKind, Outcome, PrincipalKind, Timestamp, Trust};
use message::{ChatMessage, Role};

/// Envelope keys: a JSON object without `role` made only of these is an envelope header; one with
/// a `messages` list is an envelope whatever else it carries (benchmark metadata, a `tools` list),
/// and the keys beyond these are kept on its `task.start` event (`attributes.envelope`).
const ENVELOPE_KEYS: &[&str] = &[
    "task",
    "agent",
    "session",
    "started_at",
    "user",
    "messages",
    "system",
];
/// Tool calls waiting for a result, per transcript (older ones are left unpaired beyond this).
const MAX_OPEN_CALLS: usize = 10_000;

/// One transcript's context.
#[derive(Debug, Default)]
struct Transcript {
    task: String,
    agent: Option<String>,
    user: Option<String>,
    session: Option<String>,
    /// When no message says, the time of the next one.
    next_time: Option<Timestamp>,
    intent_declared: bool,
    /// Envelope keys beyond the documented ones, for the `task.start` event's attributes.
    envelope_extra: Option<Map<String, Value>>,
    /// Calls made and not yet answered: (call id used in events, id given, tool name).
    open: VecDeque<(String, Option<String>, String)>,
    calls: u64,
}

/// The chat transcript adapter.
#[derive(Default)]
pub(super) struct ChatAdapter {
    framer: Option<Framer>,
    current: Option<Transcript>,
    seq: u64,
}

impl Adapter for ChatAdapter {
    fn unit(&mut self, unit: &Unit<'_>, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let limit = sink.max_record_bytes();
        let framer = self.framer.get_or_insert_with(|| Framer::new(limit));
        match framer.push(unit) {
            Some(frame) => self.frame(&frame, sink),
            None => Ok(()),
        }
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<(), Stop> {
        match self.framer.as_mut().and_then(Framer::finish) {
            Some(frame) => self.frame(&frame, sink),
            None => Ok(()),
        }
    }
}

fn is_envelope(obj: &Map<String, Value>) -> bool {
    !obj.contains_key("role")
        && !obj.is_empty()
        && (obj.get("messages").is_some_and(Value::is_array)
            || obj.keys().all(|k| ENVELOPE_KEYS.contains(&k.as_str())))
}

/// The keys of an envelope beyond the documented ones, kept as they were.
fn envelope_extra(obj: &Map<String, Value>) -> Option<Map<String, Value>> {
    let extra: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!extra.is_empty()).then_some(extra)
}

fn env_str(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

impl ChatAdapter {
    fn frame(&mut self, frame: &Frame, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let value = match frame.parse() {
            Ok(v) => v,
            Err(reason) => return frame.quarantine_whole(sink, &reason),
        };
        match value {
            Value::Array(items) => {
                self.ensure_transcript(sink);
                for (n, item) in items.iter().enumerate() {
                    self.message(item, &frame.locator(n + 1), frame.offset, sink)?;
                }
                Ok(())
            }
            Value::Object(obj) if is_envelope(&obj) => self.envelope(&obj, frame, sink),
            other => {
                self.ensure_transcript(sink);
                self.message(&other, &format!("L{}", frame.line), frame.offset, sink)
            }
        }
    }

    fn ensure_transcript(&mut self, sink: &Sink<'_>) {
        if self.current.is_none() {
            self.current = Some(Transcript {
                task: format!("chat:{}", sink.file_tag()),
                ..Transcript::default()
            });
        }
    }

    /// An envelope starts a new transcript; its messages (if any) follow.
    fn envelope(
        &mut self,
        obj: &Map<String, Value>,
        frame: &Frame,
        sink: &mut Sink<'_>,
    ) -> Result<(), Stop> {
        let whole = |sink: &mut Sink<'_>, reason: String| {
            sink.quarantine(
                &format!("L{}", frame.line),
                Some(frame.offset),
                &reason,
                &frame.bytes,
                frame.bytes.len() as u64,
                false,
            )
        };
        let started_at = match obj.get("started_at").filter(|v| !v.is_null()) {
            None => None,
            Some(v) => match loose_time(v) {
                Ok(t) => Some(t),
                Err(e) => return whole(sink, format!("envelope `started_at`: {e}")),
            },
        };
        let messages = match obj.get("messages") {
            None | Some(Value::Null) => None,
            Some(Value::Array(m)) => Some(m),
            Some(other) => {
                return whole(
                    sink,
                    format!("`messages` must be an array, not {}", json_type(other)),
                );
            }
        };
        let task = env_str(obj, "task").unwrap_or_else(|| {
            if frame.line == 1 {
                format!("chat:{}", sink.file_tag())
            } else {
                format!("chat:{}:L{}", sink.file_tag(), frame.line)
            }
        });
        self.current = Some(Transcript {
            task,
            agent: env_str(obj, "agent"),
            user: env_str(obj, "user"),
            session: env_str(obj, "session"),
            next_time: started_at,
            envelope_extra: envelope_extra(obj),
            ..Transcript::default()
        });
        let Some(messages) = messages else {
            // A header line: its facts go into the events of the messages that follow.
            sink.record_ok();
            return Ok(());
        };
        if let Some(system) = env_str(obj, "system") {
            let msg = serde_json::json!({"role": "system", "content": system});
            self.message(&msg, &format!("L{}.0", frame.line), frame.offset, sink)?;
        }
        for (n, item) in messages.iter().enumerate() {
            self.message(item, &frame.locator(n + 1), frame.offset, sink)?;
        }
        Ok(())
    }

    fn message(
        &mut self,
        v: &Value,
        locator: &str,
        offset: u64,
        sink: &mut Sink<'_>,
    ) -> Result<(), Stop> {
        let m = match message::read(v) {
            Ok(m) => m,
            Err(reason) => {
                let raw = v.to_string();
                return sink.quarantine(
                    locator,
                    Some(offset),
                    &reason,
                    raw.as_bytes(),
                    raw.len() as u64,
                    false,
                );
            }
        };
        let raw = v.to_string();
        let events = self.events(&m, locator, &raw, sink);
        for e in events {
            sink.event(e)?;
        }
        sink.record_ok();
        Ok(())
    }

    /// The events of one message (see docs/formats/chat.md).
    #[allow(
        clippy::too_many_lines,
        reason = "one arm per role, best read top to bottom"
    )]
    fn events(
        &mut self,
        m: &ChatMessage,
        locator: &str,
        raw: &str,
        sink: &mut Sink<'_>,
    ) -> Vec<Event> {
        let seq = &mut self.seq;
        let t = self
            .current
            .as_mut()
            .expect("a transcript is open before any message");
        let (time, inferred) = match m.time {
            Some(time) => (time, false),
            None => (t.next_time.unwrap_or(Timestamp::UNIX_EPOCH), true),
        };
        t.next_time = Some(time + TimeDelta::microseconds(1));
        let agent = match (m.role, &m.name) {
            (Role::Assistant, Some(name)) => name.clone(),
            _ => t
                .agent
                .clone()
                .unwrap_or_else(|| format!("assistant@{}", t.task)),
        };
        let user = t.user.clone().unwrap_or_else(|| format!("user@{}", t.task));
        let session = m.session.clone().or_else(|| t.session.clone());
        let task = t.task.clone();
        let mut out = Vec::new();
        let mut part = 0;
        let mut new = |kind: EventKind, actor: &str, actor_kind: PrincipalKind| {
            part += 1;
            let loc = if part == 1 {
                locator.to_owned()
            } else {
                format!("{locator}#{part}")
            };
            let mut e = Event::new(sink.event_id(&loc), loc, time, kind, actor.to_owned());
            *seq += 1;
            e.seq = *seq;
            e.time_inferred = inferred;
            e.actor_kind = Some(actor_kind);
            e.task = Some(task.clone());
            e.session.clone_from(&session);
            let mut attrs = Map::new();
            attrs.insert("role".to_owned(), Value::from(m.role.as_str()));
            if let Some(name) = &m.name {
                attrs.insert("name".to_owned(), Value::from(name.as_str()));
            }
            e.attributes = Some(attrs);
            raw.clone_into(&mut e.raw);
            e
        };
        match m.role {
            Role::System => {
                if let Some(text) = &m.text {
                    let mut e = new(
                        EventKind::Message,
                        &format!("system@{task}"),
                        PrincipalKind::Unknown,
                    );
                    e.target = Some(agent.clone());
                    e.target_kind = Some(PrincipalKind::Agent);
                    e.content = Some(text.clone());
                    e.trust = Some(Trust::Trusted);
                    out.push(e);
                }
            }
            Role::User | Role::Tool => {
                for o in &m.outputs {
                    let (call_id, name) = t.answer(o.call_id.as_deref(), o.name.as_deref());
                    let mut e = new(EventKind::ToolResult, &agent, PrincipalKind::Agent);
                    e.call_id = call_id;
                    e.action = name;
                    e.content = Some(o.text.clone());
                    e.trust = Some(Trust::Untrusted);
                    e.outcome = if o.is_error {
                        Outcome::Error
                    } else {
                        Outcome::Success
                    };
                    out.push(e);
                }
                if let Some(text) = m.text.as_ref().filter(|_| m.role == Role::User) {
                    let mut e = new(EventKind::Message, &user, PrincipalKind::Human);
                    e.target = Some(agent.clone());
                    e.target_kind = Some(PrincipalKind::Agent);
                    e.content = Some(text.clone());
                    e.trust = Some(Trust::Trusted);
                    out.push(e);
                    if !t.intent_declared {
                        t.intent_declared = true;
                        let mut s = new(EventKind::TaskStart, &agent, PrincipalKind::Agent);
                        s.on_behalf_of = Some(user.clone());
                        s.intent = Some(text.clone());
                        if let (Some(extra), Some(a)) =
                            (t.envelope_extra.take(), s.attributes.as_mut())
                        {
                            a.insert("envelope".to_owned(), Value::Object(extra));
                        }
                        out.push(s);
                    }
                }
            }
            Role::Assistant => {
                if let Some(text) = &m.text {
                    let mut e = new(EventKind::Message, &agent, PrincipalKind::Agent);
                    e.target = Some(user.clone());
                    e.target_kind = Some(PrincipalKind::Human);
                    e.content = Some(text.clone());
                    out.push(e);
                }
                for c in &m.calls {
                    t.calls += 1;
                    let call_id =
                        c.id.clone()
                            .unwrap_or_else(|| format!("{}#call{}", t.task, t.calls));
                    if t.open.len() >= MAX_OPEN_CALLS {
                        t.open.pop_front();
                    }
                    t.open
                        .push_back((call_id.clone(), c.id.clone(), c.name.clone()));
                    let mut e = new(EventKind::ToolCall, &agent, PrincipalKind::Agent);
                    e.action = Some(c.name.clone());
                    e.call_id = Some(call_id);
                    if let Some(args) = &c.args {
                        e.destination = tool_target::destination(args);
                        e.resource = tool_target::resource(args);
                        e.args = Some(args.clone());
                    }
                    if let (Some(raw_args), Some(a)) = (&c.raw_args, e.attributes.as_mut()) {
                        a.insert("arguments_raw".to_owned(), raw_args.clone());
                    }
                    out.push(e);
                }
            }
        }
        if out.is_empty() {
            // An empty turn (no text, no calls): still on the timeline, as the message it was.
            let mut e = new(EventKind::Message, &agent, PrincipalKind::Agent);
            e.content = None;
            out.push(e);
        }
        out
    }
}

impl Transcript {
    /// Pairs a tool result with the call it answers: by id when it has one, else the oldest call
    /// made without an id (ids that are null pair by order), else the oldest open call.
    fn answer(&mut self, id: Option<&str>, name: Option<&str>) -> (Option<String>, Option<String>) {
        let found = match id {
            Some(id) => self
                .open
                .iter()
                .position(|(_, given, _)| given.as_deref() == Some(id)),
            None => self
                .open
                .iter()
                .position(|(_, given, _)| given.is_none())
                .or(if self.open.is_empty() { None } else { Some(0) }),
        };
        match found.and_then(|i| self.open.remove(i)) {
            Some((call_id, _, tool)) => (Some(call_id), Some(name.map_or(tool, str::to_owned))),
            None => (id.map(str::to_owned), name.map(str::to_owned)),
        }
    }
}
