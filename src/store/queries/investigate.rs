//! Reading back the analysis results (migration 3): findings, drift points and accountability
//! records, as plain rows for display. The tables are written by the analysis; until it has run
//! on a database they are empty, and these functions return empty lists.

use chrono::DateTime;
use duckdb::Row;
use serde_json::Value as Json;

use crate::model::Timestamp;
use crate::store::{Store, StoreError};

/// A row of the `findings` table.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFinding {
    pub id: String,
    pub detector: String,
    pub title: String,
    pub severity: String,
    pub severity_rank: i32,
    pub failure_class: String,
    pub task: Option<String>,
    pub principal: Option<String>,
    pub time: Timestamp,
    pub explanation: String,
    /// Event ids, the most telling first.
    pub evidence: Vec<String>,
    pub mappings: Json,
}

/// A row of the `drift_points` table.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDriftPoint {
    pub task: String,
    pub event_id: String,
    pub time: Timestamp,
    pub kind: String,
    pub reasons: Json,
    pub cause_event_id: Option<String>,
    /// `[{"argument", "value", "event_id", "instruction", "span", "score"}]`.
    pub provenance: Json,
    pub actions_after: i64,
    pub seconds_after: f64,
    pub stopped_by: Option<String>,
    pub stop_kind: Option<String>,
}

/// A row of the `instruction_spans` table (migration 5).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSpan {
    pub event_id: String,
    pub start: i64,
    pub end: i64,
    pub score: f64,
    pub instruction: bool,
    /// `[{"kind", "start", "end"}]`.
    pub signals: Json,
    pub excerpt: String,
}

impl StoredSpan {
    /// The distinct signal kinds of the span, in the order they appear.
    pub fn kinds(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self.signals.as_array().into_iter().flatten() {
            if let Some(k) = s.get("kind").and_then(Json::as_str)
                && !out.iter().any(|x| x == k)
            {
                out.push(k.to_owned());
            }
        }
        out
    }
}

/// A row of the `accountability` table.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAccountability {
    pub task: String,
    pub primary_class: String,
    pub primary_role: String,
    pub primary_owner: Option<String>,
    pub secondary_role: Option<String>,
    pub secondary_owner: Option<String>,
    pub contributing: Json,
    pub rule: String,
    pub rationale: String,
    pub shift_event_id: Option<String>,
    pub shift_time: Option<Timestamp>,
    pub gaps: Json,
    pub evidence: Vec<String>,
}

fn time(micros: i64) -> Timestamp {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn json(text: Option<String>) -> Json {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Json::Null)
}

fn ids(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

impl Store {
    fn rows<T>(
        &self,
        sql: &str,
        context: &'static str,
        map: impl FnMut(&Row<'_>) -> duckdb::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn().prepare(sql).map_err(StoreError::db(context))?;
        let rows = stmt.query_map([], map).map_err(StoreError::db(context))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db(context))
    }

    /// Every finding, most severe first, then by time.
    pub fn stored_findings(&self) -> Result<Vec<StoredFinding>, StoreError> {
        self.rows(
            "SELECT id, detector, title, severity, severity_rank, failure_class, task, principal,
                    epoch_us(time), explanation, CAST(evidence AS VARCHAR),
                    CAST(mappings AS VARCHAR)
             FROM findings ORDER BY severity_rank DESC, time, id",
            "reading findings",
            |r| {
                Ok(StoredFinding {
                    id: r.get(0)?,
                    detector: r.get(1)?,
                    title: r.get(2)?,
                    severity: r.get(3)?,
                    severity_rank: r.get(4)?,
                    failure_class: r.get(5)?,
                    task: r.get(6)?,
                    principal: r.get(7)?,
                    time: time(r.get(8)?),
                    explanation: r.get(9)?,
                    evidence: ids(r.get(10)?),
                    mappings: json(r.get(11)?),
                })
            },
        )
    }

    /// Whether an analysis has written its results (even if it found nothing).
    pub fn analysis_has_run(&self) -> Result<bool, StoreError> {
        self.conn()
            .query_row("SELECT count(*) > 0 FROM analysis_runs", [], |r| r.get(0))
            .map_err(StoreError::db("reading the analysis runs"))
    }

    /// Every drift point, in time order.
    pub fn stored_drift_points(&self) -> Result<Vec<StoredDriftPoint>, StoreError> {
        self.rows(
            "SELECT task, event_id, epoch_us(time), kind, CAST(reasons AS VARCHAR),
                    cause_event_id, actions_after, seconds_after, stopped_by, stop_kind,
                    CAST(provenance AS VARCHAR)
             FROM drift_points ORDER BY time, task",
            "reading drift points",
            |r| {
                Ok(StoredDriftPoint {
                    task: r.get(0)?,
                    event_id: r.get(1)?,
                    time: time(r.get(2)?),
                    kind: r.get(3)?,
                    reasons: json(r.get(4)?),
                    cause_event_id: r.get(5)?,
                    actions_after: r.get(6)?,
                    seconds_after: r.get(7)?,
                    stopped_by: r.get(8)?,
                    stop_kind: r.get(9)?,
                    provenance: json(r.get(10)?),
                })
            },
        )
    }

    /// The scored instruction spans of one event's content, highest score first.
    pub fn instruction_spans_of(&self, event_id: &str) -> Result<Vec<StoredSpan>, StoreError> {
        let context = "reading instruction spans";
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT event_id, span_start, span_end, score, instruction, CAST(signals AS VARCHAR),
                        excerpt
                 FROM instruction_spans WHERE event_id = ? ORDER BY score DESC, span_start",
            )
            .map_err(StoreError::db(context))?;
        let rows = stmt
            .query_map([event_id], |r| {
                Ok(StoredSpan {
                    event_id: r.get(0)?,
                    start: r.get(1)?,
                    end: r.get(2)?,
                    score: r.get(3)?,
                    instruction: r.get(4)?,
                    signals: json(r.get(5)?),
                    excerpt: r.get(6)?,
                })
            })
            .map_err(StoreError::db(context))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db(context))
    }

    /// Every accountability record, by task.
    pub fn stored_accountability(&self) -> Result<Vec<StoredAccountability>, StoreError> {
        self.rows(
            "SELECT task, primary_class, primary_role, primary_owner, secondary_role,
                    secondary_owner, CAST(contributing AS VARCHAR), rule, rationale,
                    shift_event_id, epoch_us(shift_time), CAST(gaps AS VARCHAR),
                    CAST(evidence AS VARCHAR)
             FROM accountability ORDER BY task",
            "reading accountability records",
            |r| {
                Ok(StoredAccountability {
                    task: r.get(0)?,
                    primary_class: r.get(1)?,
                    primary_role: r.get(2)?,
                    primary_owner: r.get(3)?,
                    secondary_role: r.get(4)?,
                    secondary_owner: r.get(5)?,
                    contributing: json(r.get(6)?),
                    rule: r.get(7)?,
                    rationale: r.get(8)?,
                    shift_event_id: r.get(9)?,
                    shift_time: r.get::<_, Option<i64>>(10)?.map(time),
                    gaps: json(r.get(11)?),
                    evidence: ids(r.get(12)?),
                })
            },
        )
    }
}

