//! Reading one chat message in any of the common shapes into a neutral form: role, text, tool
//! calls and tool results, with its own time if it has one.

use serde_json::{Map, Value};

use crate::ingest::frame::{json_type, loose_time};
use crate::ingest::tool_target;
use crate::model::Timestamp;

/// Normalised roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "system" | "developer" => Some(Self::System),
            "user" | "human" => Some(Self::User),
            "assistant" | "ai" | "model" | "agent" => Some(Self::Assistant),
            "tool" | "function" | "ipython" | "tool_result" => Some(Self::Tool),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }
}

/// A tool call the assistant made.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Call {
    pub id: Option<String>,
    pub name: String,
    /// The arguments when they are (or parse to) a JSON object.
    pub args: Option<Value>,
    /// The arguments as given when they are not a JSON object.
    pub raw_args: Option<Value>,
}

/// A tool result handed back to the assistant.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Output {
    pub call_id: Option<String>,
    pub name: Option<String>,
    pub text: String,
    pub is_error: bool,
}

/// One message, whatever shape it came in.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ChatMessage {
    pub role: Role,
    pub name: Option<String>,
    pub text: Option<String>,
    pub calls: Vec<Call>,
    pub outputs: Vec<Output>,
    pub time: Option<Timestamp>,
    pub session: Option<String>,
}

fn str_field<'v>(obj: &'v Map<String, Value>, keys: &[&str]) -> Option<&'v str> {
    keys.iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
}

fn id_field(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match obj.get(*k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn time_field(obj: &Map<String, Value>) -> Result<Option<Timestamp>, String> {
    match ["timestamp", "created_at", "time", "ts"]
        .iter()
        .find_map(|k| obj.get(*k).map(|v| (*k, v)))
    {
        None | Some((_, Value::Null)) => Ok(None),
        Some((k, v)) => loose_time(v).map(Some).map_err(|e| format!("`{k}`: {e}")),
    }
}

/// Reads a message object (possibly wrapped as `{"message": {...}, "timestamp": ...}`).
pub(super) fn read(v: &Value) -> Result<ChatMessage, String> {
    let Value::Object(outer) = v else {
        return Err(format!(
            "a chat message must be a JSON object, not {}",
            json_type(v)
        ));
    };
    let (obj, wrapper) = match outer.get("message") {
        Some(Value::Object(inner)) if !outer.contains_key("role") => (inner, Some(outer)),
        _ => (outer, None),
    };
    let role_text = obj
        .get("role")
        .and_then(Value::as_str)
        .ok_or("not a chat message: no string `role`")?;
    let role = Role::parse(role_text).ok_or_else(|| {
        format!(
            "`role` `{}` is not a chat role (system, user, assistant, tool)",
            crate::text::for_terminal_clipped(role_text, 32)
        )
    })?;
    let time = match time_field(obj)? {
        Some(t) => Some(t),
        None => wrapper.map(time_field).transpose()?.flatten(),
    };
    let session = wrapper.and_then(|w| str_field(w, &["sessionId", "session_id", "session"]));
    let mut m = ChatMessage {
        role,
        name: str_field(obj, &["name"]).map(str::to_owned),
        text: None,
        calls: Vec::new(),
        outputs: Vec::new(),
        time,
        session: session.map(str::to_owned),
    };
    let mut texts = Vec::new();
    match obj.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                read_block(block, &mut m, &mut texts)
                    .map_err(|e| format!("content block {}: {e}", i + 1))?;
            }
        }
        Some(other) => {
            return Err(format!(
                "`content` must be text or a list of blocks, not {}",
                json_type(other)
            ));
        }
    }
    if let Some(calls) = obj.get("tool_calls").filter(|c| !c.is_null()) {
        let Value::Array(calls) = calls else {
            return Err("`tool_calls` must be an array".to_owned());
        };
        for (i, call) in calls.iter().enumerate() {
            m.calls
                .push(read_call(call).map_err(|e| format!("tool call {}: {e}", i + 1))?);
        }
    }
    if let Some(call) = obj.get("function_call").filter(|c| !c.is_null()) {
        m.calls
            .push(read_call(call).map_err(|e| format!("`function_call`: {e}"))?);
    }
    if role == Role::Tool {
        let mut text = texts.join("\n");
        texts.clear();
        // A tool message may carry its failure in `error` (a text or an object) beside or
        // instead of its content: the result is then an error, and the error text is kept.
        let error = obj
            .get("error")
            .filter(|e| !e.is_null() && e != &&Value::Bool(false));
        if let Some(error) = error {
            let error_text = match error {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if text.trim().is_empty() {
                text = error_text;
            } else {
                text = format!("{text}\nerror: {error_text}");
            }
        }
        m.outputs.push(Output {
            call_id: id_field(obj, &["tool_call_id", "tool_use_id", "call_id", "id"]),
            name: m.name.clone(),
            text,
            is_error: obj
                .get("is_error")
                .or_else(|| obj.get("isError"))
                .and_then(Value::as_bool)
                == Some(true)
                || str_field(obj, &["status"]).is_some_and(|s| s.eq_ignore_ascii_case("error"))
                || error.is_some(),
        });
    }
    let joined = texts.join("\n");
    if !joined.trim().is_empty() {
        m.text = Some(joined);
    }
    Ok(m)
}

