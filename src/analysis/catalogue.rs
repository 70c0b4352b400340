//! The detectors: stable ids, titles, default severities, failure classes and framework
//! mappings. docs/detectors.md describes each one; keep the two in step.

use crate::model::{FailureClass, Mappings, Severity};

/// The fixed description of one detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detector {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub class: FailureClass,
    pub owasp_asi: &'static [&'static str],
    pub owasp_t: &'static [&'static str],
    pub maestro: &'static [&'static str],
    pub nist_ai_rmf: &'static [&'static str],
}

impl Detector {
    /// The framework references as stored with each finding.
    pub fn mappings(&self) -> Mappings {
        Mappings {
            owasp_asi: self.owasp_asi.to_vec(),
            owasp_t: self.owasp_t.to_vec(),
            maestro: self.maestro.to_vec(),
            nist_ai_rmf: self.nist_ai_rmf.to_vec(),
        }
    }
}

use FailureClass::{BehaviouralControl as Behaviour, Entitlement, WorkflowDesign as Design};
use Severity::{Critical, High, Low, Medium};

macro_rules! detector {
    ($name:ident, $id:literal, $title:literal, $sev:expr, $class:expr, [$($asi:literal),*], [$($t:literal),*], [$($m:literal),*], [$($n:literal),*]) => {
        pub const $name: Detector = Detector {
            id: $id,
            title: $title,
            severity: $sev,
            class: $class,
            owasp_asi: &[$($asi),*],
            owasp_t: &[$($t),*],
            maestro: &[$($m),*],
            nist_ai_rmf: &[$($n),*],
        };
    };
}

// Drift: the agent left its declared task.
detector!(
    DRIFT_TOOL,
    "drift.tool",
    "Tool outside the task's allowed tools",
    High,
    Behaviour,
    ["ASI01", "ASI02"],
    ["T6", "T2"],
    ["L3", "L7"],
    ["MANAGE 2.4", "MEASURE 2.4"]
);
detector!(
    DRIFT_RESOURCE,
    "drift.resource",
    "Dataset or resource outside the task's scope",
    High,
    Behaviour,
    ["ASI01", "ASI02"],
    ["T6", "T2"],
    ["L2", "L3"],
    ["MANAGE 2.4", "MEASURE 2.4"]
);
detector!(
    DRIFT_DESTINATION,
    "drift.destination",
    "Egress to a destination the task does not allow (exfiltration)",
    Critical,
    Behaviour,
    ["ASI01", "ASI02"],
    ["T6", "T2"],
    ["L2", "L7"],
    ["MANAGE 2.4", "MANAGE 4.1"]
);
detector!(
    DRIFT_ENVIRONMENT,
    "drift.environment",
    "Action in an environment the task does not allow",
    Medium,
    Behaviour,
    ["ASI02", "ASI10"],
    ["T2", "T13"],
    ["L4"],
    ["MANAGE 2.4"]
);
detector!(
    DRIFT_CEILING,
    "drift.class_ceiling",
    "Action class above the task's ceiling",
    High,
    Behaviour,
    ["ASI02", "ASI10"],
    ["T2", "T6"],
    ["L3", "L7"],
    ["MANAGE 2.4", "GOVERN 1.4"]
);
detector!(
    DRIFT_INTENT,
    "drift.intent_changed",
    "Intent changed and the agent kept acting",
    High,
    Behaviour,
    ["ASI01", "ASI10"],
    ["T6", "T7"],
    ["L3", "L7"],
    ["MANAGE 2.4", "MEASURE 2.4"]
);
detector!(
    DRIFT_TAINTED,
    "drift.tainted_arguments",
    "Action arguments traced to untrusted content",
    High,
    Behaviour,
    ["ASI01", "ASI06"],
    ["T6", "T1"],
    ["L2", "L3"],
    ["MEASURE 2.7", "MANAGE 2.4"]
);

