//! Inputs for analysis (events with their effective outcome) and its results (findings, drift
//! points, accountability records), replaced as a whole in one transaction.

use chrono::DateTime;
use duckdb::params;
use duckdb::types::{TimeUnit, Value};
use serde::Serialize;

use crate::model::{
    AccountabilityRecord, ActionClass, Decision, DriftPoint, EventKind, Finding,
    InstructionSpanRecord, Outcome, PrincipalKind, StopKind, Timestamp, Trust, format_time,
    parse_action_class,
};
use crate::store::{Access, Store, StoreError};

/// Longest untrusted content read for argument provenance.
const CONTENT_LIMIT: usize = 65_536;

/// One event as analysis reads it, decoded into the model's types at this boundary (a value the
/// schema does not allow is a read error, not a silent fallback).
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisEvent {
    pub id: String,
    pub time: Timestamp,
    pub kind: EventKind,
    pub actor: String,
    pub actor_kind: Option<PrincipalKind>,
    pub on_behalf_of: Option<String>,
    pub task: Option<String>,
    pub action: Option<String>,
    pub action_class: Option<ActionClass>,
    pub resource: Option<String>,
    pub destination: Option<String>,
    pub environment: Option<String>,
    pub credential: Option<String>,
    /// For a `tool.call` with no outcome of its own, the outcome of its result.
    pub outcome: Outcome,
    pub call_id: Option<String>,
    pub args: Option<serde_json::Value>,
    /// The text of messages and tool results (cut to 64 KiB): what the agent read.
    pub content: Option<String>,
    /// Where `content` came from. Tool results without a trust of their own are untrusted.
    pub trust: Option<Trust>,
    pub intent: Option<String>,
    pub decision: Option<Decision>,
    pub expires_at: Option<Timestamp>,
    pub target: Option<String>,
    /// Whether the event's format names tools and arguments but not destinations or resources
    /// (chat transcripts, OTLP spans, MCP), so analysis reads them from the arguments
    /// (docs/manifest.md "Argument roles").
    pub targets_from_args: bool,
}

impl AnalysisEvent {
    /// The content of an untrusted input (a tool result or an untrusted message), if this is one.
    pub fn untrusted_content(&self) -> Option<&str> {
        (self.trust == Some(Trust::Untrusted))
            .then_some(self.content.as_deref())
            .flatten()
    }

    /// The content of a trusted message (what the user or the system said), if this is one.
    pub fn trusted_content(&self) -> Option<&str> {
        (self.kind == EventKind::Message && self.trust == Some(Trust::Trusted))
            .then_some(self.content.as_deref())
            .flatten()
    }
}

/// Decodes a closed-set column; a value outside the set is a conversion error naming it.
fn decode<T>(column: usize, text: &str, parse: impl Fn(&str) -> Option<T>) -> duckdb::Result<T> {
    parse(text).ok_or_else(|| {
        duckdb::Error::FromSqlConversionFailure(
            column,
            duckdb::types::Type::Text,
            format!("`{text}` is not a known value of this column").into(),
        )
    })
}

