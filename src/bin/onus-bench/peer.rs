//! The peers of BRIEF §7 on the same question, "how many events per actor?": `jq` straight on
//! the JSON lines, and `lnav` opening the file headlessly with a format for the native schema
//! and answering in its SQL. Each answer is checked: its counts must add up to the events in the
//! file, or the timing is thrown away.

use std::path::Path;

use crate::measure::{Runner, Samples, capture, which};

/// The lnav format for native onus events (also usable by hand, see its description).
const LNAV_FORMAT: &str = include_str!("../../../scripts/lnav/onus_event.json");

/// lnav's version of [`crate::run::COUNT_BY_ACTOR`].
const LNAV_SQL: &str =
    ";SELECT actor, count(*) AS n FROM onus_event GROUP BY actor ORDER BY n DESC, actor";

/// jq's version: a streaming reduce into one object of counts.
const JQ_PROGRAM: &str = "reduce inputs as $e ({}; .[$e.actor] += 1)";

fn times(runner: &Runner, program: &Path, args: &[String], runs: usize) -> Result<Samples, String> {
    let mut out = Samples::default();
    for _ in 0..runs {
        out.0.push(runner.once(program, args, &[])?);
    }
    Ok(out)
}

/// `jq -n 'reduce inputs ...' FILE`, checked to count every event.
pub fn jq(runner: &Runner, log: &Path, runs: usize, events: u64) -> Result<Samples, String> {
    let jq = which("jq").ok_or("jq is not installed")?;
    let args = vec![
        "-c".to_owned(),
        "-n".to_owned(),
        JQ_PROGRAM.to_owned(),
        log.display().to_string(),
    ];
    let answer = capture(&jq, &args)?;
    let counts: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&answer).map_err(|e| format!("jq printed something else: {e}"))?;
    let total: u64 = counts.values().filter_map(serde_json::Value::as_u64).sum();
    if total != events {
        return Err(format!("jq counted {total} events, not {events}"));
    }
    times(runner, &jq, &args, runs)
}

/// `lnav -n -c ';SELECT ...' FILE` with the onus format, checked to count every event.
pub fn lnav(
    runner: &Runner,
    work: &Path,
    log: &Path,
    runs: usize,
    events: u64,
) -> Result<Samples, String> {
    let lnav =
        which("lnav").ok_or("lnav is not installed (scripts/bench installs it with apt-get)")?;
    let config = work.join("lnav-config");
    let formats = config.join("formats").join("onus");
    std::fs::create_dir_all(&formats).map_err(|e| e.to_string())?;
    std::fs::write(formats.join("onus_event.json"), LNAV_FORMAT).map_err(|e| e.to_string())?;
    let args = vec![
        "-I".to_owned(),
        config.display().to_string(),
        "-n".to_owned(),
        "-c".to_owned(),
        LNAV_SQL.to_owned(),
        log.display().to_string(),
    ];
    let answer = capture(&lnav, &args)?;
    let total: u64 = answer
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter_map(|n| n.replace(',', "").parse::<u64>().ok())
        .sum();
    if total != events {
        let head: String = answer.lines().take(5).collect::<Vec<_>>().join(" | ");
        return Err(format!(
            "lnav counted {total} events, not {events} (its output began: {head})"
        ));
    }
    times(runner, &lnav, &args, runs)
}