#[cfg(test)]
impl Store {
    /// Writes analysis rows, for tests of code that reads them (the analysis itself writes them
    /// in production).
    pub(crate) fn seed_analysis_for_tests(
        &self,
        findings: &[StoredFinding],
        drift_points: &[StoredDriftPoint],
        records: &[StoredAccountability],
        spans: &[StoredSpan],
    ) -> Result<(), StoreError> {
        use duckdb::params;
        let context = "seeding analysis rows";
        let ts = |t: Timestamp| {
            duckdb::types::Value::Timestamp(
                duckdb::types::TimeUnit::Microsecond,
                t.timestamp_micros(),
            )
        };
        let ids = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
        for f in findings {
            self.conn()
                .execute(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params![
                        f.id,
                        f.detector,
                        f.title,
                        f.severity,
                        f.severity_rank,
                        f.failure_class,
                        f.task,
                        f.principal,
                        ts(f.time),
                        f.explanation,
                        ids(&f.evidence),
                        f.mappings.to_string()
                    ],
                )
                .map_err(StoreError::db(context))?;
        }
        for d in drift_points {
            self.conn()
                .execute(
                    "INSERT INTO drift_points VALUES (?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?)",
                    params![
                        d.task,
                        d.event_id,
                        ts(d.time),
                        d.kind,
                        d.reasons.to_string(),
                        d.cause_event_id,
                        d.provenance.to_string(),
                        d.actions_after,
                        d.seconds_after,
                        d.stopped_by,
                        d.stop_kind
                    ],
                )
                .map_err(StoreError::db(context))?;
        }
        for a in records {
            self.conn()
                .execute(
                    "INSERT INTO accountability VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params![
                        a.task,
                        a.primary_class,
                        a.primary_role,
                        a.primary_owner,
                        a.secondary_role,
                        a.secondary_owner,
                        a.contributing.to_string(),
                        a.rule,
                        a.rationale,
                        a.shift_event_id,
                        a.shift_time.map(ts),
                        a.gaps.to_string(),
                        ids(&a.evidence)
                    ],
                )
                .map_err(StoreError::db(context))?;
        }
        for s in spans {
            self.conn()
                .execute(
                    "INSERT INTO instruction_spans VALUES (?, NULL, ?, ?, ?, ?, ?, ?)",
                    params![
                        s.event_id,
                        s.start,
                        s.end,
                        s.score,
                        s.instruction,
                        s.signals.to_string(),
                        s.excerpt
                    ],
                )
                .map_err(StoreError::db(context))?;
        }
        self.conn()
            .execute(
                "INSERT INTO analysis_runs VALUES (now()::TIMESTAMP, 'test', (SELECT count(*) FROM events), ?)",
                params![findings.len() as i64],
            )
            .map_err(StoreError::db(context))?;
        self.conn()
            .execute_batch(crate::store::timeline_index::REBUILD_MARKS_SQL)
            .map_err(StoreError::db(context))?;
        Ok(())
    }
}
