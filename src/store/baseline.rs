//! The engine's own JSON reader, as the benchmark's yardstick for ingest speed
//! (docs/benchmarks.md): DuckDB's `read_json` loading a JSON-lines file into a table of a fresh
//! database file, with no normalisation, no quarantine and no hashing.

use std::path::Path;

use duckdb::Connection;

use super::StoreError;

/// Loads `file` with `read_json` into table `t` of a new database at `db` and returns the row
/// count. This is not evidence ingest: it is what the bundled engine does on its own.
///
/// `maximum_depth = 1` keeps nested objects (`args`, `constraints`, `attributes`) as JSON, as
/// onus stores them; without it DuckDB infers structs from a sample of the file and fails on the
/// first argument name the sample did not contain.
pub fn duckdb_read_json(db: &Path, file: &Path) -> Result<u64, StoreError> {
    let conn = Connection::open(db).map_err(StoreError::db("opening the baseline database"))?;
    let path = file.display().to_string().replace('\'', "''");
    conn.execute_batch(&format!(
        "CREATE TABLE t AS SELECT * FROM read_json('{path}', format = 'newline_delimited', maximum_depth = 1)"
    ))
    .map_err(StoreError::db("loading with read_json"))?;
    conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(StoreError::db("counting baseline rows"))
}
