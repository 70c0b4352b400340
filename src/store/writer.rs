//! Loading one source in one transaction.
//!
//! [`SourceWriter`] buffers rows through DuckDB appenders inside an explicit transaction. Only
//! [`SourceWriter::commit`] makes the source visible; dropping the writer (an error, a panic
//! unwinding, a cancelled ingest) rolls everything back. A killed process never commits, and
//! DuckDB discards the uncommitted transaction when the file is next opened.

use std::collections::BTreeMap;

use chrono::Utc;
use duckdb::types::{TimeUnit, Value};
use duckdb::{Appender, Connection, params};

use super::{Access, Store, StoreError};
use crate::model::{
    ActionClass, CredentialRecord, DelegationRecord, Event, GrantRecord, Origin, OwnerAssignment,
    PrincipalKind, QuarantineRecord, TaskRecord, Timestamp,
};

/// What is known about a file before its records are loaded.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub path: String,
    pub format: String,
    pub sha256: String,
    pub size_bytes: u64,
}

/// How many records a source had and where they went. `records_read` must equal
/// `records_ok + records_quarantined`; `events_ingested` may exceed `records_ok` when one record
/// holds several events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceCounts {
    pub records_read: u64,
    pub records_ok: u64,
    pub records_quarantined: u64,
    pub events_ingested: u64,
}

impl SourceCounts {
    /// True when every record read is accounted for.
    pub fn reconciles(&self) -> bool {
        self.records_read == self.records_ok + self.records_quarantined
    }
}

/// Writes the rows of one source inside one transaction.
pub struct SourceWriter<'a> {
    conn: &'a Connection,
    source_id: i32,
    meta: NewSource,
    events: Option<Appender<'a>>,
    quarantine: Option<Appender<'a>>,
    delegations: Option<Appender<'a>>,
    credentials: Option<Appender<'a>>,
    principals: BTreeMap<String, (PrincipalKind, Option<String>, Origin)>,
    tasks: Vec<TaskRecord>,
    grants: Vec<GrantRecord>,
    owners: Vec<OwnerAssignment>,
    policies: Vec<(String, serde_json::Value)>,
    action_classes: Vec<(String, ActionClass)>,
    events_written: u64,
    quarantined: u64,
    finished: bool,
}

impl Store {
    /// Starts loading a new source. Fails on a read-only store.
    pub fn begin_source(&mut self, meta: NewSource) -> Result<SourceWriter<'_>, StoreError> {
        if self.access != Access::ReadWrite {
            return Err(StoreError::Query(
                "the evidence database is open read-only".to_owned(),
            ));
        }
        let conn = &self.conn;
        conn.execute_batch("BEGIN TRANSACTION")
            .map_err(StoreError::db("starting a transaction"))?;
        let started = (|| {
            let source_id: i64 = conn
                .query_row("SELECT nextval('source_ids')", [], |r| r.get(0))
                .map_err(StoreError::db("allocating a source id"))?;
            let source_id = i32::try_from(source_id)
                .map_err(|_| StoreError::Inconsistent("source ids exhausted".to_owned()))?;
            let appender = |table: &'static str| {
                conn.appender(table)
                    .map_err(StoreError::db("opening an appender"))
            };
            Ok::<_, StoreError>((
                source_id,
                appender("events")?,
                appender("quarantine")?,
                appender("delegations")?,
                appender("credentials")?,
            ))
        })();
        match started {
            Ok((source_id, events, quarantine, delegations, credentials)) => Ok(SourceWriter {
                conn,
                source_id,
                meta,
                events: Some(events),
                quarantine: Some(quarantine),
                delegations: Some(delegations),
                credentials: Some(credentials),
                principals: BTreeMap::new(),
                tasks: Vec::new(),
                grants: Vec::new(),
                owners: Vec::new(),
                policies: Vec::new(),
                action_classes: Vec::new(),
                events_written: 0,
                quarantined: 0,
                finished: false,
            }),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

fn ts(t: Timestamp) -> Value {
    Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros())
}

fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, ts)
}

fn json_text(v: Option<&serde_json::Value>) -> Option<String> {
    v.map(serde_json::Value::to_string)
}

fn scope_json(scope: Option<&Vec<String>>) -> Option<String> {
    scope.map(|s| serde_json::Value::from(s.clone()).to_string())
}