/// [`decode`] for a column that may be NULL.
fn decode_opt<T>(
    column: usize,
    text: Option<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> duckdb::Result<Option<T>> {
    text.map(|t| decode(column, &t, parse)).transpose()
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
    /// The evidence as a reader cites it, one per event id and in the same order: the file and
    /// the record's place in it (`payments-agent.jsonl:L39`). The file is named by its name
    /// alone, or by its path as ingested when another source has the same name.
    pub cited: Vec<String>,
    pub mappings: serde_json::Value,
}

/// The last part of a stored source path (paths are stored with `/` or the platform's separator).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', std::path::MAIN_SEPARATOR])
        .next()
        .unwrap_or(path)
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
                    CASE WHEN e.kind IN ('tool.result', 'message') THEN left(e.content, {CONTENT_LIMIT}) END,
                    CASE WHEN e.kind = 'tool.result' THEN coalesce(e.trust, 'untrusted') ELSE e.trust END,
                    e.intent, e.decision, epoch_us(e.expires_at), e.target,
                    src.format IN ('chat', 'otlp', 'mcp')
             FROM events e
             JOIN sources src ON src.id = e.source_id
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
                    kind: decode(2, &r.get::<_, String>(2)?, EventKind::parse)?,
                    actor: r.get(3)?,
                    actor_kind: decode_opt(4, r.get(4)?, PrincipalKind::parse)?,
                    on_behalf_of: r.get(5)?,
                    task: r.get(6)?,
                    action: r.get(7)?,
                    action_class: decode_opt(8, r.get(8)?, parse_action_class)?,
                    resource: r.get(9)?,
                    destination: r.get(10)?,
                    environment: r.get(11)?,
                    credential: r.get(12)?,
                    outcome: decode(13, &r.get::<_, String>(13)?, Outcome::parse)?,
                    call_id: r.get(14)?,
                    args: args.and_then(|a| serde_json::from_str(&a).ok()),
                    content: r.get(16)?,
                    trust: decode_opt(17, r.get(17)?, Trust::parse)?,
                    intent: r.get(18)?,
                    decision: decode_opt(19, r.get(19)?, Decision::parse)?,
                    expires_at: r
                        .get::<_, Option<i64>>(20)?
                        .and_then(DateTime::from_timestamp_micros),
                    target: r.get(21)?,
                    targets_from_args: r.get(22)?,
                })
            })
            .map_err(StoreError::db("reading events for analysis"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db("reading events for analysis"))
    }

    /// Replaces every analysis result with these, in one transaction.
    #[allow(
        clippy::too_many_lines,
        reason = "one appender per table inside one transaction"
    )]
    pub fn replace_analysis(
        &mut self,
        findings: &[Finding],
        drifts: &[DriftPoint],
        records: &[AccountabilityRecord],
        spans: &[InstructionSpanRecord],
    ) -> Result<(), StoreError> {
        if self.access() != Access::ReadWrite {
            return Err(StoreError::Query(
                "the evidence database is open read-only".to_owned(),
            ));
        }
        let conn = self.conn();
        conn.execute_batch(
            "BEGIN TRANSACTION; DELETE FROM findings; DELETE FROM drift_points;
             DELETE FROM accountability; DELETE FROM analysis_runs;
             DELETE FROM instruction_spans;",
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
                    d.kind.as_str(),
                    json(&d.reasons),
                    d.cause_event_id,
                    json(&d.provenance),
                    d.actions_after as i64,
                    json(&d.after_event_ids),
                    d.seconds_after,
                    d.stopped_by,
                    d.stop_kind.map(StopKind::as_str),
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
            let mut app = conn
                .appender("instruction_spans")
                .map_err(StoreError::db("writing instruction spans"))?;
            for s in spans {
                app.append_row(params![
                    s.event_id,
                    s.task,
                    s.start as i64,
                    s.end as i64,
                    s.score,
                    s.instruction,
                    s.signals.to_string(),
                    s.excerpt,
                ])
                .map_err(StoreError::db("writing instruction spans"))?;
            }
            app.flush()
                .map_err(StoreError::db("writing instruction spans"))?;
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
                    cited: Vec::new(),
                    mappings: serde_json::from_str(&mappings).unwrap_or_default(),
                })
            })
            .map_err(StoreError::db("reading findings"))?;
        let mut rows: Vec<FindingRow> = rows
            .collect::<Result<_, _>>()
            .map_err(StoreError::db("reading findings"))?;
        let citations = self.evidence_citations()?;
        for row in &mut rows {
            row.cited = row
                .evidence
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
                .map(|id| citations.get(id).cloned().unwrap_or_else(|| id.to_owned()))
                .collect();
        }
        Ok(rows)
    }

    /// `file:locator` for every event some finding cites, by event id.
    fn evidence_citations(&self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let paths: Vec<String> = self.sources()?.into_iter().map(|s| s.path).collect();
        let mut names: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for path in &paths {
            *names.entry(file_name(path)).or_default() += 1;
        }
        let cite = |path: &str| {
            let name = file_name(path);
            if names.get(name).copied().unwrap_or(0) > 1 {
                path.to_owned()
            } else {
                name.to_owned()
            }
        };
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT e.id, s.path, e.locator
                 FROM events e JOIN sources s ON s.id = e.source_id
                 WHERE e.id IN (SELECT DISTINCT unnest(from_json(evidence, '[\"VARCHAR\"]'))
                                FROM findings)",
            )
            .map_err(StoreError::db("reading the files findings cite"))?;
        let rows = stmt
            .query_map([], |r| {
                let id: String = r.get(0)?;
                let path: String = r.get(1)?;
                let locator: String = r.get(2)?;
                Ok((id, format!("{}:{locator}", cite(&path))))
            })
            .map_err(StoreError::db("reading the files findings cite"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db("reading the files findings cite"))
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
