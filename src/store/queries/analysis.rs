//! Inputs for analysis (events with their effective outcome) and its results (findings, drift
//! points, accountability records), replaced as a whole in one transaction.

use chrono::DateTime;
use duckdb::params;
use duckdb::types::{TimeUnit, Value};
use serde::Serialize;

use crate::model::{AccountabilityRecord, DriftPoint, Finding, Timestamp, format_time};
use crate::store::{Access, Store, StoreError};

/// Longest untrusted content read for argument provenance.
const CONTENT_LIMIT: usize = 65_536;

/// One event as analysis reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisEvent {
    pub id: String,
    pub time: Timestamp,
    pub kind: String,
    pub actor: String,
    pub actor_kind: Option<String>,
    pub on_behalf_of: Option<String>,
    pub task: Option<String>,
    pub action: Option<String>,
    pub action_class: Option<String>,
    pub resource: Option<String>,
    pub destination: Option<String>,
    pub environment: Option<String>,
    pub credential: Option<String>,
    /// For a `tool.call` with no outcome of its own, the outcome of its result.
    pub outcome: String,
    pub call_id: Option<String>,
    pub args: Option<serde_json::Value>,
    /// Content of untrusted inputs only (cut to 64 KiB).
    pub untrusted_content: Option<String>,
    pub intent: Option<String>,
    pub decision: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub credential_type: Option<String>,
    pub status: Option<String>,
    pub target: Option<String>,
}

/// A stored finding row, as the CLI and the TUI show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    pub id: String,
    pub detector: String,
    pub title: String,
    pub severity: String,
    pub failure_class: String,
    pub task: Option<String>,
    pub principal: Option<String>,
    pub time: String,
    pub explanation: String,
    pub evidence: serde_json::Value,
    pub mappings: serde_json::Value,
}

fn ts(t: Timestamp) -> Value {
    Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros())
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

