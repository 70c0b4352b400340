//! Synthetic incidents at any scale, for the benchmark and for tests (docs/benchmarks.md).
//!
//! [`generate_dir`] writes one native JSONL log (`events.jsonl`) and its accountability manifest
//! (`manifest.toml`) into a folder. The log imitates the bundled fixtures: teams of a support
//! copilot and a payments agent answer tickets, hand refunds over with bounds, approval and a
//! policy check, and publish payout reports; all of it inside the declared constraints. A few
//! **drifting tasks** are hidden at spread-out places: a ticket carrying instructions for the AI
//! is followed either by an unbounded hand-off, a static key and transfers to an outside account,
//! or by an e-mail of customer data to an outside address.
//!
//! Output is a pure function of [`SynthOptions`] (a seeded generator, no clock, no network), and
//! it is streamed: memory stays bounded by a handful of tasks in flight, whatever the size. Events
//! come out in time order, interleaved across several concurrent tasks.

mod cloudtrail;
mod customer;
mod handoff;
mod json;
mod otlp;
mod scenario;
mod world;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use scenario::Task;
use world::World;

pub(crate) const SECOND: i64 = 1_000_000;
pub(crate) const MINUTE: i64 = 60 * SECOND;
pub(crate) const DAY: i64 = 24 * 60 * MINUTE;

/// 2026-03-02T06:00:00Z, the first event of every generated log.
const START: i64 = 1_772_431_200 * SECOND;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    /// Events wanted. The log ends with the task that reaches it, so it is a little longer.
    pub events: u64,
    /// Seed of the generator: the same seed and options give the same bytes.
    pub seed: u64,
    /// Drifting tasks to hide; `None` picks one per 200,000 events (at least 3, at most 50).
    pub drifting: Option<usize>,
    /// Teams (a copilot and a payments agent each); `None` picks one per 20,000 events
    /// (at least 2, at most 500).
    pub teams: Option<usize>,
    /// Tasks running at the same time, interleaved in the log.
    pub concurrency: usize,
    /// Which evidence format to write.
    pub format: SynthFormat,
}

/// The evidence format a generated incident is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SynthFormat {
    /// Native JSONL (docs/schema.md): `events.jsonl`.
    #[default]
    Native,
    /// OTLP/JSON lines, one `ExportTraceServiceRequest` (one task's trace) per line:
    /// `traces.otlp.jsonl`.
    Otlp,
    /// AWS CloudTrail delivery files (`{"Records":[...]}`, 5,000 records each) in `cloudtrail/`.
    Cloudtrail,
}

impl SynthFormat {
    pub const ALL: [Self; 3] = [Self::Native, Self::Otlp, Self::Cloudtrail];

    /// The format named `name` (as [`SynthFormat::name`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Otlp => "otlp",
            Self::Cloudtrail => "cloudtrail",
        }
    }

    /// Where [`generate_dir`] puts the evidence in `dir` (a file, or a folder of files).
    pub fn evidence_path(self, dir: &Path) -> PathBuf {
        match self {
            Self::Native => dir.join("events.jsonl"),
            Self::Otlp => dir.join("traces.otlp.jsonl"),
            Self::Cloudtrail => dir.join("cloudtrail"),
        }
    }
}

/// CloudTrail records per delivery file.
pub const CLOUDTRAIL_RECORDS_PER_FILE: usize = 5_000;

impl Default for SynthOptions {
    fn default() -> Self {
        Self {
            events: 100_000,
            seed: 1,
            drifting: None,
            teams: None,
            concurrency: 8,
            format: SynthFormat::Native,
        }
    }
}

/// How a hidden drifting task goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Injected instructions, an unbounded hand-off, a static key, transfers to an outside IBAN.
    InjectedTransfer,
    /// Injected instructions, customer data e-mailed to an outside address.
    InjectedExfiltration,
}

/// One hidden drifting task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftingTask {
    pub task: String,
    pub agent: String,
    pub kind: DriftKind,
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SynthSummary {
    pub seed: u64,
    pub format: SynthFormat,
    /// Events onus makes of the evidence (for native, the lines).
    pub events: u64,
    /// Lines (native, OTLP requests) or records (CloudTrail) written.
    pub records: u64,
    pub tasks: u64,
    pub teams: usize,
    pub agents: usize,
    pub bytes: u64,
    pub first_time: String,
    pub last_time: String,
    pub drifting: Vec<DriftingTask>,
}

