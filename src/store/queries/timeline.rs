//! Events in time order, filtered, streamed.

use chrono::DateTime;
use duckdb::ToSql;
use duckdb::types::{TimeUnit, Value};
use serde::Serialize;

use crate::model::{Timestamp, format_time};
use crate::store::{Store, StoreError};

/// Which events a timeline shows. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct TimelineFilter {
    pub task: Option<String>,
    pub actor: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// At most this many events (the first ones in time order). DuckDB then keeps only the
    /// first ones while it reads, instead of sorting every event.
    pub limit: Option<u64>,
}

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineRow {
    pub id: String,
    #[serde(serialize_with = "ser_time")]
    pub time: Timestamp,
    pub time_inferred: bool,
    pub kind: String,
    pub actor: String,
    pub task: Option<String>,
    pub action: Option<String>,
    pub action_class: Option<String>,
    pub class_source: String,
    pub resource: Option<String>,
    pub destination: Option<String>,
    pub outcome: String,
    pub source: String,
    pub locator: String,
}

fn ser_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
}

impl Store {
    /// Streams the events matching `filter` in time order (ties keep source order) to `on_row`,
    /// which returns `false` to stop. Returns the number of rows handed over.
    pub fn timeline(
        &self,
        filter: &TimelineFilter,
        mut on_row: impl FnMut(TimelineRow) -> bool,
    ) -> Result<u64, StoreError> {
        let mut clauses = Vec::new();
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(task) = &filter.task {
            clauses.push("e.task = ?");
            args.push(Box::new(task.clone()));
        }
        if let Some(actor) = &filter.actor {
            clauses.push("e.actor = ?");
            args.push(Box::new(actor.clone()));
        }
        if let Some(since) = filter.since {
            clauses.push("e.time >= ?");
            args.push(Box::new(Value::Timestamp(
                TimeUnit::Microsecond,
                since.timestamp_micros(),
            )));
        }
        if let Some(until) = filter.until {
            clauses.push("e.time < ?");
            args.push(Box::new(Value::Timestamp(
                TimeUnit::Microsecond,
                until.timestamp_micros(),
            )));
        }
        let where_clause = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT e.id, epoch_us(e.time), e.time_inferred, e.kind, e.actor, e.task, e.action,
                    e.action_class, e.class_source, e.resource, e.destination, e.outcome,
                    s.path, e.locator
             FROM events e JOIN sources s ON s.id = e.source_id
             {where_clause}
             ORDER BY e.time, e.source_id, e.seq{}",
            filter
                .limit
                // SQL's LIMIT is a signed 64-bit count; more rows than that cannot exist.
                .map_or(String::new(), |n| format!(
                    " LIMIT {}",
                    n.min(i64::MAX.unsigned_abs())
                ))
        );
        let mut stmt = self
            .conn()
            .prepare(&sql)
            .map_err(StoreError::db("preparing the timeline"))?;
        let params: Vec<&dyn ToSql> = args.iter().map(AsRef::as_ref).collect();
        let mut rows = stmt
            .query(params.as_slice())
            .map_err(StoreError::db("reading the timeline"))?;
        let mut count = 0;
        while let Some(r) = rows
            .next()
            .map_err(StoreError::db("reading the timeline"))?
        {
            let micros: i64 = r.get(1).map_err(StoreError::db("reading the timeline"))?;
            let row = (|| {
                Ok::<_, duckdb::Error>(TimelineRow {
                    id: r.get(0)?,
                    time: DateTime::from_timestamp_micros(micros).unwrap_or_default(),
                    time_inferred: r.get(2)?,
                    kind: r.get(3)?,
                    actor: r.get(4)?,
                    task: r.get(5)?,
                    action: r.get(6)?,
                    action_class: r.get(7)?,
                    class_source: r.get(8)?,
                    resource: r.get(9)?,
                    destination: r.get(10)?,
                    outcome: r.get(11)?,
                    source: r.get(12)?,
                    locator: r.get(13)?,
                })
            })()
            .map_err(StoreError::db("reading the timeline"))?;
            count += 1;
            if !on_row(row) {
                break;
            }
        }
        Ok(count)
    }
}
