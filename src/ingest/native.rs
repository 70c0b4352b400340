//! The native format: the canonical schema of docs/schema.md, one JSON object per line.

use serde_json::{Map, Value};

use super::json::json_type;

use crate::model::{
    ActionClass, ClassSource, Constraints, CredentialType, Decision, Event, EventKind, Outcome,
    OwnerRole, PrincipalKind, Timestamp, Trust, parse_action_class, parse_time,
};

/// Parses one line into an event, or says what is wrong with it (the quarantine reason).
pub(super) fn parse_line(
    line: &[u8],
    id: String,
    locator: String,
    seq: u64,
) -> Result<Event, String> {
    let text = std::str::from_utf8(line)
        .map_err(|e| format!("invalid UTF-8 at byte {} of the record", e.valid_up_to()))?;
    let value = super::json::parse_record(text)?;
    let Value::Object(mut obj) = value else {
        return Err(format!(
            "the record is JSON {} but must be an object",
            json_type(&value)
        ));
    };
    let time = required_time(&mut obj, "time")?;
    let kind_text = required_str(&mut obj, "kind")?;
    let kind = EventKind::parse(&kind_text)
        .ok_or_else(|| format!("unknown event kind `{}`", clip(&kind_text)))?;
    let actor = required_str(&mut obj, "actor")?;
    let mut e = Event::new(id, locator, time, kind, actor);
    e.seq = seq;
    e.actor_kind = opt_enum(&mut obj, "actor_kind", PrincipalKind::parse)?;
    e.on_behalf_of = opt_str(&mut obj, "on_behalf_of")?;
    e.task = opt_str(&mut obj, "task")?;
    e.session = opt_str(&mut obj, "session")?;
    e.source_event_id = opt_str(&mut obj, "id")?;
    e.action = opt_str(&mut obj, "action")?;
    if let Some(class) = opt_enum(&mut obj, "action_class", parse_action_class)? {
        e.action_class = Some(class);
        e.class_source = ClassSource::Event;
    }
    e.resource = opt_str(&mut obj, "resource")?;
    e.destination = opt_str(&mut obj, "destination")?;
    e.environment = opt_str(&mut obj, "environment")?;
    e.credential = opt_str(&mut obj, "credential")?;
    e.outcome = opt_enum(&mut obj, "outcome", Outcome::parse)?.unwrap_or(Outcome::Unknown);
    e.target = opt_str(&mut obj, "target")?;
    e.target_kind = opt_enum(&mut obj, "target_kind", PrincipalKind::parse)?;
    e.call_id = opt_str(&mut obj, "call_id")?;
    e.args = opt_object(&mut obj, "args")?.map(Value::Object);
    e.content = opt_str(&mut obj, "content")?;
    e.trust = opt_enum(&mut obj, "trust", Trust::parse)?;
    e.intent = opt_str(&mut obj, "intent")?;
    if let Some(c) = opt_object(&mut obj, "constraints")? {
        let constraints: Constraints = serde_json::from_value(Value::Object(c))
            .map_err(|err| format!("field `constraints` is invalid: {err}"))?;
        constraints
            .validate()
            .map_err(|err| format!("field `constraints` is invalid: {err}"))?;
        e.constraints = Some(
            serde_json::to_value(&constraints)
                .map_err(|err| format!("field `constraints` is invalid: {err}"))?,
        );
    }
    e.scope = opt_strings(&mut obj, "scope")?;
    e.decision = opt_enum(&mut obj, "decision", Decision::parse)?;
    e.expires_at = opt_time(&mut obj, "expires_at")?;
    e.credential_type = opt_enum(&mut obj, "credential_type", CredentialType::parse)?;
    e.role = opt_enum(&mut obj, "role", OwnerRole::parse)?;
    e.owner = opt_str(&mut obj, "owner")?;
    e.grant = opt_str(&mut obj, "grant")?;
    e.status = opt_str(&mut obj, "status")?;
    e.policy = opt_str(&mut obj, "policy")?;
    let mut attributes = opt_object(&mut obj, "attributes")?.unwrap_or_default();
    // Whatever is left is not part of the schema: keep it, untouched, rather than lose it.
    for (key, value) in obj {
        attributes.insert(key, value);
    }
    if !attributes.is_empty() {
        e.attributes = Some(attributes);
    }
    check_kind_requirements(&e)?;
    text.clone_into(&mut e.raw);
    Ok(e)
}

