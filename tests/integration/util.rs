//! Helpers shared by the integration tests.

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

/// A native event line with the given kind, actor and time second.
pub fn native_line(n: usize) -> String {
    format!(
        r#"{{"time":"2026-03-04T10:{:02}:{:02}.000001Z","kind":"tool.call","actor":"agent:gen","actor_kind":"agent","task":"T-{}","action":"tickets.read","resource":"ticket:{n}","outcome":"success","call_id":"c-{n}"}}"#,
        (n / 60) % 60,
        n % 60,
        n % 7
    )
}