/// A task as declared at design time; written to the manifest and to `task.start` alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskDecl {
    pub id: String,
    pub agent: String,
    pub intent: String,
    pub tools: Vec<String>,
    pub resources: Vec<String>,
    pub destinations: Vec<String>,
    pub max_class: String,
    pub approval_required: Vec<String>,
}

impl TaskDecl {
    fn constraints_json(&self) -> String {
        json::Obj::new()
            .list("tools", &self.tools)
            .list("resources", &self.resources)
            .list("destinations", &self.destinations)
            .list("environments", &["prod"])
            .s("max_action_class", &self.max_class)
            .list("approval_required", &self.approval_required)
            .s("credential_ttl", "15m")
            .end()
    }
}

/// A small, fast, seedable generator (`SplitMix64`); good enough for plausible data, not for
/// anything secret.
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// RFC 3339 with microseconds, in UTC.
pub(crate) fn fmt_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// One stream of tasks, one after the other; several lanes run side by side.
struct Lane {
    queue: VecDeque<(i64, String)>,
    clock: i64,
    /// When the lane's last task ends (its last native event), whatever the format wrote.
    end: i64,
}

/// Where generated records go: lines of one file, or CloudTrail delivery files.
pub trait RecordSink {
    /// Writes one record (a JSON object without a line end).
    fn put(&mut self, record: &str) -> io::Result<()>;
    /// Writes anything still buffered.
    fn finish(&mut self) -> io::Result<()>;
}

/// One record per line.
pub struct Lines<'a>(pub &'a mut dyn Write);

impl RecordSink for Lines<'_> {
    fn put(&mut self, record: &str) -> io::Result<()> {
        self.0.write_all(record.as_bytes())?;
        self.0.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// CloudTrail delivery files of [`CLOUDTRAIL_RECORDS_PER_FILE`] records, `{"Records":[...]}` on
/// one line each, named like the S3 objects CloudTrail writes.
pub struct DeliveryFiles {
    dir: PathBuf,
    per_file: usize,
    buffer: Vec<u8>,
    in_buffer: usize,
    files: usize,
    bytes: u64,
}

impl DeliveryFiles {
    pub fn new(dir: &Path, per_file: usize) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            per_file: per_file.max(1),
            buffer: Vec::new(),
            in_buffer: 0,
            files: 0,
            bytes: 0,
        })
    }

    fn flush_file(&mut self) -> io::Result<()> {
        if self.in_buffer == 0 {
            return Ok(());
        }
        self.buffer.extend_from_slice(b"]}\n");
        self.files += 1;
        let name = format!(
            "123456789012_CloudTrail_eu-west-1_20260302T0600Z_{:05}.json",
            self.files
        );
        std::fs::write(self.dir.join(name), &self.buffer)?;
        self.bytes += self.buffer.len() as u64;
        self.buffer.clear();
        self.in_buffer = 0;
        Ok(())
    }
}

