//! Running an investigator's own SQL against the evidence.

use crate::store::value::to_json;
use crate::store::{Access, Store, StoreError};

/// Column names of a query result, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryColumns(pub Vec<String>);

/// How a query run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryOutcome {
    /// Rows handed to the caller.
    pub rows: u64,
    /// True when the caller asked to stop before the last row.
    pub stopped_early: bool,
}

impl Store {
    /// Locks the connection down for untrusted SQL: no reading or writing files outside the
    /// database, no loading extensions. Irreversible for this connection.
    pub fn restrict_to_evidence(&self) -> Result<(), StoreError> {
        self.conn()
            .execute_batch("SET enable_external_access = false; SET lock_configuration = true;")
            .map_err(StoreError::db("restricting the connection"))
    }

    /// Runs one SQL statement, handing the column names to `on_columns` and then each row (as
    /// JSON values, with the column names again) to `on_row`, which returns `false` to stop early.
    ///
    /// On a store opened read-only, statements that write fail with DuckDB's own message. Text
    /// holding more than one statement is refused before anything runs (DuckDB would run all but
    /// the last while preparing, and show only the last one's rows).
    pub fn run_sql(
        &self,
        sql: &str,
        mut on_columns: impl FnMut(&QueryColumns),
        mut on_row: impl FnMut(&QueryColumns, Vec<serde_json::Value>) -> bool,
    ) -> Result<QueryOutcome, StoreError> {
        if self.access() == Access::ReadOnly && sql.trim().is_empty() {
            return Err(StoreError::Query("the query is empty".to_owned()));
        }
        if !super::console::is_single_statement(sql) {
            return Err(StoreError::Query(
                "one statement at a time, please (remove the extra `;`)".to_owned(),
            ));
        }
        let query_error = |e: duckdb::Error| {
            StoreError::Query(clean_message(&e)).at(std::path::Path::new(self.location()))
        };
        let mut stmt = self.conn().prepare(sql).map_err(query_error)?;
        let mut rows = stmt.query([]).map_err(query_error)?;
        let names = rows
            .as_ref()
            .map(duckdb::Statement::column_names)
            .unwrap_or_default();
        let width = names.len();
        let columns = QueryColumns(names);
        on_columns(&columns);
        let mut count = 0;
        while let Some(row) = rows.next().map_err(query_error)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                let value: duckdb::types::Value = row.get(i).map_err(query_error)?;
                values.push(to_json(value));
            }
            count += 1;
            if !on_row(&columns, values) {
                return Ok(QueryOutcome {
                    rows: count,
                    stopped_early: true,
                });
            }
        }
        Ok(QueryOutcome {
            rows: count,
            stopped_early: false,
        })
    }
}

/// DuckDB messages are multi-line with a JSON-ish preamble at times; keep them readable.
fn clean_message(e: &duckdb::Error) -> String {
    let text = e.to_string();
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
