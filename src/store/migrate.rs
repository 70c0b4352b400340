//! Versioned schema: ordered SQL files embedded at compile time, applied in one transaction each.

use std::fmt::Write as _;
use std::path::Path;

use duckdb::Connection;

use super::StoreError;

/// Migrations in ascending version order; a database's version is the highest one applied.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/V001__init.sql")),
    (2, include_str!("migrations/V002__delegation_details.sql")),
    (3, include_str!("migrations/V003__analysis.sql")),
    (4, include_str!("migrations/V004__timeline_index.sql")),
    (5, include_str!("migrations/V005__instruction_spans.sql")),
];

/// How many migrations this build knows.
#[cfg(test)]
pub const MIGRATION_COUNT: usize = MIGRATIONS.len();

/// The schema version this build writes and reads: the last migration's.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

fn current_version(conn: &Connection) -> Result<Option<i64>, StoreError> {
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM information_schema.tables WHERE table_name = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .map_err(StoreError::db("reading the schema version"))?;
    if !exists {
        return Ok(None);
    }
    conn.query_row("SELECT max(version) FROM schema_version", [], |row| {
        row.get::<_, Option<i64>>(0)
    })
    .map_err(StoreError::db("reading the schema version"))
}

fn applied_versions(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    if current_version(conn)?.is_none() {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare("SELECT DISTINCT version FROM schema_version ORDER BY version")
        .map_err(StoreError::db("reading the schema version"))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .map_err(StoreError::db("reading the schema version"))?;
    rows.collect::<Result<_, _>>()
        .map_err(StoreError::db("reading the schema version"))
}

/// Applies every migration not yet recorded, in version order, all in one transaction.
pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let applied = applied_versions(conn)?;
    if let Some(&found) = applied.last()
        && found > SCHEMA_VERSION
    {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    // Every missing step in one transaction: a database is at one schema version or the next,
    // never in between, even if the process is killed part-way.
    let mut script = String::from(
        "BEGIN TRANSACTION;
         CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL, applied_at TIMESTAMP NOT NULL);\n",
    );
    let mut pending = 0;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
        script.push_str(sql);
        let _ = writeln!(
            script,
            "\nINSERT INTO schema_version VALUES ({version}, now()::TIMESTAMP);"
        );
        pending += 1;
    }
    if pending == 0 {
        return Ok(());
    }
    // Derived tables a migration adds are filled from what the database already holds, in the
    // same transaction (nothing to do for a new database).
    if !applied.contains(&4) {
        script.push_str(super::timeline_index::REBUILD_TIMELINE_SQL);
        script.push_str(super::timeline_index::REBUILD_MARKS_SQL);
    }
    script.push_str("COMMIT;");
    if let Err(source) = conn.execute_batch(&script) {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(StoreError::Db {
            context: "applying the schema migrations",
            source,
        });
    }
    Ok(())
}

pub(super) fn check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let applied = applied_versions(conn)?;
    match applied.last() {
        Some(&v) if v > SCHEMA_VERSION => Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: v,
            supported: SCHEMA_VERSION,
        }),
        _ if MIGRATIONS.iter().all(|(v, _)| applied.contains(v)) => Ok(()),
        _ => Err(StoreError::NeedsMigration {
            path: path.to_path_buf(),
            wanted: SCHEMA_VERSION,
        }),
    }
}