/// The fields without which an event of a kind means nothing (docs/schema.md).
fn required_fields(kind: EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::TaskStart | EventKind::TaskEnd => &["task"],
        EventKind::IntentChange => &["task", "intent"],
        EventKind::Delegate => &["target"],
        EventKind::CredentialIssue => &["credential", "target"],
        EventKind::CredentialRevoke => &["credential"],
        EventKind::ToolCall => &["action"],
        EventKind::ApprovalDecision | EventKind::PolicyDecision => &["decision"],
        EventKind::GrantChange => &["grant", "target"],
        EventKind::OwnerChange => &["role", "owner", "target"],
        EventKind::ToolResult
        | EventKind::Message
        | EventKind::ApprovalRequest
        | EventKind::Auth => &[],
    }
}

fn has_field(e: &Event, field: &str) -> bool {
    match field {
        "task" => e.task.is_some(),
        "intent" => e.intent.is_some(),
        "target" => e.target.is_some(),
        "credential" => e.credential.is_some(),
        "action" => e.action.is_some(),
        "decision" => e.decision.is_some(),
        "grant" => e.grant.is_some(),
        "role" => e.role.is_some(),
        "owner" => e.owner.is_some(),
        _ => true,
    }
}

fn check_kind_requirements(e: &Event) -> Result<(), String> {
    match required_fields(e.kind).iter().find(|f| !has_field(e, f)) {
        Some(field) => Err(format!("a `{}` event needs `{field}`", e.kind)),
        None => Ok(()),
    }
}

fn clip(text: &str) -> String {
    crate::text::for_terminal_clipped(text, 80)
}

fn take(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    match obj.remove(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    }
}

fn opt_str(obj: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "field `{key}` must be a string, not {}",
            json_type(&other)
        )),
    }
}

fn required_str(obj: &mut Map<String, Value>, key: &str) -> Result<String, String> {
    match opt_str(obj, key)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(format!("required field `{key}` is empty")),
        None => Err(format!("required field `{key}` is missing")),
    }
}

fn required_time(obj: &mut Map<String, Value>, key: &str) -> Result<Timestamp, String> {
    let text = required_str(obj, key)?;
    parse_time(&text).map_err(|e| format!("field `{key}`: {e}"))
}

fn opt_time(obj: &mut Map<String, Value>, key: &str) -> Result<Option<Timestamp>, String> {
    opt_str(obj, key)?
        .map(|t| parse_time(&t).map_err(|e| format!("field `{key}`: {e}")))
        .transpose()
}

fn opt_enum<T>(
    obj: &mut Map<String, Value>,
    key: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, String> {
    match opt_str(obj, key)? {
        None => Ok(None),
        Some(text) => parse(&text)
            .map(Some)
            .ok_or_else(|| format!("field `{key}` has unknown value `{}`", clip(&text))),
    }
}

fn opt_object(
    obj: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<Map<String, Value>>, String> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(format!(
            "field `{key}` must be an object, not {}",
            json_type(&other)
        )),
    }
}

