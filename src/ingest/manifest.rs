//! The accountability manifest (docs/manifest.md): the design-time half of the evidence.
//!
//! A manifest is validated as a whole before anything is stored: unknown keys, bad times,
//! durations, roles, kinds or classes refuse the file with the place of the problem.

use serde::Deserialize;

use crate::model::{
    ActionClass, Constraints, CredentialRecord, CredentialType, GrantRecord, Origin,
    OwnerAssignment, OwnerRole, PrincipalKind, TaskRecord, Timestamp, ToolRoles, parse_duration,
    parse_time,
};
#[cfg(feature = "store")]
use crate::store::{SourceWriter, StoreError};

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("{0}")]
    Syntax(String),
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// A validated manifest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub manifest: Option<Header>,
    #[serde(default)]
    pub policy: Option<Policy>,
    #[serde(default)]
    pub principals: Vec<PrincipalDecl>,
    #[serde(default)]
    pub agents: Vec<AgentDecl>,
    #[serde(default)]
    pub tasks: Vec<TaskDecl>,
    #[serde(default)]
    pub grants: Vec<GrantDecl>,
    #[serde(default)]
    pub credentials: Vec<CredentialDecl>,
    #[serde(default)]
    pub action_classes: Vec<ClassDecl>,
    /// Argument roles per tool name, beyond the defaults (`[tools."send_email"]`).
    #[serde(default)]
    pub tools: std::collections::BTreeMap<String, ToolRoles>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: Option<String>,
    pub version: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[allow(
    clippy::struct_field_names,
    reason = "the field names are the manifest's keys"
)]
pub struct Policy {
    pub max_credential_ttl: Option<String>,
    pub sensitive_classes: Option<Vec<ActionClass>>,
    pub max_delegation_depth: Option<u32>,
    pub policy_decision_required: Option<Vec<ActionClass>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalDecl {
    pub id: String,
    pub kind: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerDecl {
    pub role: String,
    pub owner: String,
    pub from: Option<TimeText>,
    pub until: Option<TimeText>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentDecl {
    pub id: String,
    pub name: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub owners: Vec<OwnerDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDecl {
    pub id: String,
    pub agent: Option<String>,
    pub intent: Option<String>,
    pub constraints: Option<Constraints>,
    #[serde(default)]
    pub owners: Vec<OwnerDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantDecl {
    pub id: String,
    pub principal: String,
    pub scope: Option<Vec<String>>,
    pub approved_by: Option<String>,
    pub from: Option<TimeText>,
    pub until: Option<TimeText>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialDecl {
    pub id: String,
    pub holder: Option<String>,
    #[serde(rename = "type")]
    pub credential_type: Option<String>,
    pub issued: Option<TimeText>,
    pub expires: Option<TimeText>,
    pub scope: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassDecl {
    pub action: String,
    pub class: ActionClass,
}

/// A time written either as a TOML string or a TOML offset date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeText(pub String);

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::String(s) => Ok(Self(s)),
            toml::Value::Datetime(dt) => Ok(Self(dt.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a time, found {}",
                other.type_str()
            ))),
        }
    }
}

/// Parses and validates manifest text.
pub fn parse_manifest(text: &str) -> Result<Manifest, ManifestError> {
    let manifest: Manifest =
        toml::from_str(text).map_err(|e| ManifestError::Syntax(e.to_string().trim().to_owned()))?;
    manifest.validate()?;
    Ok(manifest)
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

fn time(path: &str, t: Option<&TimeText>) -> Result<Option<Timestamp>, ManifestError> {
    t.map(|t| parse_time(&t.0).map_err(|e| invalid(path, e.to_string())))
        .transpose()
}

fn role(path: &str, text: &str) -> Result<OwnerRole, ManifestError> {
    OwnerRole::parse(text).ok_or_else(|| {
        invalid(
            path,
            format!(
                "unknown owner role `{text}` (use business_owner, workflow_owner, access_approver or runtime_owner)"
            ),
        )
    })
}

fn kind(path: &str, text: &str) -> Result<PrincipalKind, ManifestError> {
    PrincipalKind::parse(text).ok_or_else(|| {
        invalid(
            path,
            format!("unknown principal kind `{text}` (use human, agent, workload, service_account, role or tool)"),
        )
    })
}

fn interval(
    path: &str,
    from: Option<&TimeText>,
    until: Option<&TimeText>,
) -> Result<(Option<Timestamp>, Option<Timestamp>), ManifestError> {
    let from_t = time(&format!("{path}.from"), from)?;
    let until_t = time(&format!("{path}.until"), until)?;
    if let (Some(f), Some(u)) = (from_t, until_t)
        && u <= f
    {
        return Err(invalid(path, "`until` is not after `from`"));
    }
    Ok((from_t, until_t))
}

impl Manifest {
    fn validate(&self) -> Result<(), ManifestError> {
        if let Some(version) = self.manifest.as_ref().and_then(|h| h.version)
            && version != 1
        {
            return Err(invalid(
                "manifest.version",
                format!("version {version} is not supported (this onus reads version 1)"),
            ));
        }
        if let Some(ttl) = self
            .policy
            .as_ref()
            .and_then(|p| p.max_credential_ttl.as_ref())
        {
            parse_duration(ttl).map_err(|e| invalid("policy.max_credential_ttl", e))?;
        }
        for (i, p) in self.principals.iter().enumerate() {
            kind(&format!("principals[{i}].kind"), &p.kind)?;
        }
        for (i, a) in self.agents.iter().enumerate() {
            if let Some(k) = &a.kind {
                kind(&format!("agents[{i}].kind"), k)?;
            }
            for (j, o) in a.owners.iter().enumerate() {
                let path = format!("agents[{i}].owners[{j}]");
                role(&format!("{path}.role"), &o.role)?;
                interval(&path, o.from.as_ref(), o.until.as_ref())?;
            }
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if let Some(c) = &t.constraints {
                c.validate()
                    .map_err(|e| invalid(format!("tasks[{i}].constraints"), e))?;
            }
            for (j, o) in t.owners.iter().enumerate() {
                let path = format!("tasks[{i}].owners[{j}]");
                role(&format!("{path}.role"), &o.role)?;
                interval(&path, o.from.as_ref(), o.until.as_ref())?;
            }
        }
        for (i, g) in self.grants.iter().enumerate() {
            interval(&format!("grants[{i}]"), g.from.as_ref(), g.until.as_ref())?;
        }
        for (i, c) in self.credentials.iter().enumerate() {
            let path = format!("credentials[{i}]");
            if let Some(t) = &c.credential_type {
                CredentialType::parse(t).ok_or_else(|| {
                    invalid(
                        format!("{path}.type"),
                        format!("unknown credential type `{t}` (use static, short_lived or human)"),
                    )
                })?;
            }
            interval(&path, c.issued.as_ref(), c.expires.as_ref())?;
        }
        Ok(())
    }

    /// Number of declarations, counted as the manifest's records.
    pub fn record_count(&self) -> u64 {
        let policy_keys = self.policy.as_ref().map_or(0, |p| {
            [
                p.max_credential_ttl.is_some(),
                p.sensitive_classes.is_some(),
                p.max_delegation_depth.is_some(),
                p.policy_decision_required.is_some(),
            ]
            .into_iter()
            .filter(|x| *x)
            .count()
        });
        (policy_keys
            + self.principals.len()
            + self.agents.len()
            + self.tasks.len()
            + self.grants.len()
            + self.credentials.len()
            + self.action_classes.len()
            + self.tools.len()) as u64
    }

    /// Writes every declaration into the store. Only call on a validated manifest.
    #[cfg(feature = "store")]
    pub(super) fn write(&self, w: &mut SourceWriter<'_>) -> Result<(), StoreError> {
        let bad = |e: ManifestError| StoreError::Inconsistent(e.to_string());
        if let Some(policy) = &self.policy {
            let value = serde_json::to_value(policy)
                .map_err(|e| StoreError::Inconsistent(e.to_string()))?;
            if let serde_json::Value::Object(map) = value {
                for (key, value) in map {
                    if !value.is_null() {
                        w.policy(key, value);
                    }
                }
            }
        }
        for (tool, roles) in &self.tools {
            let value =
                serde_json::to_value(roles).map_err(|e| StoreError::Inconsistent(e.to_string()))?;
            w.policy(
                format!("{}{tool}", crate::model::arguments::TOOL_ROLES_PREFIX),
                value,
            );
        }
        for p in &self.principals {
            let k = kind("principals", &p.kind).map_err(bad)?;
            w.principal(&p.id, k, p.name.as_deref(), Origin::Manifest);
        }
        for a in &self.agents {
            let k = match &a.kind {
                Some(k) => kind("agents", k).map_err(bad)?,
                None => PrincipalKind::Agent,
            };
            w.principal(&a.id, k, a.name.as_deref(), Origin::Manifest);
            for o in &a.owners {
                write_owner(w, &a.id, o).map_err(bad)?;
            }
        }
        for t in &self.tasks {
            w.task(TaskRecord {
                task_id: t.id.clone(),
                origin: Origin::Manifest,
                agent: t.agent.clone(),
                intent: t.intent.clone(),
                constraints: t.constraints.clone(),
                declared_at: None,
                event_id: None,
            });
            if let Some(agent) = &t.agent {
                w.principal(agent, PrincipalKind::Unknown, None, Origin::Event);
            }
            let subject = format!("task:{}", t.id);
            for o in &t.owners {
                write_owner(w, &subject, o).map_err(bad)?;
            }
        }
        for g in &self.grants {
            let (from, until) =
                interval("grants", g.from.as_ref(), g.until.as_ref()).map_err(bad)?;
            w.grant(GrantRecord {
                grant_id: g.id.clone(),
                principal: g.principal.clone(),
                scope: g.scope.clone(),
                approved_by: g.approved_by.clone(),
                valid_from: from,
                valid_until: until,
                origin: Origin::Manifest,
                event_id: None,
            });
            w.principal(&g.principal, PrincipalKind::Unknown, None, Origin::Event);
        }
        for c in &self.credentials {
            let (issued, expires) =
                interval("credentials", c.issued.as_ref(), c.expires.as_ref()).map_err(bad)?;
            w.credential(&CredentialRecord {
                credential_id: c.id.clone(),
                holder: c.holder.clone(),
                issuer: None,
                credential_type: c.credential_type.as_deref().and_then(CredentialType::parse),
                issued_at: issued,
                expires_at: expires,
                scope: c.scope.clone(),
                task: None,
                origin: Origin::Manifest,
                event_id: None,
            })?;
        }
        for c in &self.action_classes {
            w.action_class(c.action.clone(), c.class);
        }
        Ok(())
    }
}

#[cfg(feature = "store")]
fn write_owner(
    w: &mut SourceWriter<'_>,
    subject: &str,
    o: &OwnerDecl,
) -> Result<(), ManifestError> {
    let (from, until) = interval("owners", o.from.as_ref(), o.until.as_ref())?;
    w.owner_assignment(OwnerAssignment {
        subject: subject.to_owned(),
        role: role("owners.role", &o.role)?,
        owner: o.owner.clone(),
        valid_from: from,
        valid_until: until,
        origin: Origin::Manifest,
        event_id: None,
    });
    w.principal(&o.owner, PrincipalKind::Unknown, None, Origin::Event);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("../../docs/manifest.md");
        let start = doc.find("```toml").expect("example block") + "```toml".len();
        let end = start + doc[start..].find("```").expect("block end");
        let manifest = parse_manifest(&doc[start..end]).expect("documented example is valid");
        assert_eq!(manifest.tasks.len(), 1);
        assert_eq!(manifest.agents[0].owners.len(), 3);
        assert!(manifest.record_count() >= 10);
    }

    #[test]
    fn typos_are_refused_with_their_place() {
        let err = parse_manifest("[[tasks]]\nid = \"T\"\n[tasks.constriants]\ntools = []\n")
            .expect_err("typo");
        let text = err.to_string();
        assert!(
            text.contains("constriants") && text.contains("line"),
            "{text}"
        );
    }

    #[test]
    fn bad_values_are_refused_with_their_path() {
        let err = parse_manifest(
            "[[agents]]\nid = \"a\"\n[[agents.owners]]\nrole = \"boss\"\nowner = \"x\"\n",
        )
        .expect_err("bad role");
        assert!(
            err.to_string().contains("agents[0].owners[0].role"),
            "{err}"
        );

        let err = parse_manifest(
            "[[grants]]\nid = \"g\"\nprincipal = \"p\"\nfrom = \"2026-03-02T00:00:00Z\"\nuntil = \"2026-03-01T00:00:00Z\"\n",
        )
        .expect_err("reversed interval");
        assert!(err.to_string().contains("not after"), "{err}");

        let err = parse_manifest("[policy]\nmax_credential_ttl = \"forever\"\n")
            .expect_err("bad duration");
        assert!(
            err.to_string().contains("policy.max_credential_ttl"),
            "{err}"
        );
    }

    #[test]
    fn toml_datetimes_are_accepted() {
        let m = parse_manifest(
            "[[grants]]\nid = \"g\"\nprincipal = \"p\"\nfrom = 2026-03-01T00:00:00Z\n",
        )
        .expect("native datetime");
        assert_eq!(m.grants.len(), 1);
    }
}
