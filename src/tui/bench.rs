//! A headless harness for the benchmark (docs/benchmarks.md): the TUI's own event loop, workers
//! and rendering over a [`TestBackend`], driven by a script of key presses, timing what the
//! investigator feels: from a key press to the first frame drawn once every answer that key asked
//! for has arrived.
//!
//! Keys go through the same path as in [`super::run`]: a terminal key event, the keymap, the
//! app's update, the effects sent to the same worker threads (each with its own DuckDB
//! connection); worker answers come back on the same channel and are applied the same way. Only
//! the terminal differs (an in-memory buffer; drawing to it still runs the full layout and
//! render).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crossterm::event::{Event as Term, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::App;
use super::event::Event;
use super::keymap::Keymap;
use super::worker::Slot;
use super::{Loop, TuiError, Workers, view};
use crate::store::Store;

/// What to press, and how often.
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// Timed presses of each repeated key.
    pub repeats: usize,
    /// Text searched with `/` and repeated with `n`.
    pub search: String,
    /// Filter line typed after `f`.
    pub filter: String,
    /// Longest wait for one key's answers before giving up.
    pub timeout: Duration,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        Self {
            size: (160, 48),
            repeats: 20,
            search: "payments.transfer".to_owned(),
            filter: "kind:tool.call".to_owned(),
            timeout: Duration::from_mins(10),
        }
    }
}

/// Latencies of one kind of key press, in seconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyLatency {
    pub key: String,
    pub samples: Vec<f64>,
}

/// What the harness measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HarnessReport {
    /// Events in the store (the timeline's total).
    pub events: u64,
    /// From start to the first frame showing timeline rows.
    pub open_rows_secs: f64,
    /// From start until the overview (delegation graph, findings, accountability) was drawn.
    /// Keys do not wait for it; the harness waits for it after the key script, so that the peak
    /// memory includes it. `None` only if the harness failed before.
    pub open_all_secs: Option<f64>,
    /// How long the key script ran.
    pub script_secs: f64,
    pub keys: Vec<KeyLatency>,
}

struct Harness {
    lp: Loop,
    rx: Receiver<Event>,
    terminal: Terminal<TestBackend>,
    timeout: Duration,
    /// When the harness started, and when the start-up overview was first drawn.
    opened: Instant,
    overview_drawn: Option<f64>,
}

impl Harness {
    fn draw(&mut self) {
        let app = &self.lp.app;
        match self.terminal.draw(|frame| view::render(app, frame)) {
            Ok(_) => {}
            Err(never) => match never {},
        }
    }

    /// Handles events and draws after each batch, as the real loop does, until `done` holds after
    /// a draw. Returns the time from `started` to that draw.
    fn until(&mut self, started: Instant, done: impl Fn(&App) -> bool) -> Result<f64, TuiError> {
        loop {
            self.draw();
            if self.overview_drawn.is_none() && !self.lp.app.busy().contains(&Slot::Overview) {
                self.overview_drawn = Some(self.opened.elapsed().as_secs_f64());
            }
            if done(&self.lp.app) {
                return Ok(started.elapsed().as_secs_f64());
            }
            let first = match self.rx.recv_timeout(self.timeout) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(TuiError::Terminal(std::io::Error::other(
                        "the TUI harness waited too long for a worker answer",
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(TuiError::Terminal(std::io::Error::other(
                        "the TUI workers stopped",
                    )));
                }
            };
            self.lp.handle(first)?;
            for event in self.rx.try_iter().take(super::MAX_BATCH) {
                self.lp.handle(event)?;
            }
        }
    }

    /// Hands one key to the loop without waiting for anything (typing into a prompt).
    fn send_key(&mut self, code: KeyCode, modifiers: KeyModifiers) -> Result<(), TuiError> {
        self.lp
            .handle(Event::Term(Term::Key(KeyEvent::new(code, modifiers))))
    }

    /// Presses `key` and waits for everything it asked for (the start-up overview aside).
    fn press(&mut self, code: KeyCode) -> Result<f64, TuiError> {
        let started = Instant::now();
        let modifiers = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        self.lp
            .handle(Event::Term(Term::Key(KeyEvent::new(code, modifiers))))?;
        self.until(started, settled)
    }

    /// Types `text` into the open prompt (untimed).
    fn type_text(&mut self, text: &str) -> Result<(), TuiError> {
        for c in text.chars() {
            self.lp.handle(Event::Term(Term::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            ))))?;
        }
        Ok(())
    }
}

/// Nothing but (possibly) the overview is on its way.
fn settled(app: &App) -> bool {
    app.busy().iter().all(|s| *s == Slot::Overview)
}