detector!(
    SCOPE_READ_OUTSIDE,
    "scope.read_outside",
    "Read outside the task's declared lists, with nothing suggesting another goal",
    Low,
    Behaviour,
    ["ASI02"],
    ["T2"],
    ["L3"],
    ["MEASURE 2.4"]
);

// Delegation: how authority moved.
detector!(
    DELEG_AMPLIFICATION,
    "delegation.scope_amplification",
    "Delegate acted beyond what its delegator held",
    High,
    Entitlement,
    ["ASI03"],
    ["T3", "T9"],
    ["L7", "L6"],
    ["GOVERN 2.1", "MAP 3.5"]
);
detector!(
    DELEG_UNBOUNDED,
    "delegation.unbounded_handoff",
    "Hand-off without constraints",
    Medium,
    Design,
    ["ASI03", "ASI07"],
    ["T3", "T12"],
    ["L3", "L7"],
    ["GOVERN 3.2", "MAP 3.5"]
);
detector!(
    DELEG_DEPTH,
    "delegation.depth_over_policy",
    "Delegation chain deeper than policy allows",
    Medium,
    Design,
    ["ASI03", "ASI08"],
    ["T3", "T5"],
    ["L7"],
    ["GOVERN 1.4"]
);
detector!(
    DELEG_CYCLE,
    "delegation.cycle",
    "Principals delegate to each other in a cycle",
    Medium,
    Design,
    ["ASI03", "ASI08"],
    ["T3", "T8"],
    ["L7"],
    ["GOVERN 1.4"]
);
detector!(
    DELEG_NO_ROOT,
    "delegation.no_owned_root",
    "Agent acting with no owned root",
    Medium,
    Design,
    ["ASI10", "ASI03"],
    ["T8", "T13"],
    ["L6"],
    ["GOVERN 2.1", "GOVERN 1.6"]
);

// Identity and credentials.
detector!(
    ID_STATIC,
    "identity.static_credential",
    "Agent used a static or long-lived credential",
    Medium,
    Entitlement,
    ["ASI03"],
    ["T3"],
    ["L4", "L6"],
    ["GOVERN 1.4", "MANAGE 3.1"]
);
detector!(
    ID_TTL,
    "identity.ttl_over_policy",
    "Credential lifetime over policy or task limit",
    Medium,
    Entitlement,
    ["ASI03"],
    ["T3"],
    ["L4", "L6"],
    ["GOVERN 1.4"]
);
detector!(
    ID_AFTER_END,
    "identity.used_after_task_end",
    "Credential used after its task ended",
    High,
    Behaviour,
    ["ASI03", "ASI10"],
    ["T3", "T13"],
    ["L4", "L6"],
    ["MANAGE 2.4", "MANAGE 4.1"]
);
detector!(
    ID_NOT_REVOKED,
    "identity.not_revoked_at_task_end",
    "Credential not revoked at task end",
    Medium,
    Behaviour,
    ["ASI03"],
    ["T3"],
    ["L4", "L6"],
    ["MANAGE 2.4"]
);
detector!(
    ID_HUMAN,
    "identity.human_credential",
    "Agent acting on a human's credential",
    High,
    Entitlement,
    ["ASI03", "ASI09"],
    ["T3", "T9"],
    ["L6", "L7"],
    ["GOVERN 3.2"]
);
detector!(
    ID_SHARED,
    "identity.shared_credential",
    "One credential shared by several agents or tasks",
    Medium,
    Entitlement,
    ["ASI03"],
    ["T3", "T8"],
    ["L4", "L6"],
    ["GOVERN 1.4"]
);

