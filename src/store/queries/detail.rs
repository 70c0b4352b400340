//! Everything about one event for the detail view: its normalised fields, the raw record and
//! where it came from (file, place, hash), and the declarations of its task.

use chrono::DateTime;
use duckdb::params;

use crate::model::{Constraints, Timestamp};
use crate::store::{Store, StoreError};

/// Normalised columns shown in the detail view, in this order.
const FIELDS: &[&str] = &[
    "kind",
    "actor",
    "actor_kind",
    "on_behalf_of",
    "task",
    "session",
    "source_event_id",
    "action",
    "action_class",
    "class_source",
    "resource",
    "destination",
    "environment",
    "credential",
    "outcome",
    "target",
    "target_kind",
    "call_id",
    "args",
    "content",
    "trust",
    "intent",
    "constraints",
    "scope",
    "decision",
    "expires_at",
    "credential_type",
    "role",
    "owner",
    "grant",
    "status",
    "policy",
    "attributes",
];

/// One event with its evidence trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDetail {
    pub id: String,
    pub time: Timestamp,
    pub time_inferred: bool,
    /// Every normalised field that has a value, as (name, text), in schema order.
    pub fields: Vec<(String, String)>,
    /// The source record exactly as read.
    pub raw: String,
    pub source_path: String,
    pub source_format: String,
    pub source_sha256: String,
    pub locator: String,
}

impl EventDetail {
    /// The value of a normalised field, if it has one.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A task's declared intent and constraints from one origin (manifest or `task.start`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDeclaration {
    pub origin: String,
    pub intent: Option<String>,
    /// `None` when this declaration carried no constraints at all.
    pub constraints: Option<Constraints>,
    /// The constraints as stored, when they could not be read as [`Constraints`].
    pub unreadable: Option<String>,
}

impl Store {
    /// The event with this id, or `None`. `pos`, its timeline position when the caller knows
    /// it, turns the lookup into one of (source, sequence number), which DuckDB answers from one
    /// row group of `events` instead of comparing every id.
    pub fn event_detail(
        &self,
        id: &str,
        pos: Option<u64>,
    ) -> Result<Option<EventDetail>, StoreError> {
        let context = "reading an event";
        let mut place = String::new();
        if let Some(pos) = pos {
            let mut stmt = self
                .conn()
                .prepare(&format!(
                    "SELECT source_id, seq FROM timeline WHERE pos = {pos} AND id = ?"
                ))
                .map_err(StoreError::db(context))?;
            let mut rows = stmt.query(params![id]).map_err(StoreError::db(context))?;
            if let Some(r) = rows.next().map_err(StoreError::db(context))? {
                let source: i64 = r.get(0).map_err(StoreError::db(context))?;
                let seq: i64 = r.get(1).map_err(StoreError::db(context))?;
                // Numbers from the store, written as literals so that they prune by zone maps.
                place = format!("e.source_id = {source} AND e.seq = {seq} AND ");
            }
        }
        let columns: Vec<String> = FIELDS
            .iter()
            .map(|f| format!("CAST(e.\"{f}\" AS VARCHAR)"))
            .collect();
        let sql = format!(
            "SELECT e.id, epoch_us(e.time), e.time_inferred, e.raw, s.path, s.format, s.sha256,
                    e.locator, {}
             FROM events e JOIN sources s ON s.id = e.source_id WHERE {place}e.id = ?",
            columns.join(", ")
        );
        let mut stmt = self.conn().prepare(&sql).map_err(StoreError::db(context))?;
        let mut rows = stmt.query(params![id]).map_err(StoreError::db(context))?;
        let Some(r) = rows.next().map_err(StoreError::db(context))? else {
            return Ok(None);
        };
        let read = || -> duckdb::Result<EventDetail> {
            let mut fields = Vec::new();
            for (i, name) in FIELDS.iter().enumerate() {
                if let Some(v) = r.get::<_, Option<String>>(8 + i)? {
                    fields.push(((*name).to_owned(), v));
                }
            }
            Ok(EventDetail {
                id: r.get(0)?,
                time: DateTime::from_timestamp_micros(r.get(1)?).unwrap_or_default(),
                time_inferred: r.get(2)?,
                raw: r.get(3)?,
                source_path: r.get(4)?,
                source_format: r.get(5)?,
                source_sha256: r.get(6)?,
                locator: r.get(7)?,
                fields,
            })
        };
        read().map(Some).map_err(StoreError::db(context))
    }

    /// Every declaration of `task` (manifest first, then `task.start` events in time order).
    pub fn task_declarations(&self, task: &str) -> Result<Vec<TaskDeclaration>, StoreError> {
        let context = "reading a task's declarations";
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT origin, intent, CAST(constraints AS VARCHAR) FROM tasks WHERE task_id = ?
                 ORDER BY origin = 'event', declared_at NULLS FIRST, source_id",
            )
            .map_err(StoreError::db(context))?;
        let rows = stmt
            .query_map(params![task], |r| {
                let constraints: Option<String> = r.get(2)?;
                let parsed = constraints
                    .as_deref()
                    .map(serde_json::from_str::<Constraints>);
                let (constraints, unreadable) = match parsed {
                    None => (None, None),
                    Some(Ok(c)) => (Some(c), None),
                    Some(Err(_)) => (None, constraints),
                };
                Ok(TaskDeclaration {
                    origin: r.get(0)?,
                    intent: r.get(1)?,
                    constraints,
                    unreadable,
                })
            })
            .map_err(StoreError::db(context))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db(context))
    }
}
