//! Running a command several times and keeping its wall time and peak memory.
//!
//! Peak resident memory comes from GNU time (`/usr/bin/time -f %M`), which reads the child's
//! `rusage`; when it is missing, memory is reported as unknown rather than guessed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One run of a command.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub secs: f64,
    /// Peak resident set size in KiB, when known.
    pub max_rss_kib: Option<u64>,
}

/// Several runs of one command.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<Sample>);

impl Samples {
    /// Median wall time in seconds.
    pub fn median(&self) -> f64 {
        let mut v: Vec<f64> = self.0.iter().map(|s| s.secs).collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => f64::midpoint(v[n / 2 - 1], v[n / 2]),
        }
    }

    /// Largest peak RSS over the runs, in MiB.
    pub fn max_rss_mib(&self) -> Option<f64> {
        self.0
            .iter()
            .filter_map(|s| s.max_rss_kib)
            .max()
            .map(|k| k as f64 / 1024.0)
    }
}

/// How commands are run.
pub struct Runner {
    gnu_time: Option<PathBuf>,
    scratch: PathBuf,
}

impl Runner {
    pub fn new(scratch: &Path) -> Self {
        let gnu_time = Path::new("/usr/bin/time");
        Self {
            gnu_time: gnu_time.exists().then(|| gnu_time.to_path_buf()),
            scratch: scratch.to_path_buf(),
        }
    }

    pub fn has_memory(&self) -> bool {
        self.gnu_time.is_some()
    }

    /// Runs `program args` once with stdout discarded; fails when it exits non-zero (exit code 3,
    /// "some records quarantined", is accepted only when `ok_codes` says so).
    pub fn once(
        &self,
        program: &Path,
        args: &[String],
        ok_codes: &[i32],
    ) -> Result<Sample, String> {
        let rss_file = self.scratch.join("rss.txt");
        let mut cmd = match &self.gnu_time {
            Some(time) => {
                let mut c = Command::new(time);
                c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        let secs = started.elapsed().as_secs_f64();
        let code = out.status.code().unwrap_or(-1);
        if code != 0 && !ok_codes.contains(&code) {
            return Err(format!(
                "{} {} exited with {code}: {}",
                program.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let max_rss_kib = self
            .gnu_time
            .as_ref()
            .and_then(|_| std::fs::read_to_string(&rss_file).ok())
            .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()));
        Ok(Sample { secs, max_rss_kib })
    }
}

/// Reads what a command prints (used to check that peers and onus agree on the answer).
pub fn capture(program: &Path, args: &[String]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Where a program is on `PATH`, if anywhere.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
