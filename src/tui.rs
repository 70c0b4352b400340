//! The interactive investigation TUI (`onus tui`): timeline, event detail, delegation graph,
//! findings, accountability and a SQL console over one evidence database.
//!
//! Shaped like The Elm Architecture, without a framework: a terminal [`event::Event`] goes
//! through the [`keymap`] to an [`action::Action`]; [`app::App::update`] changes the state and
//! returns [`app::Effect`]s; the loop runs them (queries go to [`worker`] threads, each with its
//! own DuckDB connection) and draws with [`view::render`], a pure function of the state. Worker
//! answers come back on the same channel as key presses and carry generation ids, so stale ones
//! are dropped. See docs/tui.md.

mod action;
mod app;
pub mod bench;
mod bookmarks;
mod event;
mod keymap;
mod tree;
mod view;
mod worker;

use std::io::{self, stdout};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, MouseEventKind};
use ratatui::DefaultTerminal;

use crate::store::{Store, StoreError};
use action::Action;
use app::{App, Effect};
use event::Event;
use keymap::{Keymap, KeymapError};
use worker::{Query, SharedGraph, Worker, WorkerState};

pub use bookmarks::sidecar_path as bookmark_file;

/// Lines the mouse wheel scrolls per notch.
const WHEEL_LINES: i16 = 3;

/// Most queued events handled before the screen is drawn again.
const MAX_BATCH: usize = 256;

/// Why the TUI stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuiError {
    #[error("terminal error: {0}")]
    Terminal(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keymap(#[from] KeymapError),
}

/// How to run the TUI.
#[derive(Debug, Clone, Default)]
pub struct TuiOptions {
    /// What is investigated, shown in the tab bar (a database path, or the ingested paths).
    pub label: String,
    /// File the bookmarks are kept in; `None` keeps them for the session only.
    pub bookmarks: Option<PathBuf>,
}

/// Runs the TUI on `store` until the investigator quits. The terminal is restored on return,
/// on error and on panic.
pub fn run(store: &Store, options: TuiOptions) -> Result<(), TuiError> {
    let keymap = Keymap::builtin()?;
    let (tx, rx) = mpsc::channel();
    let workers = Workers::spawn(store, &tx)?;
    let (marks, mark_error) = match options.bookmarks.as_deref().map(bookmarks::load) {
        Some(Ok(ids)) => (ids, None),
        Some(Err(e)) => (Vec::new(), Some(e.to_string())),
        None => (Vec::new(), None),
    };
    let mut terminal = ratatui::try_init()?;
    install_panic_hook();
    let result = (|| {
        crossterm::execute!(stdout(), EnableMouseCapture)?;
        event::spawn_input(tx)?;
        let size = terminal.size()?;
        let mut app = App::new(keymap, options.label, (size.width, size.height));
        app.bookmarks = marks.into_iter().collect();
        // A file that could not be read is never written over: bookmarks made now last only
        // for the session.
        app.bookmarks_persist = options.bookmarks.is_some() && mark_error.is_none();
        if let Some(e) = mark_error {
            app.complain(format!(
                "bookmarks not loaded: {e} (new bookmarks last for this session only; the file is left as it is)"
            ));
        }
        let mut lp = Loop {
            app,
            workers,
            bookmarks: options.bookmarks,
        };
        lp.run(&mut terminal, &rx)
    })();
    let _ = crossterm::execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

/// Also turns mouse capture off when the TUI panics (ratatui's own hook restores the rest).
/// A panic on a worker thread is caught there and shown as an error in the interface, so it
/// must not tear the terminal down under the running UI.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if worker::is_worker_thread() {
            return;
        }
        let _ = crossterm::execute!(stdout(), DisableMouseCapture);
        previous(info);
    }));
}

/// DuckDB's buffer pool for a database file while the TUI browses it. Reads go through the
/// timeline index one window at a time, so this only caps what DuckDB keeps cached; it is what
/// holds the TUI's memory under the 300 MB target whatever the number of events. An in-memory
/// database is not capped: its evidence lives in that same pool.
const FILE_DB_MEMORY_LIMIT_MIB: u32 = 128;

