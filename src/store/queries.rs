//! Named read queries, one file per area. They return model types or plain rows.

pub mod analysis;
pub mod console;
pub mod detail;
pub mod entities;
pub mod investigate;
pub mod page;
pub mod sources;
pub mod sql;
pub mod timeline;

use super::{Store, StoreError};
use crate::model::{ActionClass, parse_action_class};

impl Store {
    /// The manifest classification overrides already in the store, as (pattern, class).
    pub fn action_class_overrides(&self) -> Result<Vec<(String, ActionClass)>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT pattern, class FROM action_classes ORDER BY source_id, pattern")
            .map_err(StoreError::db("reading action classes"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(StoreError::db("reading action classes"))?;
        let mut out = Vec::new();
        for row in rows {
            let (pattern, class) = row.map_err(StoreError::db("reading action classes"))?;
            let class = parse_action_class(&class).ok_or_else(|| {
                StoreError::Inconsistent(format!("unknown action class `{class}` stored"))
            })?;
            out.push((pattern, class));
        }
        Ok(out)
    }

    /// Number of rows in the events table.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        self.conn()
            .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(StoreError::db("counting events"))
    }
}
