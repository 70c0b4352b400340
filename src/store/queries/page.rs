//! Windowed reads of the timeline for interactive browsing: one page of events by position, the
//! number of events a filter keeps, where an event sits in that order, the next event matching a
//! search, and a time histogram. Nothing here reads more than one page of rows into memory, and
//! nothing sorts the evidence: every read goes through the timeline index (the `timeline` and
//! `timeline_marks` tables of migration V004, see [`Store::rebuild_timeline_index`]), whose rows
//! are stored in timeline order with their position, so a range of positions costs one or two
//! row groups whatever the number of events.
//!
//! The order is always `time, source_id, seq` (ties keep the order of the source file), the same
//! as `onus timeline`.
//!
//! A filter is turned into a [`FilterIndex`]: how many events it keeps in each chunk of
//! [`CHUNK`] positions. That costs one scan when the filter is applied, and afterwards a page,
//! a position or a count among the kept events reads only the chunks involved. The index has
//! one number per chunk (80 for ten million events), so memory stays bounded.

use chrono::DateTime;
use duckdb::params_from_iter;
use duckdb::types::{TimeUnit, Value};

use crate::model::Timestamp;
use crate::store::{Store, StoreError};

/// Positions per chunk of a [`FilterIndex`]: DuckDB's row group size is 122,880 rows, so a chunk
/// spans one or two row groups of the timeline table.
pub const CHUNK: u64 = 1 << 17;

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

/// Where the events a filter keeps lie in the timeline, chunk by chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterIndex {
    filter: EventFilter,
    /// Events in the timeline, kept or not.
    events: u64,
    /// Positions per chunk.
    chunk: u64,
    /// `prefix[c]`: kept events before chunk `c` (one more entry than chunks). `None` when the
    /// filter keeps every event, so that position and ordinal are the same.
    prefix: Option<Vec<u64>>,
}

impl FilterIndex {
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }

    /// Events the filter keeps.
    pub fn kept(&self) -> u64 {
        match &self.prefix {
            None => self.events,
            Some(p) => p.last().copied().unwrap_or(0),
        }
    }

    /// Events in the timeline, kept or not.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The chunk holding the kept event number `ordinal`, and the number of kept events before
    /// that chunk.
    fn chunk_of(prefix: &[u64], ordinal: u64) -> (u64, u64) {
        // The last chunk whose prefix is <= ordinal, among chunks that keep something.
        let c = prefix.partition_point(|&before| before <= ordinal).max(1) - 1;
        (c as u64, prefix[c])
    }

    /// The timeline positions `[lo, hi)` that hold the kept events `offset .. offset + limit`,
    /// and how many kept events in that range come before `offset`.
    fn span(&self, offset: u64, limit: u64) -> (u64, u64, u64) {
        let end = offset.saturating_add(limit).min(self.kept());
        match &self.prefix {
            None => (offset, end, 0),
            Some(prefix) => {
                let (first, before) = Self::chunk_of(prefix, offset);
                let (last, _) = Self::chunk_of(prefix, end.saturating_sub(1).max(offset));
                (
                    first * self.chunk,
                    (last + 1).saturating_mul(self.chunk),
                    offset - before,
                )
            }
        }
    }
}

/// What a search looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Events whose text contains this (case-insensitive), as [`EventFilter::text`].
    Text(String),
    /// Any of these events (their positions are looked up first).
    Ids(Vec<String>),
    /// Drift points (as the analysis recorded them).
    DriftPoints,
    /// These events, whose timeline positions are known, in position order.
    Events(Vec<(u64, String)>),
}

/// Which way a search goes from its starting event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// An event a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: String,
    /// Its place in the whole timeline.
    pub pos: u64,
    /// Its place among the events the filter keeps.
    pub ordinal: u64,
}

/// One row of a timeline page, with the markers the investigator needs next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    /// Place in the whole timeline (not in the filtered one).
    pub pos: u64,
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

fn timestamp(t: Timestamp) -> Value {
    Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros())
}

fn micros(n: i64) -> Timestamp {
    DateTime::from_timestamp_micros(n).unwrap_or_default()
}

