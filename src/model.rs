//! Domain types shared by every layer: events, principals, tasks, grants, credentials,
//! delegations and owner assignments. Nothing here does I/O or knows about storage.

pub mod arguments;
mod class;
mod entity;
mod event;
mod finding;
mod ownership;
mod time;

pub use arguments::{
    ArgumentRoles, RoleValue, ToolRoles, destination_matches, normalise_destination,
};
#[cfg(feature = "store")]
pub(crate) use class::split_words;
pub use class::{ActionClass, ClassSource, classify_action, parse_action_class};
pub use entity::{
    Constraints, CredentialRecord, CredentialType, DelegationKind, DelegationRecord, GrantRecord,
    Origin, OwnerAssignment, OwnerRole, PrincipalRecord, QuarantineRecord, SourceCounts,
    TaskRecord, pattern_matches,
};
pub use event::{
    Decision, Event, EventKind, ID_HASH_DIGITS, Outcome, PrincipalKind, Trust, event_id,
};
pub use finding::{
    AccountabilityRecord, Axis, Contribution, DriftKind, DriftPoint, FailureClass, Finding,
    InstructionSpanRecord, Mappings, Provenance, Severity, StopKind, Violation,
};
pub use ownership::owner_in_effect;
pub use time::{TimeError, Timestamp, format_time, human_duration, parse_duration, parse_time};
