//! End to end: the real `onus tui` in a real terminal (tmux), on the payments-copilot fixture.
//! Keys go in with `send-keys`, the screen comes back with `capture-pane`.
//!
//! Needs `tmux` (`.ci/run` installs it). Without it the tests say they were skipped and pass,
//! unless `ONUS_REQUIRE_EXTERNAL_TOOLS=1` (see `util::external_tool`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{external_tool, fixture, ingest_fixture, onus_bin, onus_json};

/// Longest wait for something to appear on screen (the machine may be busy building).
const PATIENCE: Duration = Duration::from_secs(30);

/// A private tmux server running one command in a window of a fixed size.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, command: &str, width: u16, height: u16) -> Self {
        let socket = format!("onus-test-{name}-{}", std::process::id());
        let tmux = Self { socket };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &tmux.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .env_remove("ONUS_DB")
            .env("TERM", "xterm-256color")
            .status()
            .unwrap_or_else(|e| panic!("tmux is needed for this test (apt-get install tmux): {e}"))
            .success();
        assert!(ok, "tmux could not start a session");
        tmux
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Presses keys by tmux name (`Enter`, `Escape`, `PageDown`, `d`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        self.tmux(&args);
    }

    /// Types text literally. A lone `;` is tmux's command separator, so it is escaped.
    fn type_text(&self, text: &str) {
        let escaped = if text == ";" { "\\;" } else { text };
        self.tmux(&["send-keys", "-t", "t", "-l", escaped]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Waits until `needle` is no longer on screen.
    #[track_caller]
    fn wait_gone(&self, needle: &str) {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if !screen.contains(needle) {
                return;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for {needle:?} to go; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every needle is on screen; returns the screen.
    #[track_caller]
    fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for {needles:?}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Waits for the file the wrapped command writes its exit code to.
fn exit_code(path: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(code) = std::fs::read_to_string(path)
            && !code.trim().is_empty()
        {
            return code.trim().to_owned();
        }
        assert!(start.elapsed() < PATIENCE, "onus tui did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wrapped(args: &str, code_file: &Path) -> String {
    format!(
        "{} {args}; echo $? > {}; sleep 60",
        onus_bin(),
        code_file.display()
    )
}

#[test]
fn tui_opens_jumps_shows_detail_runs_sql_and_quits() {
    if external_tool("tmux", &["tmux"]).is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("case.duckdb");
    let run = ingest_fixture(&db, "payments-copilot");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let drift = onus_json(
        &db,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM drift_points",
        ],
    );
    let code_file = dir.path().join("code");
    let t = Tmux::start(
        "main",
        &wrapped(&format!("--db {} tui", db.display()), &code_file),
        140,
        50,
    );
    t.wait_for(&["1 Timeline", "event 1/406", "task.start"]);
    // The graph, findings and drift points load on their own worker, after the first rows; `d`
    // needs them, so wait until the status line no longer shows them loading.
    t.wait_gone("graph+findings");

    // Drift points come from the drift analysis. Until it has filled `drift_points` in this
    // database, `d` must say there are none; once it does, `d` must land on one.
    t.keys(&["d"]);
    if drift[0]["n"] == 0 {
        t.wait_for(&["no drift points in this database"]);
    } else {
        t.wait_for(&["drift point of task"]);
    }

    // Search the first transfer (the drift point of the fixture) and open its detail.
    t.keys(&["g", "/"]);
    t.type_text("payments.transfer");
    t.keys(&["Enter"]);
    // The status line moves to the match before the rows around it are loaded, and Enter on a
    // row that is not loaded yet does nothing: wait for the row itself (a busy machine, e.g. with
    // the browser tests running alongside, makes that wait visible).
    t.wait_for(&[
        "match for \"payments.transfer\"",
        "event 220/406",
        "2026-03-04 10:14:33 agent:payments",
    ]);
    t.keys(&["Enter"]);
    t.wait_for(&[
        "Chain of authority",
        "svc:payments-runner",
        "Declared scope of task T-1042",
        "✗ outside",
        "✗ above the ceiling",
    ]);
    t.keys(&["PageDown"]);
    t.wait_for(&[
        "Raw evidence",
        "payments-agent.jsonl",
        "L39",
        "1ff351e26bd4888f",
    ]);

    // Bookmark it: the bookmark lands in the sidecar file, the database is untouched.
    t.keys(&["m"]);
    t.wait_for(&["bookmarked (1 in all)"]);

    // SQL console.
    t.type_text(";");
    t.wait_for(&["SQL>"]);
    t.type_text("SELECT count(*) * 1000 + 7 AS answer FROM events");
    t.keys(&["Enter"]);
    t.wait_for(&["answer", "406007", "1 rows"]);

    // Escape and q sent together would arrive as Alt-q: wait for the line to be left first.
    t.keys(&["Escape"]);
    t.wait_for(&["Enter edits the query"]);
    t.keys(&["q"]);
    assert_eq!(exit_code(&code_file), "0");
    let marks = std::fs::read_to_string(dir.path().join("case.duckdb.bookmarks.json"))
        .expect("bookmark file");
    assert!(marks.contains("1ff351e26bd4888f:L39"), "{marks}");
}

#[test]
fn tui_on_paths_ingests_into_memory_first() {
    if external_tool("tmux", &["tmux"]).is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let code_file = dir.path().join("code");
    let fixture_dir = fixture("payments-copilot");
    let t = Tmux::start(
        "mem",
        &wrapped(
            &format!(
                "tui {} --manifest {}",
                fixture_dir.display(),
                fixture_dir.join("manifest.toml").display()
            ),
            &code_file,
        ),
        100,
        30,
    );
    t.wait_for(&["in memory:", "event 1/406", "(session)"]);
    t.keys(&["3"]);
    t.wait_for(&["alice@example.com (human)", "scope amplification"]);
    t.keys(&["q"]);
    assert_eq!(exit_code(&code_file), "0");
}