fn big(n: u64) -> Value {
    Value::BigInt(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The `WHERE` condition for `filter` over `timeline t`, with its parameters in order.
fn condition(filter: &EventFilter) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args = Vec::new();
    let equal = [
        ("t.task", &filter.task),
        ("t.actor", &filter.actor),
        ("t.kind", &filter.kind),
        ("t.outcome", &filter.outcome),
    ];
    for (column, value) in equal {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?"));
            args.push(Value::Text(v.clone()));
        }
    }
    if let Some(rank) = filter.min_severity {
        clauses
            .push("t.pos IN (SELECT pos FROM timeline_marks WHERE severity_rank >= ?)".to_owned());
        args.push(Value::Int(rank));
    }
    if let Some(since) = filter.since {
        clauses.push("t.time >= ?".to_owned());
        args.push(timestamp(since));
    }
    if let Some(until) = filter.until {
        clauses.push("t.time < ?".to_owned());
        args.push(timestamp(until));
    }
    if let Some(text) = &filter.text {
        clauses.push("contains(t.search, ?)".to_owned());
        args.push(Value::Text(text.to_lowercase()));
    }
    if clauses.is_empty() {
        ("TRUE".to_owned(), args)
    } else {
        (clauses.join(" AND "), args)
    }
}

/// Severity and drift marks of a page's rows and whether each comes after its task's first
/// drift point; `page` is a CTE of timeline rows.
const PAGE_SELECT: &str = "SELECT p.pos, p.id, epoch_us(p.time), p.kind, p.actor, p.task, p.action,
            p.action_class, p.resource, p.destination, p.outcome, m.severity_rank,
            coalesce(m.drift_point, false), coalesce(p.time >= d.time, false)
     FROM page p
     LEFT JOIN timeline_marks m ON m.pos = p.pos
     LEFT JOIN (SELECT task, min(time) AS time FROM drift_points GROUP BY task) d ON d.task = p.task
     ORDER BY p.pos";

impl Store {
    /// Where the events `filter` keeps are, for [`Store::event_page`] and the other reads that
    /// take a [`FilterIndex`]. One scan of the timeline when the filter narrows; none when it
    /// keeps everything.
    pub fn filter_index(&self, filter: &EventFilter) -> Result<FilterIndex, StoreError> {
        self.filter_index_in_chunks(filter, CHUNK)
    }

    pub(crate) fn filter_index_in_chunks(
        &self,
        filter: &EventFilter,
        chunk: u64,
    ) -> Result<FilterIndex, StoreError> {
        let events = self.timeline_index_events()?;
        let chunk = chunk.max(1);
        let prefix = if filter.is_empty() {
            None
        } else {
            let context = "counting the events a filter keeps";
            let (cond, mut args) = condition(filter);
            let sql = format!(
                "SELECT t.pos // ?, count(*) FROM timeline t WHERE {cond} GROUP BY 1 ORDER BY 1"
            );
            args.insert(0, big(chunk));
            let mut stmt = self.conn().prepare(&sql).map_err(StoreError::db(context))?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(StoreError::db(context))?;
            let chunks = usize::try_from(events.div_ceil(chunk)).unwrap_or(usize::MAX);
            let mut counts = vec![0u64; chunks];
            for row in rows {
                let (c, n) = row.map_err(StoreError::db(context))?;
                let slot = usize::try_from(c).ok().and_then(|c| counts.get_mut(c));
                match slot {
                    Some(slot) => *slot = n as u64,
                    None => {
                        return Err(StoreError::Inconsistent(format!(
                            "timeline position chunk {c} is past the {events} indexed events"
                        )));
                    }
                }
            }
            let mut prefix = Vec::with_capacity(chunks + 1);
            let mut sum = 0;
            prefix.push(0);
            for n in counts {
                sum += n;
                prefix.push(sum);
            }
            Some(prefix)
        };
        Ok(FilterIndex {
            filter: filter.clone(),
            events,
            chunk,
            prefix,
        })
    }

