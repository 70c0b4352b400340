//! Helpers shared by the integration tests.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the built `onus` binary.
pub fn onus_bin() -> &'static str {
    env!("CARGO_BIN_EXE_onus")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture folder.
pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join(name)
}

/// What a finished `onus` run left behind.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(out: &Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `onus` with `args` against the database `db`, without inheriting `ONUS_DB`.
pub fn onus(db: &Path, args: &[&str]) -> Run {
    let out = Command::new(onus_bin())
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("ONUS_DB")
        .output()
        .expect("the onus binary runs");
    Run::from_output(&out)
}

/// Runs `onus` and parses its stdout as JSON, failing the test on a non-zero exit.
pub fn onus_json(db: &Path, args: &[&str]) -> serde_json::Value {
    let run = onus(db, args);
    assert_eq!(run.code, 0, "onus {args:?} failed: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", run.stdout))
}

/// The arguments that ingest the fixture folder `name`: the folder, and its `manifest.toml`
/// named with `--manifest` when it has one (a directory walk never reads a manifest).
pub fn fixture_args(name: &str) -> Vec<String> {
    let folder = fixture(name);
    let mut args = vec![folder.to_str().expect("path").to_owned()];
    let manifest = folder.join("manifest.toml");
    if manifest.is_file() {
        args.push("--manifest".to_owned());
        args.push(manifest.to_str().expect("path").to_owned());
    }
    args
}

/// Runs `onus ingest` on the fixture folder `name` (with its manifest) into `db`.
pub fn ingest_fixture(db: &Path, name: &str) -> Run {
    let mut args = vec!["ingest".to_owned()];
    args.extend(fixture_args(name));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    onus(db, &args)
}

/// Ingests the fixture folder `name` (with its manifest) into a new database in `dir`, failing
/// the test on a non-zero exit.
pub fn ingested(name: &str, dir: &tempfile::TempDir) -> PathBuf {
    let db = dir.path().join(format!("{name}.duckdb"));
    let run = ingest_fixture(&db, name);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    db
}

/// The id of the event at line `line` of the source whose path ends with `file`.
pub fn event_id_at(db: &Path, file: &str, line: u32) -> String {
    let rows = onus_json(
        db,
        &[
            "query",
            "--format",
            "json",
            &format!(
                "SELECT e.id FROM events e JOIN sources s ON s.id = e.source_id \
                 WHERE s.path LIKE '%{file}' AND e.locator = 'L{line}'"
            ),
        ],
    );
    rows[0]["id"]
        .as_str()
        .expect("event at that line")
        .to_owned()
}

/// A native event line with the given kind, actor and time second.
pub fn native_line(n: usize) -> String {
    format!(
        r#"{{"time":"2026-03-04T10:{:02}:{:02}.000001Z","kind":"tool.call","actor":"agent:gen","actor_kind":"agent","task":"T-{}","action":"tickets.read","resource":"ticket:{n}","outcome":"success","call_id":"c-{n}"}}"#,
        (n / 60) % 60,
        n % 60,
        n % 7
    )
}

/// What a watched `onus` run left behind: raw output, how long it took and its peak memory.
pub struct Watched {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: std::time::Duration,
    /// Peak resident set size in KiB (`VmHWM`), sampled from `/proc` while the process ran;
    /// `None` where `/proc` is not available.
    pub peak_rss_kib: Option<u64>,
}

impl Watched {
    /// Stdout as text; output must always be UTF-8, whatever the evidence was.
    pub fn out(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }

    /// Stderr as text.
    pub fn err(&self) -> &str {
        std::str::from_utf8(&self.stderr).expect("stderr is UTF-8")
    }
}

