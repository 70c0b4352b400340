//! One CloudTrail record mapped onto the canonical schema (docs/formats/cloudtrail.md).

use serde_json::{Map, Value, json};

use super::identity::{Identity, object, resolve, text};
use super::timestamp::parse_aws_time;
use crate::ingest::json::json_type;
use crate::model::{
    ActionClass, ClassSource, CredentialRecord, CredentialType, Event, EventKind, Origin, Outcome,
    PrincipalKind, Timestamp, classify_action,
};

/// What one record becomes: an event, and for a successful `AssumeRole*` the facts of the hop
/// and the credential it issued.
#[derive(Debug)]
pub(super) struct Mapped {
    pub event: Event,
    /// `DelegationRecord::details` of the role assumption.
    pub details: Option<Value>,
    pub credential: Option<CredentialRecord>,
}

/// Error codes that mean "not allowed" rather than "went wrong" (compared ignoring case).
const DENIAL_CODES: &[&str] = &[
    "authfailure",
    "client.authfailure",
    "forbidden",
    "forbiddenexception",
    "notauthorized",
    "authorizationerror",
    "authorizationerrorexception",
    "invalidclienttokenid",
    "signaturedoesnotmatch",
];

/// Maps one record, or says why it cannot be (the quarantine reason, with the record back).
/// `raw` is the record's text as read; without it the record is written out again as `raw`.
pub(super) fn map_record(
    value: Value,
    raw: Option<&str>,
    id: String,
    locator: String,
    seq: u64,
) -> Result<Mapped, (String, Value)> {
    let Value::Object(rec) = value else {
        let reason = format!(
            "the record is JSON {} but must be an object",
            json_type(&value)
        );
        return Err((reason, value));
    };
    match map_object(&rec, id, locator, seq) {
        Ok(mut mapped) => {
            mapped.event.raw = raw.map_or_else(|| Value::Object(rec).to_string(), str::to_owned);
            Ok(mapped)
        }
        Err(reason) => Err((reason, Value::Object(rec))),
    }
}

fn map_object(
    rec: &Map<String, Value>,
    id: String,
    locator: String,
    seq: u64,
) -> Result<Mapped, String> {
    let time_text = required(rec, "eventTime")?;
    let time = parse_aws_time(time_text).map_err(|e| format!("field `eventTime`: {e}"))?;
    let source = required(rec, "eventSource")?;
    let name = required(rec, "eventName")?;
    let user = match rec.get("userIdentity") {
        None | Some(Value::Null) => None,
        Some(Value::Object(u)) => Some(u),
        Some(other) => {
            return Err(format!(
                "field `userIdentity` must be an object, not {}",
                json_type(other)
            ));
        }
    };
    let who = resolve(user, source);
    let service = source.strip_suffix(".amazonaws.com").unwrap_or(source);
    let is_assume = service == "sts" && name.starts_with("AssumeRole");
    let kind = if is_assume {
        EventKind::Delegate
    } else if text(rec, "eventType").is_some_and(|t| t.eq_ignore_ascii_case("AwsConsoleSignIn")) {
        EventKind::Auth
    } else {
        EventKind::ToolCall
    };
    let mut e = Event::new(id, locator, time, kind, who.id.clone());
    e.seq = seq;
    e.actor_kind = Some(who.kind);
    e.on_behalf_of.clone_from(&who.behind);
    e.source_event_id = text(rec, "eventID").map(str::to_owned);
    e.credential.clone_from(&who.access_key);
    e.outcome = outcome(rec);
    e.resource = resource(rec);
    e.args = object(rec, "requestParameters").map(|p| Value::Object(p.clone()));
    e.action = Some(format!("{service}:{name}"));
    classify(&mut e, read_only(rec));
    e.attributes = Some(attributes(rec, &who));
    let mut mapped = Mapped {
        event: e,
        details: None,
        credential: None,
    };
    if is_assume {
        assume_role(rec, &who, time, &mut mapped);
    }
    Ok(mapped)
}

