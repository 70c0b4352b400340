//! Reading back the entities derived at ingest: principals, delegations, credentials, grants,
//! owner assignments, tasks and policy. Analysis builds on these.

use chrono::DateTime;
use duckdb::Row;
use duckdb::types::Value;

use crate::model::{
    Constraints, CredentialRecord, CredentialType, DelegationKind, DelegationRecord, GrantRecord,
    Origin, OwnerAssignment, OwnerRole, PrincipalKind, PrincipalRecord, TaskRecord, Timestamp,
};
use crate::store::{Store, StoreError};

fn time(micros: Option<i64>) -> Option<Timestamp> {
    micros.and_then(DateTime::from_timestamp_micros)
}

fn scope(text: Option<String>) -> Option<Vec<String>> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

fn origin(text: &str) -> Origin {
    Origin::parse(text).unwrap_or(Origin::Event)
}

/// A use of a credential held by someone else: the actor acted with the holder's authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialUse {
    pub actor: String,
    pub holder: String,
    pub credential_id: String,
    pub first_use: Timestamp,
    pub task: Option<String>,
    /// The events that used it, in time order.
    pub event_ids: Vec<String>,
}

/// Every hand-off of one kind from one principal to another, counted: what the delegation
/// graph shows when it is too big to hold edge by edge (see [`Store::hand_off_summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOffSummary {
    /// `task_request`, a delegation kind (`handoff`, `assume_role`, `impersonation`,
    /// `credential_issue` for a delegation record or a credential), or `credential_use`.
    pub kind: String,
    pub from: String,
    pub to: String,
    pub first_at: Timestamp,
    pub count: u64,
    /// Every one of them carried constraints (only meaningful for hand-offs).
    pub constrained: bool,
    /// The first of them, as evidence.
    pub event_id: Option<String>,
    /// They belong to no task (a pair has one row for its tasked records and one for the rest).
    pub untasked: bool,
}

/// A `task.start` as the graph needs it: who started which task for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStart {
    pub task: String,
    pub agent: String,
    pub on_behalf_of: Option<String>,
    pub at: Timestamp,
    pub event_id: String,
}

/// How far before a task's declaration its records are looked for (see [`TaskSlice`]).
const CLOCK_SKEW_MICROS: i64 = 3_600_000_000;

/// The records of one task up to a time: what a chain of authority inside that task is built
/// from, without reading every task's records (see `GraphInputs::load_for_task`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSlice<'a> {
    pub task: &'a str,
    /// Records after this time do not matter (the chain is asked as of it).
    pub until: Timestamp,
    /// When the task was declared (the earliest declaration), if known: its events are looked
    /// for from an hour before it. `None` looks from the start of the timeline.
    pub since: Option<Timestamp>,
}

impl TaskSlice<'_> {
    /// The condition on a table's `column` of task ids, and its parameter.
    fn condition(slice: Option<&Self>, column: &str) -> (String, Vec<Value>) {
        match slice {
            None => ("TRUE".to_owned(), Vec::new()),
            Some(s) => (
                format!("{column} = ?"),
                vec![Value::Text(s.task.to_owned())],
            ),
        }
    }

    /// Where the events of a slice are read: all of `events`, or the time-sorted timeline index
    /// cut to the task's time span (a range of row groups instead of every event).
    fn events(slice: Option<&Self>) -> (String, Vec<Value>) {
        let Some(s) = slice else {
            return ("events e WHERE TRUE".to_owned(), Vec::new());
        };
        let since = s.since.map(|t| t.timestamp_micros());
        // Literal bounds, so that DuckDB prunes row groups by the zone maps of `time`. The task's
        // records start with its declaration; an hour before it allows for clocks that disagree
        // between sources.
        let until = s.until.timestamp_micros();
        let since = since.map_or(String::new(), |t| {
            let t = t.saturating_sub(CLOCK_SKEW_MICROS);
            format!(" AND e.time >= make_timestamp({t})")
        });
        (
            format!("timeline e WHERE e.task = ? AND e.time <= make_timestamp({until}){since}"),
            vec![Value::Text(s.task.to_owned())],
        )
    }
}