// Runtime control.
detector!(
    RT_NO_APPROVAL,
    "runtime.approval_missing",
    "Action needing approval ran without one",
    High,
    Behaviour,
    ["ASI09", "ASI02"],
    ["T10", "T2"],
    ["L6", "L3"],
    ["GOVERN 3.2", "MANAGE 2.4"]
);
detector!(
    RT_AFTER_DENIAL,
    "runtime.after_denial",
    "Action after its approval was denied or expired",
    Critical,
    Behaviour,
    ["ASI09", "ASI10"],
    ["T10", "T13"],
    ["L6"],
    ["MANAGE 2.4"]
);
detector!(
    RT_NO_POLICY,
    "runtime.no_policy_decision",
    "No request-time policy decision where one is required",
    Medium,
    Behaviour,
    ["ASI02", "ASI03"],
    ["T2", "T3"],
    ["L6", "L4"],
    ["GOVERN 1.4", "MANAGE 2.4"]
);
detector!(
    RT_DENY_IGNORED,
    "runtime.deny_ignored",
    "Policy said deny but the action succeeded",
    Critical,
    Behaviour,
    ["ASI02", "ASI03"],
    ["T2", "T3"],
    ["L6", "L4"],
    ["MANAGE 2.4"]
);
detector!(
    RT_UNTRACEABLE,
    "runtime.untraceable",
    "Agent action with no task or intent context",
    Low,
    Behaviour,
    ["ASI10"],
    ["T8"],
    ["L5", "L6"],
    ["GOVERN 1.5", "MANAGE 4.3"]
);

// Governance: the design itself.
detector!(
    GOV_NO_CONSTRAINTS,
    "governance.no_constraints",
    "Task without declared constraints",
    Medium,
    Design,
    ["ASI10", "ASI01"],
    ["T6", "T8"],
    ["L6"],
    ["GOVERN 3.2", "MAP 3.5"]
);
detector!(
    GOV_SENSITIVE_NO_RULE,
    "governance.sensitive_without_approval_rule",
    "Sensitive action the workflow did not require approval for",
    Medium,
    Design,
    ["ASI09", "ASI02"],
    ["T10", "T2"],
    ["L6"],
    ["GOVERN 3.2"]
);
detector!(
    GOV_SCOPE_MISMATCH,
    "governance.scope_mismatch",
    "Run-time task declaration differs from the manifest",
    Low,
    Design,
    ["ASI10"],
    ["T7"],
    ["L6"],
    ["GOVERN 1.4", "MEASURE 2.4"]
);
detector!(
    GOV_OWNER_GAP,
    "governance.owner_gap",
    "Accountable owner missing from the evidence",
    Medium,
    Design,
    ["ASI10"],
    ["T8"],
    ["L6"],
    ["GOVERN 2.1", "GOVERN 1.6"]
);

/// Every detector, in catalogue order.
pub const ALL: &[Detector] = &[
    DRIFT_TOOL,
    DRIFT_RESOURCE,
    DRIFT_DESTINATION,
    DRIFT_ENVIRONMENT,
    DRIFT_CEILING,
    DRIFT_INTENT,
    DRIFT_TAINTED,
    SCOPE_READ_OUTSIDE,
    DELEG_AMPLIFICATION,
    DELEG_UNBOUNDED,
    DELEG_DEPTH,
    DELEG_CYCLE,
    DELEG_NO_ROOT,
    ID_STATIC,
    ID_TTL,
    ID_AFTER_END,
    ID_NOT_REVOKED,
    ID_HUMAN,
    ID_SHARED,
    RT_NO_APPROVAL,
    RT_AFTER_DENIAL,
    RT_NO_POLICY,
    RT_DENY_IGNORED,
    RT_UNTRACEABLE,
    GOV_NO_CONSTRAINTS,
    GOV_SENSITIVE_NO_RULE,
    GOV_SCOPE_MISMATCH,
    GOV_OWNER_GAP,
];

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn detector_ids_are_unique_and_mapped() {
        let mut ids: Vec<&str> = ALL.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for d in ALL {
            assert!(
                !d.owasp_asi.is_empty() && !d.maestro.is_empty() && !d.nist_ai_rmf.is_empty(),
                "{}",
                d.id
            );
        }
    }

    #[test]
    fn every_detector_is_documented() {
        let doc = include_str!("../../docs/detectors.md");
        for d in ALL {
            assert!(
                doc.contains(&format!("`{}`", d.id)),
                "{} missing from docs/detectors.md",
                d.id
            );
        }
    }
}
