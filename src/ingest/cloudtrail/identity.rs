//! Who made a CloudTrail call: `userIdentity` turned into a principal id and kind, plus the
//! facts that link calls to role sessions (`accessKeyId`, `sourceIdentity`, the session
//! issuer). The table of docs/formats/cloudtrail.md, "Principals", is this function.

use serde_json::{Map, Value};

use crate::model::PrincipalKind;

/// The principal behind one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    /// Principal id: an ARN where CloudTrail gives one.
    pub id: String,
    pub kind: PrincipalKind,
    /// `userIdentity.type` as written (absent on some service events).
    pub type_name: Option<String>,
    /// The access key the call was signed with.
    pub access_key: Option<String>,
    /// `sessionContext.sourceIdentity`: who is really behind a role session, kept across chains.
    pub behind: Option<String>,
    /// `sessionContext.sessionIssuer.arn`: the role (or user) the session belongs to.
    pub session_issuer: Option<String>,
    /// `invokedBy`: the AWS service that made the call for the principal.
    pub invoked_by: Option<String>,
}

/// A non-empty string field.
pub(super) fn text<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An object field.
pub(super) fn object<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Map<String, Value>> {
    obj.get(key).and_then(Value::as_object)
}

fn account_root(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// Resolves `userIdentity` (or its absence, for which the service that logged the event acts).
pub(super) fn resolve(user: Option<&Map<String, Value>>, event_source: &str) -> Identity {
    let Some(user) = user else {
        return Identity {
            id: event_source.to_owned(),
            kind: PrincipalKind::Workload,
            type_name: None,
            access_key: None,
            behind: None,
            session_issuer: None,
            invoked_by: None,
        };
    };
    let context = object(user, "sessionContext");
    let type_name = text(user, "type");
    let (id, kind) = principal(user, type_name, event_source);
    Identity {
        id,
        kind,
        type_name: type_name.map(str::to_owned),
        access_key: text(user, "accessKeyId").map(str::to_owned),
        behind: context
            .and_then(|c| text(c, "sourceIdentity"))
            .map(str::to_owned),
        session_issuer: context
            .and_then(|c| object(c, "sessionIssuer"))
            .and_then(|i| text(i, "arn"))
            .map(str::to_owned),
        invoked_by: text(user, "invokedBy").map(str::to_owned),
    }
}

/// The id and kind by `userIdentity.type`, each falling back to the next best identifier.
fn principal(
    user: &Map<String, Value>,
    type_name: Option<&str>,
    event_source: &str,
) -> (String, PrincipalKind) {
    let arn = text(user, "arn");
    let name = text(user, "userName");
    let principal_id = text(user, "principalId");
    let root = text(user, "accountId").map(account_root);
    let invoked_by = text(user, "invokedBy");
    let first = |options: &[Option<&str>]| -> Option<String> {
        options.iter().flatten().next().map(|s| (*s).to_owned())
    };
    let (id, kind) = match type_name {
        Some("Root") => (first(&[arn]).or(root), PrincipalKind::Human),
        Some("IAMUser") => (first(&[arn, name, principal_id]), PrincipalKind::Human),
        Some("AssumedRole") => (first(&[arn, principal_id]), PrincipalKind::Role),
        Some("FederatedUser") => (first(&[arn, principal_id]), PrincipalKind::Unknown),
        Some("AWSService") => (first(&[invoked_by, principal_id]), PrincipalKind::Workload),
        Some("AWSAccount") => (
            root.or_else(|| first(&[principal_id])),
            PrincipalKind::Unknown,
        ),
        Some("SAMLUser") => (first(&[name, principal_id]), PrincipalKind::Human),
        Some("WebIdentityUser") => {
            let id = first(&[name, principal_id]);
            let kind = if id
                .as_deref()
                .is_some_and(|i| i.starts_with("system:serviceaccount:"))
            {
                PrincipalKind::Workload
            } else {
                PrincipalKind::Unknown
            };
            (id, kind)
        }
        Some("IdentityCenterUser") => (identity_center(user), PrincipalKind::Human),
        _ if invoked_by.is_some() => (first(&[invoked_by]), PrincipalKind::Workload),
        _ => (first(&[arn, principal_id]).or(root), PrincipalKind::Unknown),
    };
    (id.unwrap_or_else(|| event_source.to_owned()), kind)
}

/// An IAM Identity Center user: the identity store and user id of `onBehalfOf`.
fn identity_center(user: &Map<String, Value>) -> Option<String> {
    let on_behalf = object(user, "onBehalfOf")?;
    let user_id = text(on_behalf, "userId")?;
    Some(match text(on_behalf, "identityStoreArn") {
        Some(store) => format!("{store}/user/{user_id}"),
        None => format!("identitycenter:user/{user_id}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(user: &str, id: &str, kind: PrincipalKind) {
        let v: Value = serde_json::from_str(user).expect("json");
        let got = resolve(v.as_object(), "s3.amazonaws.com");
        assert_eq!((got.id.as_str(), got.kind), (id, kind), "{user}");
    }

    #[test]
    fn every_identity_type_has_an_id_and_a_kind() {
        check(
            r#"{"type":"IAMUser","arn":"arn:aws:iam::1:user/bert","userName":"bert"}"#,
            "arn:aws:iam::1:user/bert",
            PrincipalKind::Human,
        );
        check(
            r#"{"type":"Root","accountId":"1"}"#,
            "arn:aws:iam::1:root",
            PrincipalKind::Human,
        );
        check(
            r#"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s"}"#,
            "arn:aws:sts::1:assumed-role/r/s",
            PrincipalKind::Role,
        );
        check(
            r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#,
            "ec2.amazonaws.com",
            PrincipalKind::Workload,
        );
        check(
            r#"{"type":"AWSAccount","accountId":"2","principalId":"AIDA"}"#,
            "arn:aws:iam::2:root",
            PrincipalKind::Unknown,
        );
        check(
            r#"{"type":"FederatedUser","arn":"arn:aws:sts::1:federated-user/bob"}"#,
            "arn:aws:sts::1:federated-user/bob",
            PrincipalKind::Unknown,
        );
        check(
            r#"{"type":"SAMLUser","userName":"alice@example.com","principalId":"x"}"#,
            "alice@example.com",
            PrincipalKind::Human,
        );
        check(
            r#"{"type":"WebIdentityUser","userName":"system:serviceaccount:agents:billing"}"#,
            "system:serviceaccount:agents:billing",
            PrincipalKind::Workload,
        );
        check(
            r#"{"type":"IdentityCenterUser","onBehalfOf":{"userId":"u-1","identityStoreArn":"arn:aws:identitystore::1:identitystore/d-1"}}"#,
            "arn:aws:identitystore::1:identitystore/d-1/user/u-1",
            PrincipalKind::Human,
        );
        // Service events carry no type, only the service and the account.
        check(
            r#"{"accountId":"1","invokedBy":"secretsmanager.amazonaws.com"}"#,
            "secretsmanager.amazonaws.com",
            PrincipalKind::Workload,
        );
        check("{}", "s3.amazonaws.com", PrincipalKind::Unknown);
    }

    #[test]
    fn session_facts_are_kept() {
        let v: Value = serde_json::from_str(
            r#"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s","accessKeyId":"ASIA1",
                "sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/r"},"sourceIdentity":"alice"}}"#,
        )
        .expect("json");
        let id = resolve(v.as_object(), "s3.amazonaws.com");
        assert_eq!(id.access_key.as_deref(), Some("ASIA1"));
        assert_eq!(id.behind.as_deref(), Some("alice"));
        assert_eq!(id.session_issuer.as_deref(), Some("arn:aws:iam::1:role/r"));
        assert_eq!(resolve(None, "s3.amazonaws.com").id, "s3.amazonaws.com");
    }
}