impl Store {
    fn collect<T>(
        &self,
        sql: &str,
        context: &'static str,
        map: impl FnMut(&Row<'_>) -> duckdb::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.collect_with(sql, &[], context, map)
    }

    fn collect_with<T>(
        &self,
        sql: &str,
        params: &[Value],
        context: &'static str,
        map: impl FnMut(&Row<'_>) -> duckdb::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn().prepare(sql).map_err(StoreError::db(context))?;
        let rows = stmt
            .query_map(duckdb::params_from_iter(params.iter()), map)
            .map_err(StoreError::db(context))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::db(context))
    }

    /// Every principal.
    pub fn principals(&self) -> Result<Vec<PrincipalRecord>, StoreError> {
        self.collect(
            "SELECT id, kind, name, origin FROM principals ORDER BY id",
            "reading principals",
            |r| {
                Ok(PrincipalRecord {
                    id: r.get(0)?,
                    kind: PrincipalKind::parse(&r.get::<_, String>(1)?)
                        .unwrap_or(PrincipalKind::Unknown),
                    name: r.get(2)?,
                    origin: origin(&r.get::<_, String>(3)?),
                })
            },
        )
    }

    /// Every delegation, oldest first.
    pub fn delegations(&self) -> Result<Vec<DelegationRecord>, StoreError> {
        self.delegations_in(None)
    }

    /// The delegations of every task, or of one.
    pub fn delegations_in(
        &self,
        slice: Option<&TaskSlice<'_>>,
    ) -> Result<Vec<DelegationRecord>, StoreError> {
        let (cond, params) = TaskSlice::condition(slice, "task");
        self.collect_with(
            &format!(
                "SELECT delegator, delegate, kind, task, scope::VARCHAR, constraints::VARCHAR,
                        epoch_us(delegated_at), epoch_us(expires_at), event_id, details::VARCHAR
                 FROM delegations WHERE {cond} ORDER BY delegated_at, event_id"
            ),
            &params,
            "reading delegations",
            |r| {
                Ok(DelegationRecord {
                    delegator: r.get(0)?,
                    delegate: r.get(1)?,
                    kind: DelegationKind::parse(&r.get::<_, String>(2)?)
                        .unwrap_or(DelegationKind::Handoff),
                    task: r.get(3)?,
                    scope: scope(r.get(4)?),
                    constraints: r
                        .get::<_, Option<String>>(5)?
                        .and_then(|t| serde_json::from_str(&t).ok()),
                    at: time(r.get(6)?).unwrap_or_default(),
                    expires_at: time(r.get(7)?),
                    event_id: r.get(8)?,
                    details: r
                        .get::<_, Option<String>>(9)?
                        .and_then(|t| serde_json::from_str(&t).ok()),
                })
            },
        )
    }

    /// Every credential issued or declared.
    pub fn credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        self.credentials_in(None)
    }

    /// The credentials of every task, or of one.
    pub fn credentials_in(
        &self,
        slice: Option<&TaskSlice<'_>>,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let (cond, params) = TaskSlice::condition(slice, "task");
        self.collect_with(
            &format!(
                "SELECT credential_id, holder, issuer, credential_type, epoch_us(issued_at),
                        epoch_us(expires_at), scope::VARCHAR, task, origin, event_id
                 FROM credentials WHERE {cond} ORDER BY credential_id, issued_at NULLS FIRST"
            ),
            &params,
            "reading credentials",
            |r| {
                Ok(CredentialRecord {
                    credential_id: r.get(0)?,
                    holder: r.get(1)?,
                    issuer: r.get(2)?,
                    credential_type: r
                        .get::<_, Option<String>>(3)?
                        .and_then(|t| CredentialType::parse(&t)),
                    issued_at: time(r.get(4)?),
                    expires_at: time(r.get(5)?),
                    scope: scope(r.get(6)?),
                    task: r.get(7)?,
                    origin: origin(&r.get::<_, String>(8)?),
                    event_id: r.get(9)?,
                })
            },
        )
    }

