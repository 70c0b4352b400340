//! The generated incident as AWS CloudTrail records (docs/formats/cloudtrail.md), the way the
//! same agents would show up if they ran on AWS roles.
//!
//! - Each agent has an IAM role (`support-copilot-007`, `payments-007`). When the native log has
//!   the token broker issue a token to an agent, CloudTrail has an `sts:AssumeRole`: the agent
//!   runtime's IAM user (long-lived `AKIA…` key) assumes the copilot's role for the task, and a
//!   hand-off to the payments agent is **role chaining**: the copilot's role session assumes the
//!   payments role. The session is named after the task, the person behind it is the session's
//!   `sourceIdentity`, and the new temporary key (`ASIA…`) and its expiry are in the response.
//! - Each tool call is the API call behind it (`DynamoDB` for tickets and orders, SES for
//!   e-mail, S3 for the ledger and reports, Lambda for payments, Kendra for the knowledge base), made by
//!   the role session and signed with its key (`userIdentity.accessKeyId`), so onus links the call
//!   back through the role chain. Calls with the payments runner's static key are made by that
//!   IAM user. A call whose result is denied gets `errorCode: AccessDenied`.
//! - Some probing is denied: about one task in 40 starts with the copilot's session trying to
//!   assume an admin role it may not (`AccessDenied`), and about one call in 60 is denied.
//!
//! Messages, sign-ins with a token, revocations, approvals, policy decisions and task starts
//! and ends have no CloudTrail record.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Rng, SECOND};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
const RUNTIME_USER: &str = "agent-runtime";

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// `2026-03-02T06:06:18Z`, as CloudTrail writes `eventTime`.
fn event_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `Mar 2, 2026, 6:21:18 AM`, as STS writes `credentials.expiration` in CloudTrail.
fn expiration(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .format("%b %-d, %Y, %-I:%M:%S %p")
        .to_string()
}

/// The IAM role an agent assumes: `agent:support-copilot-007` → `support-copilot-007`.
fn role_of(agent: &str) -> String {
    agent.trim_start_matches("agent:").to_owned()
}

/// A role session: who it is and the key it signs with.
#[derive(Clone)]
struct Session {
    arn: String,
    role: String,
    key: String,
    principal_id: String,
    created: i64,
    source_identity: Option<String>,
}

impl Session {
    fn identity(&self) -> Value {
        let mut context = json!({
            "sessionIssuer": {
                "type": "Role",
                "principalId": self.principal_id.split(':').next().unwrap_or_default(),
                "arn": format!("arn:aws:iam::{ACCOUNT}:role/{}", self.role),
                "accountId": ACCOUNT,
                "userName": self.role,
            },
            "attributes": {
                "creationDate": event_time(self.created),
                "mfaAuthenticated": "false",
            },
        });
        if let Some(si) = &self.source_identity {
            context["sourceIdentity"] = json!(si);
        }
        json!({
            "type": "AssumedRole",
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": ACCOUNT,
            "accessKeyId": self.key,
            "sessionContext": context,
        })
    }
}

fn iam_user(name: &str, key: &str) -> Value {
    json!({
        "type": "IAMUser",
        "principalId": format!("AIDA{}", upper_hex(name, 17)),
        "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        "accountId": ACCOUNT,
        "accessKeyId": key,
        "userName": name,
    })
}

/// A stable, AWS-looking upper-case id of `len` characters derived from `text`.
fn upper_hex(text: &str, len: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = Rng::new(h);
    let mut out = String::with_capacity(len);
    while out.len() < len {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        out.push(char::from(ALPHABET[rng.below(32) as usize]));
    }
    out
}

