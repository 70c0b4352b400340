//! Background threads that run every DuckDB query of the TUI, so the interface never waits on
//! the database.
//!
//! A worker owns its own connection (a [`Store::try_clone`] of the one it was given), reads
//! [`Request`]s from a channel and sends each [`Response`] back into the event loop. Every
//! request carries a generation id; the app keeps the latest id per [`Slot`] and drops answers
//! to older ones. The worker also coalesces: of the requests queued for one slot, only the newest
//! runs (holding `j` down does not queue a hundred page reads).

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use super::event::Event;
use super::tree::{TreeRow, build_tree};
use crate::analysis::catalogue::DELEG_AMPLIFICATION;
use crate::graph::{Chain, DelegationGraph, GraphFinding, GraphInputs};
use crate::store::{
    ConsoleResult, ConsoleRun, Direction, EventDetail, EventFilter, FilterIndex, Histogram, Hit,
    PageRow, Store, StoreError, StoredAccountability, StoredDriftPoint, StoredFinding, StoredSpan,
    Target, TaskDeclaration,
};

/// Delegations, credentials and tasks up to which the TUI builds the delegation graph edge by
/// edge (a few hundred MB at most); past it, the graph is summarised per principal pair.
pub const FULL_GRAPH_MAX_ROWS: u64 = 50_000;

/// Rows the SQL console keeps from one query.
pub const SQL_ROW_LIMIT: usize = 1000;

/// Buckets of the time histogram; the view scales them to its width.
pub const HISTOGRAM_BUCKETS: u32 = 240;

/// Why a search runs: the app reacts differently to the hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindPurpose {
    Search,
    Drift,
    Bookmark,
}

/// A query for a worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Count(EventFilter),
    Page {
        filter: EventFilter,
        offset: u64,
        limit: u64,
    },
    Histogram(EventFilter),
    /// Where an event is in the filtered timeline.
    Position {
        filter: EventFilter,
        id: String,
    },
    /// The next event matching `target` from timeline position `from`, wrapping around once.
    Find {
        filter: EventFilter,
        target: Target,
        from: Option<u64>,
        direction: Direction,
        purpose: FindPurpose,
    },
    /// An event's detail; `pos` is its timeline position when known (a faster lookup).
    Detail {
        id: String,
        pos: Option<u64>,
    },
    /// Timeline positions of these events (bookmarks loaded from their file).
    Locate(Vec<String>),
    /// The delegation graph, findings, accountability records and drift points.
    Overview,
    Sql(String),
}

/// Independent kinds of answer: a newer request in a slot makes older ones stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    Count,
    Page,
    Histogram,
    Jump,
    Detail,
    Locate,
    Overview,
    Sql,
}

impl Query {
    pub fn slot(&self) -> Slot {
        match self {
            Self::Count(_) => Slot::Count,
            Self::Page { .. } => Slot::Page,
            Self::Histogram(_) => Slot::Histogram,
            Self::Position { .. } | Self::Find { .. } => Slot::Jump,
            Self::Detail { .. } => Slot::Detail,
            Self::Locate(_) => Slot::Locate,
            Self::Overview => Slot::Overview,
            Self::Sql(_) => Slot::Sql,
        }
    }
}

/// A query tagged with its generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub generation: u64,
    pub query: Query,
}

/// The event detail with what the graph and the task declarations say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailAnswer {
    pub id: String,
    /// The timeline position the request gave, if any.
    pub pos: Option<u64>,
    /// `None` when no event has this id.
    pub event: Option<EventDetail>,
    /// The actor's chain back to its root; `None` when the graph is not available.
    pub chain: Option<Chain>,
    pub tasks: Vec<TaskDeclaration>,
    /// Instruction detection on the event's content (scored spans), if it was untrusted input.
    pub spans: Vec<StoredSpan>,
}

/// Everything that is small enough to load once: the delegation tree, findings, accountability
/// and drift points.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The tree, or why the graph could not be built.
    pub tree: Result<Vec<TreeRow>, String>,
    /// The graph has one counted edge per principal pair and kind instead of one per hand-off
    /// (a store with more than [`FULL_GRAPH_MAX_ROWS`] delegations, credentials and tasks).
    pub summarised: bool,
    /// Whether the drift/accountability analysis has written its results.
    pub analysed: bool,
    pub findings: Vec<StoredFinding>,
    /// When the analysis has not run: what the delegation graph's edges alone show (computed
    /// now, not read from the store; the checks of actions need the analysis).
    pub graph_findings: Vec<GraphFinding>,
    pub accountability: Vec<StoredAccountability>,
    pub drift_points: Vec<StoredDriftPoint>,
}

