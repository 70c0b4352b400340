//! The decision table in memory: for every row, a case that fires it and a near miss that does
//! not, and the owner in effect at the evidence time (not today's). Findings and drift points are
//! built here, so a test fails on the table and nothing else.

use chrono::{TimeDelta, TimeZone, Utc};

use super::attribute;
use crate::analysis::catalogue::{self, Detector};
use crate::analysis::{Context, Policy};
use crate::graph::{DelegationGraph, GraphInputs};
use crate::model::{
    AccountabilityRecord, Axis, Constraints, DriftKind, DriftPoint, EventKind, FailureClass,
    Finding, GrantRecord, Origin, Outcome, OwnerAssignment, OwnerRole, PrincipalKind, Severity,
    TaskRecord, Timestamp, Violation,
};
use crate::store::AnalysisEvent;

const TASK: &str = "T";
const AGENT: &str = "agent:a";

fn at(minutes: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 4, 10, 0, 0)
        .single()
        .unwrap_or_default()
        + TimeDelta::minutes(minutes)
}

fn transfer() -> AnalysisEvent {
    AnalysisEvent {
        id: "e-transfer".to_owned(),
        time: at(10),
        kind: EventKind::ToolCall,
        actor: AGENT.to_owned(),
        actor_kind: Some(PrincipalKind::Agent),
        on_behalf_of: None,
        task: Some(TASK.to_owned()),
        action: Some("payments.transfer".to_owned()),
        action_class: Some(crate::model::ActionClass::Transfer),
        resource: None,
        destination: Some("iban:GB33EVIL".to_owned()),
        environment: None,
        credential: None,
        outcome: Outcome::Success,
        call_id: None,
        args: None,
        content: None,
        trust: None,
        intent: None,
        decision: None,
        expires_at: None,
        target: None,
        targets_from_args: false,
    }
}

/// Owners of the agent: each role held by `<role>-old@x` until minute 30, then `<role>-new@x`.
fn owners() -> Vec<OwnerAssignment> {
    let mut out = Vec::new();
    for role in [
        OwnerRole::WorkflowOwner,
        OwnerRole::AccessApprover,
        OwnerRole::RuntimeOwner,
        OwnerRole::BusinessOwner,
    ] {
        for (who, from, until) in [("old", None, Some(at(30))), ("new", Some(at(30)), None)] {
            out.push(OwnerAssignment {
                subject: AGENT.to_owned(),
                role,
                owner: format!("{}-{who}@x", role.as_str()),
                valid_from: from,
                valid_until: until,
                origin: Origin::Manifest,
                event_id: None,
            });
        }
    }
    out
}

struct Case {
    constrained: bool,
    grant: bool,
    findings: Vec<(Detector, Option<Severity>)>,
    drift: Option<DriftPoint>,
}

impl Case {
    fn new() -> Self {
        Self {
            constrained: true,
            grant: false,
            findings: Vec::new(),
            drift: None,
        }
    }

    fn finding(mut self, d: Detector) -> Self {
        self.findings.push((d, None));
        self
    }

    fn finding_at(mut self, d: Detector, severity: Severity) -> Self {
        self.findings.push((d, Some(severity)));
        self
    }

    fn drifted(mut self, stopped: bool) -> Self {
        self.drift = Some(DriftPoint {
            task: TASK.to_owned(),
            event_id: "e-transfer".to_owned(),
            time: at(10),
            kind: DriftKind::OutOfScope,
            reasons: vec![Violation {
                axis: Axis::Tool,
                value: "payments.transfer".to_owned(),
                allowed: vec!["tickets.read".to_owned()],
            }],
            cause_event_id: None,
            provenance: Vec::new(),
            actions_after: 0,
            after_event_ids: Vec::new(),
            seconds_after: 0.0,
            stopped_by: stopped.then(|| "e-deny".to_owned()),
            stop_kind: stopped.then_some(crate::model::StopKind::Denial),
        });
        self.findings.push((catalogue::DRIFT_TOOL, None));
        self
    }

    fn granted(mut self) -> Self {
        self.grant = true;
        self
    }

    fn record(&self) -> Option<AccountabilityRecord> {
        let events = vec![transfer()];
        let mut inputs = GraphInputs::default();
        inputs.owners = owners();
        inputs.tasks.push(TaskRecord {
            task_id: TASK.to_owned(),
            origin: Origin::Manifest,
            agent: Some(AGENT.to_owned()),
            intent: Some("answer ticket 1".to_owned()),
            constraints: self.constrained.then(|| Constraints {
                tools: Some(vec!["tickets.read".to_owned()]),
                ..Constraints::default()
            }),
            declared_at: None,
            event_id: None,
        });
        if self.grant {
            inputs.grants.push(GrantRecord {
                grant_id: "G-broad".to_owned(),
                principal: AGENT.to_owned(),
                scope: Some(vec!["payments:*".to_owned()]),
                approved_by: Some("approver-named@x".to_owned()),
                valid_from: None,
                valid_until: None,
                origin: Origin::Manifest,
                event_id: None,
            });
        }
        let graph = DelegationGraph::build(inputs);
        let ctx = Context::new(&events, &graph, Policy::default());
        let findings: Vec<Finding> = self
            .findings
            .iter()
            .enumerate()
            .map(|(i, (d, sev))| Finding {
                id: format!("{}:{i}", d.id),
                detector: d.id,
                title: d.title,
                severity: sev.unwrap_or(d.severity),
                failure_class: d.class,
                task: Some(TASK.to_owned()),
                principal: Some(AGENT.to_owned()),
                time: at(10 + i as i64),
                explanation: format!("{} fired", d.id),
                evidence: vec!["e-transfer".to_owned()],
                mappings: d.mappings(),
            })
            .collect();
        let drifts: Vec<DriftPoint> = self.drift.iter().cloned().collect();
        let (records, _) = attribute(&ctx, &findings, &drifts);
        records.into_iter().next()
    }
}

