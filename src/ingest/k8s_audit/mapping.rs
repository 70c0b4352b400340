//! One Kubernetes audit `Event` mapped onto the canonical schema (docs/formats/k8s-audit.md):
//! principal kinds, the verb table, outcome, resource path and the authorization decision.

use serde_json::{Map, Value, json};

use crate::model::{
    ActionClass, ClassSource, Decision, Event, EventKind, Outcome, PrincipalKind, Timestamp,
};

/// The annotation the API server's authorizer writes its verdict to.
const DECISION: &str = "authorization.k8s.io/decision";
/// The annotation with the authorizer's reason (for RBAC, the binding that allowed it).
const REASON: &str = "authorization.k8s.io/reason";
/// The `user.extra` key that names the exact token or certificate used.
const CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";
/// Who the `policy.decision` events are attributed to.
pub(super) const AUTHORIZER: &str = "kube-apiserver";

/// A non-empty string field.
pub(super) fn text<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn object<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Map<String, Value>> {
    obj.get(key).and_then(Value::as_object)
}

/// The user name of `user` or `impersonatedUser`.
pub(super) fn username<'v>(rec: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    object(rec, key).and_then(|u| text(u, "username"))
}

/// What kind of principal a Kubernetes user name is (docs/formats/k8s-audit.md, "Principals").
pub(super) fn principal_kind(name: &str) -> PrincipalKind {
    const CONTROL_PLANE: &[&str] = &[
        "system:kube-controller-manager",
        "system:kube-scheduler",
        "system:kube-proxy",
        "system:apiserver",
    ];
    if name.starts_with("system:serviceaccount:")
        || name.starts_with("system:node:")
        || CONTROL_PLANE.contains(&name)
    {
        PrincipalKind::Workload
    } else if name.contains('@') {
        PrincipalKind::Human
    } else {
        PrincipalKind::Unknown
    }
}

/// The class of a request by its verb, resource and subresource.
pub(super) fn action_class(verb: &str, resource: &str, subresource: &str) -> Option<ActionClass> {
    const RBAC: &[&str] = &[
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
    ];
    const RUN_IN: &[&str] = &["exec", "attach", "portforward", "proxy"];
    let writes = matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    );
    if RUN_IN.contains(&subresource) {
        return Some(ActionClass::Execute);
    }
    if matches!(verb, "impersonate" | "bind" | "escalate")
        || (writes && RBAC.contains(&resource))
        || (resource == "serviceaccounts" && subresource == "token")
        || (writes && resource == "certificatesigningrequests")
    {
        return Some(ActionClass::Privilege);
    }
    match verb {
        "get" | "list" | "watch" => Some(ActionClass::Read),
        "create" | "update" | "patch" => Some(ActionClass::Write),
        "delete" | "deletecollection" => Some(ActionClass::Delete),
        _ => None,
    }
}

/// `responseStatus.code`: 2xx (and 101, an upgraded exec/attach stream) succeeded, 401/403
/// were refused, anything else failed. Without a code, a `forbid` decision still says denied.
pub(super) fn outcome(rec: &Map<String, Value>) -> Outcome {
    let code = object(rec, "responseStatus")
        .and_then(|s| s.get("code"))
        .and_then(Value::as_i64);
    match code {
        Some(101 | 200..=299) => Outcome::Success,
        Some(401 | 403) => Outcome::Denied,
        Some(_) => Outcome::Error,
        None if decision(rec) == Some(Decision::Deny) => Outcome::Denied,
        None => Outcome::Unknown,
    }
}

/// The authorizer's verdict, when the record carries a known one.
pub(super) fn decision(rec: &Map<String, Value>) -> Option<Decision> {
    let text = object(rec, "annotations").and_then(|a| text(a, DECISION))?;
    match text.to_ascii_lowercase().as_str() {
        "allow" => Some(Decision::Allow),
        "forbid" | "deny" => Some(Decision::Deny),
        _ => None,
    }
}