/// The query workers, each with its own connection, so a slow query of one kind never holds up
/// another kind.
struct Workers {
    /// Pages, counts and event details: what every navigation key waits for.
    browse: Worker,
    /// Searches, positions and the histogram, which may read much of the timeline.
    scan: Worker,
    /// The overview: the delegation graph (built once, then shared with `browse` for the
    /// chains in event details) and the stored findings. Building the graph of a large store
    /// takes seconds, so it must not hold up the timeline's queries or the details.
    graph: Worker,
    console: Worker,
}

impl Workers {
    fn spawn(store: &Store, events: &std::sync::mpsc::Sender<Event>) -> Result<Self, TuiError> {
        if store.location() != ":memory:" {
            store.limit_memory(FILE_DB_MEMORY_LIMIT_MIB)?;
        }
        let console_store = store.try_clone()?;
        console_store.restrict_to_evidence()?;
        let graph = SharedGraph::default();
        let spawn = |name: &str, store: Store, state: WorkerState| {
            Worker::spawn(name, store, state, events.clone())
        };
        Ok(Self {
            browse: spawn(
                "query",
                store.try_clone()?,
                WorkerState::sharing(graph.clone()),
            )?,
            scan: spawn("scan", store.try_clone()?, WorkerState::default())?,
            graph: spawn("graph", store.try_clone()?, WorkerState::sharing(graph))?,
            console: spawn("sql", console_store, WorkerState::default())?,
        })
    }

    /// The worker that runs `query`.
    fn for_query(&self, query: &Query) -> &Worker {
        match query {
            Query::Sql(_) => &self.console,
            Query::Overview => &self.graph,
            Query::Histogram(_)
            | Query::Position { .. }
            | Query::Find { .. }
            | Query::Locate(_) => &self.scan,
            Query::Count(_) | Query::Page { .. } | Query::Detail { .. } => &self.browse,
        }
    }
}

struct Loop {
    app: App,
    workers: Workers,
    bookmarks: Option<PathBuf>,
}

impl Loop {
    fn run(
        &mut self,
        terminal: &mut DefaultTerminal,
        rx: &Receiver<Event>,
    ) -> Result<(), TuiError> {
        let effects = self.app.start();
        self.apply(effects);
        while !self.app.quit {
            terminal.draw(|frame| view::render(&self.app, frame))?;
            let Ok(first) = rx.recv() else {
                break;
            };
            self.handle(first)?;
            for event in rx.try_iter().take(MAX_BATCH) {
                self.handle(event)?;
                if self.app.quit {
                    break;
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<(), TuiError> {
        let effects = match event {
            Event::Term(term) => match to_action(&self.app, &term) {
                Some(action) => self.app.update(action),
                None => Vec::new(),
            },
            Event::Worker(response) => self.app.receive(response),
            Event::InputFailed(e) => return Err(e.into()),
        };
        self.apply(effects);
        Ok(())
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send(request) => {
                    if !self.workers.for_query(&request.query).send(request) {
                        self.app
                            .complain("a query worker stopped; restart onus tui");
                    }
                }
                Effect::SaveBookmarks(ids) => {
                    if let Some(path) = &self.bookmarks
                        && let Err(e) = bookmarks::save(path, &ids)
                    {
                        self.app
                            .complain(format!("bookmarks not saved to {}: {e}", path.display()));
                    }
                }
            }
        }
    }
}

/// The action for a terminal event, if any.
fn to_action(app: &App, event: &crossterm::event::Event) -> Option<Action> {
    use crossterm::event::Event as Term;
    match event {
        Term::Resize(w, h) => Some(Action::Resize(*w, *h)),
        Term::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => Some(Action::Scroll(WHEEL_LINES)),
            MouseEventKind::ScrollUp => Some(Action::Scroll(-WHEEL_LINES)),
            _ => None,
        },
        other => other
            .as_key_press_event()
            .and_then(|key| app.keymap.action(app.mode(), &key)),
    }
}

#[cfg(test)]
mod tests;