/// What a query returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Count(u64),
    Page {
        offset: u64,
        rows: Vec<PageRow>,
    },
    Histogram(Histogram),
    Position {
        id: String,
        position: Option<u64>,
    },
    Found {
        hit: Option<(String, u64)>,
        wrapped: bool,
        purpose: FindPurpose,
    },
    Detail(Box<DetailAnswer>),
    /// Events with their timeline positions (those that exist).
    Located(Vec<(u64, String)>),
    Overview(Box<Overview>),
    Sql {
        sql: String,
        result: ConsoleResult,
    },
}

/// A worker's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub generation: u64,
    pub slot: Slot,
    pub answer: Result<Answer, String>,
}

/// Prefix of worker thread names.
const THREAD_PREFIX: &str = "onus-tui-worker-";

/// Whether the current thread is a query worker (whose panics are caught and reported).
pub fn is_worker_thread() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with(THREAD_PREFIX))
}

/// The sending side of a worker.
#[derive(Debug)]
pub struct Worker {
    tx: Sender<Request>,
}

impl Worker {
    /// Starts a worker thread that owns `store` and answers into `events`.
    pub fn spawn(
        name: &str,
        store: Store,
        state: WorkerState,
        events: Sender<Event>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name(format!("{THREAD_PREFIX}{name}"))
            .spawn(move || serve(&store, state, &rx, &events))?;
        Ok(Self { tx })
    }

    /// Queues a request; false when the worker has stopped.
    pub fn send(&self, request: Request) -> bool {
        self.tx.send(request).is_ok()
    }
}

/// The delegation graph the overview built (and whether it is the summary of a large store).
#[derive(Debug)]
pub struct BuiltGraph {
    pub graph: DelegationGraph,
    pub summarised: bool,
}

/// The delegation graph, once the overview has built it, shared by the worker that builds it
/// and the one that answers event details (which must not wait for the build).
pub type SharedGraph = Arc<Mutex<Option<Arc<BuiltGraph>>>>;

/// What a worker keeps between requests.
#[derive(Debug)]
pub struct WorkerState {
    graph: SharedGraph,
    /// The last filter's index: pages, counts and searches under one filter reuse it.
    index: Option<FilterIndex>,
    /// Graph records past which the overview summarises ([`FULL_GRAPH_MAX_ROWS`]; tests lower it).
    pub(crate) summarise_above: u64,
    /// Histograms of the last few filters, newest last: the evidence does not change while the
    /// TUI runs, and clearing a filter or going back to one should not scan again.
    histograms: Vec<(EventFilter, Histogram)>,
    /// Timeline positions of the events looked up by id so far (`None`: not in the evidence).
    /// Bookmark jumps go by them instead of scanning the ids of the timeline on every key.
    positions: HashMap<String, Option<u64>>,
}

/// Histograms a worker keeps.
const HISTOGRAMS_KEPT: usize = 8;

impl Default for WorkerState {
    fn default() -> Self {
        Self::sharing(SharedGraph::default())
    }
}

impl WorkerState {
    /// A state whose graph slot is shared with other workers.
    pub fn sharing(graph: SharedGraph) -> Self {
        Self {
            graph,
            index: None,
            summarise_above: FULL_GRAPH_MAX_ROWS,
            histograms: Vec::new(),
            positions: HashMap::new(),
        }
    }