/// The text of a block list or a string (used inside tool results).
fn flat_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(|b| match b {
                Value::String(s) => Some(s.clone()),
                other => block_text(other),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The text of a content block: its `text`, else its `content` (a text or nested blocks), as
/// frameworks differ in which key they use.
fn block_text(block: &Value) -> Option<String> {
    if let Some(t) = block.get("text").and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    match block.get("content") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(nested @ Value::Array(_)) => Some(flat_text(nested)),
        _ => None,
    }
}

fn read_block(block: &Value, m: &mut ChatMessage, texts: &mut Vec<String>) -> Result<(), String> {
    let obj = match block {
        Value::String(s) => {
            texts.push(s.clone());
            return Ok(());
        }
        Value::Object(obj) => obj,
        other => {
            return Err(format!(
                "a block must be text or an object, not {}",
                json_type(other)
            ));
        }
    };
    match obj.get("type").and_then(Value::as_str).unwrap_or("text") {
        "tool_use" | "function_call" | "tool_call" => m.calls.push(read_call(block)?),
        "tool_result" | "function_call_output" => m.outputs.push(Output {
            call_id: id_field(obj, &["tool_use_id", "call_id", "tool_call_id"]),
            name: None,
            text: flat_text(
                obj.get("content")
                    .or_else(|| obj.get("output"))
                    .unwrap_or(&Value::Null),
            ),
            is_error: obj.get("is_error").and_then(Value::as_bool) == Some(true),
        }),
        _ => {
            if let Some(t) = block_text(block) {
                texts.push(t);
            } else {
                let kind = obj.get("type").and_then(Value::as_str).unwrap_or("block");
                texts.push(format!("[{kind}]"));
            }
        }
    }
    Ok(())
}

/// Reads a tool call in any accepted shape: `{id, function: {name, arguments}}`, the flattened
/// `{id, function: "name", args}`, a `tool_use` block `{id, name, input}` or `{name, arguments}`.
fn read_call(v: &Value) -> Result<Call, String> {
    let Value::Object(obj) = v else {
        return Err(format!("must be an object, not {}", json_type(v)));
    };
    let (name, args) = match obj.get("function") {
        Some(Value::Object(f)) => (
            str_field(f, &["name"]),
            f.get("arguments").or_else(|| f.get("args")),
        ),
        Some(Value::String(name)) => (
            Some(name.as_str()),
            obj.get("args").or_else(|| obj.get("arguments")),
        ),
        _ => (
            str_field(obj, &["name", "tool", "tool_name"]),
            obj.get("arguments")
                .or_else(|| obj.get("args"))
                .or_else(|| obj.get("input")),
        ),
    };
    let name = name.ok_or("it names no function")?;
    let (args, raw_args) = match args {
        None | Some(Value::Null) => (None, None),
        Some(a @ Value::Object(_)) => (Some(a.clone()), None),
        Some(Value::String(text)) if text.trim().is_empty() => (None, None),
        Some(Value::String(text)) => match tool_target::parse_arguments(text) {
            Ok(a) => (Some(a), None),
            Err(raw) => (None, Some(Value::from(raw))),
        },
        Some(other) => (None, Some(other.clone())),
    };
    Ok(Call {
        id: id_field(obj, &["id", "call_id", "tool_call_id"]),
        name: name.to_owned(),
        args,
        raw_args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_calls_parse_their_string_arguments_or_keep_them_raw() {
        let m = read(&json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "send_email", "arguments": "{\"to\": \"x@y.example\"}"}},
            {"id": null, "type": "function", "function": {"name": "fetch", "arguments": "not json"}}
        ]}))
        .expect("valid");
        assert_eq!(m.calls.len(), 2);
        assert_eq!(m.calls[0].args, Some(json!({"to": "x@y.example"})));
        assert_eq!(m.calls[1].id, None);
        assert_eq!(m.calls[1].raw_args, Some(json!("not json")));
        assert_eq!(m.text, None);
    }

    #[test]
    fn flattened_and_anthropic_shapes_read_alike() {
        let flat = read(&json!({"role": "assistant", "tool_calls": [{"function": "lookup", "args": {"q": 1}, "id": "a"}]})).expect("flat");
        assert_eq!(flat.calls[0].name, "lookup");
        let blocks = read(&json!({"role": "assistant", "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": 1}}
        ]}))
        .expect("blocks");
        assert_eq!(blocks.text.as_deref(), Some("Let me check."));
        assert_eq!(blocks.calls[0].args, Some(json!({"q": 1})));
        let result = read(&json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "42"}], "is_error": true}
        ]}))
        .expect("result");
        assert_eq!(result.outputs[0].text, "42");
        assert!(result.outputs[0].is_error);
        assert_eq!(result.text, None);
    }

    #[test]
    fn text_blocks_with_content_keep_their_text() {
        // Frameworks that write `{"type": "text", "content": ...}` lost the text to `[text]`.
        let m = read(&json!({"role": "user", "content": [
            {"type": "text", "content": "Pay the bill in bill-2023-12.txt"},
            {"type": "input_text", "content": [{"type": "text", "text": "thanks"}]},
            {"type": "image"}
        ]}))
        .expect("blocks");
        assert_eq!(
            m.text.as_deref(),
            Some("Pay the bill in bill-2023-12.txt\nthanks\n[image]")
        );
    }

    #[test]
    fn a_tool_error_field_makes_the_result_an_error_with_its_text() {
        let m = read(&json!({"role": "tool", "tool_call_id": "c1", "content": "", "error": "ValueError: file not found"}))
            .expect("tool");
        assert!(m.outputs[0].is_error);
        assert_eq!(m.outputs[0].text, "ValueError: file not found");
        let both = read(&json!({"role": "tool", "tool_call_id": "c1", "content": "partial", "error": {"code": 7}}))
            .expect("tool");
        assert!(both.outputs[0].is_error);
        assert!(
            both.outputs[0].text.contains("partial") && both.outputs[0].text.contains("\"code\":7")
        );
        let fine =
            read(&json!({"role": "tool", "tool_call_id": "c1", "content": "ok", "error": null}))
                .expect("tool");
        assert!(!fine.outputs[0].is_error);
    }

    #[test]
    fn bad_messages_say_why() {
        assert!(
            read(&json!("hello"))
                .expect_err("string")
                .contains("JSON object")
        );
        assert!(
            read(&json!({"content": "x"}))
                .expect_err("no role")
                .contains("role")
        );
        assert!(
            read(&json!({"role": "narrator", "content": "x"}))
                .expect_err("role")
                .contains("narrator")
        );
        assert!(
            read(&json!({"role": "assistant", "tool_calls": [{"id": "1"}]}))
                .expect_err("no name")
                .contains("tool call 1")
        );
        assert!(
            read(&json!({"role": "user", "content": "x", "timestamp": "yesterday"}))
                .expect_err("time")
                .contains("timestamp")
        );
    }
}