impl RecordSink for DeliveryFiles {
    fn put(&mut self, record: &str) -> io::Result<()> {
        self.buffer.extend_from_slice(if self.in_buffer == 0 {
            b"{\"Records\":["
        } else {
            b","
        });
        self.buffer.extend_from_slice(record.as_bytes());
        self.in_buffer += 1;
        if self.in_buffer >= self.per_file {
            self.flush_file()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.flush_file()
    }
}

/// A task's records in the chosen format, with their times, and the events onus makes of them.
fn convert(format: SynthFormat, seed: u64, task: Task<'_>) -> (Vec<(i64, String)>, u64) {
    match format {
        SynthFormat::Native => {
            let n = task.events.len() as u64;
            (task.events, n)
        }
        SynthFormat::Otlp => {
            let start = task.events.first().map_or(START, |(t, _)| *t);
            let trace = otlp::trace(task.n, seed, &task.events);
            (vec![(start, trace.line)], trace.events)
        }
        SynthFormat::Cloudtrail => {
            let records = cloudtrail::records(task.n, seed, &task.events);
            let n = records.len() as u64;
            (records, n)
        }
    }
}

/// Writes a generated log to `out` and returns what it holds plus the tasks to declare in the
/// manifest (every drifting task, and a few benign ones).
#[allow(
    clippy::too_many_lines,
    reason = "the lane scheduler reads best in one piece"
)]
fn write_log(
    out: &mut dyn RecordSink,
    options: &SynthOptions,
    world: &World,
) -> io::Result<(SynthSummary, Vec<TaskDecl>)> {
    let mut rng = Rng::new(options.seed);
    let drifting = options
        .drifting
        .unwrap_or_else(|| (options.events / 200_000).clamp(3, 50) as usize);
    // How many of the format's events a task gives, on average, decides how many tasks are
    // needed: about 18 native events, 14 OTLP events or 6 CloudTrail records. Placing drift by
    // a pessimistic estimate keeps every drifting task inside the log, spread over its length.
    let per_task = match options.format {
        SynthFormat::Native => 30,
        SynthFormat::Otlp => 24,
        SynthFormat::Cloudtrail => 10,
    };
    let expected_tasks = (options.events / per_task).max(drifting as u64 + 1);
    let mut drift_at: Vec<u64> = (1..=drifting as u64)
        .map(|i| i * expected_tasks / (drifting as u64 + 1))
        .collect();
    drift_at.dedup();
    let mut lanes: Vec<Lane> = (0..options.concurrency.max(1))
        .map(|i| Lane {
            queue: VecDeque::new(),
            clock: START + i as i64 * 37 * SECOND,
            end: 0,
        })
        .collect();
    let mut heap = BinaryHeap::new();
    let mut produced = 0u64;
    let mut written = 0u64;
    let mut bytes = 0u64;
    let mut next_task = 0u64;
    let mut decls = Vec::new();
    let mut hidden = Vec::new();
    let (mut first, mut last) = (None, 0);
    for (i, lane) in lanes.iter().enumerate() {
        heap.push(Reverse((lane.clock, i)));
    }
    while let Some(Reverse((_, lane))) = heap.pop() {
        if lanes[lane].queue.is_empty() {
            if produced >= options.events {
                continue;
            }
            let team = &world.teams[rng.below(world.teams.len() as u64) as usize];
            let mut task = Task::new(team, next_task, &mut rng);
            let begin = lanes[lane].clock.max(lanes[lane].end);
            let start = begin + (5 + rng.below(240)) as i64 * SECOND;
            if drift_at.binary_search(&next_task).is_ok() {
                let kind = if hidden.len() % 2 == 0 {
                    DriftKind::InjectedTransfer
                } else {
                    DriftKind::InjectedExfiltration
                };
                decls.push(handoff::incident(&mut task, &mut rng, start, kind));
                hidden.push(DriftingTask {
                    task: task.id.clone(),
                    agent: team.copilot.clone(),
                    kind,
                });
            } else {
                match rng.below(20) {
                    0..=11 => scenario::ticket(&mut task, &mut rng, start, &mut decls),
                    12..=16 => handoff::refund(&mut task, &mut rng, start, &mut decls),
                    _ => scenario::report(&mut task, &mut rng, start),
                }
            }
            next_task += 1;
            task.events.sort_by_key(|(t, _)| *t);
            let end = task.events.last().map_or(start, |(t, _)| *t);
            let (mut records, events) = convert(options.format, options.seed, task);
            records.sort_by_key(|(t, _)| *t);
            produced += events;
            let l = &mut lanes[lane];
            l.end = end;
            l.queue.extend(records);
            let next = l.queue.front().map_or(end, |(t, _)| *t);
            heap.push(Reverse((next, lane)));
            continue;
        }
        let l = &mut lanes[lane];
        let Some((t, line)) = l.queue.pop_front() else {
            continue;
        };
        out.put(&line)?;
        bytes += line.len() as u64 + 1;
        written += 1;
        first.get_or_insert(t);
        last = t;
        l.clock = t;
        let next = l.queue.front().map_or(t, |(n, _)| *n);
        heap.push(Reverse((next, lane)));
    }
    out.finish()?;
    let summary = SynthSummary {
        seed: options.seed,
        format: options.format,
        events: produced,
        records: written,
        tasks: next_task,
        teams: world.teams.len(),
        agents: world.agent_count(),
        bytes,
        first_time: fmt_time(first.unwrap_or(START)),
        last_time: fmt_time(last),
        drifting: hidden,
    };
    Ok((summary, decls))
}

fn world_for(options: &SynthOptions) -> World {
    let teams = options
        .teams
        .unwrap_or_else(|| (options.events / 20_000).clamp(2, 500) as usize);
    World::new(teams, START)
}