fn rule_of(case: &Case) -> Option<&'static str> {
    case.record().map(|r| r.rule)
}

#[test]
fn r1_no_constraints_fires_before_everything_and_only_then() {
    let fires = Case {
        constrained: false,
        ..Case::new()
    }
    .finding(catalogue::GOV_NO_CONSTRAINTS)
    .finding(catalogue::ID_STATIC);
    let r = fires.record().expect("record");
    assert_eq!(r.rule, "R1-no-constraints");
    assert_eq!(r.primary_class, FailureClass::WorkflowDesign);
    assert_eq!(r.primary_owner.as_deref(), Some("workflow_owner-old@x"));
    let near = Case::new().finding(catalogue::ID_STATIC);
    assert_ne!(rule_of(&near), Some("R1-no-constraints"));
}

#[test]
fn r2_drift_allowed_by_a_grant_names_its_approver() {
    let r = Case::new()
        .drifted(false)
        .granted()
        .record()
        .expect("record");
    assert_eq!(r.rule, "R2-drift-allowed-by-grant");
    assert_eq!(r.primary_class, FailureClass::BehaviouralControl);
    assert!(
        r.contributing
            .iter()
            .any(|c| c.class == FailureClass::Entitlement
                && c.owner.as_deref() == Some("approver-named@x")),
        "{:?}",
        r.contributing
    );
    // Near miss: the same drift with no grant covering it is R3.
    assert_eq!(
        rule_of(&Case::new().drifted(false)),
        Some("R3-drift-enforcement-failed")
    );
}

#[test]
fn r3_fires_only_when_nothing_stopped_the_drift() {
    assert_eq!(
        rule_of(&Case::new().drifted(false)),
        Some("R3-drift-enforcement-failed")
    );
    // Near miss: a denial stopped it; the remaining finding decides (R8).
    assert_eq!(
        rule_of(&Case::new().drifted(true)),
        Some("R8-other-findings")
    );
}

#[test]
fn r5_approval_missing_outranks_r4() {
    let both = Case::new()
        .finding(catalogue::GOV_SENSITIVE_NO_RULE)
        .finding(catalogue::RT_NO_APPROVAL);
    assert_eq!(rule_of(&both), Some("R5-approval-missing"));
    let after_denial = Case::new().finding(catalogue::RT_AFTER_DENIAL);
    assert_eq!(rule_of(&after_denial), Some("R5-approval-missing"));
    // Near miss: R4 alone is R4, design time.
    let r = Case::new()
        .finding(catalogue::GOV_SENSITIVE_NO_RULE)
        .record()
        .expect("record");
    assert_eq!(r.rule, "R4-sensitive-without-approval-rule");
    assert_eq!(r.primary_class, FailureClass::WorkflowDesign);
}

#[test]
fn r6_weak_credentials_and_r7_handoffs() {
    for (detector, rule, class) in [
        (
            catalogue::ID_STATIC,
            "R6-weak-credential",
            FailureClass::Entitlement,
        ),
        (
            catalogue::ID_HUMAN,
            "R6-weak-credential",
            FailureClass::Entitlement,
        ),
        (
            catalogue::DELEG_UNBOUNDED,
            "R7a-unbounded-handoff",
            FailureClass::WorkflowDesign,
        ),
        (
            catalogue::DELEG_AMPLIFICATION,
            "R7b-delegate-over-granted",
            FailureClass::Entitlement,
        ),
    ] {
        let r = Case::new().finding(detector).record().expect("record");
        assert_eq!((r.rule, r.primary_class), (rule, class), "{}", detector.id);
    }
    // Near miss: a credential TTL over policy is not a weak-credential row.
    assert_eq!(
        rule_of(&Case::new().finding(catalogue::ID_TTL)),
        Some("R8-other-findings")
    );
}

#[test]
fn r8_takes_the_most_severe_remaining_finding() {
    // Two findings of different classes: the high one decides, whichever comes first.
    for order in [false, true] {
        let mut case = Case::new();
        let low = (catalogue::ID_TTL, Severity::Low);
        let high = (catalogue::RT_UNTRACEABLE, Severity::High);
        let (a, b) = if order { (high, low) } else { (low, high) };
        case = case.finding_at(a.0, a.1).finding_at(b.0, b.1);
        let r = case.record().expect("record");
        assert_eq!(r.rule, "R8-other-findings");
        assert_eq!(
            r.primary_class,
            catalogue::RT_UNTRACEABLE.class,
            "order {order}"
        );
    }
    // Near miss: when a row above fires, R8 does not.
    assert_eq!(
        rule_of(
            &Case::new()
                .finding(catalogue::ID_TTL)
                .finding(catalogue::ID_STATIC)
        ),
        Some("R6-weak-credential")
    );
}

#[test]
fn the_owner_is_the_one_in_effect_at_the_evidence_time() {
    // The findings are at minute 10: the old owners held the roles then, the new ones from 30.
    let r = Case::new().drifted(false).record().expect("record");
    assert_eq!(r.primary_owner.as_deref(), Some("runtime_owner-old@x"));
}

#[test]
fn a_read_outside_the_lists_alone_is_no_accountability_record() {
    assert!(
        Case::new()
            .finding(catalogue::SCOPE_READ_OUTSIDE)
            .record()
            .is_none()
    );
}