    /// Every grant given.
    pub fn grants(&self) -> Result<Vec<GrantRecord>, StoreError> {
        self.collect(
            "SELECT grant_id, principal, scope::VARCHAR, approved_by, epoch_us(valid_from),
                    epoch_us(valid_until), origin, event_id
             FROM grants ORDER BY principal, grant_id",
            "reading grants",
            |r| {
                Ok(GrantRecord {
                    grant_id: r.get(0)?,
                    principal: r.get(1)?,
                    scope: scope(r.get(2)?),
                    approved_by: r.get(3)?,
                    valid_from: time(r.get(4)?),
                    valid_until: time(r.get(5)?),
                    origin: origin(&r.get::<_, String>(6)?),
                    event_id: r.get(7)?,
                })
            },
        )
    }

    /// Every owner assignment.
    pub fn owner_assignments(&self) -> Result<Vec<OwnerAssignment>, StoreError> {
        self.collect(
            "SELECT subject, role, owner, epoch_us(valid_from), epoch_us(valid_until), origin,
                    event_id
             FROM owner_assignments ORDER BY subject, role, valid_from NULLS FIRST",
            "reading owner assignments",
            |r| {
                Ok(OwnerAssignment {
                    subject: r.get(0)?,
                    role: OwnerRole::parse(&r.get::<_, String>(1)?)
                        .unwrap_or(OwnerRole::BusinessOwner),
                    owner: r.get(2)?,
                    valid_from: time(r.get(3)?),
                    valid_until: time(r.get(4)?),
                    origin: origin(&r.get::<_, String>(5)?),
                    event_id: r.get(6)?,
                })
            },
        )
    }