fn required<'v>(rec: &'v Map<String, Value>, key: &str) -> Result<&'v str, String> {
    match rec.get(key) {
        None | Some(Value::Null) => Err(format!("required field `{key}` is missing")),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
        Some(Value::String(_)) => Err(format!("required field `{key}` is empty")),
        Some(other) => Err(format!(
            "field `{key}` must be a string, not {}",
            json_type(other)
        )),
    }
}

/// The error code of a record: `errorCode`, else one some services put in `responseElements`,
/// else a failed console sign-in.
pub(super) fn error_code(rec: &Map<String, Value>) -> Option<String> {
    if let Some(code) = text(rec, "errorCode") {
        return Some(code.to_owned());
    }
    let response = object(rec, "responseElements")?;
    if let Some(code) = text(response, "errorCode").or_else(|| text(response, "ErrorCode")) {
        return Some(code.to_owned());
    }
    text(response, "ConsoleLogin")
        .filter(|r| r.eq_ignore_ascii_case("Failure"))
        .map(|_| "ConsoleLogin=Failure".to_owned())
}

fn is_denial(code: &str) -> bool {
    let lower = code.to_ascii_lowercase();
    lower.contains("accessdenied")
        || lower.contains("unauthorized")
        || lower == "consolelogin=failure"
        || DENIAL_CODES.contains(&lower.as_str())
}

fn outcome(rec: &Map<String, Value>) -> Outcome {
    match error_code(rec) {
        None => Outcome::Success,
        Some(code) if is_denial(&code) => Outcome::Denied,
        Some(_) => Outcome::Error,
    }
}

fn read_only(rec: &Map<String, Value>) -> Option<bool> {
    match rec.get("readOnly") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `readOnly` and the event name decide the class (docs/formats/cloudtrail.md, "Action class"):
/// a privileged name wins over `readOnly` (AWS marks `AssumeRole` read-only); otherwise
/// `readOnly: true` is a read, and `readOnly: false` takes the verb's class unless the verb
/// says read or nothing, in which case it is a write.
fn classify(e: &mut Event, read_only: Option<bool>) {
    if e.kind == EventKind::Auth {
        return; // a sign-in is not an action on a resource
    }
    let verb = e.action.as_deref().and_then(classify_action);
    let (class, source) = match (verb, read_only) {
        (Some(ActionClass::Privilege), _) => (Some(ActionClass::Privilege), ClassSource::Heuristic),
        (_, Some(true)) => (Some(ActionClass::Read), ClassSource::Event),
        (Some(c), Some(false)) if c != ActionClass::Read => (Some(c), ClassSource::Heuristic),
        (_, Some(false)) => (Some(ActionClass::Write), ClassSource::Event),
        (c, None) => (c, ClassSource::None),
    };
    if source == ClassSource::Event {
        e.action_class = class;
        e.class_source = source;
    }
    // Otherwise the loader applies manifest overrides, then the same verb heuristic.
}

/// The first resource ARN, else the role or bucket the request names.
fn resource(rec: &Map<String, Value>) -> Option<String> {
    let listed = rec
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .filter_map(Value::as_object)
                .find_map(|r| text(r, "ARN"))
        });
    if let Some(arn) = listed {
        return Some(arn.to_owned());
    }
    let params = object(rec, "requestParameters")?;
    if let Some(role) = text(params, "roleArn") {
        return Some(role.to_owned());
    }
    let bucket = text(params, "bucketName")?;
    Some(match text(params, "key") {
        Some(key) => format!("arn:aws:s3:::{bucket}/{key}"),
        None => format!("arn:aws:s3:::{bucket}"),
    })
}