/// The service, API and resource behind a tool.
fn api(tool: &str, v: &Value) -> (&'static str, &'static str, bool, Value, Option<String>) {
    let resource = s(v, "resource").unwrap_or_default();
    let tail = resource
        .split_once(':')
        .map_or(resource.as_str(), |(_, t)| t);
    let table = |t: &str| {
        (
            json!({"tableName": t, "key": {"id": {"S": tail}}}),
            Some(format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{t}")),
        )
    };
    match tool {
        "tickets.read" => {
            let (p, r) = table("support-tickets");
            ("dynamodb", "GetItem", true, p, r)
        }
        "tickets.update" => {
            let (p, r) = table("support-tickets");
            ("dynamodb", "UpdateItem", false, p, r)
        }
        "orders.lookup" => {
            let (p, r) = table("orders");
            ("dynamodb", "GetItem", true, p, r)
        }
        "kb.search" => (
            "kendra",
            "Query",
            true,
            json!({"indexId": "kb-support", "queryText": v.pointer("/args/query").cloned().unwrap_or(Value::Null)}),
            None,
        ),
        "email.reply" | "email.send" => (
            "ses",
            "SendEmail",
            false,
            json!({"destination": {"toAddresses": [s(v, "destination").unwrap_or_default()]}, "source": "support@example.com"}),
            Some(format!(
                "arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com"
            )),
        ),
        "ledger.read" | "payments.list" => (
            "s3",
            "GetObject",
            true,
            json!({"bucketName": "finance-ledger-prod", "key": tail, "Host": "finance-ledger-prod.s3.eu-west-1.amazonaws.com"}),
            Some(format!("arn:aws:s3:::finance-ledger-prod/{tail}")),
        ),
        "reports.publish" => (
            "s3",
            "PutObject",
            false,
            json!({"bucketName": "finance-reports-prod", "key": tail, "Host": "finance-reports-prod.s3.eu-west-1.amazonaws.com"}),
            Some(format!("arn:aws:s3:::finance-reports-prod/{tail}")),
        ),
        other => {
            let function = other.replace('.', "-");
            (
                "lambda",
                "Invoke",
                false,
                json!({"functionName": function, "invocationType": "RequestResponse", "payload": v.get("args").cloned().unwrap_or(Value::Null)}),
                Some(format!(
                    "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
                )),
            )
        }
    }
}

struct Writer<'a> {
    rng: &'a mut Rng,
    out: Vec<(i64, String)>,
}

impl Writer<'_> {
    fn uuid(&mut self) -> String {
        let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one record's fields, named at the call"
    )]
    fn record(
        &mut self,
        t: i64,
        identity: &Value,
        (service, name, read_only): (&str, &str, bool),
        request: Value,
        response: Value,
        resource: Option<&str>,
        denied: Option<&str>,
    ) {
        let mut r = json!({
            "eventVersion": "1.09",
            "userIdentity": identity.clone(),
            "eventTime": event_time(t),
            "eventSource": format!("{service}.amazonaws.com"),
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": format!("10.40.{}.{}", 1 + self.rng.below(30), 2 + self.rng.below(250)),
            "userAgent": if service == "sts" { "Boto3/1.35.90 md/Botocore#1.35.90 ua/2.0 os/linux#6.1 lang/python#3.12.8 exec-env/agent-runtime" } else { "aws-sdk-python/1.35.90 agent-runtime/2.14.1" },
        });
        if let Some(message) = denied {
            r["errorCode"] = json!("AccessDenied");
            r["errorMessage"] = json!(message);
        }
        r["requestParameters"] = request;
        r["responseElements"] = response;
        r["requestID"] = json!(self.uuid());
        r["eventID"] = json!(self.uuid());
        r["readOnly"] = json!(read_only);
        if let Some(arn) = resource {
            let kind = match service {
                "dynamodb" => "AWS::DynamoDB::Table",
                "s3" => "AWS::S3::Object",
                "lambda" => "AWS::Lambda::Function",
                "sts" => "AWS::IAM::Role",
                _ => "AWS::Resource",
            };
            r["resources"] = json!([{"accountId": ACCOUNT, "type": kind, "ARN": arn}]);
        }
        r["eventType"] = json!("AwsApiCall");
        r["managementEvent"] = json!(matches!(service, "sts"));
        r["recipientAccountId"] = json!(ACCOUNT);
        r["eventCategory"] = json!(if service == "sts" {
            "Management"
        } else {
            "Data"
        });
        self.out.push((t, r.to_string()));
    }
}