    /// Every task declaration (manifest and `task.start`).
    pub fn tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        self.tasks_in(None)
    }

    /// The declarations of every task, or of one.
    pub fn tasks_in(&self, slice: Option<&TaskSlice<'_>>) -> Result<Vec<TaskRecord>, StoreError> {
        let (cond, params) = TaskSlice::condition(slice, "task_id");
        self.collect_with(
            &format!(
                "SELECT task_id, origin, agent, intent, constraints::VARCHAR,
                        epoch_us(declared_at), event_id
                 FROM tasks WHERE {cond} ORDER BY task_id, origin, declared_at NULLS FIRST"
            ),
            &params,
            "reading tasks",
            |r| {
                Ok(TaskRecord {
                    task_id: r.get(0)?,
                    origin: origin(&r.get::<_, String>(1)?),
                    agent: r.get(2)?,
                    intent: r.get(3)?,
                    constraints: r
                        .get::<_, Option<String>>(4)?
                        .and_then(|t| serde_json::from_str::<Constraints>(&t).ok()),
                    declared_at: time(r.get(5)?),
                    event_id: r.get(6)?,
                })
            },
        )
    }

    /// The organisation policy keys, as JSON values (last manifest wins).
    pub fn policy(&self) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        self.collect(
            "SELECT key, value::VARCHAR FROM policies ORDER BY source_id, key",
            "reading policy",
            |r| {
                let value: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    serde_json::from_str(&value).unwrap_or(serde_json::Value::Null),
                ))
            },
        )
    }

    /// Uses of credentials (in `tool.call` and `auth` events) by someone other than their
    /// holder, grouped per actor, credential and task.
    pub fn credential_uses(&self) -> Result<Vec<CredentialUse>, StoreError> {
        self.credential_uses_in(None)
    }

    /// The credential uses of every task, or of one.
    pub fn credential_uses_in(
        &self,
        slice: Option<&TaskSlice<'_>>,
    ) -> Result<Vec<CredentialUse>, StoreError> {
        let (events, params) = TaskSlice::events(slice);
        // For one task, only the credentials its events used are joined (not every credential).
        let credentials = if slice.is_some() {
            "SELECT DISTINCT credential_id, holder FROM credentials
             WHERE holder IS NOT NULL AND credential_id IN (SELECT credential FROM e)"
        } else {
            "SELECT DISTINCT credential_id, holder FROM credentials WHERE holder IS NOT NULL"
        };
        self.collect_with(
            &format!(
                "WITH e AS (SELECT e.actor, e.credential, e.time, e.seq, e.task, e.id, e.kind
                            FROM {events}),
                      c AS ({credentials})
                 SELECT e.actor, c.holder, e.credential, min(epoch_us(e.time)), e.task,
                        list(e.id ORDER BY e.time, e.seq)
                 FROM e JOIN c ON c.credential_id = e.credential
                 WHERE c.holder <> e.actor AND e.kind IN ('tool.call', 'auth')
                 GROUP BY e.actor, c.holder, e.credential, e.task
                 ORDER BY 4, 1"
            ),
            &params,
            "reading credential uses",
            |r| {
                Ok(CredentialUse {
                    actor: r.get(0)?,
                    holder: r.get(1)?,
                    credential_id: r.get(2)?,
                    first_use: time(r.get(3)?).unwrap_or_default(),
                    task: r.get(4)?,
                    event_ids: list_of_strings(r, 5)?,
                })
            },
        )
    }

    /// The graph's edges counted per (kind, from, to, whether they belong to a task), in order
    /// of their first occurrence. Bounded by the number of principal pairs, not by the number
    /// of tasks or events.
    pub fn hand_off_summary(&self) -> Result<Vec<HandOffSummary>, StoreError> {
        self.collect(
            "SELECT 'task_request', on_behalf_of, actor, min(epoch_us(time)), count(*), true,
                    min(id), false
             FROM events
             WHERE kind = 'task.start' AND task IS NOT NULL AND on_behalf_of IS NOT NULL
               AND on_behalf_of <> actor
             GROUP BY on_behalf_of, actor
             UNION ALL
             SELECT kind, delegator, delegate, min(epoch_us(delegated_at)), count(*),
                    bool_and(constraints IS NOT NULL
                             AND CAST(constraints AS VARCHAR) NOT IN ('null', '{}')),
                    min(event_id), task IS NULL
             FROM delegations GROUP BY kind, delegator, delegate, task IS NULL
             UNION ALL
             SELECT 'credential_issue', issuer, holder, min(epoch_us(issued_at)), count(*), true,
                    min(event_id), task IS NULL
             FROM credentials
             WHERE issuer IS NOT NULL AND holder IS NOT NULL AND issued_at IS NOT NULL
             GROUP BY issuer, holder, task IS NULL
             UNION ALL
             SELECT 'credential_use', e.actor, c.holder, min(epoch_us(e.time)), count(*), true,
                    min(e.id), e.task IS NULL
             FROM events e
             JOIN (SELECT DISTINCT credential_id, holder FROM credentials WHERE holder IS NOT NULL) c
               ON c.credential_id = e.credential
             WHERE c.holder <> e.actor AND e.kind IN ('tool.call', 'auth')
             GROUP BY e.actor, c.holder, e.task IS NULL
             ORDER BY 4, 2, 3, 1, 8",
            "summarising the hand-offs",
            |r| {
                Ok(HandOffSummary {
                    kind: r.get(0)?,
                    from: r.get(1)?,
                    to: r.get(2)?,
                    first_at: time(r.get(3)?).unwrap_or_default(),
                    count: r.get::<_, i64>(4)? as u64,
                    constrained: r.get(5)?,
                    event_id: r.get(6)?,
                    untasked: r.get(7)?,
                })
            },
        )
    }

    /// Rows the full delegation graph would be built from (delegations, credentials and tasks),
    /// read from the tables' sizes without a scan.
    pub fn graph_input_rows(&self) -> Result<u64, StoreError> {
        self.conn()
            .query_row(
                "SELECT (SELECT count(*) FROM delegations) + (SELECT count(*) FROM credentials)
                        + (SELECT count(*) FROM tasks)",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(StoreError::db("sizing the delegation graph"))
    }

    /// Every `task.start` event.
    pub fn task_starts(&self) -> Result<Vec<TaskStart>, StoreError> {
        self.task_starts_in(None)
    }

    /// The `task.start` events of every task, or of one.
    pub fn task_starts_in(
        &self,
        slice: Option<&TaskSlice<'_>>,
    ) -> Result<Vec<TaskStart>, StoreError> {
        let (events, params) = TaskSlice::events(slice);
        self.collect_with(
            &format!(
                "SELECT e.task, e.actor, e.on_behalf_of, epoch_us(e.time), e.id FROM {events}
                   AND e.kind = 'task.start' AND e.task IS NOT NULL ORDER BY e.time, e.seq"
            ),
            &params,
            "reading task starts",
            |r| {
                Ok(TaskStart {
                    task: r.get(0)?,
                    agent: r.get(1)?,
                    on_behalf_of: r.get(2)?,
                    at: time(r.get(3)?).unwrap_or_default(),
                    event_id: r.get(4)?,
                })
            },
        )
    }
}