/// Writes a generated log to `log` and its manifest to `manifest`. `bytes` in the summary counts
/// the records and their separators (for CloudTrail files, see [`generate_dir`]).
pub fn generate(
    options: &SynthOptions,
    log: &mut dyn RecordSink,
    manifest: &mut dyn Write,
) -> io::Result<SynthSummary> {
    let world = world_for(options);
    let (summary, decls) = write_log(log, options, &world)?;
    world.write_manifest(manifest, &decls)?;
    Ok(summary)
}

/// Writes the evidence ([`SynthFormat::evidence_path`]), `manifest.toml` and a `README.md`
/// describing them into `dir` (created if missing).
pub fn generate_dir(dir: &Path, options: &SynthOptions) -> io::Result<SynthSummary> {
    std::fs::create_dir_all(dir)?;
    let path = options.format.evidence_path(dir);
    let mut manifest = BufWriter::new(File::create(dir.join("manifest.toml"))?);
    let summary = if options.format == SynthFormat::Cloudtrail {
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        let mut files = DeliveryFiles::new(&path, CLOUDTRAIL_RECORDS_PER_FILE)?;
        let mut summary = generate(options, &mut files, &mut manifest)?;
        summary.bytes = files.bytes;
        summary
    } else {
        let mut log = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        generate(options, &mut Lines(&mut log), &mut manifest)?
    };
    manifest.flush()?;
    let mut readme = String::new();
    let _ = write!(
        readme,
        "# Generated incident (seed {}, {} format, {} events)\n\n\
         Written by `onus-bench gen`; see docs/benchmarks.md. {} tasks by {} agents in {} teams, \
         from {} to {}. Everything is synthetic.\n\n\
         Hidden drifting tasks:\n\n| task | agent | what happened |\n|---|---|---|\n",
        summary.seed,
        summary.format.name(),
        summary.events,
        summary.tasks,
        summary.agents,
        summary.teams,
        summary.first_time,
        summary.last_time
    );
    for d in &summary.drifting {
        let what = match d.kind {
            DriftKind::InjectedTransfer => {
                "injected instructions, unbounded hand-off, static key, transfers to an outside IBAN"
            }
            DriftKind::InjectedExfiltration => {
                "injected instructions, customer data e-mailed to an outside address"
            }
        };
        let _ = writeln!(readme, "| {} | {} | {what} |", d.task, d.agent);
    }
    std::fs::write(dir.join("README.md"), readme)?;
    Ok(summary)
}

/// Parses a size such as `2k`, `100k`, `1m`, `10M` or `2500`.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, factor) = match t.strip_suffix('k') {
        Some(d) => (d, 1_000),
        None => match t.strip_suffix('m') {
            Some(d) => (d, 1_000_000),
            None => (t.as_str(), 1),
        },
    };
    digits.parse::<u64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> (SynthSummary, Vec<u8>, Vec<u8>) {
        let options = SynthOptions {
            events: 3_000,
            seed,
            ..SynthOptions::default()
        };
        let (mut log, mut manifest) = (Vec::new(), Vec::new());
        let summary = generate(&options, &mut Lines(&mut log), &mut manifest).expect("generate");
        (summary, log, manifest)
    }

    #[test]
    fn every_line_is_a_json_object_in_time_order() {
        let (summary, log, _) = small(3);
        let text = String::from_utf8(log).expect("utf-8");
        let mut previous = String::new();
        let mut n = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let time = v["time"].as_str().expect("time").to_owned();
            assert!(time >= previous, "{time} after {previous}");
            previous = time;
            n += 1;
        }
        assert_eq!(n, summary.events);
        assert!(summary.events >= 3_000);
        assert_eq!(summary.drifting.len(), 3);
    }

    #[test]
    fn the_seed_decides_the_output() {
        let (a, log_a, man_a) = small(7);
        let (b, log_b, man_b) = small(7);
        assert_eq!(a, b);
        assert!(log_a == log_b && man_a == man_b);
        let (_, log_c, _) = small(8);
        assert!(log_a != log_c);
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2k"), Some(2_000));
        assert_eq!(parse_size("1M"), Some(1_000_000));
        assert_eq!(parse_size("250"), Some(250));
        assert_eq!(parse_size("x"), None);
    }
}