/// Opens the TUI on `store` without a terminal and times the key script of docs/benchmarks.md:
/// a row down, page down from the top, opening the event detail, `G` and `g`, page up near the
/// end (deep positions), `d` to the drift points, `u` between two bookmarks, a search and `n`,
/// and applying and clearing a
/// filter; then, once the overview has arrived, the event detail again (now with its chain).
pub fn measure(store: &Store, options: &HarnessOptions) -> Result<HarnessReport, TuiError> {
    let started = Instant::now();
    let keymap = Keymap::builtin()?;
    let (tx, rx) = mpsc::channel();
    let workers = Workers::spawn(store, &tx)?;
    drop(tx);
    let app = App::new(keymap, "benchmark".to_owned(), options.size);
    let mut h = Harness {
        lp: Loop {
            app,
            workers,
            bookmarks: None,
        },
        rx,
        terminal: match Terminal::new(TestBackend::new(options.size.0, options.size.1)) {
            Ok(t) => t,
            Err(never) => match never {},
        },
        timeout: options.timeout,
        opened: started,
        overview_drawn: None,
    };
    let effects = h.lp.app.start();
    h.lp.apply(effects);
    let open_rows_secs = h.until(started, |app| {
        app.timeline
            .page
            .as_ref()
            .is_some_and(|(_, rows)| !rows.is_empty())
    })?;
    // The rest of the start-up (the count, the histogram) lands before the keys are timed, so
    // the first key does not also wait for it; the overview may still be building, as it would be
    // for an investigator who starts reading at once.
    h.until(started, settled)?;
    let events = h.lp.app.timeline.total.unwrap_or(0);
    let n = options.repeats.max(1);
    let mut keys: Vec<KeyLatency> = Vec::new();
    let mut record = |key: &str, secs: f64| match keys.iter_mut().find(|k| k.key == key) {
        Some(k) => k.samples.push(secs),
        None => keys.push(KeyLatency {
            key: key.to_owned(),
            samples: vec![secs],
        }),
    };
    for _ in 0..n {
        record("j (down one row)", h.press(KeyCode::Char('j'))?);
    }
    for _ in 0..n {
        record("page down (from the top)", h.press(KeyCode::PageDown)?);
    }
    for _ in 0..n {
        record("Enter (event detail)", h.press(KeyCode::Enter)?);
        h.press(KeyCode::Esc)?;
    }
    for _ in 0..n {
        record("G (jump to end)", h.press(KeyCode::Char('G'))?);
        record("g (jump to start)", h.press(KeyCode::Char('g'))?);
    }
    h.press(KeyCode::Char('G'))?;
    for _ in 0..n {
        record("page up (near the end)", h.press(KeyCode::PageUp)?);
    }
    h.press(KeyCode::Char('g'))?;
    for _ in 0..n {
        record("d (next drift point)", h.press(KeyCode::Char('d'))?);
    }
    // Two bookmarks, near the start and at the end; `u` goes back and forth between them.
    h.press(KeyCode::Char('g'))?;
    h.press(KeyCode::Char('j'))?;
    h.press(KeyCode::Char('m'))?;
    h.press(KeyCode::Char('G'))?;
    h.press(KeyCode::Char('m'))?;
    for _ in 0..n {
        record("u (next bookmark)", h.press(KeyCode::Char('u'))?);
    }
    h.press(KeyCode::Char('g'))?;
    h.send_key(KeyCode::Char('/'), KeyModifiers::NONE)?;
    h.type_text(&options.search)?;
    record("search (`/` term, Enter)", h.press(KeyCode::Enter)?);
    for _ in 0..n {
        record("n (next search hit)", h.press(KeyCode::Char('n'))?);
    }
    h.press(KeyCode::Char('g'))?;
    for _ in 0..n.div_ceil(4) {
        h.send_key(KeyCode::Char('f'), KeyModifiers::NONE)?;
        // The prompt opens with the current filter; clear it first (ctrl-u).
        h.send_key(KeyCode::Char('u'), KeyModifiers::CONTROL)?;
        h.type_text(&options.filter)?;
        record("apply a filter (Enter)", h.press(KeyCode::Enter)?);
        record("F (clear the filter)", h.press(KeyCode::Char('F'))?);
    }
    let script_secs = started.elapsed().as_secs_f64();
    // The peak memory must include the overview, so wait for it (as long as for any answer).
    h.until(started, |app| !app.busy().contains(&Slot::Overview))?;
    // With the graph loaded, a detail also rebuilds the event's chain of authority.
    h.press(KeyCode::Char('g'))?;
    for _ in 0..n {
        h.press(KeyCode::Char('j'))?;
        record("Enter (detail with its chain)", h.press(KeyCode::Enter)?);
        h.press(KeyCode::Esc)?;
    }
    Ok(HarnessReport {
        events,
        open_rows_secs,
        open_all_secs: h.overview_drawn,
        script_secs,
        keys,
    })
}
