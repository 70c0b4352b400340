//! The scale generator (docs/benchmarks.md): its output loads without loss and the drifting
//! tasks it hides are found.

use std::path::PathBuf;

use onus::ingest::{IngestOptions, NoProgress, ingest_paths};
use onus::store::Store;
use onus::synth::{SynthOptions, generate_dir};

#[test]
fn generated_incident_ingests_cleanly_and_its_drift_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SynthOptions {
        events: 2_000,
        seed: 42,
        ..SynthOptions::default()
    };
    let summary = generate_dir(dir.path(), &options).expect("generate");
    assert!(summary.drifting.len() >= 3, "{summary:?}");

    // The same seed writes the same bytes.
    let again = tempfile::tempdir().expect("tempdir");
    let summary_again = generate_dir(again.path(), &options).expect("generate");
    assert_eq!(summary, summary_again);
    for file in ["events.jsonl", "manifest.toml"] {
        let a = std::fs::read(dir.path().join(file)).expect("read");
        let b = std::fs::read(again.path().join(file)).expect("read");
        assert!(a == b, "{file} differs between two runs with the same seed");
    }

    let mut store = Store::open_in_memory().expect("store");
    let paths: Vec<PathBuf> = vec![dir.path().to_path_buf()];
    let report =
        ingest_paths(&mut store, &paths, &IngestOptions::default(), &NoProgress).expect("ingest");
    assert!(!report.had_bad_input(), "{report:#?}");
    let totals = report.totals();
    assert_eq!(totals.records_quarantined, 0);
    assert_eq!(totals.events_ingested, summary.events);

    let analysis = onus::analysis::analyse(&store).expect("analyse");
    for hidden in &summary.drifting {
        assert!(
            analysis.drift_points.iter().any(|d| d.task == hidden.task),
            "no drift point for hidden task {} ({:?})",
            hidden.task,
            hidden.kind
        );
        assert!(
            analysis.records.iter().any(|r| r.task == hidden.task),
            "no accountability record for {}",
            hidden.task
        );
    }
    // Benign traffic stays quiet: drift only where it was hidden.
    let hidden: Vec<&str> = summary.drifting.iter().map(|d| d.task.as_str()).collect();
    let stray: Vec<&str> = analysis
        .drift_points
        .iter()
        .map(|d| d.task.as_str())
        .filter(|t| !hidden.contains(t))
        .collect();
    assert!(stray.is_empty(), "drift in benign tasks: {stray:?}");
}
