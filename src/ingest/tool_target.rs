//! Finding a tool call's resource and destination in its arguments, for formats that do not name
//! them (OpenTelemetry GenAI spans, MCP `tools/call`, chat transcripts).
//!
//! The rule is deliberately small and documented (docs/formats/*.md): the first argument, in the
//! order of the lists below, whose key matches (ignoring case, `-` and `_`) and whose value is a
//! non-empty string, or an array whose first item is one. The raw arguments stay in `args`, so an
//! investigator can always see what the heuristic looked at.

use serde_json::Value;

/// Argument keys that name where data or value goes (egress).
const DESTINATION_KEYS: &[&str] = &[
    "to",
    "recipient",
    "recipients",
    "email",
    "emailaddress",
    "destination",
    "url",
    "webhook",
    "webhookurl",
    "endpoint",
    "iban",
    "toiban",
    "account",
    "toaccount",
    "channel",
    "cc",
    "bcc",
];

/// Argument keys that name what is acted on.
const RESOURCE_KEYS: &[&str] = &[
    "resource",
    "uri",
    "path",
    "file",
    "filename",
    "filepath",
    "bucket",
    "table",
    "dataset",
    "database",
    "repository",
    "repo",
    "document",
    "documentid",
    "ticketid",
    "orderid",
    "id",
];

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn first_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Array(items) => items.first().and_then(first_string),
        _ => None,
    }
}

fn find(args: &Value, keys: &[&str]) -> Option<String> {
    let obj = args.as_object()?;
    keys.iter().find_map(|wanted| {
        obj.iter()
            .find(|(k, _)| normalise(k) == *wanted)
            .and_then(|(_, v)| first_string(v))
    })
}

/// The destination named by a tool call's arguments, if any.
pub(super) fn destination(args: &Value) -> Option<String> {
    find(args, DESTINATION_KEYS)
}

/// The resource named by a tool call's arguments, if any.
pub(super) fn resource(args: &Value) -> Option<String> {
    find(args, RESOURCE_KEYS)
}

/// Parses tool arguments given as a JSON string. An object is returned as the `args`; anything
/// else (valid JSON that is not an object, or text that is not JSON) is returned as the raw text
/// to keep in the attributes.
pub(super) fn parse_arguments(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_loosely_and_in_order() {
        let args =
            json!({"subject": "hi", "To": ["a@x.example", "b@x.example"], "url": "https://u"});
        assert_eq!(destination(&args).as_deref(), Some("a@x.example"));
        let args = json!({"file_path": "/etc/passwd", "id": "7"});
        assert_eq!(resource(&args).as_deref(), Some("/etc/passwd"));
        assert_eq!(destination(&json!({"to": ""})), None);
        assert_eq!(resource(&json!("not an object")), None);
    }

    #[test]
    fn arguments_parse_or_stay_raw() {
        assert_eq!(parse_arguments(r#"{"a":1}"#), Ok(json!({"a": 1})));
        assert_eq!(parse_arguments("[1]"), Err("[1]".to_owned()));
        assert_eq!(parse_arguments("{oops"), Err("{oops".to_owned()));
    }
}