    /// `ids` with their timeline positions, in position order (unknown ids left out); the ids
    /// not looked up before are looked up together, once.
    fn positions_of(
        &mut self,
        store: &Store,
        ids: &[String],
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.positions.contains_key(*id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let found: HashMap<String, u64> =
                store.timeline_positions(&missing)?.into_iter().collect();
            for id in missing {
                let pos = found.get(&id).copied();
                self.positions.insert(id, pos);
            }
        }
        let mut out: Vec<(u64, String)> = ids
            .iter()
            .filter_map(|id| Some((self.positions.get(id).copied().flatten()?, id.clone())))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn histogram(&mut self, store: &Store, filter: EventFilter) -> Result<Histogram, StoreError> {
        let known = self.histograms.iter().position(|(f, _)| *f == filter);
        let entry = if let Some(i) = known {
            self.histograms.remove(i)
        } else {
            let h = store.histogram(&filter, HISTOGRAM_BUCKETS)?;
            (filter, h)
        };
        let histogram = entry.1.clone();
        self.histograms.push(entry);
        if self.histograms.len() > HISTOGRAMS_KEPT {
            self.histograms.remove(0);
        }
        Ok(histogram)
    }

    fn graph(&self) -> Option<Arc<BuiltGraph>> {
        self.graph
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn index(&mut self, store: &Store, filter: &EventFilter) -> Result<&FilterIndex, StoreError> {
        let index = match self.index.take() {
            Some(i) if i.filter() == filter => i,
            _ => store.filter_index(filter)?,
        };
        Ok(self.index.insert(index))
    }
}

fn serve(store: &Store, mut state: WorkerState, rx: &Receiver<Request>, events: &Sender<Event>) {
    while let Ok(first) = rx.recv() {
        let mut queued = vec![first];
        queued.extend(rx.try_iter());
        let mut latest: Vec<Request> = Vec::new();
        for r in queued {
            latest.retain(|old| old.query.slot() != r.query.slot());
            latest.push(r);
        }
        for request in latest {
            let slot = request.query.slot();
            let run = std::panic::AssertUnwindSafe(|| execute(store, &mut state, request.query));
            let answer = match std::panic::catch_unwind(run) {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(panic) => Err(format!(
                    "internal error in the query worker: {} (please report it)",
                    panic
                        .downcast_ref::<&str>()
                        .copied()
                        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                        .unwrap_or("panic")
                )),
            };
            let response = Response {
                generation: request.generation,
                slot,
                answer,
            };
            if events.send(Event::Worker(response)).is_err() {
                return;
            }
        }
    }
}

/// The chain of authority behind event `e`. In a summarised graph, an event of a task gets its
/// chain from that task's own records (read for it: one task's worth), so the chain is exact;
/// an event of no task gets the summary's chain, which follows principals.
fn chain_of(store: &Store, built: &BuiltGraph, e: &EventDetail) -> Option<Chain> {
    let actor = e.field("actor")?;
    let task = e.field("task");
    let credential = e.field("credential");
    match task {
        Some(task) if built.summarised => {
            let inputs =
                GraphInputs::load_for_task(store, task, e.time, built.graph.inputs()).ok()?;
            Some(DelegationGraph::build(inputs).chain(actor, Some(task), e.time, credential))
        }
        _ => Some(built.graph.chain(actor, task, e.time, credential)),
    }
}

/// The next event matching `target` from `from`, wrapping around once (the hit, and whether it
/// wrapped). Events named by id (bookmarks) are found by their positions, looked up once.
fn find(
    store: &Store,
    state: &mut WorkerState,
    filter: &EventFilter,
    target: Target,
    from: Option<u64>,
    direction: Direction,
) -> Result<(Option<Hit>, bool), StoreError> {
    let target = match target {
        Target::Ids(ids) => Target::Events(state.positions_of(store, &ids)?),
        other => other,
    };
    let index = state.index(store, filter)?;
    let hit = store.find_event(index, &target, from, direction)?;
    if hit.is_none() && from.is_some() {
        let again = store.find_event(index, &target, None, direction)?;
        let wrapped = again.is_some();
        return Ok((again, wrapped));
    }
    Ok((hit, false))
}

/// Runs one query, with what the worker kept from earlier ones.
pub fn execute(store: &Store, state: &mut WorkerState, query: Query) -> Result<Answer, StoreError> {
    Ok(match query {
        Query::Count(filter) => Answer::Count(state.index(store, &filter)?.kept()),
        Query::Page {
            filter,
            offset,
            limit,
        } => Answer::Page {
            offset,
            rows: store.event_page(state.index(store, &filter)?, offset, limit)?,
        },
        Query::Histogram(filter) => Answer::Histogram(state.histogram(store, filter)?),
        Query::Position { filter, id } => {
            let position = store.event_position(state.index(store, &filter)?, &id)?;
            Answer::Position { id, position }
        }
        Query::Find {
            filter,
            target,
            from,
            direction,
            purpose,
        } => {
            let (hit, wrapped) = find(store, state, &filter, target, from, direction)?;
            Answer::Found {
                hit: hit.map(|h| (h.id, h.ordinal)),
                wrapped,
                purpose,
            }
        }
        Query::Locate(ids) => Answer::Located(state.positions_of(store, &ids)?),
        Query::Detail { id, pos } => {
            let event = store.event_detail(&id, pos)?;
            let tasks = match event.as_ref().and_then(|e| e.field("task")) {
                Some(task) => store.task_declarations(task)?,
                None => Vec::new(),
            };
            let built = state.graph();
            let chain = match (&event, built.as_deref()) {
                (Some(e), Some(built)) => chain_of(store, built, e),
                _ => None,
            };
            let spans = if event.is_some() {
                store.instruction_spans_of(&id)?
            } else {
                Vec::new()
            };
            Answer::Detail(Box::new(DetailAnswer {
                id,
                pos,
                event,
                chain,
                tasks,
                spans,
            }))
        }
        Query::Overview => {
            let findings = store.stored_findings()?;
            let analysed = store.analysis_has_run()?;
            // The graph is never built from every action (that would hold the whole evidence
            // in memory): the action checks (amplification, depth) come from the stored
            // analysis. Past a size, not even edge by edge: one counted edge per principal pair
            // and kind keeps the memory bounded whatever the number of tasks.
            let summarised = store.graph_input_rows()? > state.summarise_above;
            let inputs = if summarised {
                GraphInputs::load_summary(store)
            } else {
                GraphInputs::load_without_actions(store)
            };
            let built = inputs.map(DelegationGraph::build);
            let (tree, graph_findings) = match &built {
                Ok(g) => {
                    let amplified: Vec<(String, Option<String>)> = findings
                        .iter()
                        .filter(|f| f.detector == DELEG_AMPLIFICATION.id)
                        .filter_map(|f| Some((f.principal.clone()?, f.task.clone())))
                        .collect();
                    let graph_findings = if analysed { Vec::new() } else { g.findings() };
                    (Ok(build_tree(g, &amplified)), graph_findings)
                }
                Err(e) => (Err(e.to_string()), Vec::new()),
            };
            *state.graph.lock().unwrap_or_else(PoisonError::into_inner) = built
                .ok()
                .map(|graph| Arc::new(BuiltGraph { graph, summarised }));
            Answer::Overview(Box::new(Overview {
                tree,
                summarised,
                analysed,
                findings,
                graph_findings,
                accountability: store.stored_accountability()?,
                drift_points: store.stored_drift_points()?,
            }))
        }
        Query::Sql(sql) => {
            let result = store.run_console_sql(
                &sql,
                ConsoleRun {
                    max_rows: SQL_ROW_LIMIT,
                },
            )?;
            Answer::Sql { sql, result }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_kept_per_filter_newest_last_and_bounded() {
        let store = Store::open_in_memory().expect("store");
        let mut state = WorkerState::default();
        let by_actor = |n: usize| EventFilter {
            actor: Some(format!("agent:{n}")),
            ..EventFilter::default()
        };
        for n in 0..HISTOGRAMS_KEPT + 3 {
            state.histogram(&store, by_actor(n)).expect("histogram");
        }
        assert_eq!(state.histograms.len(), HISTOGRAMS_KEPT);
        assert_eq!(
            state.histograms[0].0,
            by_actor(3),
            "the oldest were dropped"
        );
        // Asking again for a kept filter answers from memory and makes it the newest; a store
        // that cannot be read any more shows that no query ran.
        let kept = by_actor(5);
        let before = state.histograms.len();
        store
            .conn()
            .execute_batch("DROP TABLE timeline_marks; DROP TABLE timeline")
            .expect("drop");
        let again = state.histogram(&store, kept.clone()).expect("from memory");
        assert_eq!(state.histograms.len(), before);
        assert_eq!(state.histograms.last().map(|(f, _)| f), Some(&kept));
        assert_eq!(again.counts.len(), HISTOGRAM_BUCKETS as usize);
        assert!(
            state.histogram(&store, by_actor(99)).is_err(),
            "a new filter queries"
        );
    }
}
