//! The progress bar on stderr while large files load.

use std::io::IsTerminal as _;
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ingest::Progress;

/// Files smaller than this load too fast for a bar to help.
const MIN_BYTES_FOR_BAR: u64 = 4 * 1024 * 1024;

/// Shows a byte-based bar per large file, only when stderr is a terminal.
pub struct StderrProgress {
    enabled: bool,
    bar: std::cell::RefCell<Option<ProgressBar>>,
}

impl StderrProgress {
    pub fn new(quiet: bool) -> Self {
        Self {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: std::cell::RefCell::new(None),
        }
    }
}

impl Progress for StderrProgress {
    fn file_started(&self, path: &Path, bytes: u64) {
        if !self.enabled || bytes < MIN_BYTES_FOR_BAR {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        bar.set_message(crate::text::for_terminal_clipped(&name, 40));
        *self.bar.borrow_mut() = Some(bar);
    }

    fn advanced(&self, bytes: u64) {
        if let Some(bar) = self.bar.borrow().as_ref() {
            bar.set_position(bytes);
        }
    }

    fn file_finished(&self) {
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
    }
}
