//! What analysis concludes: findings, drift points and accountability records. They are plain
//! data here; `analysis` and `accountability` compute them, `store` keeps them.

use serde::Serialize;

use super::event::wire_enum;
use super::time::Timestamp;

wire_enum! {
    /// How bad a finding is.
    Severity {
        Info = "info",
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

impl Severity {
    /// 0 for info up to 4 for critical.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Info => 0,
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
            Self::Critical => 4,
        }
    }
}

wire_enum! {
    /// The three failure classes of BRIEF §1.
    FailureClass {
        /// Access broader than the task needed (design time, access approver).
        Entitlement = "entitlement",
        /// Missing or vague task constraints, unbounded hand-offs, no owner (design time,
        /// workflow owner).
        WorkflowDesign = "workflow_design",
        /// Nothing stopped the agent at run time (execution time, runtime owner).
        BehaviouralControl = "behavioural_control",
    }
}

impl FailureClass {
    /// The owner role accountable for this class.
    pub const fn accountable_role(self) -> super::OwnerRole {
        match self {
            Self::Entitlement => super::OwnerRole::AccessApprover,
            Self::WorkflowDesign => super::OwnerRole::WorkflowOwner,
            Self::BehaviouralControl => super::OwnerRole::RuntimeOwner,
        }
    }

    /// Whether the failure was decided at design time (as opposed to execution time).
    pub const fn is_design_time(self) -> bool {
        !matches!(self, Self::BehaviouralControl)
    }
}

/// Framework references of a detector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mappings {
    /// OWASP Top 10 for Agentic Applications 2026 (`ASI01`...).
    pub owasp_asi: Vec<&'static str>,
    /// OWASP Agentic AI threats (`T6`...).
    pub owasp_t: Vec<&'static str>,
    /// CSA MAESTRO layers (`L3`...).
    pub maestro: Vec<&'static str>,
    /// NIST AI RMF subcategories (`GOVERN 2.1`...).
    pub nist_ai_rmf: Vec<&'static str>,
}

/// One finding with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id: detector, task or principal, first evidence.
    pub id: String,
    pub detector: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub failure_class: FailureClass,
    pub task: Option<String>,
    pub principal: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub time: Timestamp,
    /// Names the rule and the values that triggered it.
    pub explanation: String,
    /// Event ids, most telling first.
    pub evidence: Vec<String>,
    pub mappings: Mappings,
}

fn ser_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::time::format_time(t))
}

#[allow(clippy::ref_option)] // serde hands us `&Option<_>`
fn ser_opt_time<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

wire_enum! {
    /// The declared list a value is checked against.
    Axis {
        Tool = "tool",
        Resource = "resource",
        Destination = "destination",
        Environment = "environment",
        ActionClass = "action_class",
    }
}

wire_enum! {
    /// The rule of the drift model that placed a drift point (docs/detectors.md).
    DriftKind {
        /// An action outside the declared lists, above read class.
        OutOfScope = "out_of_scope",
        /// An action outside the declared lists (of any class) after untrusted content that
        /// carried instructions.
        InstructedOutOfScope = "out_of_scope_after_instruction",
        /// An action whose arguments carry values from the instruction-bearing part of untrusted
        /// content.
        TaintedAction = "tainted_action",
        /// An action the instructions named, taken after them, on the way to a drift point
        /// found by another rule.
        InstructedAction = "instructed_action",
        /// The agent declared a new intent and kept acting.
        IntentChange = "intent_change",
    }
}

wire_enum! {
    /// The control that stopped a drifted task.
    StopKind {
        Denial = "denial",
        ApprovalRefused = "approval_refused",
        Revocation = "revocation",
        TaskEnd = "task_end",
    }
}

/// One constraint an action broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub axis: Axis,
    /// What the action did.
    pub value: String,
    /// What the task allowed.
    pub allowed: Vec<String>,
}

/// An argument value of an action that appeared in untrusted content, and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    pub argument: String,
    pub value: String,
    /// The untrusted event where the value first appeared.
    pub event_id: String,
    /// Whether the value sat inside the instruction-bearing part of that content (then the
    /// action is tainted); `false` for data the content merely carried (a bill's own IBAN).
    pub instruction: bool,
    /// The instruction span holding the value: byte offsets into the content, and its score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<(usize, usize)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// A scored span of untrusted content, as instruction detection found it (kept for the
/// investigator: the score and the words that made it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstructionSpanRecord {
    pub event_id: String,
    pub task: Option<String>,
    /// Byte offsets into the event's content.
    pub start: usize,
    pub end: usize,
    pub score: f64,
    /// Whether the span counts as instructions addressed to the agent.
    pub instruction: bool,
    /// `[{"kind", "start", "end"}]`.
    pub signals: serde_json::Value,
    /// The span's text, cut.
    pub excerpt: String,
}

/// Where a task drifted, why, from what, and whether anything stopped it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftPoint {
    pub task: String,
    pub event_id: String,
    #[serde(serialize_with = "ser_time")]
    pub time: Timestamp,
    /// The rule that placed the drift point.
    pub kind: DriftKind,
    pub reasons: Vec<Violation>,
    /// The untrusted input that led to it: the instruction-bearing content the rule used, else
    /// the latest untrusted input before the drift point.
    pub cause_event_id: Option<String>,
    pub provenance: Vec<Provenance>,
    /// Actions after the drift point in the task.
    pub actions_after: u64,
    /// Those actions, in time order.
    pub after_event_ids: Vec<String>,
    /// Seconds from the drift point to the task's last action.
    pub seconds_after: f64,
    /// The control that stopped the task, if one did.
    pub stopped_by: Option<String>,
    pub stop_kind: Option<StopKind>,
}

impl DriftPoint {
    /// Whether the drift point itself broke the declared constraints (the liability rows R2 and
    /// R3 hang on it), whichever rule placed it.
    pub fn broke_constraints(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// A failure class that contributed to an incident, with the owner accountable for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contribution {
    pub class: FailureClass,
    pub role: super::OwnerRole,
    /// `None` is a governance gap.
    pub owner: Option<String>,
    pub why: String,
}

/// Who is accountable for one task's incident, and on which rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountabilityRecord {
    pub task: String,
    pub primary_class: FailureClass,
    pub primary_role: super::OwnerRole,
    pub primary_owner: Option<String>,
    /// For multi-agent incidents: the runtime owner of the control plane where the drift ran.
    pub secondary_role: Option<super::OwnerRole>,
    pub secondary_owner: Option<String>,
    pub contributing: Vec<Contribution>,
    /// Decision-table row that fired (docs/accountability.md).
    pub rule: &'static str,
    pub rationale: String,
    pub shift_event_id: Option<String>,
    #[serde(serialize_with = "ser_opt_time")]
    pub shift_time: Option<Timestamp>,
    /// Missing owner data and other governance gaps.
    pub gaps: Vec<String>,
    pub evidence: Vec<String>,
}
