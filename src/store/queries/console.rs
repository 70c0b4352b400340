//! The interactive SQL console: one statement, a bounded number of rows, and no lasting effect.
//!
//! The statement runs inside a transaction that is always rolled back, so even on a database
//! opened for writing (the in-memory database of `onus tui PATH...`) it cannot change the
//! evidence. DuckDB's `prepare` runs every statement but the last one of a script by itself,
//! which would escape the transaction (`COMMIT; DELETE ...`), so a script of more than one
//! statement is refused before anything runs. Combined with [`Store::restrict_to_evidence`] it cannot touch other files either.

use serde_json::Value as Json;

use crate::store::{Store, StoreError};

/// What a console statement returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsoleResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Json>>,
    /// True when more rows existed than were kept.
    pub truncated: bool,
}

/// How to run a console statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleRun {
    /// Rows kept at most; the rest are not read.
    pub max_rows: usize,
}

impl Store {
    /// Runs one statement of investigator SQL and rolls back whatever it did.
    pub fn run_console_sql(&self, sql: &str, run: ConsoleRun) -> Result<ConsoleResult, StoreError> {
        if sql.trim().is_empty() {
            return Err(StoreError::Query("the query is empty".to_owned()));
        }
        self.conn()
            .execute_batch("BEGIN TRANSACTION")
            .map_err(StoreError::db("starting a console transaction"))?;
        let mut out = ConsoleResult::default();
        let result = self.run_sql(
            sql,
            |c| out.columns.clone_from(&c.0),
            |_, row| {
                if out.rows.len() >= run.max_rows {
                    out.truncated = true;
                    return false;
                }
                out.rows.push(row);
                true
            },
        );
        // The statement may itself have ended the transaction (COMMIT, ROLLBACK); then there
        // is nothing left to roll back and the error is expected.
        let _ = self.conn().execute_batch("ROLLBACK");
        result.map(|_| out)
    }
}

/// Whether `sql` holds exactly one statement. Decided conservatively: the text is split on `;`
/// outside strings, quoted identifiers, dollar quotes and comments under every plausible lexing
/// (backslash escapes in strings or not, nested block comments or not), and must give one
/// statement under all of them. Unterminated strings or comments count as "not single".
pub(crate) fn is_single_statement(sql: &str) -> bool {
    [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .all(|(backslash, nested)| statement_count(sql, backslash, nested) == Some(1))
}

/// Number of non-empty statements, or `None` when a string or comment is left open.
fn statement_count(sql: &str, backslash_escapes: bool, nested_comments: bool) -> Option<usize> {
    let chars: Vec<char> = sql.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut count = 0;
    let mut content = false;
    let mut i = 0;
    while let Some(c) = at(i) {
        i += 1;
        match c {
            '-' if at(i) == Some('-') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '/' if at(i) == Some('*') => {
                i += 1;
                let mut depth = 1;
                loop {
                    match (at(i)?, at(i + 1)) {
                        ('*', Some('/')) => {
                            i += 2;
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ('/', Some('*')) if nested_comments => {
                            i += 2;
                            depth += 1;
                        }
                        _ => i += 1,
                    }
                }
            }
            '\'' | '"' => {
                content = true;
                loop {
                    let d = at(i)?;
                    i += 1;
                    if d == '\\' && backslash_escapes && c == '\'' {
                        i += 1;
                    } else if d == c {
                        if at(i) == Some(c) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            '$' => {
                content = true;
                let tag_end = (i..chars.len())
                    .take_while(|&j| chars[j].is_alphanumeric() || chars[j] == '_')
                    .last()
                    .map_or(i, |j| j + 1);
                let tag_is_number = chars[i..tag_end].first().is_some_and(char::is_ascii_digit);
                if at(tag_end) == Some('$') && !tag_is_number {
                    let tag: String = chars[i - 1..=tag_end].iter().collect();
                    let rest: String = chars[tag_end + 1..].iter().collect();
                    let close = rest.find(&tag)?;
                    i = tag_end + 1 + rest[..close].chars().count() + tag.chars().count();
                }
            }
            ';' => {
                if content {
                    count += 1;
                }
                content = false;
            }
            c if c.is_whitespace() => {}
            _ => content = true,
        }
    }
    if content {
        count += 1;
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::is_single_statement;

    #[test]
    fn only_single_statements_pass() {
        for ok in [
            "SELECT 1",
            "SELECT 1;",
            "SELECT ';' AS semi -- trailing; comment",
            "SELECT 'it''s; fine' /* ; */",
            "SELECT \"a;b\" FROM t;  ",
            "SELECT $$;$$",
            "SELECT $1",
        ] {
            assert!(is_single_statement(ok), "{ok}");
        }
        for bad in [
            "COMMIT; DELETE FROM events",
            "SELECT 1; SELECT 2",
            "SELECT E'\\''; DELETE FROM events; --'",
            "SELECT 'open",
            "/* open",
            "SELECT $x$ ; ",
            "",
        ] {
            assert!(!is_single_statement(bad), "{bad}");
        }
    }
}