/// Runs `onus` against `db` with a watchdog: a run that outlives `limit` is killed and fails the
/// test, and so does one that dies of a signal (a stack overflow aborts with SIGABRT or SIGSEGV)
/// or panics (exit code 101). Arguments may be paths that are not UTF-8.
pub fn onus_watched<S: AsRef<std::ffi::OsStr>>(
    db: &Path,
    args: &[S],
    limit: std::time::Duration,
) -> Watched {
    use std::io::Read as _;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let shown: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().escape_debug().to_string())
        .collect();
    let start = Instant::now();
    let mut child = Command::new(onus_bin())
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("ONUS_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the onus binary runs");
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak: Option<u64> = None;
    let status = loop {
        // VmHWM is the peak so far; the last sample before exit is the run's peak to within
        // the polling interval.
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = Some(peak.map_or(kib, |p| p.max(kib)));
        }
        if let Some(status) = child.try_wait().expect("wait for onus") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("onus {shown:?} did not finish within {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    let Some(code) = status.code() else {
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(&status);
        #[cfg(not(unix))]
        let signal: Option<i32> = None;
        panic!(
            "onus {shown:?} was killed by signal {signal:?}: {}",
            String::from_utf8_lossy(&stderr)
        );
    };
    assert_ne!(
        code,
        101,
        "onus {shown:?} panicked: {}",
        String::from_utf8_lossy(&stderr)
    );
    Watched {
        code,
        stdout,
        stderr,
        elapsed,
        peak_rss_kib: peak,
    }
}

/// Set to `1` (as `.ci/run` does) to make a missing external tool fail its test instead of
/// skipping it.
pub const REQUIRE_TOOLS_VAR: &str = "ONUS_REQUIRE_EXTERNAL_TOOLS";

/// An executable on `PATH` (or a path to one).
pub fn which(program: &str) -> Option<PathBuf> {
    let is_exe = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_exe(&p).then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| is_exe(p))
}

/// A folder of the real third-party data in `../shared/data` (never copied into the project), or
/// `None` after printing the skip where the test summary shows it; with
/// `ONUS_REQUIRE_EXTERNAL_TOOLS=1` (CI) a missing folder fails the test instead.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let dir = root().join("../shared/data").join(relative);
    if dir.exists() {
        return Some(dir);
    }
    assert!(
        std::env::var(REQUIRE_TOOLS_VAR).as_deref() != Ok("1"),
        "{} is missing and {REQUIRE_TOOLS_VAR}=1 requires the real data: the tests read it in place",
        dir.display()
    );
    let notice = format!(
        "\n*** {}: skipped: {} is absent (real third-party data) ***\n",
        std::thread::current().name().unwrap_or("test"),
        dir.display()
    );
    let _ = std::io::stderr().write_all(notice.as_bytes());
    None
}

/// The first of `candidates` that is installed, for the end-to-end tests that drive an external
/// program (tmux, Chromium). When none is, the test should return early: this prints a notice
/// that `cargo test` does not capture (so a skipped test is not mistaken for a passing one) and
/// returns `None`; with `ONUS_REQUIRE_EXTERNAL_TOOLS=1` it fails the test instead, so that CI
/// cannot skip silently.
#[track_caller]
pub fn external_tool(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(found) = candidates.iter().find_map(|c| which(c)) {
        return Some(found);
    }
    assert!(
        std::env::var(REQUIRE_TOOLS_VAR).as_deref() != Ok("1"),
        "{name} is not installed (looked for {candidates:?} on PATH) and {REQUIRE_TOOLS_VAR}=1 \
         requires this test to run; .ci/run installs it"
    );
    // Written to the process's stderr directly, in one piece: the test harness captures
    // `eprintln!`, and its own lines interleave with ours.
    let notice = format!(
        "\n*** {}: skipped: {name} not installed; .ci/run installs it ***\n",
        std::thread::current().name().unwrap_or("test")
    );
    let _ = std::io::stderr().write_all(notice.as_bytes());
    None
}

/// For a test that needs something of the machine (a readable `/proc/kmsg`): prints that it is
/// skipped, where the test summary shows it; with `ONUS_REQUIRE_EXTERNAL_TOOLS=1` (CI, which
/// runs as root) it fails the test instead.
#[track_caller]
pub fn skip_or_fail(why: &str) {
    assert!(
        std::env::var(REQUIRE_TOOLS_VAR).as_deref() != Ok("1"),
        "{why}, and {REQUIRE_TOOLS_VAR}=1 requires this test to run"
    );
    let notice = format!(
        "\n*** {}: skipped: {why} ***\n",
        std::thread::current().name().unwrap_or("test")
    );
    let _ = std::io::stderr().write_all(notice.as_bytes());
}
