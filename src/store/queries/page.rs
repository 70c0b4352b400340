//! Windowed reads of the timeline for interactive browsing: one page of events by position, the
//! number of events a filter keeps, where an event sits in that order, the next event matching a
//! search, and a time histogram. Nothing here reads more than one page of rows into memory, so
//! the caller's memory does not grow with the evidence.
//!
//! The order is always `time, source_id, seq` (ties keep the order of the source file), the same
//! as `onus timeline`.

use chrono::DateTime;
use duckdb::params_from_iter;
use duckdb::types::{TimeUnit, Value};

use crate::model::Timestamp;
use crate::store::{Store, StoreError};

/// Which events are browsed. Every set field narrows; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub task: Option<String>,
    pub actor: Option<String>,
    pub kind: Option<String>,
    pub outcome: Option<String>,
    /// Only events cited as evidence by a finding at least this severe (4 = critical … 0 = info).
    pub min_severity: Option<i32>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Case-insensitive substring of the event's id, kind, actor, task, action, resource,
    /// destination, target, credential, outcome, content, intent or arguments.
    pub text: Option<String>,
}

impl EventFilter {
    /// True when the filter keeps every event.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// What a search looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Events whose text contains this (case-insensitive), as [`EventFilter::text`].
    Text(String),
    /// Any of these events.
    Ids(Vec<String>),
}

/// Which way a search goes from its starting event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// One row of a timeline page, with the markers the investigator needs next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    pub id: String,
    pub time: Timestamp,
    pub kind: String,
    pub actor: String,
    pub task: Option<String>,
    pub action: Option<String>,
    pub action_class: Option<String>,
    pub resource: Option<String>,
    pub destination: Option<String>,
    pub outcome: String,
    /// Highest severity rank of the findings citing this event.
    pub severity_rank: Option<i32>,
    /// This event is a drift point.
    pub drift_point: bool,
    /// This event belongs to a task and comes at or after the task's first drift point.
    pub after_drift: bool,
}

/// How many events fall in each of a number of equal time slices, plus where findings and
/// drift points are in time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Time of the first and last event kept by the filter (`None` when nothing is kept).
    pub span: Option<(Timestamp, Timestamp)>,
    pub counts: Vec<u64>,
    /// (time of the finding's first evidence, severity rank).
    pub findings: Vec<(Timestamp, i32)>,
    pub drift_points: Vec<Timestamp>,
}

/// Severity of each event cited by a finding; referenced by the severity filter and the page.
const SEVERITY_CTE: &str = "WITH finding_evidence AS (
        SELECT unnest(from_json(evidence, '[\"VARCHAR\"]')) AS event_id, severity_rank
        FROM findings),
    event_severity AS (
        SELECT event_id, max(severity_rank) AS rank FROM finding_evidence GROUP BY event_id)";

/// The text a free-text filter or search looks in.
const TEXT_EXPR: &str = "lower(concat_ws(' ', e.id, e.kind, e.actor, e.task, e.action, \
    e.resource, e.destination, e.target, e.credential, e.outcome, e.content, e.intent, \
    CAST(e.args AS VARCHAR)))";

const ORDER: &str = "e.time, e.source_id, e.seq";

fn timestamp(t: Timestamp) -> Value {
    Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros())
}

fn micros(n: i64) -> Timestamp {
    DateTime::from_timestamp_micros(n).unwrap_or_default()
}

/// The `WHERE` condition for `filter` over `events e`, with its parameters in order.
fn condition(filter: &EventFilter) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args = Vec::new();
    let equal = [
        ("e.task", &filter.task),
        ("e.actor", &filter.actor),
        ("e.kind", &filter.kind),
        ("e.outcome", &filter.outcome),
    ];
    for (column, value) in equal {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?"));
            args.push(Value::Text(v.clone()));
        }
    }
    if let Some(rank) = filter.min_severity {
        clauses.push("e.id IN (SELECT event_id FROM event_severity WHERE rank >= ?)".to_owned());
        args.push(Value::Int(rank));
    }
    if let Some(since) = filter.since {
        clauses.push("e.time >= ?".to_owned());
        args.push(timestamp(since));
    }
    if let Some(until) = filter.until {
        clauses.push("e.time < ?".to_owned());
        args.push(timestamp(until));
    }
    if let Some(text) = &filter.text {
        clauses.push(format!("contains({TEXT_EXPR}, ?)"));
        args.push(Value::Text(text.to_lowercase()));
    }
    if clauses.is_empty() {
        ("TRUE".to_owned(), args)
    } else {
        (clauses.join(" AND "), args)
    }
}