/// The object acted on as a REST-like path (`namespaces/default/pods/web/exec`), or the
/// request path for non-resource requests (`/healthz`).
fn resource_path(rec: &Map<String, Value>) -> Option<String> {
    let Some(obj) = object(rec, "objectRef") else {
        let uri = text(rec, "requestURI")?;
        return Some(uri.split('?').next().unwrap_or(uri).to_owned());
    };
    let mut parts = Vec::new();
    if let Some(ns) = text(obj, "namespace") {
        parts.extend(["namespaces", ns]);
    }
    parts.extend(text(obj, "resource"));
    parts.extend(text(obj, "name"));
    parts.extend(text(obj, "subresource"));
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// What one audit event becomes.
#[derive(Debug)]
pub(super) struct Mapped {
    pub event: Event,
    /// The authorizer's decision, as its own `policy.decision` event.
    pub authz: Option<Event>,
    /// `(impersonator, impersonated, details)` when the request impersonated someone.
    pub impersonation: Option<(String, String, Value)>,
}

/// Where the event stands in the file and in time.
pub(super) struct Placement {
    pub id: String,
    pub locator: String,
    pub seq: u64,
    pub time: Timestamp,
    pub time_inferred: bool,
    /// Which field gave the time (`inferred` when none did).
    pub time_field: &'static str,
    /// The stages merged into this event, in file order.
    pub stages: Vec<String>,
    /// The record as read.
    pub raw: String,
}

/// Builds the events of one audit record; `caller` is its checked `user.username`.
pub(super) fn map_event(
    rec: &Map<String, Value>,
    caller: &str,
    at: Placement,
    authz_id: String,
) -> Mapped {
    let outcome = outcome(rec);
    let requested = username(rec, "impersonatedUser");
    // A refused or failed impersonated request moved no authority: it is the caller's own act.
    let impersonated = requested.filter(|_| !matches!(outcome, Outcome::Denied | Outcome::Error));
    let actor = impersonated.unwrap_or(caller);
    let verb = text(rec, "verb").unwrap_or("unknown");
    let obj = object(rec, "objectRef");
    let field = |k: &str| obj.and_then(|o| text(o, k)).unwrap_or_default();
    let (resource, sub) = (field("resource"), field("subresource"));
    let target = if resource.is_empty() {
        resource_path(rec).unwrap_or_default()
    } else if sub.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}/{sub}")
    };
    let mut e = Event::new(
        at.id,
        at.locator,
        at.time,
        EventKind::ToolCall,
        actor.to_owned(),
    );
    e.seq = at.seq;
    e.time_inferred = at.time_inferred;
    e.actor_kind = Some(principal_kind(actor));
    e.on_behalf_of = impersonated.map(|_| caller.to_owned());
    e.source_event_id = text(rec, "auditID").map(str::to_owned);
    e.call_id.clone_from(&e.source_event_id);
    e.action = Some(format!("k8s:{target}:{verb}"));
    if let Some(class) = action_class(verb, resource, sub) {
        e.action_class = Some(class);
        e.class_source = ClassSource::Event;
    }
    e.resource = resource_path(rec);
    e.credential = object(rec, "user")
        .and_then(|u| object(u, "extra"))
        .and_then(|x| x.get(CREDENTIAL_ID))
        .and_then(Value::as_array)
        .and_then(|ids| ids.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    e.outcome = outcome;
    let mut args = Map::new();
    for key in ["requestURI", "objectRef"] {
        if let Some(v) = rec.get(key).filter(|v| !v.is_null()) {
            args.insert(key.to_owned(), v.clone());
        }
    }
    e.args = (!args.is_empty()).then_some(Value::Object(args));
    let mut attrs = attributes(rec, &at.stages, at.time_field);
    if let Some(who) = requested {
        attrs.insert("impersonatedUser".to_owned(), Value::from(who));
    }
    e.attributes = Some(attrs);
    e.raw = at.raw;
    let authz = authz_event(rec, &e, authz_id);
    let impersonation = impersonated.map(|who| {
        let groups = object(rec, "impersonatedUser").and_then(|u| u.get("groups"));
        let details = match groups {
            Some(g @ Value::Array(_)) => json!({ "impersonatedGroups": g }),
            _ => json!({}),
        };
        (caller.to_owned(), who.to_owned(), details)
    });
    Mapped {
        event: e,
        authz,
        impersonation,
    }
}