impl Store {
    /// Every event analysis needs, in time order.
    pub fn analysis_events(&self) -> Result<Vec<AnalysisEvent>, StoreError> {
        let sql = format!(
            "SELECT e.id, epoch_us(e.time), e.kind, e.actor, e.actor_kind, e.on_behalf_of, e.task,
                    e.action, e.action_class, e.resource, e.destination, e.environment, e.credential,
                    CASE WHEN e.kind = 'tool.call' AND e.outcome = 'unknown'
                         THEN coalesce(r.outcome, 'unknown') ELSE e.outcome END,
                    e.call_id, e.args::VARCHAR,
                    CASE WHEN (e.kind = 'tool.result' AND coalesce(e.trust, 'untrusted') = 'untrusted')
                           OR (e.kind = 'message' AND e.trust = 'untrusted')
                         THEN left(e.content, {CONTENT_LIMIT}) END,
                    e.intent, e.decision, epoch_us(e.expires_at), e.credential_type, e.status,
                    e.target
             FROM events e
             LEFT JOIN (
                 SELECT call_id, actor, min(outcome) AS outcome FROM events
                 WHERE kind = 'tool.result' AND call_id IS NOT NULL AND outcome <> 'unknown'
                 GROUP BY call_id, actor
             ) r ON e.kind = 'tool.call' AND r.call_id = e.call_id AND r.actor = e.actor
             ORDER BY e.time, e.source_id, e.seq"
        );
        let mut stmt = self
            .conn()
            .prepare(&sql)
            .map_err(StoreError::db("reading events for analysis"))?;
        let rows = stmt
            .query_map([], |r| {
                let micros: i64 = r.get(1)?;
                let args: Option<String> = r.get(15)?;
                Ok(AnalysisEvent {
                    id: r.get(0)?,
                    time: DateTime::from_timestamp_micros(micros).unwrap_or_default(),
                    kind: r.get(2)?,
                    actor: r.get(3)?,
                    actor_kind: r.get(4)?,
                    on_behalf_of: r.get(5)?,
                    task: r.get(6)?,
                    action: r.get(7)?,
                    action_class: r.get(8)?,
                    resource: r.get(9)?,
                    destination: r.get(10)?,
                    environment: r.get(11)?,
                    credential: r.get(12)?,
                    outcome: r.get(13)?,
                    call_id: r.get(14)?,
                    args: args.and_then(|a| serde_json::from_str(&a).ok()),
                    untrusted_content: r.get(16)?,
                    intent: r.get(17)?,
                    decision: r.get(18)?,
                    expires_at: r
                        .get::<_, Option<i64>>(19)?
                        .and_then(DateTime::from_timestamp_micros),
                    credential_type: r.get(20)?,
                    status: r.get(21)?,
                    target: r.get(22)?,
                })
            })
            .map_err(StoreError::db("reading events for analysis"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db("reading events for analysis"))
    }

    /// Replaces every analysis result with these, in one transaction.
    pub fn replace_analysis(
        &mut self,
        findings: &[Finding],
        drifts: &[DriftPoint],
        records: &[AccountabilityRecord],
    ) -> Result<(), StoreError> {
        if self.access() != Access::ReadWrite {
            return Err(StoreError::Query(
                "the evidence database is open read-only".to_owned(),
            ));
        }
        let conn = self.conn();
        conn.execute_batch(
            "BEGIN TRANSACTION; DELETE FROM findings; DELETE FROM drift_points;
             DELETE FROM accountability; DELETE FROM analysis_runs;",
        )
        .map_err(StoreError::db("clearing analysis results"))?;
        let result = (|| {
            let mut app = conn
                .appender("findings")
                .map_err(StoreError::db("writing findings"))?;
            for f in findings {
                app.append_row(params![
                    f.id,
                    f.detector,
                    f.title,
                    f.severity.as_str(),
                    i32::from(f.severity.rank()),
                    f.failure_class.as_str(),
                    f.task,
                    f.principal,
                    ts(f.time),
                    f.explanation,
                    json(&f.evidence),
                    json(&f.mappings),
                ])
                .map_err(StoreError::db("writing findings"))?;
            }
            app.flush().map_err(StoreError::db("writing findings"))?;
            drop(app);
            let mut app = conn
                .appender("drift_points")
                .map_err(StoreError::db("writing drift points"))?;
            for d in drifts {
                app.append_row(params![
                    d.task,
                    d.event_id,
                    ts(d.time),
                    d.kind,
                    json(&d.reasons),
                    d.cause_event_id,
                    json(&d.provenance),
                    d.actions_after as i64,
                    json(&d.after_event_ids),
                    d.seconds_after,
                    d.stopped_by,
                    d.stop_kind,
                ])
                .map_err(StoreError::db("writing drift points"))?;
            }
            app.flush()
                .map_err(StoreError::db("writing drift points"))?;
            drop(app);
            let mut app = conn
                .appender("accountability")
                .map_err(StoreError::db("writing accountability"))?;
            for r in records {
                app.append_row(params![
                    r.task,
                    r.primary_class.as_str(),
                    r.primary_role.as_str(),
                    r.primary_owner,
                    r.secondary_role.map(crate::model::OwnerRole::as_str),
                    r.secondary_owner,
                    json(&r.contributing),
                    r.rule,
                    r.rationale,
                    r.shift_event_id,
                    r.shift_time.map_or(Value::Null, ts),
                    json(&r.gaps),
                    json(&r.evidence),
                ])
                .map_err(StoreError::db("writing accountability"))?;
            }
            app.flush()
                .map_err(StoreError::db("writing accountability"))?;
            drop(app);
            record_analysis_run(conn, findings.len())
        })();
        match result {
            Ok(()) => conn
                .execute_batch("COMMIT")
                .map_err(StoreError::db("committing analysis results")),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Stored findings, most severe first, then in time order.
    pub fn findings(&self) -> Result<Vec<FindingRow>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT id, detector, title, severity, failure_class, task, principal,
                        epoch_us(time), explanation, evidence::VARCHAR, mappings::VARCHAR
                 FROM findings ORDER BY severity_rank DESC, time, detector, id",
            )
            .map_err(StoreError::db("reading findings"))?;
        let rows = stmt
            .query_map([], |r| {
                let micros: i64 = r.get(7)?;
                let evidence: String = r.get(9)?;
                let mappings: String = r.get(10)?;
                Ok(FindingRow {
                    id: r.get(0)?,
                    detector: r.get(1)?,
                    title: r.get(2)?,
                    severity: r.get(3)?,
                    failure_class: r.get(4)?,
                    task: r.get(5)?,
                    principal: r.get(6)?,
                    time: DateTime::from_timestamp_micros(micros)
                        .map(|t| format_time(&t))
                        .unwrap_or_default(),
                    explanation: r.get(8)?,
                    evidence: serde_json::from_str(&evidence).unwrap_or_default(),
                    mappings: serde_json::from_str(&mappings).unwrap_or_default(),
                })
            })
            .map_err(StoreError::db("reading findings"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db("reading findings"))
    }

    /// Stored accountability records and drift points, as JSON objects (one per task), in
    /// task order.
    pub fn accountability_json(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let mut out = Vec::new();
        self.run_sql(
            "SELECT a.*, d.event_id AS drift_event_id, d.time AS drift_time, d.kind AS drift_kind,
                    d.reasons AS drift_reasons, d.cause_event_id, d.provenance,
                    d.actions_after, d.after_event_ids, d.seconds_after, d.stopped_by, d.stop_kind
             FROM accountability a LEFT JOIN drift_points d USING (task)
             ORDER BY a.task",
            |_| {},
            |cols, row| {
                let mut obj = serde_json::Map::new();
                for (name, value) in cols.0.iter().zip(row) {
                    let value = match value {
                        serde_json::Value::String(s)
                            if matches!(
                                name.as_str(),
                                "contributing"
                                    | "gaps"
                                    | "evidence"
                                    | "drift_reasons"
                                    | "provenance"
                                    | "after_event_ids"
                            ) =>
                        {
                            serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))
                        }
                        other => other,
                    };
                    obj.insert(name.clone(), value);
                }
                out.push(serde_json::Value::Object(obj));
                true
            },
        )?;
        Ok(out)
    }
}

/// The last writes of an analysis, inside its transaction: the run itself, and the timeline
/// marks of the events its results point at.
fn record_analysis_run(conn: &duckdb::Connection, findings: usize) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO analysis_runs VALUES (now()::TIMESTAMP, ?, (SELECT count(*) FROM events), ?)",
        params![crate::VERSION, findings as i64],
    )
    .map_err(StoreError::db("recording the analysis run"))?;
    conn.execute_batch(crate::store::timeline_index::REBUILD_MARKS_SQL)
        .map_err(StoreError::db(
            "marking the analysed events in the timeline index",
        ))?;
    Ok(())
}