/// `e` comes after (or before) `c` in timeline order.
fn beyond(direction: Direction) -> &'static str {
    match direction {
        Direction::Forward => {
            "(e.time > c.time OR (e.time = c.time AND (e.source_id > c.source_id \
             OR (e.source_id = c.source_id AND e.seq > c.seq))))"
        }
        Direction::Backward => {
            "(e.time < c.time OR (e.time = c.time AND (e.source_id < c.source_id \
             OR (e.source_id = c.source_id AND e.seq < c.seq))))"
        }
    }
}

impl Store {
    /// Number of events `filter` keeps.
    pub fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        let (cond, args) = condition(filter);
        let sql = format!("{SEVERITY_CTE} SELECT count(*) FROM events e WHERE {cond}");
        self.conn()
            .query_row(&sql, params_from_iter(args.iter()), |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(StoreError::db("counting events"))
    }

    /// At most `limit` events kept by `filter`, starting at position `offset` (0-based) in
    /// timeline order.
    pub fn event_page(
        &self,
        filter: &EventFilter,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<PageRow>, StoreError> {
        let (cond, mut args) = condition(filter);
        args.push(Value::BigInt(i64::try_from(limit).unwrap_or(i64::MAX)));
        args.push(Value::BigInt(i64::try_from(offset).unwrap_or(i64::MAX)));
        let sql = format!(
            "{SEVERITY_CTE},
             first_drift AS (SELECT task, min(time) AS time FROM drift_points GROUP BY task),
             page AS (
                 SELECT e.id, e.time, e.source_id, e.seq, e.kind, e.actor, e.task, e.action,
                        e.action_class, e.resource, e.destination, e.outcome
                 FROM events e WHERE {cond} ORDER BY {ORDER} LIMIT ? OFFSET ?)
             SELECT p.id, epoch_us(p.time), p.kind, p.actor, p.task, p.action, p.action_class,
                    p.resource, p.destination, p.outcome, s.rank,
                    p.id IN (SELECT event_id FROM drift_points),
                    coalesce(p.time >= d.time, false)
             FROM page p
             LEFT JOIN event_severity s ON s.event_id = p.id
             LEFT JOIN first_drift d ON d.task = p.task
             ORDER BY p.time, p.source_id, p.seq"
        );
        let context = "reading a timeline page";
        let mut stmt = self.conn().prepare(&sql).map_err(StoreError::db(context))?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(PageRow {
                    id: r.get(0)?,
                    time: micros(r.get(1)?),
                    kind: r.get(2)?,
                    actor: r.get(3)?,
                    task: r.get(4)?,
                    action: r.get(5)?,
                    action_class: r.get(6)?,
                    resource: r.get(7)?,
                    destination: r.get(8)?,
                    outcome: r.get(9)?,
                    severity_rank: r.get(10)?,
                    drift_point: r.get(11)?,
                    after_drift: r.get(12)?,
                })
            })
            .map_err(StoreError::db(context))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db(context))
    }

    /// Position (0-based) of event `id` among the events `filter` keeps; `None` when the
    /// filter hides it or it does not exist.
    pub fn event_position(
        &self,
        filter: &EventFilter,
        id: &str,
    ) -> Result<Option<u64>, StoreError> {
        let (cond, args) = condition(filter);
        let before = beyond(Direction::Backward);
        let sql = format!(
            "{SEVERITY_CTE},
             target AS (SELECT e.time, e.source_id, e.seq FROM events e WHERE e.id = ? AND {cond})
             SELECT count(*) FILTER (WHERE {before}), (SELECT count(*) FROM target)
             FROM events e, target c WHERE {cond}"
        );
        let mut all = vec![Value::Text(id.to_owned())];
        all.extend(args.iter().cloned());
        all.extend(args);
        let (position, found) = self
            .conn()
            .query_row(&sql, params_from_iter(all.iter()), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(StoreError::db("locating an event"))?;
        Ok((found > 0).then_some(position as u64))
    }

    /// The first event kept by `filter` that matches `target`, going `direction` from event
    /// `from` (exclusive), or from the start (end, going backward) when `from` is `None`.
    /// Returns its id and position.
    pub fn find_event(
        &self,
        filter: &EventFilter,
        target: &Target,
        from: Option<&str>,
        direction: Direction,
    ) -> Result<Option<(String, u64)>, StoreError> {
        let (cond, args) = condition(filter);
        let (hit, hit_args): (String, Vec<Value>) = match target {
            Target::Text(text) => (
                format!("contains({TEXT_EXPR}, ?)"),
                vec![Value::Text(text.to_lowercase())],
            ),
            Target::Ids(ids) if ids.is_empty() => return Ok(None),
            Target::Ids(ids) => (
                format!("e.id IN ({})", vec!["?"; ids.len()].join(", ")),
                ids.iter().map(|i| Value::Text(i.clone())).collect(),
            ),
        };
        let order = match direction {
            Direction::Forward => "e.time, e.source_id, e.seq",
            Direction::Backward => "e.time DESC, e.source_id DESC, e.seq DESC",
        };
        let mut all = Vec::new();
        let start = match from {
            Some(id) => {
                all.push(Value::Text(id.to_owned()));
                format!(
                    ", (SELECT time, source_id, seq FROM events WHERE id = ?) c WHERE {} AND",
                    beyond(direction)
                )
            }
            None => " WHERE".to_owned(),
        };
        all.extend(args.iter().cloned());
        all.extend(hit_args);
        let sql = format!(
            "{SEVERITY_CTE} SELECT e.id FROM events e{start} {cond} AND {hit}
             ORDER BY {order} LIMIT 1"
        );
        let context = "searching the timeline";
        let mut stmt = self.conn().prepare(&sql).map_err(StoreError::db(context))?;
        let mut rows = stmt
            .query(params_from_iter(all.iter()))
            .map_err(StoreError::db(context))?;
        let Some(row) = rows.next().map_err(StoreError::db(context))? else {
            return Ok(None);
        };
        let id: String = row.get(0).map_err(StoreError::db(context))?;
        Ok(self.event_position(filter, &id)?.map(|pos| (id, pos)))
    }

    /// How the events `filter` keeps spread over `buckets` equal slices of their time span.
    pub fn histogram(&self, filter: &EventFilter, buckets: u32) -> Result<Histogram, StoreError> {
        let context = "building the time histogram";
        let (cond, args) = condition(filter);
        let buckets = buckets.max(1);
        let span_sql = format!(
            "{SEVERITY_CTE} SELECT min(epoch_us(e.time)), max(epoch_us(e.time))
             FROM events e WHERE {cond}"
        );
        let (lo, hi): (Option<i64>, Option<i64>) = self
            .conn()
            .query_row(&span_sql, params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(StoreError::db(context))?;
        let mut out = Histogram {
            counts: vec![0; buckets as usize],
            ..Histogram::default()
        };
        if let (Some(lo), Some(hi)) = (lo, hi) {
            out.span = Some((micros(lo), micros(hi)));
            let width = hi - lo + 1;
            let sql = format!(
                "{SEVERITY_CTE} SELECT (epoch_us(e.time) - ?) * ? // ?, count(*)
                 FROM events e WHERE {cond} GROUP BY 1"
            );
            let mut all = vec![
                Value::BigInt(lo),
                Value::BigInt(i64::from(buckets)),
                Value::BigInt(width),
            ];
            all.extend(args);
            let mut stmt = self.conn().prepare(&sql).map_err(StoreError::db(context))?;
            let rows = stmt
                .query_map(params_from_iter(all.iter()), |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(StoreError::db(context))?;
            for row in rows {
                let (bucket, n) = row.map_err(StoreError::db(context))?;
                if let Some(slot) = usize::try_from(bucket)
                    .ok()
                    .and_then(|b| out.counts.get_mut(b))
                {
                    *slot = n as u64;
                }
            }
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT epoch_us(time), severity_rank FROM findings ORDER BY time")
            .map_err(StoreError::db(context))?;
        out.findings = stmt
            .query_map([], |r| Ok((micros(r.get(0)?), r.get(1)?)))
            .map_err(StoreError::db(context))?
            .collect::<Result<_, _>>()
            .map_err(StoreError::db(context))?;
        let mut stmt = self
            .conn()
            .prepare("SELECT epoch_us(time) FROM drift_points ORDER BY time")
            .map_err(StoreError::db(context))?;
        out.drift_points = stmt
            .query_map([], |r| Ok(micros(r.get(0)?)))
            .map_err(StoreError::db(context))?
            .collect::<Result<_, _>>()
            .map_err(StoreError::db(context))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