fn attributes(rec: &Map<String, Value>, stages: &[String], time_field: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for key in [
        "apiVersion",
        "level",
        "sourceIPs",
        "userAgent",
        "annotations",
        "responseStatus",
    ] {
        if let Some(v) = rec.get(key).filter(|v| !v.is_null()) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(groups) = object(rec, "user").and_then(|u| u.get("groups")) {
        out.insert("user.groups".to_owned(), groups.clone());
    }
    if let Some(user) = username(rec, "user") {
        out.insert("user.username".to_owned(), Value::from(user));
    }
    out.insert("stages".to_owned(), json!(stages));
    out.insert("timeField".to_owned(), Value::from(time_field));
    out
}

/// The authorization annotations as a `policy.decision` by the API server about the request.
fn authz_event(rec: &Map<String, Value>, request: &Event, id: String) -> Option<Event> {
    let decision = decision(rec)?;
    let locator = id
        .split_once(':')
        .map_or_else(|| id.clone(), |(_, l)| l.to_owned());
    let mut e = Event::new(
        id,
        locator,
        request.time,
        EventKind::PolicyDecision,
        AUTHORIZER.to_owned(),
    );
    e.seq = request.seq;
    e.time_inferred = request.time_inferred;
    e.actor_kind = Some(PrincipalKind::Tool);
    e.target = Some(request.actor.clone());
    e.target_kind = request.actor_kind;
    e.action.clone_from(&request.action);
    e.action_class = request.action_class;
    e.class_source = request.class_source;
    e.resource.clone_from(&request.resource);
    e.call_id.clone_from(&request.call_id);
    e.source_event_id.clone_from(&request.source_event_id);
    e.decision = Some(decision);
    e.policy = object(rec, "annotations")
        .and_then(|a| text(a, REASON))
        .map(str::to_owned);
    e.outcome = Outcome::Success;
    e.raw.clone_from(&request.raw);
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verb_table_holds() {
        let c = |v, r, s| action_class(v, r, s);
        assert_eq!(c("get", "pods", ""), Some(ActionClass::Read));
        assert_eq!(c("watch", "secrets", ""), Some(ActionClass::Read));
        assert_eq!(c("patch", "deployments", ""), Some(ActionClass::Write));
        assert_eq!(c("deletecollection", "pods", ""), Some(ActionClass::Delete));
        assert_eq!(c("create", "pods", "exec"), Some(ActionClass::Execute));
        assert_eq!(c("get", "pods", "attach"), Some(ActionClass::Execute));
        assert_eq!(
            c("create", "clusterrolebindings", ""),
            Some(ActionClass::Privilege)
        );
        assert_eq!(c("get", "clusterroles", ""), Some(ActionClass::Read));
        assert_eq!(c("impersonate", "users", ""), Some(ActionClass::Privilege));
        assert_eq!(
            c("create", "serviceaccounts", "token"),
            Some(ActionClass::Privilege)
        );
        assert_eq!(c("options", "", ""), None);
    }

    #[test]
    fn principals_are_kinded_by_name() {
        assert_eq!(
            principal_kind("system:serviceaccount:kube-system:replicaset-controller"),
            PrincipalKind::Workload
        );
        assert_eq!(
            principal_kind("system:node:minikube"),
            PrincipalKind::Workload
        );
        assert_eq!(principal_kind("alice@example.com"), PrincipalKind::Human);
        assert_eq!(principal_kind("system:anonymous"), PrincipalKind::Unknown);
        assert_eq!(principal_kind("minikube-user"), PrincipalKind::Unknown);
    }

    #[test]
    fn status_codes_give_outcomes() {
        let o = |json: &str| {
            outcome(
                serde_json::from_str::<Value>(json)
                    .expect("json")
                    .as_object()
                    .expect("obj"),
            )
        };
        assert_eq!(o(r#"{"responseStatus":{"code":201}}"#), Outcome::Success);
        assert_eq!(o(r#"{"responseStatus":{"code":101}}"#), Outcome::Success);
        assert_eq!(o(r#"{"responseStatus":{"code":403}}"#), Outcome::Denied);
        assert_eq!(o(r#"{"responseStatus":{"code":409}}"#), Outcome::Error);
        assert_eq!(
            o(r#"{"annotations":{"authorization.k8s.io/decision":"forbid"}}"#),
            Outcome::Denied
        );
        assert_eq!(o("{}"), Outcome::Unknown);
    }
}