fn attributes(rec: &Map<String, Value>, who: &Identity) -> Map<String, Value> {
    let mut out = Map::new();
    for key in [
        "eventType",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "readOnly",
        "recipientAccountId",
        "sharedEventID",
        "eventCategory",
    ] {
        if let Some(v) = rec.get(key).filter(|v| !v.is_null()) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(code) = error_code(rec).filter(|_| !out.contains_key("errorCode")) {
        out.insert("errorCode".to_owned(), Value::from(code));
    }
    let facts = [
        ("userIdentity.type", &who.type_name),
        ("sessionIssuer", &who.session_issuer),
        ("sourceIdentity", &who.behind),
        ("invokedBy", &who.invoked_by),
    ];
    for (key, value) in facts {
        if let Some(v) = value {
            out.insert(key.to_owned(), Value::from(v.as_str()));
        }
    }
    out
}

/// The role session an `AssumeRole*` call created: `assumedRoleUser.arn`, else built from the
/// role and the session name (AWS writes `assumed-role/<role name>/<session>`, without the
/// role's path). The flag says whether it was built.
fn session_arn(
    response: Option<&Map<String, Value>>,
    params: Option<&Map<String, Value>>,
) -> Option<(String, bool)> {
    let given = response
        .and_then(|r| object(r, "assumedRoleUser"))
        .and_then(|u| text(u, "arn"));
    if let Some(arn) = given {
        return Some((arn.to_owned(), false));
    }
    let params = params?;
    let role = text(params, "roleArn")?;
    let session = text(params, "roleSessionName")?;
    let mut parts = role.splitn(6, ':');
    let (partition, account) = (parts.nth(1)?, parts.nth(2)?);
    let role_name = role.rsplit('/').next()?;
    Some((
        format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session}"),
        true,
    ))
}

/// The role a denied call tried to assume, from `errorMessage` ("... on resource: <arn>").
fn role_from_error(rec: &Map<String, Value>) -> Option<String> {
    let message = text(rec, "errorMessage")?;
    let (_, rest) = message.split_once("on resource: ")?;
    let arn = rest.split_whitespace().next()?;
    arn.starts_with("arn:")
        .then(|| arn.trim_end_matches(['.', ',']).to_owned())
}

