//! Which owner held a role at a given time.

use super::entity::{OwnerAssignment, OwnerRole};
use super::time::Timestamp;

/// The assignment of `role` for `subject` in effect at `at`: among the assignments whose
/// interval contains `at` (a missing `valid_from` means "since always", a missing
/// `valid_until` "still valid"), the one that started last. An `owner.change` event opens an
/// assignment with no end, so it supersedes older open ones from its time on.
///
/// # Examples
/// ```
/// use onus::model::{owner_in_effect, parse_time, OwnerAssignment, OwnerRole, Origin};
/// let a = |owner: &str, from: Option<&str>| OwnerAssignment {
///     subject: "agent:x".into(), role: OwnerRole::RuntimeOwner, owner: owner.into(),
///     valid_from: from.map(|t| parse_time(t).unwrap()), valid_until: None,
///     origin: Origin::Event, event_id: None,
/// };
/// let all = [a("raj", None), a("mei", Some("2026-03-05T00:00:00Z"))];
/// let at = parse_time("2026-03-04T10:00:00Z").unwrap();
/// assert_eq!(owner_in_effect(&all, "agent:x", OwnerRole::RuntimeOwner, at).unwrap().owner, "raj");
/// ```
pub fn owner_in_effect<'a>(
    assignments: impl IntoIterator<Item = &'a OwnerAssignment>,
    subject: &str,
    role: OwnerRole,
    at: Timestamp,
) -> Option<&'a OwnerAssignment> {
    assignments
        .into_iter()
        .filter(|a| a.subject == subject && a.role == role)
        .filter(|a| a.valid_from.is_none_or(|f| f <= at) && a.valid_until.is_none_or(|u| at < u))
        .max_by_key(|a| a.valid_from)
}
