//! The `sources` table: one row per ingested file.

use chrono::DateTime;
use duckdb::params;
use serde::Serialize;

use crate::model::{Timestamp, format_time};
use crate::store::{Store, StoreError};

/// One ingested file with its hash and record counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRow {
    pub id: i32,
    pub path: String,
    pub format: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub records_read: u64,
    pub records_ok: u64,
    pub records_quarantined: u64,
    pub events_ingested: u64,
    #[serde(serialize_with = "ser_time")]
    pub ingested_at: Timestamp,
    pub tool_version: String,
}

fn ser_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
}

const COLUMNS: &str = "id, path, format, sha256, size_bytes, records_read, records_ok, \
    records_quarantined, events_ingested, epoch_us(ingested_at), tool_version";

fn map_row(r: &duckdb::Row<'_>) -> duckdb::Result<SourceRow> {
    let micros: i64 = r.get(9)?;
    Ok(SourceRow {
        id: r.get(0)?,
        path: r.get(1)?,
        format: r.get(2)?,
        sha256: r.get(3)?,
        size_bytes: r.get::<_, i64>(4)? as u64,
        records_read: r.get::<_, i64>(5)? as u64,
        records_ok: r.get::<_, i64>(6)? as u64,
        records_quarantined: r.get::<_, i64>(7)? as u64,
        events_ingested: r.get::<_, i64>(8)? as u64,
        ingested_at: DateTime::from_timestamp_micros(micros).unwrap_or_default(),
        tool_version: r.get(10)?,
    })
}

impl Store {
    /// Every source, oldest first.
    pub fn sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM sources ORDER BY id"))
            .map_err(StoreError::db("listing sources"))?;
        let rows = stmt
            .query_map([], map_row)
            .map_err(StoreError::db("listing sources"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db("listing sources"))
    }

    /// The source with this SHA-256, if one was ingested.
    pub fn source_by_sha256(&self, sha256: &str) -> Result<Option<SourceRow>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM sources WHERE sha256 = ?"))
            .map_err(StoreError::db("looking up a source"))?;
        let mut rows = stmt
            .query_map(params![sha256], map_row)
            .map_err(StoreError::db("looking up a source"))?;
        rows.next()
            .transpose()
            .map_err(StoreError::db("looking up a source"))
    }

    /// The first `limit` quarantined records of one source, in file order, as (locator, reason).
    pub fn quarantine_reasons(
        &self,
        source_id: i32,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        // Within one byte offset (the items of one document), the order they were met in: the
        // locators `L1.5` and `L1.11` do not sort as text.
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT locator, reason FROM quarantine WHERE source_id = ?
                 ORDER BY coalesce(byte_offset, 0), rowid LIMIT ?",
            )
            .map_err(StoreError::db("reading quarantine"))?;
        let rows = stmt
            .query_map(
                params![source_id, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(StoreError::db("reading quarantine"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db("reading quarantine"))
    }
}
