//! The report model: everything a report says, gathered once from the store.

use serde::Serialize;

use crate::analysis::catalogue;
use crate::graph::{DelegationGraph, GraphInputs};
use crate::store::{FindingRow, SourceRow, Store, StoreError, TimelineFilter, TimelineRow};

/// Version of the JSON report shape (docs/report-format.md).
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Options that change what a report contains.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Stamp the report with this generation time (off by default, for byte-identical output).
    pub generated_at: Option<String>,
    /// Title shown at the top.
    pub title: Option<String>,
}

/// A source as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSource {
    pub path: String,
    pub format: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub records_read: u64,
    pub records_quarantined: u64,
    pub events_ingested: u64,
}

/// One line of the report's timeline: every event a finding, drift point or record cites.
#[derive(Debug, Clone, Serialize)]
pub struct KeyEvent {
    #[serde(flatten)]
    pub event: TimelineRow,
    /// Detectors whose findings cite this event.
    pub findings: Vec<String>,
    pub drift_point: bool,
}

/// A delegation chain behind a drift point.
#[derive(Debug, Clone, Serialize)]
pub struct ChainSummary {
    pub task: String,
    pub path: String,
    pub hops: Vec<crate::graph::Hop>,
    pub workflow_owner: Option<String>,
}

/// Counts for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub events: u64,
    pub quarantined: u64,
    pub findings: u64,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub info: u64,
    pub tasks_with_drift: u64,
}

/// Everything a report says.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub title: String,
    pub tool: &'static str,
    pub tool_version: &'static str,
    /// The detector catalogue and decision table this report was judged with.
    pub rules_version: String,
    pub generated_at: Option<String>,
    pub summary: Summary,
    pub sources: Vec<ReportSource>,
    pub accountability: Vec<serde_json::Value>,
    pub findings: Vec<FindingRow>,
    pub chains: Vec<ChainSummary>,
    pub timeline: Vec<KeyEvent>,
    #[serde(skip)]
    pub graph: DelegationGraph,
    /// Every event, for the CSV timeline.
    #[serde(skip)]
    pub all_events: Vec<TimelineRow>,
    /// Events with findings, by id, for the CSV markers.
    #[serde(skip)]
    pub markers: std::collections::BTreeMap<String, Vec<String>>,
}

fn source(s: &SourceRow) -> ReportSource {
    ReportSource {
        path: s.path.clone(),
        format: s.format.clone(),
        sha256: s.sha256.clone(),
        size_bytes: s.size_bytes,
        records_read: s.records_read,
        records_quarantined: s.records_quarantined,
        events_ingested: s.events_ingested,
    }
}

/// The detector catalogue and rule table as one version string: detector and rule counts plus
/// a short digest of their ids, so a changed rule set shows in every report.
fn rules_version() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for d in catalogue::ALL {
        h.update(d.id.as_bytes());
        h.update(d.severity.as_str().as_bytes());
    }
    for r in crate::analysis::accountability::RULES {
        h.update(r.id.as_bytes());
    }
    let digest = h.finalize();
    let short = digest.iter().take(4).fold(String::new(), |mut acc, b| {
        let _ = std::fmt::Write::write_fmt(&mut acc, format_args!("{b:02x}"));
        acc
    });
    format!(
        "{} detectors, {} rules, {short}",
        catalogue::ALL.len(),
        crate::analysis::accountability::RULES.len()
    )
}

impl Report {
    /// Gathers a report from the store. Analysis results must be in the store (ingest and
    /// `onus analyze` put them there).
    pub fn build(store: &Store, options: &ReportOptions) -> Result<Self, StoreError> {
        let sources: Vec<ReportSource> = store.sources()?.iter().map(source).collect();
        let findings = store.findings()?;
        let accountability = store.accountability_json()?;
        let graph = DelegationGraph::build(GraphInputs::load(store)?);
        let mut markers: std::collections::BTreeMap<String, Vec<String>> =
            std::collections::BTreeMap::new();
        for f in &findings {
            for id in f
                .evidence
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
            {
                let list = markers.entry(id.to_owned()).or_default();
                if !list.contains(&f.detector) {
                    list.push(f.detector.clone());
                }
            }
        }
        let drift_ids: Vec<String> = accountability
            .iter()
            .filter_map(|r| r["drift_event_id"].as_str().map(str::to_owned))
            .collect();
        let mut all_events = Vec::new();
        store.timeline(&TimelineFilter::default(), |r| {
            all_events.push(r);
            true
        })?;
        let timeline = all_events
            .iter()
            .filter(|e| markers.contains_key(&e.id) || drift_ids.contains(&e.id))
            .map(|e| KeyEvent {
                event: e.clone(),
                findings: markers.get(&e.id).cloned().unwrap_or_default(),
                drift_point: drift_ids.contains(&e.id),
            })
            .collect();
        let mut chains = Vec::new();
        for r in &accountability {
            let (Some(task), Some(drift)) = (r["task"].as_str(), r["drift_event_id"].as_str())
            else {
                continue;
            };
            if let Some(e) = all_events.iter().find(|e| e.id == drift) {
                let credential = store.event_credential(drift)?;
                let chain = graph.chain(&e.actor, Some(task), e.time, credential.as_deref());
                chains.push(ChainSummary {
                    task: task.to_owned(),
                    path: chain.path(),
                    hops: chain.hops.clone(),
                    workflow_owner: chain.workflow_owner.clone(),
                });
            }
        }
        let mut summary = Summary {
            events: sources.iter().map(|s| s.events_ingested).sum(),
            quarantined: sources.iter().map(|s| s.records_quarantined).sum(),
            findings: findings.len() as u64,
            tasks_with_drift: drift_ids.len() as u64,
            ..Summary::default()
        };
        for f in &findings {
            match f.severity.as_str() {
                "critical" => summary.critical += 1,
                "high" => summary.high += 1,
                "medium" => summary.medium += 1,
                "low" => summary.low += 1,
                _ => summary.info += 1,
            }
        }
        Ok(Self {
            schema_version: REPORT_SCHEMA_VERSION,
            title: options
                .title
                .clone()
                .unwrap_or_else(|| "onus accountability report".to_owned()),
            tool: "onus",
            tool_version: crate::VERSION,
            rules_version: rules_version(),
            generated_at: options.generated_at.clone(),
            summary,
            sources,
            accountability,
            findings,
            chains,
            timeline,
            graph,
            all_events,
            markers,
        })
    }
}
