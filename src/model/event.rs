//! The canonical event: one normalised record of something that happened (docs/schema.md).

use serde::Serialize;

use super::class::{ActionClass, ClassSource};
use super::entity::{CredentialType, OwnerRole};
use super::time::Timestamp;

/// Declares a closed string enum with its wire names, `as_str`, `parse` and `Display`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name used in files, the store and reports.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Parses the wire name (and documented aliases), ignoring ASCII case.
            pub fn parse(text: &str) -> Option<Self> {
                let text = text.trim();
                $(
                    if text.eq_ignore_ascii_case($text) $(|| text.eq_ignore_ascii_case($alias))* {
                        return Some(Self::$variant);
                    }
                )+
                None
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// What an event records (BRIEF §4).
    EventKind {
        TaskStart = "task.start",
        TaskEnd = "task.end",
        IntentChange = "intent.change",
        Delegate = "delegate",
        CredentialIssue = "credential.issue",
        CredentialRevoke = "credential.revoke",
        ToolCall = "tool.call",
        ToolResult = "tool.result",
        Message = "message",
        ApprovalRequest = "approval.request",
        ApprovalDecision = "approval.decision",
        PolicyDecision = "policy.decision",
        Auth = "auth",
        GrantChange = "grant.change",
        OwnerChange = "owner.change",
    }
}

impl EventKind {
    /// The class an event of this kind has when it names no action of its own.
    pub const fn implied_class(self) -> Option<ActionClass> {
        match self {
            Self::CredentialIssue | Self::GrantChange => Some(ActionClass::Privilege),
            Self::Message => Some(ActionClass::Communicate),
            _ => None,
        }
    }
}

wire_enum! {
    /// Anything that acts or holds authority.
    PrincipalKind {
        Human = "human",
        Agent = "agent",
        Workload = "workload",
        ServiceAccount = "service_account" | "serviceaccount" | "service-account",
        Role = "role",
        Tool = "tool",
        Unknown = "unknown",
    }
}

wire_enum! {
    /// How an action ended.
    Outcome {
        Success = "success" | "ok" | "succeeded",
        Denied = "denied" | "forbidden",
        Error = "error" | "failed" | "failure",
        Unknown = "unknown",
    }
}

wire_enum! {
    /// Where the content of an event came from.
    Trust {
        Trusted = "trusted",
        Untrusted = "untrusted",
    }
}

wire_enum! {
    /// The verdict of an approval or a policy decision, or the direction of a grant change.
    Decision {
        Allow = "allow" | "approved" | "approve" | "allowed" | "grant",
        Deny = "deny" | "denied" | "rejected" | "reject" | "revoke",
    }
}

/// One normalised event, as stored in the `events` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Stable id: file hash prefix and locator (see [`event_id`]).
    pub id: String,
    /// Where the record was in its source file (`L12`, `L3.7`).
    pub locator: String,
    /// Order within the source, for stable sorting of equal times.
    pub seq: u64,
    #[serde(serialize_with = "serialize_time")]
    pub time: Timestamp,
    pub time_inferred: bool,
    pub kind: EventKind,
    pub actor: String,
    pub actor_kind: Option<PrincipalKind>,
    pub on_behalf_of: Option<String>,
    pub task: Option<String>,
    pub session: Option<String>,
    pub source_event_id: Option<String>,
    pub action: Option<String>,
    pub action_class: Option<ActionClass>,
    pub class_source: ClassSource,
    pub resource: Option<String>,
    pub destination: Option<String>,
    pub environment: Option<String>,
    pub credential: Option<String>,
    pub outcome: Outcome,
    pub target: Option<String>,
    pub target_kind: Option<PrincipalKind>,
    pub call_id: Option<String>,
    pub args: Option<serde_json::Value>,
    pub content: Option<String>,
    pub trust: Option<Trust>,
    pub intent: Option<String>,
    pub constraints: Option<serde_json::Value>,
    pub scope: Option<Vec<String>>,
    pub decision: Option<Decision>,
    #[serde(serialize_with = "serialize_opt_time")]
    pub expires_at: Option<Timestamp>,
    pub credential_type: Option<CredentialType>,
    pub role: Option<OwnerRole>,
    pub owner: Option<String>,
    pub grant: Option<String>,
    pub status: Option<String>,
    pub policy: Option<String>,
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// The source record as read.
    pub raw: String,
}

impl Event {
    /// A minimal event of `kind` by `actor` at `time`; every optional field empty.
    pub fn new(
        id: String,
        locator: String,
        time: Timestamp,
        kind: EventKind,
        actor: String,
    ) -> Self {
        Self {
            id,
            locator,
            seq: 0,
            time,
            time_inferred: false,
            kind,
            actor,
            actor_kind: None,
            on_behalf_of: None,
            task: None,
            session: None,
            source_event_id: None,
            action: None,
            action_class: None,
            class_source: ClassSource::None,
            resource: None,
            destination: None,
            environment: None,
            credential: None,
            outcome: Outcome::Unknown,
            target: None,
            target_kind: None,
            call_id: None,
            args: None,
            content: None,
            trust: None,
            intent: None,
            constraints: None,
            scope: None,
            decision: None,
            expires_at: None,
            credential_type: None,
            role: None,
            owner: None,
            grant: None,
            status: None,
            policy: None,
            attributes: None,
            raw: String::new(),
        }
    }
}

fn serialize_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::time::format_time(t))
}

#[allow(clippy::ref_option)] // serde's `serialize_with` hands us `&Option<_>`
fn serialize_opt_time<S: serde::Serializer>(
    t: &Option<Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize_time(t, s),
        None => s.serialize_none(),
    }
}

/// Number of hex digits of the file's SHA-256 used in event ids.
pub const ID_HASH_DIGITS: usize = 16;

/// Builds the stable id of the record at `locator` in the file whose SHA-256 (hex) is
/// `file_sha256`.
///
/// # Examples
/// ```
/// let id = onus::model::event_id("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "L12");
/// assert_eq!(id, "9f86d081884c7d65:L12");
/// ```
pub fn event_id(file_sha256: &str, locator: &str) -> String {
    let prefix = file_sha256.get(..ID_HASH_DIGITS).unwrap_or(file_sha256);
    format!("{prefix}:{locator}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventKind::ALL.len(), 15);
        assert_eq!(EventKind::parse("tool.invoke"), None);
    }

    #[test]
    fn aliases_normalise() {
        assert_eq!(Decision::parse("approved"), Some(Decision::Allow));
        assert_eq!(Decision::parse("DENIED"), Some(Decision::Deny));
        assert_eq!(
            PrincipalKind::parse("service-account"),
            Some(PrincipalKind::ServiceAccount)
        );
    }

    #[test]
    fn ids_depend_on_hash_and_location_only() {
        let sha = "ab".repeat(32);
        assert_eq!(event_id(&sha, "L1"), event_id(&sha, "L1"));
        assert_ne!(event_id(&sha, "L1"), event_id(&sha, "L2"));
        assert_ne!(event_id(&sha, "L1"), event_id(&"cd".repeat(32), "L1"));
    }
}
