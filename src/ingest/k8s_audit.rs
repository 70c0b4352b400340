//! Kubernetes audit events (docs/formats/k8s-audit.md): `audit.k8s.io` `Event` objects, one per
//! line, as the API server's log backend writes them (an `EventList` line is read item by item).
//!
//! The API server writes one record per request *stage* (`RequestReceived`, `ResponseStarted`,
//! `ResponseComplete`, `Panic`), all with the same `auditID`. Stages of one request are merged
//! into one event, taken from the most advanced stage; every stage record still counts as read
//! and normalised, and the event lists the stages it merged.

mod mapping;

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Map, Value};

use super::json::json_type;
use super::sink::{Adapter, Sink, Stop, Unit};
use crate::model::{DelegationKind, DelegationRecord, Outcome, Timestamp, parse_time};

/// How many finished `auditID`s are remembered to fold in a stage record that arrives after
/// its request's final stage. Stages of one request are written close together.
const RECENT_FINISHED: usize = 65_536;

/// Where the time of an event is taken from, in order of preference.
const TIME_FIELDS: &[&str] = &[
    "requestReceivedTimestamp",
    "stageTimestamp",
    "timestamp",
    "metadata.creationTimestamp",
];

/// A checked record waiting for, or ready to become, an event.
struct Staged {
    rec: Map<String, Value>,
    caller: String,
    locator: String,
    line: u64,
    time: Timestamp,
    time_inferred: bool,
    time_field: &'static str,
    raw: String,
    stages: Vec<String>,
    /// Stage records merged into this one, itself included.
    records: u64,
}

/// Reads Kubernetes audit JSON lines.
#[derive(Default)]
pub(super) struct K8sAuditAdapter {
    /// Requests seen only in early stages, by `auditID`.
    waiting: HashMap<String, Staged>,
    recent: VecDeque<String>,
    finished: HashSet<String>,
    last_time: Option<Timestamp>,
    impersonations: HashSet<(String, String)>,
}

impl Adapter for K8sAuditAdapter {
    fn unit(&mut self, unit: &Unit<'_>, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let text = match std::str::from_utf8(unit.bytes) {
            Ok(t) => t,
            Err(e) => {
                let reason = format!("invalid UTF-8 at byte {} of the record", e.valid_up_to());
                return quarantine(unit, &format!("L{}", unit.line), &reason, unit.bytes, sink);
            }
        };
        let value = match super::json::parse_record(text) {
            Ok(v) => v,
            Err(reason) => {
                return quarantine(unit, &format!("L{}", unit.line), &reason, unit.bytes, sink);
            }
        };
        if let Value::Object(obj) = &value
            && obj.get("kind").and_then(Value::as_str) == Some("EventList")
        {
            // `items: null` is how an empty list is written; anything else but an array is a
            // broken record, not an empty one.
            let items = match obj.get("items") {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => Some(items),
                Some(other) => {
                    let reason = format!(
                        "an `EventList` whose `items` is {} instead of an array of events",
                        json_type(other)
                    );
                    return quarantine(unit, &format!("L{}", unit.line), &reason, unit.bytes, sink);
                }
            };
            for (n, item) in items.into_iter().flatten().enumerate() {
                let locator = format!("L{}.{}", unit.line, n + 1);
                self.record(item.clone(), item.to_string(), locator, unit, sink)?;
            }
            return Ok(());
        }
        self.record(
            value,
            text.to_owned(),
            format!("L{}", unit.line),
            unit,
            sink,
        )
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let mut left: Vec<Staged> = self.waiting.drain().map(|(_, s)| s).collect();
        left.sort_by_key(|s| s.line);
        for staged in left {
            self.emit(staged, sink)?;
        }
        Ok(())
    }
}

impl K8sAuditAdapter {
    fn record(
        &mut self,
        value: Value,
        raw: String,
        locator: String,
        unit: &Unit<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), Stop> {
        let staged = match self.check(value, raw, locator, unit.line) {
            Ok(s) => s,
            Err((reason, locator, raw)) => {
                return quarantine(unit, &locator, &reason, raw.as_bytes(), sink);
            }
        };
        let stage = mapping::text(&staged.rec, "stage").map(str::to_owned);
        let Some(audit_id) = mapping::text(&staged.rec, "auditID").map(str::to_owned) else {
            return self.emit(staged, sink);
        };
        let is_final = stage
            .as_deref()
            .is_none_or(|s| s == "ResponseComplete" || s == "Panic");
        if !is_final && self.finished.contains(&audit_id) {
            // A stage written after its request's final stage: folded into that event.
            sink.record_ok();
            return Ok(());
        }
        let merged = match self.waiting.remove(&audit_id) {
            Some(earlier) => merge(earlier, staged),
            None => staged,
        };
        if is_final {
            self.remember(audit_id);
            self.emit(merged, sink)
        } else {
            self.waiting.insert(audit_id, merged);
            Ok(())
        }
    }