/// Converts one task's native events (sorted by time) to CloudTrail records, with their times.
#[allow(
    clippy::too_many_lines,
    reason = "one match over the native kinds, read top to bottom"
)]
pub(super) fn records(task_n: u64, seed: u64, events: &[(i64, String)]) -> Vec<(i64, String)> {
    let mut rng = Rng::new(seed ^ task_n.wrapping_mul(0x9e6c_63d0_676a_9a99) ^ 0xc10d);
    let probe = rng.below(40) == 0;
    let mut w = Writer {
        rng: &mut rng,
        out: Vec::new(),
    };
    let runtime_key = format!("AKIA{}", upper_hex(RUNTIME_USER, 16));
    // The role session of each agent in this task, and of each token.
    let mut by_agent: BTreeMap<String, Session> = BTreeMap::new();
    let mut by_token: BTreeMap<String, Session> = BTreeMap::new();
    let mut results: BTreeMap<String, String> = BTreeMap::new();
    let parsed: Vec<(i64, Value)> = events
        .iter()
        .filter_map(|(t, line)| serde_json::from_str(line).ok().map(|v| (*t, v)))
        .collect();
    for (_, v) in &parsed {
        if s(v, "kind").as_deref() == Some("tool.result")
            && let (Some(call), Some(outcome)) = (s(v, "call_id"), s(v, "outcome"))
        {
            results.insert(call, outcome);
        }
    }
    let task = parsed
        .iter()
        .find_map(|(_, v)| s(v, "task"))
        .unwrap_or_default();
    for (t, v) in &parsed {
        let t = *t;
        let kind = s(v, "kind").unwrap_or_default();
        match kind.as_str() {
            "credential.issue" => {
                let (Some(holder), Some(token)) = (s(v, "target"), s(v, "credential")) else {
                    continue;
                };
                let role = role_of(&holder);
                // The caller: the session of the agent that handed over, else the runtime user.
                let caller = by_agent.values().find(|x| x.role != role).cloned();
                let identity = caller
                    .as_ref()
                    .map_or_else(|| iam_user(RUNTIME_USER, &runtime_key), Session::identity);
                let source_identity = s(v, "on_behalf_of")
                    .or_else(|| caller.as_ref().and_then(|c| c.source_identity.clone()));
                if probe && caller.is_none() {
                    let admin = format!("arn:aws:iam::{ACCOUNT}:role/payments-admin");
                    let message = format!(
                        "User: arn:aws:iam::{ACCOUNT}:user/{RUNTIME_USER} is not authorized to perform: sts:AssumeRole on resource: {admin}"
                    );
                    w.record(
                        t - SECOND,
                        &identity,
                        ("sts", "AssumeRole", true),
                        json!({"roleArn": admin, "roleSessionName": task, "durationSeconds": 900}),
                        Value::Null,
                        Some(&admin),
                        Some(&message),
                    );
                }
                let expires = v
                    .get("expires_at")
                    .and_then(Value::as_str)
                    .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
                    .map_or(t + 900 * SECOND, |e| e.timestamp_micros());
                let role_id = format!("AROA{}", upper_hex(&role, 17));
                let session = Session {
                    arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{task}"),
                    role: role.clone(),
                    key: format!("ASIA{}", upper_hex(&format!("{seed}/{token}"), 16)),
                    principal_id: format!("{role_id}:{task}"),
                    created: t,
                    source_identity: source_identity.clone(),
                };
                let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
                let mut request = json!({
                    "roleArn": role_arn,
                    "roleSessionName": task,
                    "durationSeconds": (expires - t) / SECOND,
                });
                if let Some(si) = &source_identity {
                    request["sourceIdentity"] = json!(si);
                }
                let response = json!({
                    "credentials": {
                        "accessKeyId": session.key,
                        "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", upper_hex(&token, 48)),
                        "expiration": expiration(expires),
                    },
                    "assumedRoleUser": {
                        "assumedRoleId": session.principal_id,
                        "arn": session.arn,
                    },
                    "sourceIdentity": source_identity,
                });
                w.record(
                    t,
                    &identity,
                    ("sts", "AssumeRole", true),
                    request,
                    response,
                    Some(&role_arn),
                    None,
                );
                by_agent.insert(holder, session.clone());
                by_token.insert(token, session);
            }
            "tool.call" => {
                let tool = s(v, "action").unwrap_or_default();
                let credential = s(v, "credential").unwrap_or_default();
                let identity = match by_token.get(&credential) {
                    Some(session) => session.identity(),
                    None if credential.starts_with("key-") => {
                        let user = credential.trim_start_matches("key-");
                        iam_user(user, &format!("AKIA{}", upper_hex(&credential, 16)))
                    }
                    None => iam_user(RUNTIME_USER, &runtime_key),
                };
                let (service, name, read_only, request, resource) = api(&tool, v);
                let outcome = s(v, "call_id").and_then(|c| results.get(&c).cloned());
                let denied = outcome.as_deref() == Some("denied") || w.rng.below(60) == 0;
                let message = denied.then(|| {
                    let who = identity["arn"].as_str().unwrap_or_default().to_owned();
                    format!("User: {who} is not authorized to perform: {service}:{name}")
                });
                w.record(
                    t,
                    &identity,
                    (service, name, read_only),
                    request,
                    Value::Null,
                    resource.as_deref(),
                    message.as_deref(),
                );
            }
            _ => {}
        }
    }
    w.out
}