fn opt_strings(obj: &mut Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, String> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(format!(
                    "field `{key}` must list strings, found {}",
                    json_type(&other)
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(format!(
            "field `{key}` must be an array of strings, not {}",
            json_type(&other)
        )),
    }
}

/// The class an action gets when the record does not say: a manifest override, else the verb
/// heuristic, else what the event kind implies.
pub(super) fn classify(
    e: &mut Event,
    overrides: &[(String, ActionClass)],
    heuristic: impl Fn(&str) -> Option<ActionClass>,
) {
    if e.class_source == ClassSource::Event {
        return;
    }
    if let Some(action) = e.action.as_deref() {
        if let Some(class) = override_for(action, overrides) {
            e.action_class = Some(class);
            e.class_source = ClassSource::Manifest;
            return;
        }
        if let Some(class) = heuristic(action) {
            e.action_class = Some(class);
            e.class_source = ClassSource::Heuristic;
            return;
        }
    }
    if let Some(class) = e.kind.implied_class() {
        e.action_class = Some(class);
        e.class_source = ClassSource::Heuristic;
    }
}

/// An exact pattern wins; otherwise the longest matching prefix pattern.
fn override_for(action: &str, overrides: &[(String, ActionClass)]) -> Option<ActionClass> {
    if let Some((_, c)) = overrides.iter().find(|(p, _)| p == action) {
        return Some(*c);
    }
    overrides
        .iter()
        .filter_map(|(p, c)| {
            p.strip_suffix('*')
                .filter(|stem| action.starts_with(stem))
                .map(|stem| (stem.len(), *c))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Event, String> {
        parse_line(line.as_bytes(), "x:L1".to_owned(), "L1".to_owned(), 1)
    }

    #[test]
    fn a_full_tool_call_parses() {
        let e = parse(
            r#"{"time":"2026-03-04T10:15:02.5Z","kind":"tool.call","actor":"agent:p","actor_kind":"agent","task":"T-1","action":"payments.transfer","args":{"to":"X"},"outcome":"success","extra":7}"#,
        )
        .expect("valid");
        assert_eq!(e.kind, EventKind::ToolCall);
        assert_eq!(e.actor_kind, Some(PrincipalKind::Agent));
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(
            e.args.as_ref().and_then(|a| a.get("to")),
            Some(&Value::from("X"))
        );
        // Unknown fields are kept, not dropped.
        assert_eq!(
            e.attributes.as_ref().and_then(|a| a.get("extra")),
            Some(&Value::from(7))
        );
    }

    #[track_caller]
    fn rejects(line: &str, reason_part: &str) {
        let err = parse(line).expect_err("must be quarantined");
        assert!(
            err.contains(reason_part),
            "reason `{err}` lacks `{reason_part}`"
        );
    }

    #[test]
    fn bad_records_say_what_is_wrong() {
        rejects(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"auth""#,
            "truncated",
        );
        rejects("not json", "invalid JSON");
        rejects("[1,2]", "must be an object");
        rejects(r#"{"kind":"auth","actor":"a"}"#, "`time` is missing");
        rejects(
            r#"{"time":"yesterday","kind":"auth","actor":"a"}"#,
            "RFC 3339",
        );
        rejects(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"teleport","actor":"a"}"#,
            "unknown event kind",
        );
        rejects(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"auth","actor":7}"#,
            "`actor` must be a string",
        );
        rejects(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"auth","actor":"a","outcome":"meh"}"#,
            "`outcome` has unknown value",
        );
        rejects(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"delegate","actor":"a"}"#,
            "needs `target`",
        );
        rejects(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"task.start","actor":"a","task":"T","constraints":{"toolz":[]}}"#,
            "constraints",
        );
        rejects(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"auth","actor":"a","scope":"all"}"#,
            "array of strings",
        );
    }

    #[test]
    fn invalid_utf8_is_named() {
        let err =
            parse_line(b"{\"time\":\"\xff\"}", "x".into(), "L1".into(), 1).expect_err("bad utf-8");
        assert!(err.contains("UTF-8 at byte 9"), "{err}");
    }

    #[test]
    fn classification_prefers_record_then_manifest_then_heuristic() {
        let mut e = parse(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"tool.call","actor":"a","action":"crm.sync"}"#,
        )
        .expect("valid");
        classify(
            &mut e,
            &[("crm.*".to_owned(), ActionClass::Read)],
            crate::model::classify_action,
        );
        assert_eq!(
            (e.action_class, e.class_source),
            (Some(ActionClass::Read), ClassSource::Manifest)
        );

        let mut e = parse(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"tool.call","actor":"a","action":"email.send","action_class":"transfer"}"#,
        )
        .expect("valid");
        classify(&mut e, &[], crate::model::classify_action);
        assert_eq!(
            (e.action_class, e.class_source),
            (Some(ActionClass::Transfer), ClassSource::Event)
        );

        let mut e = parse(
            r#"{"time":"2026-03-04T10:15:02Z","kind":"tool.call","actor":"a","action":"email.send"}"#,
        )
        .expect("valid");
        classify(&mut e, &[], crate::model::classify_action);
        assert_eq!(
            (e.action_class, e.class_source),
            (Some(ActionClass::Communicate), ClassSource::Heuristic)
        );
    }
}
