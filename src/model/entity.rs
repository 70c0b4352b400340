//! The entities the evidence describes besides events: principals, tasks and their constraints,
//! grants, credentials, delegations and owner assignments. Each carries where it came from.

use serde::{Deserialize, Serialize};

use super::class::ActionClass;
use super::event::{PrincipalKind, wire_enum};
use super::time::Timestamp;

wire_enum! {
    /// The four accountable roles of BRIEF §1.
    OwnerRole {
        BusinessOwner = "business_owner",
        WorkflowOwner = "workflow_owner",
        AccessApprover = "access_approver",
        RuntimeOwner = "runtime_owner",
    }
}

wire_enum! {
    /// How long-lived a credential is and whose identity it carries.
    CredentialType {
        ShortLived = "short_lived" | "short-lived" | "ephemeral",
        Static = "static" | "long_lived" | "long-lived",
        Human = "human",
    }
}

wire_enum! {
    /// How authority moved from one principal to another.
    DelegationKind {
        /// An agent handed work to another agent (or a sub-agent).
        Handoff = "handoff",
        /// A role was assumed (AWS `AssumeRole*`).
        AssumeRole = "assume_role",
        /// One principal acted as another (Kubernetes impersonation, RFC 8693 `act`).
        Impersonation = "impersonation",
        /// A credential was issued to the delegate.
        CredentialIssue = "credential_issue",
    }
}

wire_enum! {
    /// Whether a record was declared at design time (manifest) or observed in the logs.
    Origin {
        Manifest = "manifest",
        Event = "event",
    }
}

/// What a task was allowed to do. `None` on an axis means "not constrained" (a gap);
/// `Some(vec![])` means "nothing allowed".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_action_class: Option<ActionClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_required: Option<Vec<String>>,
    /// Longest credential lifetime the task may use, as a duration (`15m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ttl: Option<String>,
}

impl Constraints {
    /// True when no axis is constrained at all.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Checks values that serde cannot: the TTL must be a duration.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(ttl) = &self.credential_ttl {
            super::time::parse_duration(ttl)?;
        }
        Ok(())
    }
}

/// Whether `value` matches an allow-list entry: exactly, or by prefix when the entry ends in `*`.
///
/// # Examples
/// ```
/// use onus::model::pattern_matches;
/// assert!(pattern_matches("order:*", "order:991"));
/// assert!(pattern_matches("tickets.read", "tickets.read"));
/// assert!(!pattern_matches("order:*", "ledger:991"));
/// ```
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

/// A principal as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalRecord {
    pub id: String,
    pub kind: PrincipalKind,
    pub name: Option<String>,
    pub origin: Origin,
}

/// A task with its declared intent and constraints, from one origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRecord {
    pub task_id: String,
    pub origin: Origin,
    pub agent: Option<String>,
    pub intent: Option<String>,
    pub constraints: Option<Constraints>,
    pub declared_at: Option<Timestamp>,
    pub event_id: Option<String>,
}

/// A standing entitlement, who approved it and when it was valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantRecord {
    pub grant_id: String,
    pub principal: String,
    /// `None` when the scope is unknown.
    pub scope: Option<Vec<String>>,
    pub approved_by: Option<String>,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub origin: Origin,
    pub event_id: Option<String>,
}

/// A credential: who holds it, how long-lived it is, what it carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialRecord {
    pub credential_id: String,
    pub holder: Option<String>,
    pub issuer: Option<String>,
    pub credential_type: Option<CredentialType>,
    pub issued_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub scope: Option<Vec<String>>,
    pub task: Option<String>,
    pub origin: Origin,
    pub event_id: Option<String>,
}

/// Authority handed from `delegator` to `delegate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DelegationRecord {
    pub delegator: String,
    pub delegate: String,
    pub kind: DelegationKind,
    pub task: Option<String>,
    /// `None` when the scope passed on is unknown.
    pub scope: Option<Vec<String>>,
    /// The bounds the hand-off carried; `None` when it carried none.
    pub constraints: Option<serde_json::Value>,
    pub at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub event_id: String,
    /// Facts about the hop that are neither scope nor constraints, as the format stated them
    /// (CloudTrail `sourceIdentity`, role session name, credential id; impersonated groups).
    /// Shown on the graph edge.
    pub details: Option<serde_json::Value>,
}

/// Who held one of the four roles for an agent or a task (`task:<id>`), and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerAssignment {
    pub subject: String,
    pub role: OwnerRole,
    pub owner: String,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub origin: Origin,
    pub event_id: Option<String>,
}

/// A record that could not be normalised, kept with why and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineRecord {
    /// Stable id, built like an event id from the file hash and the locator.
    pub id: String,
    pub locator: String,
    pub byte_offset: Option<u64>,
    pub reason: String,
    /// The record as read, cut to a bounded size (invalid UTF-8 escaped as `\xNN`).
    pub raw: String,
    /// Length of the whole record in bytes, before any cut.
    pub raw_bytes: u64,
    pub raw_truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_is_a_prefix_match_only_at_the_end() {
        assert!(pattern_matches("*", "anything"));
        assert!(pattern_matches("payments.*", "payments.transfer"));
        assert!(!pattern_matches("payments.*", "payment.transfer"));
        assert!(!pattern_matches("a*b", "axxb"));
        assert!(pattern_matches("a*b", "a*b"));
    }

    #[test]
    fn constraints_reject_unknown_axes() {
        let err = serde_json::from_str::<Constraints>(r#"{"toolz":["x"]}"#).expect_err("typo");
        assert!(err.to_string().contains("toolz"), "{err}");
    }

    #[test]
    fn empty_constraints_are_recognised() {
        assert!(Constraints::default().is_empty());
        let c = Constraints {
            tools: Some(vec![]),
            ..Constraints::default()
        };
        assert!(!c.is_empty());
    }
}

/// How many records a source had and where they went. `records_read` must equal
/// `records_ok + records_quarantined`; `events_ingested` may exceed `records_ok` when one record
/// holds several events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceCounts {
    pub records_read: u64,
    pub records_ok: u64,
    pub records_quarantined: u64,
    pub events_ingested: u64,
}

impl SourceCounts {
    /// True when every record read is accounted for.
    pub fn reconciles(&self) -> bool {
        self.records_read == self.records_ok + self.records_quarantined
    }
}
