//! Finding a tool call's resource and destination in its arguments, for formats that do not name
//! them (OpenTelemetry GenAI spans, MCP `tools/call`, chat transcripts).
//!
//! The rule is deliberately small and documented (docs/formats/*.md): the first argument, in the
//! order of the key lists of [`crate::model::arguments`], whose key matches (ignoring case, `-`
//! and `_`) and whose value is a non-empty string, or an array with one. That single value is what
//! the event stores; analysis reads every item of every role key from the raw arguments, which
//! stay in `args`, so an investigator can always see what the heuristic looked at.

use serde_json::Value;

use crate::model::arguments::{DESTINATION_KEYS, RESOURCE_KEYS, first_in_role};

/// The destination named by a tool call's arguments, if any (the first, in key order; analysis
/// reads every one through [`crate::model::ArgumentRoles`]).
pub(super) fn destination(args: &Value) -> Option<String> {
    first_in_role(args, DESTINATION_KEYS)
}

/// The resource named by a tool call's arguments, if any.
pub(super) fn resource(args: &Value) -> Option<String> {
    first_in_role(args, RESOURCE_KEYS)
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