fn missing_appender() -> StoreError {
    StoreError::Inconsistent("source writer used after it finished".to_owned())
}

impl SourceWriter<'_> {
    /// The id the source will have once committed.
    pub fn source_id(&self) -> i32 {
        self.source_id
    }

    /// Appends one event.
    pub fn event(&mut self, e: &Event) -> Result<(), StoreError> {
        let app = self.events.as_mut().ok_or_else(missing_appender)?;
        app.append_row(params![
            e.id,
            self.source_id,
            e.locator,
            e.seq as i64,
            ts(e.time),
            e.time_inferred,
            e.kind.as_str(),
            e.actor,
            e.actor_kind.map(PrincipalKind::as_str),
            e.on_behalf_of,
            e.task,
            e.session,
            e.source_event_id,
            e.action,
            e.action_class.map(ActionClass::as_str),
            e.class_source.as_str(),
            e.resource,
            e.destination,
            e.environment,
            e.credential,
            e.outcome.as_str(),
            e.target,
            e.target_kind.map(PrincipalKind::as_str),
            e.call_id,
            json_text(e.args.as_ref()),
            e.content,
            e.trust.map(crate::model::Trust::as_str),
            e.intent,
            json_text(e.constraints.as_ref()),
            scope_json(e.scope.as_ref()),
            e.decision.map(crate::model::Decision::as_str),
            opt_ts(e.expires_at),
            e.credential_type.map(crate::model::CredentialType::as_str),
            e.role.map(crate::model::OwnerRole::as_str),
            e.owner,
            e.grant,
            e.status,
            e.policy,
            e.attributes
                .as_ref()
                .map(|a| serde_json::Value::Object(a.clone()).to_string()),
            e.raw,
        ])
        .map_err(StoreError::db("appending an event"))?;
        self.events_written += 1;
        Ok(())
    }

    /// Keeps a record that could not be normalised.
    pub fn quarantine(&mut self, q: &QuarantineRecord) -> Result<(), StoreError> {
        let app = self.quarantine.as_mut().ok_or_else(missing_appender)?;
        app.append_row(params![
            q.id,
            self.source_id,
            q.locator,
            q.byte_offset.map(|o| o as i64),
            q.reason,
            q.raw,
            q.raw_bytes as i64,
            q.raw_truncated,
        ])
        .map_err(StoreError::db("appending a quarantine record"))?;
        self.quarantined += 1;
        Ok(())
    }

    /// Records a delegation edge.
    pub fn delegation(&mut self, d: &DelegationRecord) -> Result<(), StoreError> {
        let app = self.delegations.as_mut().ok_or_else(missing_appender)?;
        app.append_row(params![
            d.delegator,
            d.delegate,
            d.kind.as_str(),
            d.task,
            scope_json(d.scope.as_ref()),
            json_text(d.constraints.as_ref()),
            ts(d.at),
            opt_ts(d.expires_at),
            self.source_id,
            d.event_id,
            json_text(d.details.as_ref()),
        ])
        .map_err(StoreError::db("appending a delegation"))
    }

    /// Records a credential.
    pub fn credential(&mut self, c: &CredentialRecord) -> Result<(), StoreError> {
        let app = self.credentials.as_mut().ok_or_else(missing_appender)?;
        app.append_row(params![
            c.credential_id,
            c.holder,
            c.issuer,
            c.credential_type.map(crate::model::CredentialType::as_str),
            opt_ts(c.issued_at),
            opt_ts(c.expires_at),
            scope_json(c.scope.as_ref()),
            c.task,
            c.origin.as_str(),
            self.source_id,
            c.event_id,
        ])
        .map_err(StoreError::db("appending a credential"))
    }

    /// Notes a principal. Later notes of the same id refine an `unknown` kind or a missing name;
    /// a manifest declaration wins over what logs say.
    pub fn principal(&mut self, id: &str, kind: PrincipalKind, name: Option<&str>, origin: Origin) {
        let entry = self
            .principals
            .entry(id.to_owned())
            .or_insert((kind, None, origin));
        let manifest_kind = entry.2 == Origin::Manifest && entry.0 != PrincipalKind::Unknown;
        if kind != PrincipalKind::Unknown && (!manifest_kind || origin == Origin::Manifest) {
            entry.0 = kind;
        }
        if origin == Origin::Manifest {
            entry.2 = Origin::Manifest;
        }
        if let Some(name) = name {
            entry.1 = Some(name.to_owned());
        }
    }

    pub fn task(&mut self, t: TaskRecord) {
        self.tasks.push(t);
    }

    pub fn grant(&mut self, g: GrantRecord) {
        self.grants.push(g);
    }

    pub fn owner_assignment(&mut self, o: OwnerAssignment) {
        self.owners.push(o);
    }

    pub fn policy(&mut self, key: String, value: serde_json::Value) {
        self.policies.push((key, value));
    }

    pub fn action_class(&mut self, pattern: String, class: ActionClass) {
        self.action_classes.push((pattern, class));
    }

    /// Finishes the source: flushes every row, checks that the counts reconcile, records the
    /// source row and commits. `counts.events_ingested` and `counts.records_quarantined` are
    /// taken from what was actually written.
    pub fn commit(mut self, mut counts: SourceCounts) -> Result<(i32, SourceCounts), StoreError> {
        counts.events_ingested = self.events_written;
        counts.records_quarantined = self.quarantined;
        if !counts.reconciles() {
            return Err(StoreError::Inconsistent(format!(
                "{}: {} records read but {} normalised and {} quarantined",
                self.meta.path, counts.records_read, counts.records_ok, counts.records_quarantined
            )));
        }
        for app in [
            self.events.as_mut(),
            self.quarantine.as_mut(),
            self.delegations.as_mut(),
            self.credentials.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            app.flush().map_err(StoreError::db("flushing rows"))?;
        }
        self.events = None;
        self.quarantine = None;
        self.delegations = None;
        self.credentials = None;
        self.write_entities()?;
        self.write_source_row(&counts)?;
        if !self.action_classes.is_empty() {
            self.reclassify()?;
        }
        self.conn
            .execute_batch("COMMIT")
            .map_err(StoreError::db("committing the source"))?;
        self.finished = true;
        Ok((self.source_id, counts))
    }

    /// Upserts the principals seen in this source, many rows per statement: a CloudTrail log has
    /// a role session per task, and one prepared INSERT per principal cost more than the rest of
    /// the ingest.
    fn write_principals(&self) -> Result<(), StoreError> {
        const PRINCIPALS_PER_INSERT: usize = 500;
        let conn = self.conn;
        let upsert = |n: usize| {
            format!(
                "INSERT INTO principals VALUES {} ON CONFLICT (id) DO UPDATE SET
                   kind = CASE
                     WHEN excluded.kind = 'unknown' THEN principals.kind
                     WHEN principals.origin = 'manifest' AND principals.kind <> 'unknown'
                          AND excluded.origin <> 'manifest' THEN principals.kind
                     ELSE excluded.kind END,
                   name = coalesce(excluded.name, principals.name),
                   origin = CASE WHEN excluded.origin = 'manifest' THEN 'manifest' ELSE principals.origin END",
                vec!["(?, ?, ?, ?)"; n].join(", ")
            )
        };
        let all: Vec<_> = self.principals.iter().collect();
        for chunk in all.chunks(PRINCIPALS_PER_INSERT) {
            let mut values: Vec<duckdb::types::Value> = Vec::with_capacity(chunk.len() * 4);
            for (id, (kind, name, origin)) in chunk {
                values.push(duckdb::types::Value::Text((*id).clone()));
                values.push(duckdb::types::Value::Text(kind.as_str().to_owned()));
                values.push(name.as_ref().map_or(duckdb::types::Value::Null, |n| {
                    duckdb::types::Value::Text(n.clone())
                }));
                values.push(duckdb::types::Value::Text(origin.as_str().to_owned()));
            }
            conn.execute(&upsert(chunk.len()), duckdb::params_from_iter(values))
                .map_err(StoreError::db("writing principals"))?;
        }
        Ok(())
    }

    fn write_entities(&self) -> Result<(), StoreError> {
        let conn = self.conn;
        let sid = self.source_id;
        self.write_principals()?;
        // Tasks go through an appender: a log declares one per `task.start`, so there can be
        // as many as there are tasks, and a prepared INSERT per row costs far more than the row.
        let mut tasks = conn
            .appender("tasks")
            .map_err(StoreError::db("opening the tasks appender"))?;
        for t in &self.tasks {
            let constraints = t
                .constraints
                .as_ref()
                .map(|c| serde_json::to_string(c).unwrap_or_default());
            tasks
                .append_row(params![
                    t.task_id,
                    t.origin.as_str(),
                    t.agent,
                    t.intent,
                    constraints,
                    opt_ts(t.declared_at),
                    sid,
                    t.event_id
                ])
                .map_err(StoreError::db("writing a task"))?;
        }
        tasks.flush().map_err(StoreError::db("writing the tasks"))?;
        drop(tasks);
        let mut stmt = conn
            .prepare("INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .map_err(StoreError::db("preparing grants"))?;
        for g in &self.grants {
            stmt.execute(params![
                g.grant_id,
                g.principal,
                scope_json(g.scope.as_ref()),
                g.approved_by,
                opt_ts(g.valid_from),
                opt_ts(g.valid_until),
                g.origin.as_str(),
                sid,
                g.event_id
            ])
            .map_err(StoreError::db("writing a grant"))?;
        }
        let mut stmt = conn
            .prepare("INSERT INTO owner_assignments VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .map_err(StoreError::db("preparing owner assignments"))?;
        for o in &self.owners {
            stmt.execute(params![
                o.subject,
                o.role.as_str(),
                o.owner,
                opt_ts(o.valid_from),
                opt_ts(o.valid_until),
                o.origin.as_str(),
                sid,
                o.event_id
            ])
            .map_err(StoreError::db("writing an owner assignment"))?;
        }
        let mut stmt = conn
            .prepare("INSERT INTO policies VALUES (?, ?, ?)")
            .map_err(StoreError::db("preparing policies"))?;
        for (key, value) in &self.policies {
            stmt.execute(params![key, value.to_string(), sid])
                .map_err(StoreError::db("writing a policy"))?;
        }
        let mut stmt = conn
            .prepare("INSERT INTO action_classes VALUES (?, ?, ?)")
            .map_err(StoreError::db("preparing action classes"))?;
        for (pattern, class) in &self.action_classes {
            stmt.execute(params![pattern, class.as_str(), sid])
                .map_err(StoreError::db("writing an action class"))?;
        }
        Ok(())
    }

    fn write_source_row(&self, c: &SourceCounts) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    self.source_id,
                    self.meta.path,
                    self.meta.format,
                    self.meta.sha256,
                    self.meta.size_bytes as i64,
                    c.records_read as i64,
                    c.records_ok as i64,
                    c.records_quarantined as i64,
                    c.events_ingested as i64,
                    ts(Utc::now()),
                    crate::VERSION,
                ],
            )
            .map_err(StoreError::db("recording the source"))?;
        Ok(())
    }

    /// Applies new manifest classifications to events classified only by heuristic or not at
    /// all, whatever order the manifest and the logs were ingested in.
    fn reclassify(&self) -> Result<(), StoreError> {
        let mut exact = self
            .conn
            .prepare(
                "UPDATE events SET action_class = ?, class_source = 'manifest'
                 WHERE class_source IN ('heuristic', 'none') AND action = ?",
            )
            .map_err(StoreError::db("preparing reclassification"))?;
        let mut prefix = self
            .conn
            .prepare(
                "UPDATE events SET action_class = ?, class_source = 'manifest'
                 WHERE class_source IN ('heuristic', 'none') AND starts_with(action, ?)",
            )
            .map_err(StoreError::db("preparing reclassification"))?;
        // Exact patterns last, so they win over a wildcard that also matches.
        for (pattern, class) in self.action_classes.iter().filter(|(p, _)| p.ends_with('*')) {
            let stem = pattern.trim_end_matches('*');
            prefix
                .execute(params![class.as_str(), stem])
                .map_err(StoreError::db("reclassifying events"))?;
        }
        for (pattern, class) in self
            .action_classes
            .iter()
            .filter(|(p, _)| !p.ends_with('*'))
        {
            exact
                .execute(params![class.as_str(), pattern])
                .map_err(StoreError::db("reclassifying events"))?;
        }
        Ok(())
    }
}

impl Drop for SourceWriter<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Appenders flush when dropped; drop them while the transaction is still open so their
        // rows are rolled back with it rather than auto-committed.
        self.events = None;
        self.quarantine = None;
        self.delegations = None;
        self.credentials = None;
        let _ = self.conn.execute_batch("ROLLBACK");
    }
}
