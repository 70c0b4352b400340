//! Building the timeline index (migration V004): the `timeline` table, every event's row in
//! investigation order with its position, and `timeline_marks`, the positions of the events the
//! analysis results point at. Both are derived data: ingest rebuilds them after loading, the
//! analysis rebuilds the marks with its results, and the V004 migration fills them for a store
//! written before they existed. Readers check that the index covers every event
//! ([`Store::timeline_index_events`]) so that a stale one is reported instead of shown.

use super::{Access, Store, StoreError};

/// Refills `timeline` from `events`. The rows are inserted in position order, which DuckDB keeps
/// as the storage order, so the zone maps of `pos` (and of `time`) are tight.
pub(in crate::store) const REBUILD_TIMELINE_SQL: &str = "
DELETE FROM timeline;
INSERT INTO timeline
SELECT row_number() OVER (ORDER BY time, source_id, seq) - 1 AS pos, id, time, source_id, seq,
       kind, actor, task, action, action_class, resource, destination, outcome, on_behalf_of,
       credential,
       lower(concat_ws(' ', id, kind, actor, task, action, resource, destination, target,
                       credential, outcome, content, intent, CAST(args AS VARCHAR)))
FROM events
ORDER BY pos;
";

/// Refills `timeline_marks` from the analysis tables and `timeline`.
pub(in crate::store) const REBUILD_MARKS_SQL: &str = "
DELETE FROM timeline_marks;
INSERT INTO timeline_marks
WITH cited AS (
    SELECT unnest(from_json(evidence, '[\"VARCHAR\"]')) AS event_id, severity_rank AS rank,
           false AS drift
    FROM findings
    UNION ALL SELECT event_id, NULL, true FROM drift_points
    UNION ALL SELECT cause_event_id, NULL, false FROM drift_points WHERE cause_event_id IS NOT NULL
    UNION ALL SELECT stopped_by, NULL, false FROM drift_points WHERE stopped_by IS NOT NULL
    UNION ALL SELECT shift_event_id, NULL, false FROM accountability
              WHERE shift_event_id IS NOT NULL
    UNION ALL SELECT unnest(from_json(evidence, '[\"VARCHAR\"]')), NULL, false FROM accountability),
marks AS (
    SELECT event_id, max(rank) AS rank, bool_or(drift) AS drift FROM cited GROUP BY event_id)
SELECT t.pos, t.id, m.rank, m.drift
FROM timeline t JOIN marks m ON m.event_id = t.id
ORDER BY t.pos;
";

/// DuckDB's memory while it rebuilds the index of a database file, in MiB.
const REBUILD_MEMORY_LIMIT_MIB: u32 = 1024;

impl Store {
    /// Rebuilds the timeline index from the stored events and analysis results, in one
    /// transaction. Ingest calls it once after loading its files; it reads every event once and
    /// sorts them, so it is not meant to run per file.
    pub fn rebuild_timeline_index(&mut self) -> Result<(), StoreError> {
        if self.access() != Access::ReadWrite {
            return Err(StoreError::Query(
                "the evidence database is open read-only".to_owned(),
            ));
        }
        // Sorting every event with its searched text would take DuckDB's default budget (80%
        // of the machine: 10 GB at ten million events); capped, the sort spills to the
        // database's temporary directory instead. An in-memory database cannot spill its own
        // tables, so it keeps the default.
        let capped = self.location() != ":memory:";
        if capped {
            self.limit_memory(REBUILD_MEMORY_LIMIT_MIB)?;
        }
        let script =
            format!("BEGIN TRANSACTION; {REBUILD_TIMELINE_SQL} {REBUILD_MARKS_SQL} COMMIT;");
        let result = self.conn().execute_batch(&script);
        if result.is_err() {
            let _ = self.conn().execute_batch("ROLLBACK");
        }
        if capped {
            let _ = self.conn().execute_batch("RESET memory_limit");
        }
        result.map_err(|source| StoreError::Db {
            context: "rebuilding the timeline index",
            source,
        })
    }

    /// Number of events in the timeline index, after checking that it covers every stored
    /// event (an ingest stopped between loading and indexing leaves it behind).
    pub fn timeline_index_events(&self) -> Result<u64, StoreError> {
        let (indexed, stored): (i64, i64) = self
            .conn()
            .query_row(
                "SELECT (SELECT count(*) FROM timeline), (SELECT count(*) FROM events)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(StoreError::db("checking the timeline index"))?;
        if indexed == stored {
            Ok(indexed as u64)
        } else {
            Err(StoreError::StaleIndex {
                indexed: indexed as u64,
                stored: stored as u64,
            })
        }
    }
}