/// Reads a `VARCHAR[]` column.
fn list_of_strings(r: &Row<'_>, idx: usize) -> duckdb::Result<Vec<String>> {
    let value: duckdb::types::Value = r.get(idx)?;
    Ok(match value {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|v| match v {
                duckdb::types::Value::Text(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// An action as the graph and the analyses need it: a `tool.call` with the outcome of its
/// result when the call itself does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRow {
    pub event_id: String,
    pub at: Timestamp,
    pub actor: String,
    pub task: Option<String>,
    pub action: String,
    pub credential: Option<String>,
    pub outcome: String,
}

impl Store {
    /// Every `tool.call` with an action, in time order, with its effective outcome.
    pub fn actions(&self) -> Result<Vec<ActionRow>, StoreError> {
        self.collect(
            "SELECT c.id, epoch_us(c.time), c.actor, c.task, c.action, c.credential,
                    CASE WHEN c.outcome <> 'unknown' THEN c.outcome
                         ELSE coalesce(r.outcome, 'unknown') END
             FROM events c
             LEFT JOIN (
                 SELECT call_id, actor, min(outcome) AS outcome FROM events
                 WHERE kind = 'tool.result' AND call_id IS NOT NULL AND outcome <> 'unknown'
                 GROUP BY call_id, actor
             ) r ON r.call_id = c.call_id AND r.actor = c.actor
             WHERE c.kind = 'tool.call' AND c.action IS NOT NULL
             ORDER BY c.time, c.source_id, c.seq",
            "reading actions",
            |r| {
                Ok(ActionRow {
                    event_id: r.get(0)?,
                    at: time(r.get(1)?).unwrap_or_default(),
                    actor: r.get(2)?,
                    task: r.get(3)?,
                    action: r.get(4)?,
                    credential: r.get(5)?,
                    outcome: r.get(6)?,
                })
            },
        )
    }
}

impl Store {
    /// The credential an event used, if any.
    pub fn event_credential(&self, event_id: &str) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT credential FROM events WHERE id = ?")
            .map_err(StoreError::db("reading an event's credential"))?;
        let mut rows = stmt
            .query_map(duckdb::params![event_id], |r| r.get::<_, Option<String>>(0))
            .map_err(StoreError::db("reading an event's credential"))?;
        Ok(rows
            .next()
            .transpose()
            .map_err(StoreError::db("reading an event's credential"))?
            .flatten())
    }
}

impl Store {
    /// The id of the event at `locator` in the source whose path ends with `file`.
    pub fn event_id_at(&self, file: &str, locator: &str) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT e.id FROM events e JOIN sources s ON s.id = e.source_id
                 WHERE (s.path = ? OR ends_with(s.path, '/' || ?)) AND e.locator = ?
                 ORDER BY e.source_id LIMIT 1",
            )
            .map_err(StoreError::db("resolving an event reference"))?;
        let mut rows = stmt
            .query_map(duckdb::params![file, file, locator], |r| {
                r.get::<_, String>(0)
            })
            .map_err(StoreError::db("resolving an event reference"))?;
        rows.next()
            .transpose()
            .map_err(StoreError::db("resolving an event reference"))
    }
}