    /// Checks a record has what an event needs: an `Event` object with a user and a time.
    fn check(
        &mut self,
        value: Value,
        raw: String,
        locator: String,
        line: u64,
    ) -> Result<Staged, (String, String, String)> {
        let Value::Object(rec) = value else {
            return Err((
                format!(
                    "the record is JSON {} but must be an object",
                    json_type(&value)
                ),
                locator,
                raw,
            ));
        };
        let fail = |why: String, locator: String, raw: String| Err((why, locator, raw));
        match rec.get("kind") {
            Some(Value::String(k)) if k == "Event" => {}
            Some(other) => {
                let why = format!(
                    "not a Kubernetes audit event: `kind` is {other} (an audit event has \"Event\"), and it carries no timestamp, user or request to read"
                );
                return fail(why, locator, raw);
            }
            None => {
                return fail(
                    "not a Kubernetes audit event: `kind` is missing".to_owned(),
                    locator,
                    raw,
                );
            }
        }
        let Some(caller) = mapping::username(&rec, "user").map(str::to_owned) else {
            return fail(
                "field `user.username` is missing: the request has no caller".to_owned(),
                locator,
                raw,
            );
        };
        let (time, time_inferred, time_field) = match event_time(&rec) {
            Ok(Some((t, field))) => (t, false, field),
            Ok(None) => {
                let Some(t) = self.last_time else {
                    let why = "no timestamp (requestReceivedTimestamp, stageTimestamp, timestamp or metadata.creationTimestamp) and no earlier event in the file to place it after".to_owned();
                    return fail(why, locator, raw);
                };
                (t, true, "inferred")
            }
            Err(why) => return fail(why, locator, raw),
        };
        self.last_time = Some(time);
        let stage = mapping::text(&rec, "stage").unwrap_or("(none)").to_owned();
        Ok(Staged {
            rec,
            caller,
            locator,
            line,
            time,
            time_inferred,
            time_field,
            raw,
            stages: vec![stage],
            records: 1,
        })
    }

    fn remember(&mut self, audit_id: String) {
        if self.recent.len() == RECENT_FINISHED
            && let Some(old) = self.recent.pop_front()
        {
            self.finished.remove(&old);
        }
        self.finished.insert(audit_id.clone());
        self.recent.push_back(audit_id);
    }

    fn emit(&mut self, s: Staged, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let id = sink.event_id(&s.locator);
        let authz_id = sink.event_id(&format!("{}/authz", s.locator));
        let placement = mapping::Placement {
            id,
            locator: s.locator,
            seq: s.line,
            time: s.time,
            time_inferred: s.time_inferred,
            time_field: s.time_field,
            stages: s.stages,
            raw: s.raw,
        };
        let mapped = mapping::map_event(&s.rec, &s.caller, placement, authz_id);
        sink.principal(&s.caller, mapping::principal_kind(&s.caller));
        let took_effect = !matches!(mapped.event.outcome, Outcome::Denied | Outcome::Error);
        let impersonation = mapped
            .impersonation
            .filter(|_| took_effect)
            .filter(|(from, to, _)| self.impersonations.insert((from.clone(), to.clone())));
        if let Some((from, to, details)) = impersonation {
            sink.delegation(&DelegationRecord {
                delegator: from,
                delegate: to,
                kind: DelegationKind::Impersonation,
                task: None,
                scope: None,
                constraints: None,
                at: mapped.event.time,
                expires_at: None,
                event_id: mapped.event.id.clone(),
                details: Some(details),
            })?;
        }
        sink.event(mapped.event)?;
        if let Some(authz) = mapped.authz {
            sink.event(authz)?;
        }
        for _ in 0..s.records {
            sink.record_ok();
        }
        Ok(())
    }
}

/// Keeps the more advanced stage's record, and the stages and counts of both.
fn merge(earlier: Staged, later: Staged) -> Staged {
    let rank = |s: &Staged| match mapping::text(&s.rec, "stage") {
        Some("RequestReceived") => 0,
        Some("ResponseStarted") => 1,
        _ => 2,
    };
    let (mut keep, other) = if rank(&later) >= rank(&earlier) {
        (later, earlier)
    } else {
        (earlier, later)
    };
    let mut stages = other.stages;
    stages.append(&mut keep.stages);
    keep.stages = stages;
    keep.records += other.records;
    keep
}

/// The first time field present; a present but unreadable one is an error naming it.
fn event_time(rec: &Map<String, Value>) -> Result<Option<(Timestamp, &'static str)>, String> {
    for field in TIME_FIELDS {
        let value = match field.split_once('.') {
            Some((outer, inner)) => rec
                .get(outer)
                .and_then(Value::as_object)
                .and_then(|o| o.get(inner)),
            None => rec.get(*field),
        };
        match value {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) => {
                return parse_time(t)
                    .map(|t| Some((t, *field)))
                    .map_err(|e| format!("field `{field}`: {e}"));
            }
            Some(other) => {
                return Err(format!(
                    "field `{field}` must be a string, not {}",
                    json_type(other)
                ));
            }
        }
    }
    Ok(None)
}

fn quarantine(
    unit: &Unit<'_>,
    locator: &str,
    reason: &str,
    raw: &[u8],
    sink: &mut Sink<'_>,
) -> Result<(), Stop> {
    sink.quarantine(
        locator,
        Some(unit.offset),
        reason,
        raw,
        raw.len() as u64,
        false,
    )
}
