//! Authority as sets of permission patterns, and how it narrows along a delegation chain.
//!
//! Permissions are compared in a normal form: lowercase, with `.` read as `:` so that the tool
//! `payments.transfer` and the scope `payments:transfer` are the same permission. A pattern
//! ending in `*` covers every permission with that prefix (`payments:*`).

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::model::pattern_matches;

/// The normal form of a permission or pattern.
pub fn normalise(permission: &str) -> String {
    permission.trim().to_lowercase().replace('.', ":")
}

/// What a principal may do, as far as the evidence tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Authority {
    /// Nothing in the evidence says what it is. Never read as "everything" or "nothing".
    Unknown,
    /// Exactly these patterns.
    Known { patterns: BTreeSet<String> },
    /// At most these patterns: some part of the computation was unknown.
    AtMost { patterns: BTreeSet<String> },
}

impl Authority {
    /// Authority made of the given patterns.
    pub fn known<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Self {
        Self::Known {
            patterns: patterns
                .into_iter()
                .map(|p| normalise(p.as_ref()))
                .collect(),
        }
    }

    fn patterns(&self) -> Option<&BTreeSet<String>> {
        match self {
            Self::Unknown => None,
            Self::Known { patterns } | Self::AtMost { patterns } => Some(patterns),
        }
    }

    /// Whether this authority certainly does **not** include `permission`: `Some(true)` when
    /// the known patterns (or the upper bound) exclude it, `Some(false)` when they include it,
    /// `None` when unknown.
    pub fn excludes(&self, permission: &str) -> Option<bool> {
        let perm = normalise(permission);
        self.patterns()
            .map(|ps| !ps.iter().any(|p| pattern_matches(p, &perm)))
    }

    /// The authority left after passing through `other`: the patterns both allow. Unknown on
    /// one side leaves the other side as an upper bound.
    #[must_use]
    pub fn narrow(&self, other: &Self) -> Self {
        match (self.patterns(), other.patterns()) {
            (None, None) => Self::Unknown,
            (Some(p), None) | (None, Some(p)) => Self::AtMost {
                patterns: p.clone(),
            },
            (Some(a), Some(b)) => {
                let patterns = intersect(a, b);
                if matches!(self, Self::Known { .. }) && matches!(other, Self::Known { .. }) {
                    Self::Known { patterns }
                } else {
                    Self::AtMost { patterns }
                }
            }
        }
    }
}

/// Patterns allowed by both sets: where one pattern covers the other, the narrower one.
fn intersect(a: &BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for x in a {
        for y in b {
            if covers(x, y) {
                out.insert(y.clone());
            } else if covers(y, x) {
                out.insert(x.clone());
            }
        }
    }
    out
}

/// Whether pattern `wide` allows everything pattern `narrow` allows.
fn covers(wide: &str, narrow: &str) -> bool {
    match (wide.strip_suffix('*'), narrow.strip_suffix('*')) {
        (Some(w), Some(n)) => n.starts_with(w),
        (Some(w), None) => narrow.starts_with(w),
        (None, Some(_)) => false,
        (None, None) => wide == narrow,
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ps: &BTreeSet<String>| ps.iter().cloned().collect::<Vec<_>>().join(", ");
        match self {
            Self::Unknown => f.write_str("unknown"),
            Self::Known { patterns } if patterns.is_empty() => f.write_str("nothing"),
            Self::Known { patterns } => write!(f, "{{{}}}", list(patterns)),
            Self::AtMost { patterns } => write!(f, "at most {{{}}}", list(patterns)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_and_scopes_share_one_normal_form() {
        assert_eq!(normalise("Payments.Transfer"), "payments:transfer");
        let a = Authority::known(["payments:*"]);
        assert_eq!(a.excludes("payments.transfer"), Some(false));
        assert_eq!(a.excludes("ledger.read"), Some(true));
    }

    #[test]
    fn narrowing_keeps_the_narrower_pattern() {
        let broad = Authority::known(["payments:*", "ledger:*"]);
        let copilot = Authority::known(["payments:refund", "tickets:read"]);
        assert_eq!(
            broad.narrow(&copilot),
            Authority::known(["payments:refund"])
        );
        assert_eq!(
            copilot.narrow(&broad),
            Authority::known(["payments:refund"])
        );
    }

    #[test]
    fn unknown_is_never_everything_or_nothing() {
        let unknown = Authority::Unknown;
        assert_eq!(unknown.excludes("x"), None);
        let some = Authority::known(["a:b"]);
        let narrowed = some.narrow(&unknown);
        assert_eq!(narrowed.to_string(), "at most {a:b}");
        assert_eq!(narrowed.excludes("a:c"), Some(true));
        assert_eq!(narrowed.excludes("a:b"), Some(false));
        assert_eq!(unknown.narrow(&Authority::Unknown), Authority::Unknown);
    }

    #[test]
    fn wildcards_cover_only_their_prefix() {
        assert!(covers("payments:*", "payments:refund"));
        assert!(covers("payments:*", "payments:refund:*"));
        assert!(!covers("payments:refund", "payments:*"));
        assert!(!covers("pay:*", "ledger:x"));
    }
}