    /// Number of events `filter` keeps.
    pub fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        Ok(self.filter_index(filter)?.kept())
    }

    /// At most `limit` events kept by `index`'s filter, starting at position `offset` (0-based)
    /// among them, in timeline order.
    pub fn event_page(
        &self,
        index: &FilterIndex,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<PageRow>, StoreError> {
        if offset >= index.kept() || limit == 0 {
            return Ok(Vec::new());
        }
        let (lo, hi, skip) = index.span(offset, limit);
        let (cond, mut args) = condition(&index.filter);
        args.push(big(limit));
        args.push(big(skip));
        // Positions are written into the SQL (they are numbers) rather than bound: a literal range
        // is what DuckDB turns into a table filter that skips row groups by their zone maps.
        let sql = format!(
            "WITH page AS (
                 SELECT t.pos, t.id, t.time, t.kind, t.actor, t.task, t.action, t.action_class,
                        t.resource, t.destination, t.outcome
                 FROM timeline t WHERE t.pos >= {lo} AND t.pos < {hi} AND {cond}
                 ORDER BY t.pos LIMIT ? OFFSET ?)
             {PAGE_SELECT}"
        );
        let context = "reading a timeline page";
        let mut stmt = self.conn().prepare(&sql).map_err(StoreError::db(context))?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(PageRow {
                    pos: r.get::<_, i64>(0)? as u64,
                    id: r.get(1)?,
                    time: micros(r.get(2)?),
                    kind: r.get(3)?,
                    actor: r.get(4)?,
                    task: r.get(5)?,
                    action: r.get(6)?,
                    action_class: r.get(7)?,
                    resource: r.get(8)?,
                    destination: r.get(9)?,
                    outcome: r.get(10)?,
                    severity_rank: r.get(11)?,
                    drift_point: r.get(12)?,
                    after_drift: r.get(13)?,
                })
            })
            .map_err(StoreError::db(context))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db(context))
    }

    /// Place among the events `index` keeps of the event at timeline position `pos`; `None`
    /// when the filter hides it.
    pub fn ordinal_of(&self, index: &FilterIndex, pos: u64) -> Result<Option<u64>, StoreError> {
        if pos >= index.events {
            return Ok(None);
        }
        let Some(prefix) = &index.prefix else {
            return Ok(Some(pos));
        };
        let chunk = pos / index.chunk;
        let start = chunk * index.chunk;
        let (cond, args) = condition(&index.filter);
        let sql = format!(
            "SELECT count(*) FILTER (WHERE t.pos < {pos}), count(*) FILTER (WHERE t.pos = {pos})
             FROM timeline t WHERE t.pos >= {start} AND t.pos <= {pos} AND {cond}"
        );
        let (before, kept) = self
            .conn()
            .query_row(&sql, params_from_iter(args.iter()), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(StoreError::db("locating an event"))?;
        let before_chunk = usize::try_from(chunk)
            .ok()
            .and_then(|c| prefix.get(c))
            .copied()
            .unwrap_or(0);
        Ok((kept > 0).then_some(before_chunk + before as u64))
    }

    /// Timeline position of event `id`, if it exists. Events the analysis points at are found
    /// in the small marks table; any other id costs a scan of the timeline's ids.
    pub fn timeline_pos(&self, id: &str) -> Result<Option<u64>, StoreError> {
        let context = "locating an event";
        for sql in [
            "SELECT pos FROM timeline_marks WHERE event_id = ? LIMIT 1",
            "SELECT pos FROM timeline WHERE id = ? LIMIT 1",
        ] {
            let mut stmt = self.conn().prepare(sql).map_err(StoreError::db(context))?;
            let mut rows = stmt.query([id]).map_err(StoreError::db(context))?;
            if let Some(row) = rows.next().map_err(StoreError::db(context))? {
                let pos: i64 = row.get(0).map_err(StoreError::db(context))?;
                return Ok(Some(pos as u64));
            }
        }
        Ok(None)
    }

    /// Timeline positions of the events among `ids` that exist, in one pass over the ids.
    pub fn timeline_positions(&self, ids: &[String]) -> Result<Vec<(String, u64)>, StoreError> {
        let context = "locating events";
        let mut out = Vec::new();
        for batch in ids.chunks(1000) {
            let sql = format!(
                "SELECT id, pos FROM timeline WHERE id IN ({})",
                vec!["?"; batch.len()].join(", ")
            );
            let mut stmt = self.conn().prepare(&sql).map_err(StoreError::db(context))?;
            let rows = stmt
                .query_map(params_from_iter(batch.iter()), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .map_err(StoreError::db(context))?;
            for row in rows {
                out.push(row.map_err(StoreError::db(context))?);
            }
        }
        Ok(out)
    }

    /// The first of `candidates` (events with their timeline positions, in position order)
    /// beyond timeline position `from` going `direction` (from the start, or the end, when
    /// `from` is `None`) that `index`'s filter keeps. Costs one small count per candidate tried
    /// under a filter, nothing without one.
    pub fn first_kept(
        &self,
        index: &FilterIndex,
        candidates: &[(u64, String)],
        from: Option<u64>,
        direction: Direction,
    ) -> Result<Option<Hit>, StoreError> {
        let beyond = |pos: u64| match (direction, from) {
            (_, None) => true,
            (Direction::Forward, Some(f)) => pos > f,
            (Direction::Backward, Some(f)) => pos < f,
        };
        let mut tried: Box<dyn Iterator<Item = &(u64, String)>> = match direction {
            Direction::Forward => Box::new(candidates.iter()),
            Direction::Backward => Box::new(candidates.iter().rev()),
        };
        tried.try_fold(None, |found, (pos, id)| {
            if found.is_some() || !beyond(*pos) {
                return Ok(found);
            }
            Ok(self.ordinal_of(index, *pos)?.map(|ordinal| Hit {
                id: id.clone(),
                pos: *pos,
                ordinal,
            }))
        })
    }

    /// Place of event `id` among the events `index` keeps; `None` when the filter hides it or
    /// it does not exist.
    pub fn event_position(&self, index: &FilterIndex, id: &str) -> Result<Option<u64>, StoreError> {
        match self.timeline_pos(id)? {
            Some(pos) => self.ordinal_of(index, pos),
            None => Ok(None),
        }
    }

    /// The first event kept by `index`'s filter that matches `target`, going `direction` from
    /// timeline position `from` (exclusive), or from the start (the end, going backward) when
    /// `from` is `None`.
    ///
    /// Text and drift points: the timeline is read in windows that double from one chunk, so
    /// the cost grows with the distance to the hit, not with the size of the evidence. Events
    /// named by id or position: their positions are tried in order ([`Store::first_kept`]).
    pub fn find_event(
        &self,
        index: &FilterIndex,
        target: &Target,
        from: Option<u64>,
        direction: Direction,
    ) -> Result<Option<Hit>, StoreError> {
        if *target == Target::DriftPoints && index.prefix.is_none() {
            return self.next_drift_point(from, direction, index.events);
        }
        let (hit, hit_args): (String, Vec<Value>) = match target {
            Target::Text(text) => (
                "contains(t.search, ?)".to_owned(),
                vec![Value::Text(text.to_lowercase())],
            ),
            // Events named by id are found by their positions, like `Events`.
            Target::Ids(ids) => {
                let mut events: Vec<(u64, String)> = self
                    .timeline_positions(ids)?
                    .into_iter()
                    .map(|(id, pos)| (pos, id))
                    .collect();
                events.sort();
                return self.first_kept(index, &events, from, direction);
            }
            Target::DriftPoints => (
                "t.pos IN (SELECT pos FROM timeline_marks WHERE drift_point)".to_owned(),
                Vec::new(),
            ),
            Target::Events(events) => return self.first_kept(index, events, from, direction),
        };
        let (cond, cond_args) = condition(&index.filter);
        let order = match direction {
            Direction::Forward => "t.pos",
            Direction::Backward => "t.pos DESC",
        };
        let context = "searching the timeline";
        let mut args = cond_args;
        args.extend(hit_args);
        let events = index.events;
        // The window [lo, hi) still to search, as it shrinks from the starting side.
        let (mut lo, mut hi) = match (direction, from) {
            (Direction::Forward, Some(p)) => (p.saturating_add(1), events),
            (Direction::Backward, Some(p)) => (0, p.min(events)),
            (_, None) => (0, events),
        };
        let mut width = index.chunk;
        while lo < hi {
            let (a, b) = match direction {
                Direction::Forward => (lo, lo.saturating_add(width).min(hi)),
                Direction::Backward => (hi.saturating_sub(width).max(lo), hi),
            };
            let sql = format!(
                "SELECT t.pos, t.id FROM timeline t
                 WHERE t.pos >= {a} AND t.pos < {b} AND {cond} AND {hit}
                 ORDER BY {order} LIMIT 1"
            );
            let mut stmt = self.conn().prepare(&sql).map_err(StoreError::db(context))?;
            let mut rows = stmt
                .query(params_from_iter(args.iter()))
                .map_err(StoreError::db(context))?;
            if let Some(row) = rows.next().map_err(StoreError::db(context))? {
                let pos = row.get::<_, i64>(0).map_err(StoreError::db(context))? as u64;
                let id: String = row.get(1).map_err(StoreError::db(context))?;
                drop(rows);
                drop(stmt);
                return Ok(self
                    .ordinal_of(index, pos)?
                    .map(|ordinal| Hit { id, pos, ordinal }));
            }
            match direction {
                Direction::Forward => lo = b,
                Direction::Backward => hi = a,
            }
            width = width.saturating_mul(2);
        }
        Ok(None)
    }

    /// The next drift point from `from` when no filter applies: read from the marks alone.
    fn next_drift_point(
        &self,
        from: Option<u64>,
        direction: Direction,
        events: u64,
    ) -> Result<Option<Hit>, StoreError> {
        let (sql, start) = match direction {
            Direction::Forward => (
                "SELECT pos, event_id FROM timeline_marks WHERE drift_point AND pos > ?
                 ORDER BY pos LIMIT 1",
                from.map_or(-1, |p| i64::try_from(p).unwrap_or(i64::MAX)),
            ),
            Direction::Backward => (
                "SELECT pos, event_id FROM timeline_marks WHERE drift_point AND pos < ?
                 ORDER BY pos DESC LIMIT 1",
                i64::try_from(from.unwrap_or(events)).unwrap_or(i64::MAX),
            ),
        };
        let context = "finding a drift point";
        let mut stmt = self.conn().prepare(sql).map_err(StoreError::db(context))?;
        let mut rows = stmt.query([start]).map_err(StoreError::db(context))?;
        let Some(row) = rows.next().map_err(StoreError::db(context))? else {
            return Ok(None);
        };
        let pos = row.get::<_, i64>(0).map_err(StoreError::db(context))? as u64;
        Ok(Some(Hit {
            id: row.get(1).map_err(StoreError::db(context))?,
            pos,
            ordinal: pos,
        }))
    }

    /// How the events `filter` keeps spread over `buckets` equal slices of their time span.
    pub fn histogram(&self, filter: &EventFilter, buckets: u32) -> Result<Histogram, StoreError> {
        let context = "building the time histogram";
        let (cond, args) = condition(filter);
        let buckets = buckets.max(1);
        // The timeline is in time order: its first and last kept rows give the span.
        let span_sql = format!(
            "SELECT (SELECT epoch_us(t.time) FROM timeline t WHERE {cond} ORDER BY t.pos LIMIT 1),
                    (SELECT epoch_us(t.time) FROM timeline t WHERE {cond} ORDER BY t.pos DESC LIMIT 1)"
        );
        let mut span_args = args.clone();
        span_args.extend(args.iter().cloned());
        let (lo, hi): (Option<i64>, Option<i64>) = self
            .conn()
            .query_row(&span_sql, params_from_iter(span_args.iter()), |r| {
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
                "SELECT (epoch_us(t.time) - ?) * ? // ?, count(*)
                 FROM timeline t WHERE {cond} GROUP BY 1"
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