/// Fills in the role assumption: target, expiry, the hop's details and the issued credential.
/// A denied or failed call gets only a target (the role it tried), never a credential.
fn assume_role(rec: &Map<String, Value>, who: &Identity, time: Timestamp, mapped: &mut Mapped) {
    let e = &mut mapped.event;
    let params = object(rec, "requestParameters");
    let response = object(rec, "responseElements");
    e.target_kind = Some(PrincipalKind::Role);
    if e.outcome != Outcome::Success {
        e.target = params
            .and_then(|p| text(p, "roleArn"))
            .map(str::to_owned)
            .or_else(|| role_from_error(rec));
        return;
    }
    let Some((session, built)) = session_arn(response, params) else {
        return;
    };
    let creds = response.and_then(|r| object(r, "credentials"));
    let key = creds.and_then(|c| text(c, "accessKeyId"));
    let expires = creds
        .and_then(|c| text(c, "expiration"))
        .and_then(|t| parse_aws_time(t).ok());
    // sourceIdentity is set on the first hop and persists through chaining.
    let source_identity = response
        .and_then(|r| text(r, "sourceIdentity"))
        .or_else(|| params.and_then(|p| text(p, "sourceIdentity")))
        .or(who.behind.as_deref());
    let mut details = Map::new();
    if let Some(s) = source_identity {
        details.insert("sourceIdentity".to_owned(), json!(s));
    }
    if let Some(s) = params.and_then(|p| text(p, "roleSessionName")) {
        details.insert("roleSessionName".to_owned(), json!(s));
    }
    if let Some(k) = key {
        details.insert("credential".to_owned(), json!(k));
    }
    if built {
        details.insert(
            "sessionArn".to_owned(),
            json!("built from roleArn and roleSessionName"),
        );
    }
    e.target = Some(session.clone());
    e.expires_at = expires;
    e.scope = None;
    mapped.details = Some(Value::Object(details));
    mapped.credential = key.map(|k| CredentialRecord {
        credential_id: k.to_owned(),
        holder: Some(session),
        issuer: None,
        credential_type: Some(CredentialType::ShortLived),
        issued_at: Some(time),
        expires_at: expires,
        scope: None,
        task: None,
        origin: Origin::Event,
        event_id: Some(e.id.clone()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(json: &str) -> Result<Mapped, String> {
        let v: Value = serde_json::from_str(json).expect("json");
        map_record(v, None, "x:L1.1".to_owned(), "L1.1".to_owned(), 1).map_err(|(why, _)| why)
    }

    #[test]
    fn error_codes_split_into_denied_and_error() {
        for (code, expected) in [
            ("AccessDenied", Outcome::Denied),
            ("Client.UnauthorizedOperation", Outcome::Denied),
            ("AccessDeniedException", Outcome::Denied),
            ("ThrottlingException", Outcome::Error),
            ("NoSuchBucketPolicy", Outcome::Error),
        ] {
            let m = map(&format!(
                r#"{{"eventTime":"2023-07-10T11:42:18Z","eventSource":"s3.amazonaws.com","eventName":"GetBucketPolicy","userIdentity":{{"type":"IAMUser","arn":"u"}},"errorCode":"{code}"}}"#
            ))
            .expect("maps");
            assert_eq!(m.event.outcome, expected, "{code}");
        }
        let m = map(
            r#"{"eventTime":"2023-07-10T11:42:18Z","eventSource":"x.amazonaws.com","eventName":"Do","responseElements":{"errorCode":"Boom"}}"#,
        )
        .expect("maps");
        assert_eq!(m.event.outcome, Outcome::Error);
    }

    #[test]
    fn read_only_and_the_verb_decide_the_class() {
        let class = |name: &str, ro: &str| {
            let m = map(&format!(
                r#"{{"eventTime":"2023-07-10T11:42:18Z","eventSource":"ec2.amazonaws.com","eventName":"{name}","readOnly":{ro}}}"#
            ))
            .expect("maps");
            (m.event.action_class, m.event.class_source)
        };
        assert_eq!(
            class("DescribeInstances", "true"),
            (Some(ActionClass::Read), ClassSource::Event)
        );
        // Left to the loader's heuristic, which gives delete / privilege.
        assert_eq!(
            class("TerminateInstances", "false"),
            (None, ClassSource::None)
        );
        assert_eq!(class("AssumeRole", "true"), (None, ClassSource::None));
        assert_eq!(
            class("Frobnicate", "false"),
            (Some(ActionClass::Write), ClassSource::Event)
        );
    }

    #[test]
    fn a_session_arn_is_built_when_sts_does_not_echo_it() {
        let params: Value = serde_json::from_str(
            r#"{"roleArn":"arn:aws:iam::1:role/service-role/ec2/steal","roleSessionName":"i-0abc"}"#,
        )
        .expect("json");
        assert_eq!(
            session_arn(None, params.as_object()),
            Some(("arn:aws:sts::1:assumed-role/steal/i-0abc".to_owned(), true))
        );
    }

    #[test]
    fn bad_records_say_why() {
        assert!(map("[1]").expect_err("array").contains("must be an object"));
        assert!(
            map(r#"{"eventSource":"s","eventName":"n"}"#)
                .expect_err("no time")
                .contains("`eventTime` is missing")
        );
        assert!(
            map(r#"{"eventTime":"soon","eventSource":"s","eventName":"n"}"#)
                .expect_err("bad time")
                .contains("field `eventTime`")
        );
        assert!(map(r#"{"eventTime":"2023-07-10T11:42:18Z","eventSource":"s","eventName":"n","userIdentity":"root"}"#)
            .expect_err("bad identity")
            .contains("`userIdentity` must be an object"));
    }
}
